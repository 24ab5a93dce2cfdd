"""Streaming equals non-streaming, whatever the chunking, under every engine's calling pattern."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hypothesis import strategies as st

from . import strategies as cs
from ._drive import Delta, Split, cut, per_char, per_token, read_message, regroup, run_seed, whole
from ._drivers import Driver, failed
from ._markers import CANNOT_CERTIFY
from ._property import run_property
from ._registry import TOKENIZER, check
from ._results import CheckFailed, CheckSkipped, short
from ._samples import Sample, Started, adversarial, contexts, samples_for
from ._subject import Context, Subject

__all__ = [
    "compare_stream",
    "driver_contexts",
    "empty_is_none",
    "markers",
    "seed_resync",
    "stream_per_char",
    "stream_per_token",
    "stream_random_deltas",
    "stream_whole",
]


def driver_contexts(subject: Subject, driver: Driver) -> list[Started]:
    """The contexts the parser understands that ``driver``'s engine can express (skip if none)."""
    known = contexts(subject)
    known += driver.extra_contexts(subject, known)
    found = [started for started in known if driver.supports(subject, started.ctx)]
    if not found:
        raise CheckSkipped(f"engine:{driver.name}", f"{driver.name} cannot express any request context this parser understands")
    return found


def cases(subject: Subject, driver: Driver) -> Iterator[tuple[Context, Sample]]:
    """Every context the parser understands (and the driver expresses) with structured outputs;
    adversarial outputs in the first context of each kind (reasoning, content, ...)."""
    extra = adversarial(subject.markers)
    kinds: set[str | None] = set()
    for started in driver_contexts(subject, driver):
        first_of_kind = started.starts not in kinds
        kinds.add(started.starts)
        for sample in samples_for(subject, started) + (extra if first_of_kind else []):
            yield started.ctx, sample


def _ids(deltas: Sequence[Delta]) -> list[int]:
    return [i for _, d in deltas for i in d or ()]


def compare_stream(
    subject: Subject, driver: Driver, ctx: Context, text: str, deltas: Sequence[Delta], how: str,
    ids: Sequence[int] | None = None,
) -> None:
    """Every replay of ``deltas`` under ``driver`` gives what the parser's non-streaming method gives."""
    want = driver.expected(subject, ctx, text, ids)
    for sent in driver.runs(subject, ctx, deltas):
        got = sent.streamed.split
        if got != want:
            raise failed(sent.label, f"[{ctx.label}] {how} of {short(text)}: stream gave {got}, {driver.reference} gave {want}")


@check(needs=("parser",), core=True)
def markers(subject: Subject) -> str:
    """The suite knows the parser's markers, so every marker check can run.

    They come from --markers, a ``conformance_markers`` class attribute, the parser's ``format``,
    or the attributes engines read (``start_token``/``end_token``, ``think_start_token``/
    ``think_end_token``, ``reasoning_start_str``/``reasoning_end_str``). Without them a parser
    cannot be certified: nothing would test what it does with its markers.
    """
    found = subject.markers
    if found is None:
        raise CheckFailed(f"{CANNOT_CERTIFY} ({subject.markers_source})")
    return f"start={found.start!r} end={found.end!r} from {subject.markers_source}"


@check(driven=True, core=True)
def stream_whole(subject: Subject, driver: Driver) -> None:
    """One delta holding the whole output, then finish(), gives exactly what parse() gives.

    Users rely on a streamed response and a non-streamed one carrying the same reasoning and content.
    """
    for ctx, sample in cases(subject, driver):
        compare_stream(subject, driver, ctx, sample.text, whole(sample.text), "one delta")


@check(driven=True, core=True)
def stream_per_char(subject: Subject, driver: Driver) -> None:
    """One character per delta, then finish(), gives exactly what parse() gives.

    This is the harshest split: every marker arrives in pieces, so held-back text must be
    released correctly, by finish() at the latest.
    """
    for ctx, sample in cases(subject, driver):
        compare_stream(subject, driver, ctx, sample.text, per_char(sample.text), "per character")


