"""The built-in parsers called the ways real engines call them, with the bundled real tokenizer."""

from __future__ import annotations

import pytest

from reasoning_plugins import get_parser, get_reasoner
from reasoning_plugins.protocol import ReasoningDelta

from .conftest import collect

OUTPUT = "Compare 9.11 and 9.8 digit by digit.\n</think>\n\nThe answer is 9.8."
EXPECTED = ("Compare 9.11 and 9.8 digit by digit.\n", "\n\nThe answer is 9.8.")


def token_deltas(tokenizer, text):
    """(delta text, [id]) per token, as an engine detokenises incrementally."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    deltas, emitted = [], ""
    for count in range(1, len(ids) + 1):
        decoded = tokenizer.decode(ids[:count])
        if decoded.endswith("\ufffd") and count < len(ids):
            deltas.append(("", [ids[count - 1]]))
            continue
        deltas.append((decoded[len(emitted):], [ids[count - 1]]))
        emitted = decoded
    return deltas


def seed_calls(parser, deltas, *, lag=0):
    """vLLM's legacy path: previous/current text and ids per token; with stop strings set the
    text released lags the ids by ``lag`` characters (all of it at the end)."""
    full = "".join(text for text, _ in deltas)
    seen = 0
    previous_text, previous_ids, out = "", [], []
    for index, (text, ids) in enumerate(deltas):
        seen += len(text)
        released = len(full) if index == len(deltas) - 1 else max(0, seen - lag)
        current_text = full[:released]
        delta = current_text[len(previous_text):]
        current_ids = previous_ids + ids
        out.append(parser.extract_reasoning_content_streaming(
            previous_text, current_text, delta, previous_ids, current_ids, ids))
        previous_text, previous_ids = current_text, current_ids
    out.append(parser.finish())
    return collect(out)


@pytest.mark.parametrize("lag", [0, 1, 3, 8, 20])
def test_text_lagging_ids_splits_at_the_marker(tiny_tokenizer, lag):
    """With stop strings vLLM releases text a few characters behind the ids: </think>'s id
    arrives before its text, and the split still falls exactly at the marker."""
    deltas = token_deltas(tiny_tokenizer, OUTPUT)
    assert seed_calls(get_parser("deepseek-r1", tiny_tokenizer), deltas, lag=lag) == EXPECTED


def test_marker_text_never_sent_is_placed_where_its_id_was(tiny_tokenizer):
    """skip_special_tokens engines send </think>'s id with no text: it still splits there."""
    end_id = tiny_tokenizer.convert_tokens_to_ids("</think>")
    deltas = [("", ids) if ids == [end_id] else (text, ids) for text, ids in token_deltas(tiny_tokenizer, OUTPUT)]
    assert seed_calls(get_parser("deepseek-r1", tiny_tokenizer), deltas) == EXPECTED


def test_one_instance_shared_by_lockstep_requests(tiny_tokenizer):
    """LMDeploy shares one parser between requests, interleaved: two same-length requests in
    lockstep and a third, different one each get their own split."""
    parser = get_parser("deepseek-r1", tiny_tokenizer)
    other = "Short.\n</think>\n\nYes."
    streams = [token_deltas(tiny_tokenizer, OUTPUT), token_deltas(tiny_tokenizer, OUTPUT),
               token_deltas(tiny_tokenizer, other)]
    state = [("", [], []) for _ in streams]
    for step in range(max(len(s) for s in streams)):
        for index, deltas in enumerate(streams):
            if step >= len(deltas):
                continue
            text, ids = deltas[step]
            previous_text, previous_ids, out = state[index]
            current_text, current_ids = previous_text + text, previous_ids + ids
            out.append(parser.extract_reasoning_content_streaming(
                previous_text=previous_text, current_text=current_text, delta_text=text,
                previous_token_ids=previous_ids, current_token_ids=current_ids, delta_token_ids=ids))
            state[index] = (current_text, current_ids, out)
    for index in range(len(streams)):
        out = state[index][2]
        out.append(parser.finish(state[index][0]))
        want = EXPECTED if index < 2 else ("Short.\n", "\n\nYes.")
        assert collect(out) == want, index


def test_fresh_instance_per_delta_catches_up(tiny_tokenizer):
    """An engine that builds a new parser for every delta still gets the right split."""
    deltas = token_deltas(tiny_tokenizer, OUTPUT)
    previous_text, previous_ids, out = "", [], []
    for text, ids in deltas:
        parser = get_parser("deepseek-r1", tiny_tokenizer)
        out.append(parser.extract_reasoning_content_streaming(
            previous_text, previous_text + text, text, previous_ids, previous_ids + ids, ids))
        previous_text, previous_ids = previous_text + text, previous_ids + ids
    assert collect(out) == EXPECTED


