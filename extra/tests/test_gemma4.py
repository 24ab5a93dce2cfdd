"""Gemma 4: `<|channel>thought\\n...<channel|>` then the answer; the `thought\\n` label is markup,
a `<|tool_call>` inside the channel ends reasoning. Token-level tests use the conformance suite's
gemma4 stand-in (Qwen's tokenizer with Gemma 4's markers as single tokens: Gemma's own tokenizer
is not available offline)."""

from __future__ import annotations

import pytest

from conformance._drive import Split, per_char, per_token, regroup
from conformance._drivers import DRIVERS
from conformance._subject import Context, Settings, Subject
from conformance.tokenizers import load_tokenizer
from reasoning_plugins import get_parser, get_reasoner

CALL = '<|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|>'
OUTPUTS = [
    ("<|channel>thought\nThe user wants the capital.<channel|>The capital of France is Paris.",
     "The user wants the capital.", "The capital of France is Paris."),
    # thinking off: the model answers directly
    ("The capital of France is Paris.", None, "The capital of France is Paris."),
    # an empty channel (some sizes write one with thinking off)
    ("<|channel>thought\n<channel|>Paris.", None, "Paris."),
    # a tool call opened inside the channel ends reasoning and stays in the content
    ("<|channel>thought\nI need the weather." + CALL, "I need the weather.", CALL),
    ("<|channel>thought\nI need the weather.<channel|>" + CALL, "I need the weather.", CALL),
    # the word "thought" elsewhere is text
    ("<|channel>thought\nA thought\nhere.<channel|>thought\nno", "A thought\nhere.", "thought\nno"),
    # cut off in the label or the reasoning (max_tokens)
    ("<|channel>thought\nStill", "Still", None),
]


@pytest.fixture(scope="module")
def gemma():
    return load_tokenizer("gemma4")


def _stream(parser, chunks, **context):
    stream = parser.start_stream(**context)
    pieces = [stream.feed(text, ids) for text, ids in chunks] + [stream.finish()]
    return (
        "".join(p.reasoning_content for p in pieces if p and p.reasoning_content) or None,
        "".join(p.content for p in pieces if p and p.content) or None,
    )


def test_stand_in_tokenizer_has_the_markers_as_single_tokens(gemma):
    for marker in ("<|channel>", "<channel|>", "<|tool_call>"):
        assert len(gemma.encode(marker, add_special_tokens=False)) == 1


@pytest.mark.parametrize(("output", "reasoning", "content"), OUTPUTS)
def test_split_and_stream_by_text_and_by_token(gemma, output, reasoning, content):
    parser = get_parser("gemma4", gemma)
    assert parser.parse(output) == (reasoning, content)
    assert _stream(get_parser("gemma4"), per_char(output)) == (reasoning, content)
    text, deltas = per_token(gemma, output)
    assert text == output
    assert _stream(parser, deltas) == (reasoning, content)
    # an engine that skips special tokens: the markers arrive as ids without their text
    hidden = [("" if ids[0] in (gemma.convert_tokens_to_ids("<|channel>"), gemma.convert_tokens_to_ids("<channel|>"))
               else piece, ids) for piece, ids in deltas]
    assert _stream(parser, hidden) == (reasoning, content)


@pytest.mark.parametrize(("output", "reasoning", "content"), OUTPUTS)
def test_under_every_engine_driver(gemma, output, reasoning, content):
    subject = Subject.from_name("gemma4", Settings())
    assert subject.tokenizer_name == "gemma4"
    text, deltas = per_token(subject.tokenizer, output)
    want = Split(reasoning, content)
    seen = set()
    # and an explicit mode FastDeploy can pass (think_start / think_end) giving the same split: in
    # reasoning the channel the model writes is still removed with its label
    explicit = "reasoning" if output.startswith("<|channel>") else "content"
    for ctx in (Context("default"), Context(f"mode={explicit}", mode=explicit)):
        for driver in DRIVERS.values():
            if driver.unavailable(subject) or not driver.supports(subject, ctx):
                continue
            assert driver.expected(subject, ctx, text) == want, driver.name
            for chunks in (deltas, regroup(deltas, [3])):
                for sent in driver.runs(subject, ctx, chunks):
                    assert sent.streamed.split == want, sent.label
            seen.add(driver.name)
    assert seen == set(DRIVERS)


def test_prompt_that_opened_the_channel(gemma):
    """After a tool response the template may leave the prompt inside an open channel: the output
    is reasoning from its first token, its label (if written) removed."""
    parser = get_parser("gemma4", gemma)
    prompt = "<start_of_turn>model\n<|channel>"
    assert parser.parse("thought\nR<channel|>C", prompt_text=prompt) == ("R", "C")
    assert parser.parse("R<channel|>C", prompt_text=prompt + "thought\n") == ("R", "C")
    ids = gemma.encode(prompt, add_special_tokens=False)
    assert parser.parse("thought\nR<channel|>C", prompt_token_ids=ids) == ("R", "C")


def test_reasoner_gates_the_grammar_per_token(gemma):
    """The tracker keeps the channel (label included) from the grammar, and ends reasoning on
    <channel|> or on a <|tool_call> opened inside it (which the grammar then sees)."""
    reasoner = get_reasoner("gemma4", gemma)
    output = "<|channel>thought\nI need the weather." + CALL
    ids = gemma.encode(output, add_special_tokens=False)
    call_at = ids.index(gemma.convert_tokens_to_ids("<|tool_call>"))
    tracker = reasoner.start([])
    assert [tracker.feed(t) for t in ids] == [True] * call_at + [False] * (len(ids) - call_at)
    assert reasoner.extract_content_ids(ids) == ids[call_at:]
    answer = gemma.encode("Paris.", add_special_tokens=False)
    direct = reasoner.start([])
    assert [direct.feed(t) for t in answer] == [False] * len(answer)  # no channel: all for the grammar
    assert gemma.decode(reasoner.force_end_token_ids).endswith("<channel|>")


@pytest.mark.parametrize("name", ["gemma4", "gemma-4", "Gemma4"])
def test_engine_names(name):
    assert get_parser(name).format.start == "<|channel>"