@check(needs=("parser", TOKENIZER), driven=True, core=True)
def stream_per_token(subject: Subject, driver: Driver) -> None:
    """One real token per delta (text and id, as an engine streams), then finish(), equals parse();
    so do deltas of 17 to 40 tokens, and text-only deltas with ids None or [].

    Tokens come from the model family's tokenizer; a token that ends inside a multi-byte
    character brings empty text, as it does from an engine's detokenizer.
    """
    for ctx, sample in cases(subject, driver):
        text, deltas = per_token(subject.tokenizer, sample.text)
        ids = _ids(deltas)
        compare_stream(subject, driver, ctx, text, deltas, "per token", ids)
        if driver.passes_ids and len(deltas) > 16:
            compare_stream(subject, driver, ctx, text, regroup(deltas, [17, 29, 40, 23]), "in 17-40-token deltas", ids)
        if driver.forwards_none_ids:
            for label, empty in (("ids None", None), ("ids []", [])):
                compare_stream(subject, driver, ctx, text, [(t, empty) for t, _ in deltas], f"per token, text only ({label})")


@check(driven=True, core=True)
def stream_random_deltas(subject: Subject, driver: Driver) -> None:
    """Random multi-token deltas (and random character cuts) of random outputs equal parse().

    Property-based (hypothesis, derandomized): outputs mix markers, marker fragments, words and
    arbitrary unicode; engines batch tokens unpredictably, so no split may change the result.
    """
    found = subject.markers
    started = driver_contexts(subject, driver)
    text_strategy = st.one_of(cs.marker_soup(found), cs.well_formed(found)) if found else cs.any_text()
    tokenizer = subject.tokenizer

    def body(example: tuple[int, str, list[int], list[int], bool]) -> None:
        index, text, cuts, sizes, by_token = example
        ctx = started[index % len(started)].ctx
        if by_token and tokenizer is not None:
            text, deltas = per_token(tokenizer, text)
            compare_stream(subject, driver, ctx, text, regroup(deltas, sizes), f"token groups {sizes}", _ids(deltas))
        else:
            compare_stream(subject, driver, ctx, text, cut(text, cuts), f"cuts at {sorted(set(cuts))}")

    strategy = st.tuples(
        st.integers(min_value=0, max_value=len(started) - 1),
        text_strategy,
        cs.cut_points(),
        cs.group_sizes(),
        st.booleans(),
    )
    run_property(subject.settings, strategy, body, share=driver_share(driver))


def driver_share(driver: Driver) -> float:
    """The share of the property examples run under ``driver``: all under our native stream,
    a quarter under each engine driver (they replay the same examples)."""
    return 1.0 if driver.name == "ours" else 0.25


@check(driven=True, core=True)
def empty_is_none(subject: Subject, driver: Driver) -> None:
    """An empty section is None, never "": from parse(), extract_reasoning_content() and every
    streamed delta, under every engine's calling pattern.

    Clients test ``delta.reasoning_content is not None`` to know reasoning arrived.
    """
    for ctx, sample in cases(subject, driver):
        problems: list[str] = []
        driver.expected(subject, ctx, sample.text, None, problems)
        for deltas in (whole(sample.text), per_char(sample.text)):
            for sent in driver.runs(subject, ctx, deltas):
                if sent.streamed.problems:
                    raise failed(sent.label, f"[{ctx.label}] {short(sample.text)}: {sent.streamed.problems[0]}")
        if problems:
            raise CheckFailed(f"[{ctx.label}] {short(sample.text)}: {problems[0]}")


def _seed_cases(subject: Subject) -> Iterator[tuple[Context, Sample]]:
    # The seed methods receive no prompt or mode: only the default context applies.
    default = contexts(subject)[0]
    for sample in samples_for(subject, default) + adversarial(subject.markers):
        yield default.ctx, sample


@check(core=True)
def seed_resync(subject: Subject) -> None:
    """A fresh instance called mid-stream through the seed interface, with the full
    previous_text, answers what the instance that saw the whole stream answers.

    Engines may rebuild a parser (a restarted worker, a new process) and hand it the history.
    """
    tokenizer = subject.tokenizer
    for _ctx, sample in _seed_cases(subject):
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
                    f"{short(delta_text, 40)} answered {got}; the instance that saw the stream answered {want}",
                    driver="vllm",
                )
