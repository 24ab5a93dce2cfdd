"""Tool-call openers that are several tokens while the end marker is one (Kimi K2, MiniMax M2,
Hunyuan A13B on Qwen's real tokenizer): the parser, its id methods and the guided-decoding
reasoner all see reasoning end where the opener is complete, under every engine driver."""

from __future__ import annotations

import pytest

from conformance._drive import Split, per_token, regroup
from conformance._drivers import DRIVERS
from conformance._subject import Context, Settings, Subject
from conformance.tokenizers import load_tokenizer
from reasoning_plugins import get_parser, get_reasoner

# (name, output before the call, the call with its real markup, the opener)
CALLS = [
    ("kimi-k2", "<think>I should call it.",
     "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
     '<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>',
     "<|tool_calls_section_begin|>"),
    ("minimax-m2", "<think>I should call it.",
     '<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n'
     "</invoke>\n</minimax:tool_call>",
     "<minimax:tool_call>"),
    ("hunyuan-a13b", "<think>\nI should call it.\n",
     '<tool_calls>[{"name": "get_weather", "arguments": {"city": "Paris"}}]</tool_calls>',
     "<tool_calls>"),
]


@pytest.fixture(scope="module")
def qwen():
    return load_tokenizer("qwen")


def _reasoning(before: str) -> str:
    return before.split(">", 1)[1]


def _completing_token(tokenizer, ids: list[int], opener: str) -> int:
    return next(k for k in range(len(ids)) if opener in tokenizer.decode(ids[: k + 1], skip_special_tokens=False))


@pytest.mark.parametrize(("name", "before", "call", "opener"), CALLS)
def test_opener_is_several_tokens_and_the_end_marker_one(qwen, name, before, call, opener):
    """What makes these families special on this tokenizer (else the test proves nothing new)."""
    assert len(qwen.encode(opener, add_special_tokens=False)) > 1
    assert len(qwen.encode("</think>", add_special_tokens=False)) == 1


@pytest.mark.parametrize(("name", "before", "call", "opener"), CALLS)
def test_streamed_token_by_token_under_every_driver(qwen, name, before, call, opener):
    """Per token with ids (and in 3-token deltas), as each engine calls the parser: the call and
    its opener are content, what came before is reasoning."""
    subject = Subject.from_name(name, Settings(tokenizer="qwen"))
    output = before + call
    text, deltas = per_token(qwen, output)
    assert text == output
    ids = [i for _, d in deltas for i in d or ()]
    want = Split(_reasoning(before), call)
    ctx = Context("default")
    ran = []
    for driver in DRIVERS.values():
        if driver.unavailable(subject) or not driver.supports(subject, ctx):
            continue
        assert driver.expected(subject, ctx, text, ids if driver.passes_ids else None) == want, driver.name
        for chunks in (deltas, regroup(deltas, [3])):
            for sent in driver.runs(subject, ctx, chunks):
                assert sent.streamed.split == want, sent.label
                ran.append(sent.label)
    assert {"ours", "vllm", "sglang", "lmdeploy"} <= {label.split()[0] for label in ran}


@pytest.mark.parametrize(("name", "before", "call", "opener"), CALLS)
def test_reasoner_sees_reasoning_end_on_the_token_completing_the_opener(qwen, name, before, call, opener):
    """Guided decoding: the tracker counts every token before the one completing the opener as
    reasoning and every token from it on as content (the grammar's), so a reasoning budget stops
    counting there; the whole-sequence methods of the reasoner and the parser agree."""
    ids = qwen.encode(before + call, add_special_tokens=False)
    at = _completing_token(qwen, ids, opener)
    reasoner = get_reasoner(name, qwen)
    tracker = reasoner.start([])
    flags = [tracker.feed(token) for token in ids]
    assert flags == [True] * at + [False] * (len(ids) - at)
    assert not tracker.in_reasoning
    parser = get_parser(name, qwen)
    for count in range(len(ids) + 1):
        ended = count > at
        assert reasoner.is_reasoning_end(ids[:count]) is ended
        assert parser.is_reasoning_end(ids[:count]) is ended
    content_ids = reasoner.extract_content_ids(ids)
    assert content_ids == ids[at:] == parser.extract_content_ids(ids)
    # the content tokens carry the call; only a proper start of the opener was already out
    decoded = qwen.decode(content_ids, skip_special_tokens=False)
    assert call.endswith(decoded) and len(call) - len(decoded) < len(opener)


@pytest.mark.parametrize(("name", "before", "call", "opener"), CALLS)
def test_opener_text_quoted_after_the_end_marker_changes_nothing(qwen, name, before, call, opener):
    """Reasoning closed by the end marker: a later opener is the answer's business."""
    output = before + "</think>Calling." + call
    ids = qwen.encode(output, add_special_tokens=False)
    end = ids.index(qwen.convert_tokens_to_ids("</think>"))
    reasoner = get_reasoner(name, qwen)
    assert reasoner.extract_content_ids(ids) == ids[end + 1:]
    tracker = reasoner.start([])
    assert [tracker.feed(t) for t in ids] == [True] * (end + 1) + [False] * (len(ids) - end - 1)


@pytest.mark.parametrize(("name", "before", "call", "opener"), CALLS)
def test_budget_forced_end_before_any_opener(qwen, name, before, call, opener):
    """A reasoning budget that runs out before the call forces the end marker, which ends
    reasoning for the tracker and the whole-sequence methods alike."""
    reasoner = get_reasoner(name, qwen)
    ids = qwen.encode(before.split(">", 1)[1], add_special_tokens=False) + reasoner.force_end_token_ids
    tracker = reasoner.start([])
    for token in ids:
        tracker.feed(token)
    assert not tracker.in_reasoning
    assert reasoner.is_reasoning_end(ids) and reasoner.extract_content_ids(ids) == []
