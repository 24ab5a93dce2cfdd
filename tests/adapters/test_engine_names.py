"""Every reasoning-parser name the installed vLLM or SGLang registers resolves to one of ours, so
`--reasoning-parser NAME` as users already type it finds a certified parser (with
reasoning-plugins-extra installed). The names are read from the engine package itself, not
copied here.

Run: ``.venv-vllm/bin/python -m pytest tests/adapters/test_engine_names.py`` (and with
``.venv-sglang``); an engine that is not installed is skipped.
"""

from __future__ import annotations

from importlib.util import find_spec

import pytest

from reasoning_plugins import current_host

pytestmark = pytest.mark.skipif(find_spec("reasoning_plugins_extra") is None,
                                reason="reasoning-plugins-extra is not installed")


def _unresolved(names) -> list[str]:
    host = current_host()
    missing = []
    for name in names:
        try:
            host.resolve("reasoning parser", name)
        except Exception:  # noqa: BLE001 - any failure to resolve is what the test reports
            missing.append(name)
    return missing


@pytest.mark.skipif(find_spec("vllm") is None, reason="vllm is not installed (scripts/engines/vllm.sh)")
def test_every_vllm_name_resolves():
    from vllm.reasoning import ReasoningParserManager

    # vLLM's own entries (the adapter adds ours next to them once plugins are loaded)
    names = sorted(n for n, (module, _cls) in ReasoningParserManager.lazy_parsers.items() if module.startswith("vllm."))
    assert len(names) >= 40, names
    assert _unresolved(names) == []


@pytest.mark.skipif(find_spec("sglang") is None, reason="sglang is not installed (scripts/engines/sglang.sh)")
def test_every_sglang_name_resolves():
    from sglang.srt.parser.reasoning_parser_names import REASONING_PARSER_NAMES

    # SGLang's own names (the adapter, once installed, adds ours as ours:NAME to the same list)
    names = [n for n in REASONING_PARSER_NAMES if not n.startswith("ours:")]
    assert len(names) >= 30, names
    assert _unresolved(names) == []
