"""Streaming equals non-streaming for every split of the output, by text and by token ids."""

from __future__ import annotations

import random

import pytest

from reasoning_plugins import get_parser

from .conftest import collect, stream_chunks
from .test_formats import ALL, CASES

OUTPUTS = sorted({output for _, output, _, _ in CASES}) + [
    "R\n\n</think>\n\n\n<response>\n\nC\n\n</response>\n\n",
    "<think><think></think></think>",
    "a\n</thi\nnk>b",
]


def _splits(text: str, seed: int):
    yield [text]  # whole
    yield list(text)  # per character
    rng = random.Random(seed)
    for _ in range(25):
        cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 8)))) if len(text) > 1 else []
        bounds = [0, *cuts, len(text)]
        yield [text[a:b] for a, b in zip(bounds, bounds[1:])]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("output", OUTPUTS)
def test_stream_equals_parse_for_every_split(name, output):
    """Whatever the chunking, streamed deltas plus finish() equal the non-streaming split."""
    expected = get_parser(name).parse(output)
    for chunks in _splits(output, seed=len(output)):
        assert stream_chunks(get_parser(name), chunks) == expected, chunks


@pytest.mark.parametrize("name", ALL)
def test_split_marker_is_matched(name):
    """A marker split over deltas (`</thi` + `nk>`) still ends reasoning and never leaks."""
    parser = get_parser(name)
    stream = parser.start_stream()
    first = stream.feed("because\n</thi")
    second = stream.feed("nk>answer")
    assert first is not None and "</thi" not in (first.reasoning_content or "")
    reasoning, content = collect([first, second, stream.finish()])
    assert "</thi" not in (reasoning or "") and content == "answer"


@pytest.mark.parametrize("name", ALL)
def test_plain_text_is_released_at_once(name):
    """Text that cannot start a marker is released in the same delta, not held back."""
    stream = get_parser(name).start_stream()
    message = stream.feed("thinking hard")
    assert message is not None and message.reasoning_content == "thinking hard"


@pytest.mark.parametrize("name", ["deepseek-r1", "ernie-x1"])
def test_per_token_ids_match_text_path(name, tiny_tokenizer):
    """Fed token by token with real ids, the result equals the text-only result."""
    output = "Compare 9.11 and 9.8 😀\n</think>\n\n<response>\n9.8 更大\n</response>\n"
    ids = tiny_tokenizer.encode(output, add_special_tokens=False)
    pieces, previous = [], ""
    for i in range(1, len(ids) + 1):
        text = tiny_tokenizer.decode(ids[:i])
        if text.endswith("\ufffd"):
            pieces.append(("", [ids[i - 1]]))  # an incomplete UTF-8 character: no text yet
            continue
        pieces.append((text[len(previous):], [ids[i - 1]]))
        previous = text
    # merge id-only pieces into the next text so no id is lost
    chunks, chunk_ids, pending = [], [], []
    for text, tid in pieces:
        pending += tid
        if text:
            chunks.append(text)
            chunk_ids.append(pending)
            pending = []
    parser = get_parser(name, tiny_tokenizer)
    assert "".join(chunks) == output
    by_ids = stream_chunks(parser, chunks, chunk_ids)
    assert by_ids == get_parser(name).parse(output)
    assert by_ids == parser.parse(output, token_ids=ids)


def test_marker_text_from_ordinary_tokens_is_not_a_marker(tiny_tokenizer):
    """With token ids, `</think>` spelled by ordinary tokens is text: the id decides, as for the reasoner."""
    parser = get_parser("deepseek-r1", tiny_tokenizer)
    end_id = tiny_tokenizer.convert_tokens_to_ids("</think>")
    spelled = tiny_tokenizer.encode("</", add_special_tokens=False) + tiny_tokenizer.encode("think>", add_special_tokens=False)
    assert end_id not in spelled
    stream = parser.start_stream()
    out = [stream.feed("a</", spelled[:1]), stream.feed("think>b", spelled[1:]), stream.feed("</think>", [end_id]),
           stream.feed("c", tiny_tokenizer.encode("c", add_special_tokens=False)), stream.finish()]
    assert collect(out) == ("a</think>b", "c")


def test_marker_id_without_text_is_placed(tiny_tokenizer):
    """Engines that skip special tokens send the `</think>` id with empty text; the split still happens."""
    parser = get_parser("deepseek-r1", tiny_tokenizer)
    end_id = tiny_tokenizer.convert_tokens_to_ids("</think>")
    stream = parser.start_stream()
    out = [stream.feed("reason", [5]), stream.feed("", [end_id]), stream.feed("answer", [6]), stream.finish()]
    assert collect(out) == ("reason", "answer")


@pytest.mark.parametrize("name", ALL)
def test_interleaved_streams_are_independent(name):
    """Two requests streamed in alternation through two instances do not affect each other."""
    a_text, b_text = "alpha\n</think>\n\nA", "beta beta</think>B"
    a, b = get_parser(name).start_stream(), get_parser(name).start_stream()
    a_out, b_out = [], []
    for i in range(max(len(a_text), len(b_text))):
        a_out.append(a.feed(a_text[i : i + 1]))
        b_out.append(b.feed(b_text[i : i + 1]))
    a_out.append(a.finish())
    b_out.append(b.finish())
    assert collect(a_out) == get_parser(name).parse(a_text)
    assert collect(b_out) == get_parser(name).parse(b_text)


def test_none_and_empty_deltas_are_ignored():
    """`None` or empty deltas produce no message and change nothing."""
    stream = get_parser("deepseek-r1").start_stream()
    assert stream.feed(None) is None and stream.feed("") is None and stream.feed("", []) is None
    assert collect([stream.feed("r</think>c"), stream.finish()]) == ("r", "c")


def test_feeding_after_finish_is_an_error():
    """A finished stream refuses more text with a clear message instead of corrupting the result."""
    stream = get_parser("deepseek-r1").start_stream()
    stream.finish()
    with pytest.raises(RuntimeError, match="finished"):
        stream.feed("x")
