"""What comes out: nothing lost, no marker text, nothing held back without need, no crash."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import strategies as st

from . import strategies as cs
from ._drive import Delta, per_char, per_token, read_message, regroup, run_extract, run_parse, run_seed, run_stream
from ._property import run_property
from ._registry import MARKERS, check
from ._relations import may_end_inside_marker, rebuild_problem
from ._results import CheckFailed, short
from ._samples import Sample, Started, contexts, samples_for
from ._subject import Subject

__all__ = ["bounded_holdback", "lossless", "no_marker_leak", "robust_unicode"]

# bounded_holdback parses every prefix: per character that is quadratic, so long outputs go
# per token only.
_HOLDBACK_CHAR_LIMIT = 160

def structured_cases(subject: Subject, one_per_kind: bool = False) -> Iterator[tuple[Started, Sample]]:
    """Well-formed outputs for every context the parser understands (or, with ``one_per_kind``,
    for the first context of each kind: reasoning, content, ...)."""
    kinds: set[str | None] = set()
    for started in contexts(subject):
        if one_per_kind and started.starts in kinds:
            continue
        kinds.add(started.starts)
        for sample in samples_for(subject, started):
            yield started, sample


def chunkings(subject: Subject, text: str, char_limit: int | None = None) -> Iterator[tuple[str, str, list[Delta]]]:
    if char_limit is None or len(text) <= char_limit:
        yield "per character", text, per_char(text)
    if subject.tokenizer is not None:
        decoded, deltas = per_token(subject.tokenizer, text)
        yield "per token", decoded, deltas


@check(needs=("parser", MARKERS))
def lossless(subject: Subject) -> None:
    """Reasoning + content rebuild the output minus its markers; only the newlines the format
    declares as markup (capability 'trims') may also go.

    Users rely on no word of the model's output being dropped, duplicated or reordered.
    """
    for started, sample in structured_cases(subject):
        ctx = started.ctx
        for how, text, deltas in chunkings(subject, sample.text):
            ids = [i for _, d in deltas for i in d or ()] or None
            for label, split in (
                ("parse()", run_parse(subject.new_parser(), ctx, text, ids)),
                (f"stream {how}", run_stream(subject.new_parser(), ctx, deltas).split),
            ):
                problem = rebuild_problem(text, split, subject, started.starts)
                if problem:
                    raise CheckFailed(f"[{ctx.label}] {label}: {problem}")

    def body(text: str) -> None:
        ctx = contexts(subject)[0].ctx
        problem = rebuild_problem(text, run_parse(subject.new_parser(), ctx, text), subject)
        if problem:
            raise CheckFailed(f"[{ctx.label}] parse(): {problem}")

    if contexts(subject)[0].starts in ("reasoning", None) and subject.markers is not None:
        markers = subject.markers
        strategy = cs.well_formed(markers)
        if markers.start and contexts(subject)[0].starts is None:
            strategy = strategy.filter(lambda t: t.startswith(markers.start or ""))
        run_property(subject.settings, strategy, body)


@check(needs=("parser", MARKERS))
def no_marker_leak(subject: Subject) -> None:
    """No delta carries a marker or a fragment of one, even when markers are split across deltas
    (``</thi`` + ``nk>``); tool-call openers that end reasoning stay whole in the content.

    Users display reasoning and content as they arrive; a stray ``</thi`` cannot be taken back.
    """
    markers = subject.markers
    assert markers is not None
    edges = markers.edge_chars
    for started, sample in structured_cases(subject):
        ctx = started.ctx
        for how, text, deltas in chunkings(subject, sample.text):
            streamed = run_stream(subject.new_parser(), ctx, deltas)
            for index, (reasoning, _content) in enumerate(streamed.deltas):
                if set(reasoning) & edges:
                    raise CheckFailed(
                        f"[{ctx.label}] {how} of {short(text)}: reasoning delta {index} is "
                        f"{short(reasoning, 40)}, which holds marker text"
                    )
            content = streamed.split.content or ""
            for marker in markers.implicit_ends:
                content = content.replace(marker, "")
            if set(content) & edges:
                raise CheckFailed(
                    f"[{ctx.label}] {how} of {short(text)}: content {short(streamed.split.content, 60)} holds marker text"
                )


@check(needs=("parser", MARKERS))
def bounded_holdback(subject: Subject) -> None:
    """Text that cannot be part of a marker is released in the same delta that brought it.

    After each delta whose text so far cannot end inside a marker, the stream has emitted
    exactly what parse() decides for that text so far (one context of each kind: reasoning
    open, content, awaiting a start marker). Users see reasoning as it is written,
    not in bursts or only at the end.
    """
    markers = subject.markers
    assert markers is not None
    for started, sample in structured_cases(subject, one_per_kind=True):
        ctx = started.ctx
        for how, _text, deltas in chunkings(subject, sample.text, _HOLDBACK_CHAR_LIMIT):
            stream = subject.new_parser().start_stream(**ctx.kwargs())
            seen, seen_ids = "", []
            reasoning, content = "", ""
            problems: list[str] = []
            for index, (delta, ids) in enumerate(deltas):
                r, c = read_message(stream.feed(delta, ids), f"feed() of delta {index}", problems)
                reasoning, content = reasoning + r, content + c
                seen += delta
                seen_ids += ids or []
                if may_end_inside_marker(seen, markers):
                    continue
                want = run_parse(subject.new_parser(), ctx, seen, seen_ids or None)
                if (reasoning or None, content or None) != (want.reasoning, want.content):
                    raise CheckFailed(
                        f"[{ctx.label}] {how}: after {short(seen, 50)} the stream had released "
                        f"(reasoning={short(reasoning, 30)}, content={short(content, 30)}) but "
                        f"{want} was already decided"
                    )


@check()
def robust_unicode(subject: Subject) -> None:
    """Arbitrary unicode, empty deltas and odd splits never make any method raise.

    Property-based: control characters, combining marks, astral planes, NUL, lone marker
    pieces, through parse(), the native stream, the seed interface and the token-id helpers.
    A crash in a parser takes down the user's whole response.
    """
    markers = subject.markers
    started = contexts(subject)
    text_strategy = st.one_of(cs.any_text(), cs.marker_soup(markers)) if markers else cs.any_text()
    tokenizer = subject.tokenizer

    def body(example: tuple[int, str, list[int]]) -> None:
        index, text, cuts = example
        ctx = started[index % len(started)].ctx
        tokens = per_token(tokenizer, text)[1] if tokenizer is not None else None
        step = "parse()"
        try:
            run_parse(subject.new_parser(), ctx, text)
            step = "extract_reasoning_content()"
            run_extract(subject.new_parser(), ctx, text)
            pieces = [(p, None) for p in _split_with_empties(text, cuts)]
            step = "start_stream().feed()"
            run_stream(subject.new_parser(), ctx, pieces)
            step = "extract_reasoning_content_streaming()"
            run_seed(subject.new_parser(), pieces)
            if tokens is not None:
                ids = [i for _, d in tokens for i in d or ()]
                step = "feed() with token ids"
                run_stream(subject.new_parser(), ctx, regroup(tokens, [1, 3, 2]))
                parser = subject.new_parser()
                step = "is_reasoning_end()"
                parser.is_reasoning_end(ids)
                step = "extract_content_ids()"
                parser.extract_content_ids(ids)
        except CheckFailed:
            raise
        except Exception as exc:
            raise CheckFailed(f"[{ctx.label}] {step} raised {type(exc).__name__}: {exc} on {short(text, 60)}") from exc

    strategy = st.tuples(st.integers(0, len(started) - 1), text_strategy, cs.cut_points(max_offset=120))
    run_property(subject.settings, strategy, body)


def _split_with_empties(text: str, cuts: list[int]) -> list[str]:
    """``text`` cut at ``cuts``, with an empty delta wherever a cut repeats."""
    pieces, last = [], 0
    for point in sorted(c for c in cuts if c <= len(text)):
        pieces.append(text[last:point])
        last = point
    pieces.append(text[last:])
    return pieces
