"""MiniMax M3: a stray ``</mm:think>`` opening a non-thinking reply is dropped, as vLLM and
SGLang drop it, under every engine driver, by text and by id (on the stand-in tokenizer with
M3's markers as single tokens), and the reasoner keeps it from the grammar."""

from __future__ import annotations

import pytest

from conformance._drive import Split, per_token, regroup
from conformance._drivers import DRIVERS
from conformance._subject import Context, Settings, Subject
from conformance.tokenizers import load_tokenizer
from reasoning_plugins import ChatCompletionRequest, get_parser, get_reasoner
from reasoning_plugins_extra.plugin import CONFORMANCE_TOKENIZERS

END = "</mm:think>"
ANSWER = "Paris is the capital of France."


@pytest.fixture(scope="module")
def m3():
    return load_tokenizer(CONFORMANCE_TOKENIZERS["minimax-m3"])


def _off() -> ChatCompletionRequest:
    return ChatCompletionRequest(messages=[], chat_template_kwargs={"thinking_mode": "disabled"})


@pytest.mark.parametrize(("output", "ctx", "want"), [
    (f"{END}{ANSWER}", Context("default"), Split(None, ANSWER)),
    (f"\n{END}\n\n{ANSWER}", Context("default"), Split(None, f"\n\n{ANSWER}")),
    (f"{END}{ANSWER}", Context("thinking_mode=disabled", request=_off()), Split(None, ANSWER)),
    (f"<mm:think>Easy.{END}{ANSWER}", Context("default"), Split("Easy.", ANSWER)),
    (f"{ANSWER} {END} quoted", Context("default"), Split(None, f"{ANSWER} {END} quoted")),
])
def test_stray_end_under_every_driver(m3, output, ctx, want):
    """Per token with ids, in 3-token deltas and per character, whichever way the engine calls."""
    subject = Subject.from_name("minimax-m3", Settings(tokenizer=CONFORMANCE_TOKENIZERS["minimax-m3"]))
    text, deltas = per_token(m3, output)
    assert text == output
    ran = set()
    for driver in DRIVERS.values():
        if driver.unavailable(subject) or not driver.supports(subject, ctx):
            continue
        assert driver.expected(subject, ctx, text) == want, driver.name
        for chunks in (deltas, regroup(deltas, [3]), [(c, None) for c in text]):
            for sent in driver.runs(subject, ctx, chunks):
                assert sent.streamed.split == want, sent.label
                ran.add(sent.label.split()[0])
    text_only = {"sglang", "lmdeploy", "trtllm"} if ctx.request is None else set()  # they convey no kwargs
    assert {"ours", "vllm", "vllm-multi"} | text_only <= ran


def test_stray_end_as_a_hidden_special_token(m3):
    """An engine decoding with skip_special_tokens sends the marker's id with no text: the
    answer's text is the same."""
    deltas = per_token(m3, f"{END}{ANSWER}")[1]
    end = m3.convert_tokens_to_ids(END)
    hidden = [("" if ids == [end] else piece, ids) for piece, ids in deltas]
    stream = get_parser("minimax-m3", m3).start_stream()
    got = [stream.feed(piece, ids) for piece, ids in hidden] + [stream.finish()]
    assert "".join(m.content for m in got if m and m.content) == ANSWER
    assert not any(m.reasoning_content for m in got if m)


@pytest.mark.parametrize("request_", [None, {"chat_template_kwargs": {"thinking_mode": "disabled"}}])
def test_reasoner_keeps_the_stray_end_from_the_grammar(m3, request_):
    """The grammar sees the answer's tokens only; parser and reasoner agree on every prefix."""
    ids = m3.encode(f"{END}{ANSWER}", add_special_tokens=False)
    reasoner = get_reasoner("minimax-m3", m3)
    tracker = reasoner.start([], request=request_)
    fed = [t for t in ids if not tracker.feed(t)]
    assert fed == ids[1:] and m3.decode(fed) == ANSWER
    parser = get_parser("minimax-m3", m3).bind(request_)
    whole = get_reasoner("minimax-m3", m3).bind(request_)
    assert parser.extract_content_ids(ids) == whole.extract_content_ids(ids) == ids[1:]
    for count in range(1, len(ids) + 1):
        assert parser.is_reasoning_end(ids[:count]) is whole.is_reasoning_end(ids[:count]) is True


def test_thinking_enabled_reads_a_leading_end_as_an_empty_block(m3):
    """With thinking_mode enabled the template opened the block: a leading end marker closes it."""
    request_ = {"chat_template_kwargs": {"thinking_mode": "enabled"}}
    assert get_parser("minimax-m3", m3).parse(f"{END}{ANSWER}", request=request_) == (None, ANSWER)
    assert get_parser("minimax-m3", m3).parse(f"Think.{END}{ANSWER}", request=request_) == ("Think.", ANSWER)
