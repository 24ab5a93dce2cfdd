"""Two ReasoningFormat declarations any plugin can make: a stray end marker opening a reply is
markup (``leading_end_is_markup``), and request values that turn thinking off
(``thinking_off_values``). Parser (streamed and not, by text and by id) and reasoner agree."""

from __future__ import annotations

import pytest

from conformance.tokenizers import load_tokenizer
from reasoning_plugins import (
    Capability,
    ChatCompletionRequest,
    DeclarativeParser,
    DeclarativeReasoner,
    Mode,
    ReasoningFormat,
    request_field,
)

STRAY = ReasoningFormat(start="<r>", end="</r>", start_in_output=True, default_mode=Mode.AWAIT_START,
                        switches=("enable_thinking",), leading_end_is_markup=True)
PLAIN = ReasoningFormat(start="<r>", end="</r>", start_in_output=True, default_mode=Mode.AWAIT_START,
                        switches=("enable_thinking",))
OFF = ReasoningFormat(start="<think>", end="</think>", default_mode=Mode.REASONING,
                      switches=("thinking",), thinking_off_values=(("reasoning_effort", "none"),))


class StrayParser(DeclarativeParser):
    format = STRAY


class PlainParser(DeclarativeParser):
    format = PLAIN


class StrayReasoner(DeclarativeReasoner):
    format = STRAY


class OffParser(DeclarativeParser):
    format = OFF


class OffReasoner(DeclarativeReasoner):
    format = OFF


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("qwen+<r> </r>")


def _stream(parser, deltas, **kwargs):
    stream = parser.start_stream(**kwargs)
    out = [stream.feed(text, ids) for text, ids in deltas] + [stream.finish()]
    reasoning = "".join(m.reasoning_content for m in out if m and m.reasoning_content)
    content = "".join(m.content for m in out if m and m.content)
    return reasoning or None, content or None


def _tokens(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    deltas, done = [], ""
    for k in range(1, len(ids) + 1):
        decoded = tokenizer.decode(ids[:k], skip_special_tokens=False)
        deltas.append((decoded[len(done):], [ids[k - 1]]))
        done = decoded
    return deltas


# (output, mode, expected split)
STRAY_CASES = [
    ("</r>Hello", None, (None, "Hello")),
    ("\n </r>Hello", None, (None, "Hello")),  # awaiting <r>: whitespace before it is markup too
    ("</r>\n\nHello", None, (None, "\n\nHello")),  # after it, whitespace is the answer's
    ("</r>", None, (None, None)),
    ("Hello</r>x", None, (None, "Hello</r>x")),  # only a leading one
    ("<r>think</r>Hello", None, ("think", "Hello")),
    ("</r>Hello", "content", (None, "Hello")),
    (" </r>Hello", "content", (None, " </r>Hello")),  # in content only as the very first text
    ("</r>Hello", "reasoning", (None, "Hello")),  # in reasoning it is the end marker
    ("</rx", None, (None, "</rx")),
]


@pytest.mark.parametrize(("output", "mode", "want"), STRAY_CASES)
def test_stray_end_streamed_and_not_by_text(output, mode, want):
    """Whole, per character and in two halves, text only: the same split."""
    parser = StrayParser()
    assert parser.parse(output, mode=mode) == want
    assert _stream(StrayParser(), [(c, None) for c in output], mode=mode) == want
    half = len(output) // 2
    assert _stream(StrayParser(), [(output[:half], None), (output[half:], None)], mode=mode) == want


@pytest.mark.parametrize(("output", "mode", "want"), STRAY_CASES)
def test_stray_end_by_id_with_text_and_hidden(tokenizer, output, mode, want):
    """Per token with ids; and with the marker's text hidden (skip_special_tokens), still dropped."""
    deltas = _tokens(tokenizer, output)
    assert _stream(StrayParser(tokenizer), deltas, mode=mode) == want
    end = tokenizer.convert_tokens_to_ids("</r>")
    hidden = [("" if ids == [end] else text, ids) for text, ids in deltas]
    if hidden != deltas and output.count("</r>") == 1 and want[1] is not None and "</r>" not in want[1]:
        assert _stream(StrayParser(tokenizer), hidden, mode=mode) == want


def test_without_the_declaration_the_stray_end_stays():
    """The default is unchanged: a leading end marker of a hybrid's reply is content."""
    assert PlainParser().parse("</r>Hello") == (None, "</r>Hello")
    assert Capability.THINKING_SWITCH in StrayParser.capabilities


@pytest.mark.parametrize(("output", "mode"), [("</r>Hello", None), ("  </r>Hello", None), ("</r>Hello", "content"),
                                              ("Hello", None), ("<r>a b</r>Hello", None)])
def test_reasoner_withholds_the_stray_end_from_the_grammar(tokenizer, output, mode):
    """The tracker and the whole-sequence methods of reasoner and parser agree: the stray marker
    (and whitespace before it while awaiting) is never fed to the grammar; the answer is."""
    ids = tokenizer.encode(output, add_special_tokens=False)
    reasoner = StrayReasoner.from_tokenizer(tokenizer)
    tracker = reasoner.start([], mode=mode)
    content_ids = [t for t in ids if not tracker.feed(t)]
    assert tokenizer.decode(content_ids) == "Hello"
    parser = StrayParser(tokenizer).bind(mode=mode)
    whole = StrayReasoner.from_tokenizer(tokenizer).bind(mode=mode)
    assert whole.extract_content_ids(ids) == content_ids == parser.extract_content_ids(ids)
    assert whole.is_reasoning_end(ids) and parser.is_reasoning_end(ids)


def test_thinking_off_values_read_as_the_engines_do():
    """``reasoning_effort: "none"`` in chat_template_kwargs or at the top level turns thinking off,
    over a ``thinking: true`` switch; other efforts leave the default (thinking on)."""
    answer = "The answer is 42."
    off = [
        {"chat_template_kwargs": {"reasoning_effort": "none"}},
        {"reasoning_effort": "none"},
        {"reasoning_effort": "NONE"},
        {"chat_template_kwargs": {"reasoning_effort": "none", "thinking": True}},
        ChatCompletionRequest(messages=[], reasoning_effort="none"),
    ]
    for request in off:
        assert OffParser().parse(answer, request=request) == (None, answer), request
        assert OffReasoner.from_tokenizer(load_tokenizer("qwen")).resolve_mode(request=request) is Mode.CONTENT
    assert request_field(off[-1], "reasoning_effort") == "none"
    on = [{"reasoning_effort": "high"}, {"chat_template_kwargs": {"reasoning_effort": "low"}}, None]
    for request in on:
        assert OffParser().parse(answer, request=request) == (answer, None), request
    assert Capability.THINKING_SWITCH in OffParser.capabilities


def test_thinking_off_values_must_be_pairs():
    """A malformed declaration is a clear error naming the expected shape."""
    with pytest.raises(ValueError, match=r"\(field, value\) pairs"):
        ReasoningFormat(thinking_off_values=("reasoning_effort",))  # type: ignore[arg-type]


def test_export_names_what_a_response_template_cannot_carry():
    """``reasoning-plugins export`` warns that both declarations are lost in a response_template."""
    from reasoning_plugins._auto import unexported_features

    lost = " | ".join(unexported_features(OFF)) + " | " + " | ".join(unexported_features(STRAY))
    assert "reasoning_effort='none'" in lost
    assert "leading_end_is_markup" in lost
    assert unexported_features(PLAIN) == ["request switches enable_thinking (the chat template applies them)"]
