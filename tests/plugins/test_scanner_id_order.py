"""Several marker ids in one delta: their texts are matched in the order the ids arrived."""

from __future__ import annotations

import pytest

from conformance.tokenizers import TokenizerUnavailable, load_tokenizer
from reasoning_plugins import get_parser


@pytest.fixture(scope="module")
def qwen():
    try:
        return load_tokenizer("qwen")
    except TokenizerUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize(("output", "expected"), [
    ("<think><think></think>", (None, None)),
    ("<think><think>x</think>y", ("x", "y")),
    ("<think>a<think>b</think>c", ("ab", "c")),
])
def test_doubled_start_marker_in_one_delta_of_ids(qwen, output, expected):
    """A second <think> (removed) and </think> arriving in one delta with their ids and text: the
    end marker is not placed before the start marker whose id came first."""
    parser = get_parser("qwen3", qwen)
    ids = qwen.encode(output, add_special_tokens=False)
    assert parser.parse(output) == expected
    assert parser.parse(output, token_ids=ids) == expected
    stream = parser.start_stream()
    pieces = [stream.feed(output, ids), stream.finish()]
    got = ("".join(p.reasoning_content for p in pieces if p and p.reasoning_content) or None,
           "".join(p.content for p in pieces if p and p.content) or None)
    assert got == expected
