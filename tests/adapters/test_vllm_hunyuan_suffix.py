"""Hy v3 / v4 inside the real vLLM package: the markers vLLM reads from the parser
(``reasoning_start_str`` / ``reasoning_end_str``, used to force the end of a thinking budget)
and the token ids that end reasoning are the tokenizer's own spelling, not the released one.

Run: ``.venv-vllm/bin/python -m pytest tests/adapters/test_vllm_hunyuan_suffix.py``; skipped where
vLLM or reasoning-plugins-extra is not installed. The tokenizer is Qwen's plus a Hy checkpoint's
suffixed markers (Hy's own tokenizer is not available offline).
"""

from __future__ import annotations

from importlib.util import find_spec

import pytest

pytestmark = [
    pytest.mark.skipif(find_spec("vllm") is None, reason="vllm is not installed (scripts/engines/vllm.sh)"),
    pytest.mark.skipif(find_spec("reasoning_plugins_extra") is None, reason="reasoning-plugins-extra is not installed"),
]


@pytest.mark.parametrize("name", ["ours:hy-v3", "ours:hy-v4"])
def test_vllm_reads_the_checkpoints_own_suffix(name):
    import vllm.plugins
    from vllm.reasoning import ReasoningParserManager

    from conformance.tokenizers import load_tokenizer

    vllm.plugins.load_general_plugins()
    tokenizer = load_tokenizer("qwen+<think:abc123> </think:abc123> <tool_calls:abc123>")
    parser = ReasoningParserManager.get_reasoning_parser(name)(tokenizer, chat_template_kwargs={"reasoning_effort": "high"})
    assert (parser.reasoning_start_str, parser.reasoning_end_str) == ("<think:abc123>", "</think:abc123>")
    text = "Add them.</think:abc123>It is 4."
    ids = tokenizer.encode(text, add_special_tokens=False)
    end = ids.index(tokenizer.convert_tokens_to_ids("</think:abc123>"))
    assert [parser.is_reasoning_end_streaming(ids[: k + 1], ids[k: k + 1]) for k in range(len(ids))] == \
        [k == end for k in range(len(ids))]
    assert parser.extract_content_ids(ids) == ids[end + 1:]