@pytest.mark.parametrize("name", ["deepseek-r1", "ernie-x1", "ernie-45-vl-thinking"])
def test_empty_id_list_is_no_ids(tiny_tokenizer, name):
    """feed(text, []) and feed(text, None) give the same split."""
    text = "R\n</think>\n\n<response>\nC\n</response>\n"
    for ids in ([], None):
        stream = get_parser(name, tiny_tokenizer).start_stream()
        messages = [stream.feed(piece, ids) for piece in ("R\n</th", "ink>\n\n<resp", "onse>\nC\n</response>\n")]
        messages.append(stream.finish())
        assert collect(messages) == get_parser(name).parse(text)


def test_many_ids_in_one_delta_match_per_token(tiny_tokenizer):
    """Deltas of more than 16 ids (speculative decoding, stream_interval) split as per token."""
    text = OUTPUT + " Quoted </think> stays." * 3
    deltas = token_deltas(tiny_tokenizer, text)
    stream = get_parser("deepseek-r1", tiny_tokenizer).start_stream()
    per_token = collect([stream.feed(t, i) for t, i in deltas] + [stream.finish()])
    for size in (17, 24, 40):
        stream = get_parser("deepseek-r1", tiny_tokenizer).start_stream()
        out = []
        for start in range(0, len(deltas), size):
            group = deltas[start : start + size]
            out.append(stream.feed("".join(t for t, _ in group), [i for _, ids in group for i in ids]))
        out.append(stream.finish())
        assert collect(out) == per_token, size
    assert per_token[1].endswith("Quoted </think> stays.")


def test_delta_starting_inside_a_character_places_the_marker(tiny_tokenizer):
    """A delta whose first tokens complete a character begun in the previous delta, with
    </think> sent as its id only and the answer after it: the marker lands right after the
    reasoning, not as many characters late as the first tokens decode to on their own."""
    end_id = tiny_tokenizer.convert_tokens_to_ids("</think>")
    deltas = token_deltas(tiny_tokenizer, "想😀x</think>yz")
    marker = next(index for index, (_, ids) in enumerate(deltas) if ids == [end_id])
    # the emoji is several byte tokens; cut the stream after its first one
    emoji = next(index for index, (text, _) in enumerate(deltas) if text == "")
    head, tail = deltas[: emoji + 1], deltas[emoji + 1 :]
    assert len(tail[0][1]) == 1 and tail[0][0] == "" and len(tail) > 3
    rest = [(t, i) for t, i in tail if i != [end_id]]  # the marker's text is never sent
    merged = ("".join(t for t, _ in rest), [i for t, ids in tail for i in ids])
    assert tiny_tokenizer.decode(merged[1][:2]).startswith("\ufffd\ufffd")
    stream = get_parser("deepseek-r1", tiny_tokenizer).start_stream()
    got = collect([stream.feed(t, i) for t, i in head] + [stream.feed(*merged), stream.finish()])
    assert got == ("想😀x", "yz")


def test_quoted_start_after_end_keeps_reasoning_ended(tiny_tokenizer):
    """is_reasoning_end never flips back: a <think> quoted in the answer is content."""
    parser = get_parser("deepseek-r1", tiny_tokenizer)
    reasoner = get_reasoner("deepseek-r1", tiny_tokenizer)
    ids = tiny_tokenizer.encode("R</think>Write <think> to open.", add_special_tokens=False)
    end = ids.index(tiny_tokenizer.convert_tokens_to_ids("</think>"))
    for count in range(len(ids) + 1):
        ended = count > end
        assert parser.is_reasoning_end(ids[:count]) is ended
        assert reasoner.is_reasoning_end(ids[:count]) is ended
    assert tiny_tokenizer.decode(parser.extract_content_ids(ids)) == "Write <think> to open."


def test_light_messages_on_the_hot_path(tiny_tokenizer):
    """The native stream returns plain ReasoningDelta objects, readable as DeltaMessage is."""
    message = get_parser("deepseek-r1").start_stream().feed("thinking")
    assert type(message) is ReasoningDelta
    assert message.reasoning_content == message.reasoning == "thinking" and message.content is None
    assert message.to_delta_message().reasoning_content == "thinking"


@pytest.mark.parametrize("lag", [1, 3, 8])
@pytest.mark.parametrize("answer", ["\n\nThe answer is 9.8, since 0.8 is more than 0.11.", ""])
def test_marker_never_sent_while_text_lags(tiny_tokenizer, lag, answer):
    """skip_special_tokens and stop strings together: </think> never arrives as text and the
    text runs behind the ids; the marker is still placed where its id was."""
    output = "Compare 9.11 and 9.8 digit by digit.\n</think>" + answer
    end_id = tiny_tokenizer.convert_tokens_to_ids("</think>")
    deltas = [("", ids) if ids == [end_id] else (text, ids) for text, ids in token_deltas(tiny_tokenizer, output)]
    want = ("Compare 9.11 and 9.8 digit by digit.\n", answer or None)
    assert seed_calls(get_parser("deepseek-r1", tiny_tokenizer), deltas, lag=lag) == want
