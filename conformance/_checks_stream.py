"""Streaming equals non-streaming, whatever the chunking, through both interfaces."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import strategies as st

from . import strategies as cs
from ._drive import (
    Delta,
    Split,
    cut,
    per_char,
    per_token,
    read_message,
    regroup,
    run_extract,
    run_parse,
    run_seed,
    run_stream,
    whole,
)
from ._property import run_property
from ._registry import TOKENIZER, check
from ._results import CheckFailed, short
from ._samples import Sample, adversarial, contexts, samples_for
from ._subject import Context, Subject

__all__ = [
    "empty_is_none",
    "seed_resync",
    "seed_streaming",
    "stream_per_char",
    "stream_per_token",
    "stream_random_deltas",
    "stream_whole",
]


def cases(subject: Subject) -> Iterator[tuple[Context, Sample]]:
    """Every context the parser understands with structured outputs; adversarial outputs in the
    first context of each kind (reasoning, content, ...), where they exercise different phases."""
    extra = adversarial(subject.markers)
    kinds: set[str | None] = set()
    for started in contexts(subject):
        first_of_kind = started.starts not in kinds
        kinds.add(started.starts)
        for sample in samples_for(subject, started) + (extra if first_of_kind else []):
            yield started.ctx, sample


def compare_stream(subject: Subject, ctx: Context, text: str, deltas: list[Delta], how: str, ids: list[int] | None = None) -> None:
    want = run_parse(subject.new_parser(), ctx, text, ids)
    got = run_stream(subject.new_parser(), ctx, deltas).split
    if got != want:
        raise CheckFailed(f"[{ctx.label}] {how} of {short(text)}: stream gave {got}, parse() gave {want}")


@check()
def stream_whole(subject: Subject) -> None:
    """One delta holding the whole output, then finish(), gives exactly what parse() gives.

    Users rely on a streamed response and a non-streamed one carrying the same reasoning and content.
    """
    for ctx, sample in cases(subject):
        compare_stream(subject, ctx, sample.text, whole(sample.text), "one delta")


@check()
def stream_per_char(subject: Subject) -> None:
    """One character per delta, then finish(), gives exactly what parse() gives.

    This is the harshest split: every marker arrives in pieces, so held-back text must be
    released correctly, by finish() at the latest.
    """
    for ctx, sample in cases(subject):
        compare_stream(subject, ctx, sample.text, per_char(sample.text), "per character")


@check(needs=("parser", TOKENIZER))
def stream_per_token(subject: Subject) -> None:
    """One real token per delta (text and id, as an engine streams), then finish(), equals parse().

    Tokens come from the model family's tokenizer; a token that ends inside a multi-byte
    character brings empty text, as it does from an engine's detokenizer.
    """
    for ctx, sample in cases(subject):
        text, deltas = per_token(subject.tokenizer, sample.text)
        ids = [i for _, d in deltas for i in d or ()]
        compare_stream(subject, ctx, text, deltas, "per token", ids)


@check()
def stream_random_deltas(subject: Subject) -> None:
    """Random multi-token deltas (and random character cuts) of random outputs equal parse().

    Property-based (hypothesis, derandomized): outputs mix markers, marker fragments, words and
    arbitrary unicode; engines batch tokens unpredictably, so no split may change the result.
    """
    markers = subject.markers
    started = contexts(subject)
    text_strategy = (
        st.one_of(cs.marker_soup(markers), cs.well_formed(markers)) if markers else cs.any_text()
    )
    tokenizer = subject.tokenizer

    def body(example: tuple[int, str, list[int], list[int], bool]) -> None:
        index, text, cuts, sizes, by_token = example
        ctx = started[index % len(started)].ctx
        if by_token and tokenizer is not None:
            text, deltas = per_token(tokenizer, text)
            ids = [i for _, d in deltas for i in d or ()]
            compare_stream(subject, ctx, text, regroup(deltas, sizes), f"token groups {sizes}", ids)
        else:
            compare_stream(subject, ctx, text, cut(text, cuts), f"cuts at {sorted(set(cuts))}")

    strategy = st.tuples(
        st.integers(min_value=0, max_value=len(started) - 1),
        text_strategy,
        cs.cut_points(),
        cs.group_sizes(),
        st.booleans(),
    )
    run_property(subject.settings, strategy, body)


@check()
def empty_is_none(subject: Subject) -> None:
    """An empty section is None, never "": from parse(), extract_reasoning_content() and every
    streamed delta (native stream and seed interface).

    Clients test ``delta.reasoning_content is not None`` to know reasoning arrived.
    """
    for ctx, sample in cases(subject):
        problems: list[str] = []
        run_parse(subject.new_parser(), ctx, sample.text, problems=problems)
        for deltas in (whole(sample.text), per_char(sample.text)):
            problems += run_stream(subject.new_parser(), ctx, deltas).problems
        if ctx.label == "default":  # the seed methods take no prompt or mode
            run_extract(subject.new_parser(), ctx, sample.text, problems=problems)
            problems += run_seed(subject.new_parser(), per_char(sample.text)).problems
        if problems:
            raise CheckFailed(f"[{ctx.label}] {short(sample.text)}: {problems[0]}")


def _seed_cases(subject: Subject) -> Iterator[tuple[Context, Sample]]:
    # The seed methods receive no prompt or mode: only the default context applies.
    default = contexts(subject)[0]
    for sample in samples_for(subject, default) + adversarial(subject.markers):
        yield default.ctx, sample


@check()
def seed_streaming(subject: Subject) -> None:
    """The seed interface (extract_reasoning_content_streaming with previous/current text and
    ids, as vLLM and LMDeploy call it, then finish()) agrees with extract_reasoning_content().

    Engines that speak the seed interface get the same answer as our native stream.
    """
    tokenizer = subject.tokenizer
    for ctx, sample in _seed_cases(subject):
        want = run_extract(subject.new_parser(), ctx, sample.text)
        chunkings = [("per character", sample.text, per_char(sample.text))]
        if tokenizer is not None:
            text, deltas = per_token(tokenizer, sample.text)
            if text != sample.text:
                continue
            chunkings.append(("per token", text, deltas))
        for how, text, deltas in chunkings:
            got = run_seed(subject.new_parser(), deltas).split
            if got != want:
                raise CheckFailed(
                    f"{how} through extract_reasoning_content_streaming of {short(text)}: "
                    f"gave {got}, extract_reasoning_content gave {want}"
                )


@check()
def seed_resync(subject: Subject) -> None:
    """A fresh instance called mid-stream through the seed interface, with the full
    previous_text, answers what the instance that saw the whole stream answers.

    Engines may rebuild a parser (a restarted worker, a new process) and hand it the history.
    """
    tokenizer = subject.tokenizer
    for ctx, sample in _seed_cases(subject):
        text = sample.text
        deltas = per_token(tokenizer, text)[1] if tokenizer is not None else per_char(text)
        if tokenizer is not None and "".join(t for t, _ in deltas) != text:
            continue
        for split_at in range(1, len(deltas)):
            head, tail = regroup(deltas[:split_at], [split_at]), regroup(deltas[split_at:], [len(deltas)])
            reference = run_seed(subject.new_parser(), head + tail)
            want = Split.of(reference.deltas[-2][0] + reference.deltas[-1][0], reference.deltas[-2][1] + reference.deltas[-1][1])
            fresh = subject.new_parser()
            (prev_text, prev_ids), (delta_text, delta_ids) = head[0], tail[0]
            prev_ids = list(prev_ids or ())
            delta_ids = list(delta_ids or ())
            problems: list[str] = []
            r, c = read_message(
                fresh.extract_reasoning_content_streaming(
                    prev_text, prev_text + delta_text, delta_text, prev_ids, prev_ids + delta_ids, delta_ids
                ),
                "extract_reasoning_content_streaming()",
                problems,
            )
            closing = getattr(fresh, "finish", None)
            r2, c2 = read_message(closing() if closing is not None else None, "finish()", problems)
            got = Split.of(r + r2, c + c2)
            if got != want:
                raise CheckFailed(
                    f"a fresh instance given previous_text={short(prev_text, 50)} and delta "
                    f"{short(delta_text, 40)} answered {got}; the instance that saw the stream answered {want}"
                )
