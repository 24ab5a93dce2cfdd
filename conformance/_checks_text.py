"""What comes out: nothing lost, no marker text, nothing held back without need, no crash."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import strategies as st

from . import strategies as cs
from ._checks_stream import driver_contexts, driver_share
from ._drive import Delta, Split, per_char, per_token, regroup
from ._drivers import Driver, failed
from ._property import run_property
from ._registry import MARKERS, check
from ._relations import may_end_inside_marker, pass_through_problem, rebuild_problem
from ._results import CheckFailed, raised, short
from ._samples import Sample, Started, samples_for
from ._subject import Subject

__all__ = ["bounded_holdback", "lossless", "no_marker_leak", "robust_unicode"]

# bounded_holdback parses every prefix: per character that is quadratic, so long outputs go
# per token only.
_HOLDBACK_CHAR_LIMIT = 160


def structured_cases(subject: Subject, driver: Driver, one_per_kind: bool = False) -> Iterator[tuple[Started, Sample]]:
    """Well-formed outputs for every context the parser understands and the driver expresses
    (or, with ``one_per_kind``, for the first context of each kind: reasoning, content, ...)."""
    kinds: set[str | None] = set()
    for started in driver_contexts(subject, driver):
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


@check(needs=("parser", MARKERS), driven=True, core=True)
def lossless(subject: Subject, driver: Driver) -> None:
    """Reasoning + content rebuild the output minus its markers; only the newlines the format
    declares as markup (capability 'trims') may also go.

    Users rely on no word of the model's output being dropped, duplicated or reordered. A
    parser declaring 'pass-through' (no reasoning section) is held to its own promise instead:
    content is exactly its ``content_prefix`` followed by the output, reasoning None.
    """
    pass_through = subject.pass_through is not None

    def problem_of(text: str, split: Split, starts: str | None = None) -> str | None:
        if pass_through:
            return pass_through_problem(text, split, subject)
        return rebuild_problem(text, split, subject, starts)

    for started, sample in structured_cases(subject, driver):
        ctx = started.ctx
        for how, text, deltas in chunkings(subject, sample.text):
            ids = [i for _, d in deltas for i in d or ()] or None
            problem = problem_of(text, driver.expected(subject, ctx, text, ids), started.starts)
            if problem:
                raise CheckFailed(f"[{ctx.label}] {driver.reference}: {problem}")
            for sent in driver.runs(subject, ctx, deltas):
                problem = problem_of(text, sent.streamed.split, started.starts)
                if problem:
                    raise failed(sent.label, f"[{ctx.label}] stream {how}: {problem}")

    first = driver_contexts(subject, driver)[0]

    def body(text: str) -> None:
        problem = problem_of(text, driver.expected(subject, first.ctx, text))
        if problem:
            raise CheckFailed(f"[{first.ctx.label}] {driver.reference}: {problem}")

    if first.starts in ("reasoning", None) and subject.markers is not None:
        markers = subject.markers
        strategy = cs.well_formed(markers)
        if markers.start and first.starts is None:
            strategy = strategy.filter(lambda t: t.startswith(markers.start or ""))
        run_property(subject.settings, strategy, body, share=driver_share(driver))


@check(needs=("parser", MARKERS), driven=True, core=True)
def no_marker_leak(subject: Subject, driver: Driver) -> None:
    """No delta carries a marker or a fragment of one, even when markers are split across deltas
    (``</thi`` + ``nk>``); tool-call openers that end reasoning stay whole in the content.

    Users display reasoning and content as they arrive; a stray ``</thi`` cannot be taken back.
    A 'pass-through' parser keeps every marker in the content by design: no delta of it may
    carry reasoning, and its streamed content is exactly its ``content_prefix`` and the output.
    """
    markers = subject.markers
    assert markers is not None
    edges = markers.edge_chars
    pass_through = subject.pass_through is not None
    for started, sample in structured_cases(subject, driver):
        ctx = started.ctx
        for how, text, deltas in chunkings(subject, sample.text):
            for sent in driver.runs(subject, ctx, deltas):
                streamed = sent.streamed
                if pass_through:
                    carried = next((r for r, _c in streamed.deltas if r), None)
                    problem = pass_through_problem(text, streamed.split, subject)
                    if carried is not None or problem:
                        raise failed(sent.label, f"[{ctx.label}] {how} of {short(text)}: " + (
                            f"a delta carried reasoning {short(carried, 40)}" if carried is not None else problem))
                    continue
                for index, (reasoning, _content) in enumerate(streamed.deltas):
                    if set(reasoning) & edges:
                        raise failed(
                            sent.label,
                            f"[{ctx.label}] {how} of {short(text)}: reasoning delta {index} is "
                            f"{short(reasoning, 40)}, which holds marker text",
                        )
                content = streamed.split.content or ""
                for marker in markers.implicit_ends:
                    content = content.replace(marker, "")
                if set(content) & edges:
                    raise failed(
                        sent.label,
                        f"[{ctx.label}] {how} of {short(text)}: content {short(streamed.split.content, 60)} holds marker text",
                    )


@check(needs=("parser", MARKERS), driven=True, core=True)
def bounded_holdback(subject: Subject, driver: Driver) -> None:
    """Text that cannot be part of a marker is released in the same delta that brought it.

    After each delta whose text so far cannot end inside a marker, the stream has emitted
    exactly what parse() decides for that text so far (one context of each kind: reasoning
    open, content, awaiting a start marker). Users see reasoning as it is written,
    not in bursts or only at the end.
    """
    markers = subject.markers
    assert markers is not None
    by_id = {token: marker for marker, token in subject.single_token_ids().items()}
    for started, sample in structured_cases(subject, driver, one_per_kind=True):
        ctx = started.ctx
        for how, _text, deltas in chunkings(subject, sample.text, _HOLDBACK_CHAR_LIMIT):
            for sent in driver.runs(subject, ctx, deltas):
                seen, seen_ids = "", []
                reasoning, content = "", ""
                announced = dict.fromkeys(by_id.values(), 0)  # marker ids fed so far
                for (delta, ids), (r, c) in zip(sent.deltas, sent.streamed.deltas):
                    reasoning, content = reasoning + r, content + c
                    seen += delta
                    seen_ids += ids or []
                    for token in ids or ():
                        if token in by_id:
                            announced[by_id[token]] += 1
                    if may_end_inside_marker(seen, markers):
                        continue
                    if any(count > seen.count(marker) for marker, count in announced.items()):
                        continue  # a marker's id came ahead of its text (vLLM stop strings): it may wait
                    want = driver.expected(subject, ctx, seen, seen_ids or None)
                    if (reasoning or None, content or None) != (want.reasoning, want.content):
                        raise failed(
                            sent.label,
                            f"[{ctx.label}] {how}: after {short(seen, 50)} the stream had released "
                            f"(reasoning={short(reasoning, 30)}, content={short(content, 30)}) but "
                            f"{want} was already decided",
                        )


@check(driven=True, core=True)
def robust_unicode(subject: Subject, driver: Driver) -> None:
    """Arbitrary unicode, empty deltas and odd splits never make any method raise, under any
    engine's calling pattern.

    Property-based: control characters, combining marks, astral planes, NUL, lone marker
    pieces, through the non-streaming method and the stream the driver replays (with and
    without token ids), and ``is_reasoning_end``/``extract_content_ids`` where the engine calls
    them. A crash in a parser takes down the user's whole response.
    """
    markers = subject.markers
    started = driver_contexts(subject, driver)
    text_strategy = st.one_of(cs.any_text(), cs.marker_soup(markers)) if markers else cs.any_text()
    tokenizer = subject.tokenizer

    def body(example: tuple[int, str, list[int]]) -> None:
        index, text, cuts = example
        ctx = started[index % len(started)].ctx
        tokens = per_token(tokenizer, text)[1] if tokenizer is not None else None
        step = driver.reference
        try:
            driver.expected(subject, ctx, text)
            pieces = [(p, None) for p in _split_with_empties(text, cuts)]
            step = f"the stream in pieces of {[len(p) for p, _ in pieces]} characters"
            for _sent in driver.runs(subject, ctx, pieces):
                pass
            if tokens is not None:
                step = "the stream with token ids"
                for _sent in driver.runs(subject, ctx, regroup(tokens, [1, 3, 2])):
                    pass
                if driver.name == "vllm":
                    ids = [i for _, d in tokens for i in d or ()]
                    parser = subject.new_parser()
                    step = "is_reasoning_end()"
                    parser.is_reasoning_end(ids)
                    step = "extract_content_ids()"
                    parser.extract_content_ids(ids)
        except CheckFailed as exc:
            raise failed(exc.driver or driver.name, f"[{ctx.label}] {step} on {short(text, 60)}: {exc}") from exc
        except Exception as exc:
            raise failed(driver.name, f"[{ctx.label}] {step} on {short(text, 60)}: {raised(exc)}") from exc

    strategy = st.tuples(st.integers(0, len(started) - 1), text_strategy, cs.cut_points(max_offset=120))
    run_property(subject.settings, strategy, body, share=driver_share(driver))


def _split_with_empties(text: str, cuts: list[int]) -> list[str]:
    """``text`` cut at ``cuts``, with an empty delta wherever a cut repeats."""
    pieces, last = [], 0
    for point in sorted(c for c in cuts if c <= len(text)):
        pieces.append(text[last:point])
        last = point
    pieces.append(text[last:])
    return pieces
