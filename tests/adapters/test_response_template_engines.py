"""`response-template` inside the real vLLM and SGLang packages, built with a tokenizer that has a
response_template, the way each engine builds a reasoning parser.

Run: ``.venv-vllm/bin/python -m pytest tests/adapters/test_response_template_engines.py`` (and
with ``.venv-sglang``); the tests of an engine that is not installed are skipped. vLLM's and
SGLang's own names (``hf``, ``response_template``) keep their own parsers; ours is reached as
``response-template`` in vLLM and ``ours:response-template`` in SGLang.
"""

from __future__ import annotations

import json
import shutil
from importlib.util import find_spec
from pathlib import Path

import pytest

from reasoning_plugins import get_parser, response_template_from_format

TINY = Path(__file__).resolve().parents[2] / "core_engine" / "models" / "tiny-reasoner"
TEXT = "Two plus two.\n</think>\n\nIt is 4."


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    """The bundled tokenizer with deepseek-r1's format declared as its response_template."""
    transformers = pytest.importorskip("transformers")
    target = tmp_path_factory.mktemp("hf-tokenizer")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(TINY / name, target / name)
    config = json.loads((target / "tokenizer_config.json").read_text())
    config["response_template"] = response_template_from_format(type(get_parser("deepseek-r1")).format)
    (target / "tokenizer_config.json").write_text(json.dumps(config))
    return transformers.AutoTokenizer.from_pretrained(target, local_files_only=True)


@pytest.mark.skipif(find_spec("vllm") is None, reason="vllm is not installed (scripts/engines/vllm.sh)")
def test_vllm_builds_ours_with_its_tokenizer(tokenizer):
    import vllm.plugins
    from vllm.reasoning import ReasoningParserManager

    vllm.plugins.load_general_plugins()
    assert ReasoningParserManager.get_reasoning_parser("hf").__module__.startswith("vllm.")  # vLLM's own
    for name in ("response-template", "response_template", "ours:hf"):
        parser = ReasoningParserManager.get_reasoning_parser(name)(tokenizer)
        assert (parser.reasoning_start_str, parser.reasoning_end_str) == ("<think>", "</think>")
        assert parser.extract_reasoning("<think>" + TEXT) == ("Two plus two.\n", "\n\nIt is 4.")
        ids = tokenizer.encode(TEXT, add_special_tokens=False)
        end = ids.index(tokenizer.convert_tokens_to_ids("</think>"))
        assert [parser.is_reasoning_end_streaming(ids[: k + 1], ids[k : k + 1]) for k in range(len(ids))] == \
            [k == end for k in range(len(ids))]


@pytest.mark.skipif(find_spec("sglang") is None, reason="sglang is not installed (scripts/engines/sglang.sh)")
def test_sglang_builds_ours_with_its_tokenizer(tokenizer):
    from reasoning_plugins.adapters import sglang as adapter

    adapter.install()
    from sglang.srt.parser.reasoning_parser import ReasoningParser

    parser = ReasoningParser("ours:response-template", tokenizer=tokenizer, force_reasoning=True)
    assert (parser.detector.think_start_token, parser.detector.think_end_token) == ("<think>", "</think>")
    assert parser.parse_non_stream(TEXT) == ("Two plus two.\n", "\n\nIt is 4.")
    streamed = ReasoningParser("ours:response-template", tokenizer=tokenizer, force_reasoning=True)
    pieces = [streamed.parse_stream_chunk(TEXT[i : i + 4]) for i in range(0, len(TEXT), 4)]
    pieces.append(streamed.parse_stream_end())
    assert "".join(r or "" for r, _ in pieces) == "Two plus two.\n"
    assert "".join(c or "" for _, c in pieces) == "\n\nIt is 4."
