"""Cost per token does not grow with the history; instances do not share state."""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Sequence
from typing import Any

from reasoning_plugins import Capability, ReasoningParser, current_host
from reasoning_plugins._host import PARSER

from ._drive import Delta, per_token, run_seed, run_stream
from ._registry import check
from ._results import CheckFailed, short
from ._samples import _WORDS, contexts, samples_for
from ._subject import Context, Subject

__all__ = ["independence", "linear_cost"]

_SHALLOW_WORDS = 50
_ABSOLUTE_SLACK_S = 1e-6  # per token: below a microsecond, differences are timer noise
_ADAPTER_NOISE = 0.15  # share of the subtracted adapter cost allowed as noise
_ATTEMPTS = 3
_CLEARLY = 4.0  # this far over the bound no load spike explains it: no retry


class _NullSeedParser(ReasoningParser):
    """Does nothing: measures what the seed adapter itself costs per delta."""

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        return None, model_output or None

    def extract_reasoning_content_streaming(self, *args: Any) -> None:
        return None


def _word_deltas(subject: Subject, count: int, rng: random.Random, with_ids: bool) -> list[Delta]:
    """``count`` realistic word tokens (" the", " answer", ",", "\\n") with their token ids."""
    markers = subject.markers
    avoid = markers.edge_chars if markers else frozenset()
    pool = [w for w in _WORDS if not set(w) & avoid]
    tokenizer = subject.tokenizer if with_ids else None
    cache: dict[str, list[int]] = {}
    out: list[Delta] = []
    for _ in range(count):
        word = ("\n" if rng.random() < 0.05 else " ") + rng.choice(pool)
        if tokenizer is not None:
            if word not in cache:
                cache[word] = list(tokenizer.encode(word, add_special_tokens=False))
            out.append((word, cache[word]))
        else:
            out.append((word, None))
    return out


def _marker_delta(subject: Subject, text: str, with_ids: bool) -> Delta:
    tokenizer = subject.tokenizer if with_ids else None
    return (text, list(tokenizer.encode(text, add_special_tokens=False)) if tokenizer is not None else None)


def _join(deltas: Sequence[Delta]) -> Delta:
    text = "".join(t for t, _ in deltas)
    if any(i is None for _, i in deltas):
        return text, None
    return text, [token for _, ids in deltas for token in ids or ()]


def _one_run(make_parser: Any, ctx: Context, prefix: Delta, timed: list[Delta], seed_path: bool) -> float:
    """Seconds to feed ``timed`` one delta at a time, after ``prefix`` was fed as one delta."""
    parser = make_parser()
    if seed_path:
        previous_text, previous_ids = prefix[0], list(prefix[1] or ())
        parser.extract_reasoning_content_streaming("", previous_text, previous_text, [], previous_ids, previous_ids)
        gc.disable()
        try:
            started = time.perf_counter()
            for text, ids in timed:
                delta_ids = ids or []
                current_text, current_ids = previous_text + text, previous_ids + delta_ids
                parser.extract_reasoning_content_streaming(
                    previous_text, current_text, text, previous_ids, current_ids, delta_ids
                )
                previous_text, previous_ids = current_text, current_ids
            return time.perf_counter() - started
        finally:
            gc.enable()
    stream = parser.start_stream(**ctx.kwargs())
    stream.feed(*prefix)
    gc.disable()
    try:
        started = time.perf_counter()
        for text, ids in timed:
            stream.feed(text, ids)
        return time.perf_counter() - started
    finally:
        gc.enable()


def _measure(
    subject: Subject, ctx: Context, prefix: Delta, timed: list[Delta], seed_path: bool, baseline: bool
) -> tuple[float, float]:
    """(the parser's own seconds per token, the adapter's) after ``prefix``: best of repeats,
    the parser and the do-nothing parser measured alternately so load changes hit both."""
    best, best_adapter = float("inf"), float("inf")
    for _ in range(subject.settings.cost_repeats):
        best = min(best, _one_run(subject.new_parser, ctx, prefix, timed, seed_path))
        if baseline:
            best_adapter = min(best_adapter, _one_run(_NullSeedParser, ctx, prefix, timed, seed_path))
    if not baseline:
        return best / len(timed), 0.0
    return max(best - best_adapter, 0.0) / len(timed), best_adapter / len(timed)


@check()
def linear_cost(subject: Subject) -> str:
    """Each token costs the same after a long history as after a short one (O(delta) work).

    Realistic word tokens are timed after a short and after a long history (fed as one delta),
    in reasoning and in content; best of ``cost_repeats``. A parser that rescans the history
    on every token gets slower as answers grow, until 32k-token answers stall the server.
    The native stream is timed after ``cost_history_words`` words. The seed interface hands
    the parser the whole previous text and ids on every call, which the caller must copy: it is
    timed after a sixth of that history, and what a parser that does nothing costs through
    the same calls is subtracted (a parser without a native stream is measured this way only).
    """
    settings = subject.settings
    rng = random.Random(7)
    markers = subject.markers
    with_ids = subject.has(Capability.TOKEN_IDS) and subject.tokenizer is not None
    started = contexts(subject)[0]
    ctx = started.ctx
    opener = markers.start if (markers and markers.start and started.starts in ("await", None)) else ""
    opening = [_marker_delta(subject, opener, with_ids)] if opener else []
    timed = _word_deltas(subject, settings.cost_timed_words, rng, with_ids)
    paths = [("stream", settings.cost_history_words, False)] if subject.native else []
    paths.append(("seed" if subject.native else "stream via seed interface", settings.cost_history_words // 6, True))
    figures = []
    for path, history_words, through_seed in paths:
        history = _word_deltas(subject, history_words, rng, with_ids)
        half = len(history) // 2
        scenarios = [("reasoning", history[:_SHALLOW_WORDS], history)]
        if markers is not None:
            end = _marker_delta(subject, "\n" + markers.end + "\n\n", with_ids)
            short_half = _SHALLOW_WORDS // 2
            scenarios.append(
                ("content", history[:short_half] + [end] + history[-short_half:], history[:half] + [end] + history[half:])
            )
        for label, shallow, deep in scenarios:
            seed_path = through_seed and subject.native
            for _attempt in range(_ATTEMPTS):  # a load spike passes on retry, a rescan never does
                shallow_cost, _ = _measure(subject, ctx, _join(opening + shallow), timed, seed_path, through_seed)
                deep_cost, adapter = _measure(subject, ctx, _join(opening + deep), timed, seed_path, through_seed)
                # Subtracting the adapter's cost leaves its timing noise: allow a fraction of it.
                allowed = settings.cost_bound * shallow_cost + _ABSOLUTE_SLACK_S + _ADAPTER_NOISE * adapter
                if deep_cost <= allowed or deep_cost > _CLEARLY * allowed:
                    break
            figures.append(f"{path}/{label} {shallow_cost * 1e6:.1f}->{deep_cost * 1e6:.1f}")
            if deep_cost > allowed:
                raise CheckFailed(
                    f"{path} in {label}: {deep_cost * 1e6:.1f} us/token after {len(deep)} words of history vs "
                    f"{shallow_cost * 1e6:.1f} us/token after {len(shallow)} (allowed {allowed * 1e6:.1f}): "
                    f"work grows with the history"
                )
    return "us/token, short->long history: " + ", ".join(figures)


@check()
def independence(subject: Subject) -> None:
    """Two instances fed interleaved streams give what each gives alone, and one request's
    stream does not change the next request's result (no class-level or module-level state).

    Engines serve many requests at once, each with its own parser instance.
    """
    every = contexts(subject)
    first = every[0]
    second = next((s for s in every if s.starts != first.starts), first)
    samples_a = samples_for(subject, first)
    samples_b = samples_for(subject, second)
    long_a = max(samples_a, key=lambda s: len(s.text))
    short_b = min((s for s in samples_b if s.text), key=lambda s: len(s.text))
    tokenizer = subject.tokenizer

    def deltas_of(text: str) -> list[Delta]:
        return per_token(tokenizer, text)[1] if tokenizer is not None else [(ch, None) for ch in text]

    deltas_a, deltas_b = deltas_of(long_a.text), deltas_of(short_b.text)
    alone_a = run_stream(subject.new_parser(), first.ctx, deltas_a)
    alone_b = run_stream(subject.new_parser(), second.ctx, deltas_b)
    again_a = run_stream(subject.new_parser(), first.ctx, deltas_a)
    if again_a.split != alone_a.split:
        raise CheckFailed(
            f"the same request gave {alone_a.split} then {again_a.split} after another request ran: state leaks between instances"
        )
    # interleaved, native interface
    parser_a, parser_b = subject.new_parser(), subject.new_parser()
    if parser_a is parser_b:
        raise CheckFailed("the parser class returned the same instance twice; each request needs its own")
    stream_a = parser_a.start_stream(**first.ctx.kwargs())
    stream_b = parser_b.start_stream(**second.ctx.kwargs())
    got = _interleave([(stream_a.feed, deltas_a), (stream_b.feed, deltas_b)], [stream_a.finish, stream_b.finish])
    for label, alone, mixed in (("A", alone_a, got[0]), ("B", alone_b, got[1])):
        if mixed != (alone.split.reasoning, alone.split.content):
            raise CheckFailed(
                f"interleaved streams: request {label} [{(first if label == 'A' else second).ctx.label}] gave "
                f"(reasoning={short(mixed[0], 40)}, content={short(mixed[1], 40)}) instead of {alone.split}"
            )
    # interleaved, seed interface (default context for both: it takes no prompt or mode)
    seed_b_deltas = deltas_of(min((s for s in samples_a if s.text), key=lambda s: len(s.text)).text)
    seed_alone_a = run_seed(subject.new_parser(), deltas_a).split
    seed_alone_b = run_seed(subject.new_parser(), seed_b_deltas).split
    seeds = [_SeedFeeder(subject.new_parser()), _SeedFeeder(subject.new_parser())]
    got = _interleave([(seeds[0].feed, deltas_a), (seeds[1].feed, seed_b_deltas)], [s.finish for s in seeds])
    for label, alone, mixed in (("A", seed_alone_a, got[0]), ("B", seed_alone_b, got[1])):
        if mixed != (alone.reasoning, alone.content):
            raise CheckFailed(
                f"interleaved seed-interface streams: request {label} gave (reasoning={short(mixed[0], 40)}, "
                f"content={short(mixed[1], 40)}) instead of {alone}"
            )
    try:
        host_cls = current_host().resolve(PARSER, subject.name)
    except Exception:
        host_cls = None
    if host_cls is subject.parser_cls and host_cls is not None:
        from reasoning_plugins import get_parser

        if get_parser(subject.name, tokenizer) is get_parser(subject.name, tokenizer):
            raise CheckFailed(f"get_parser({subject.name!r}) returned the same instance twice")


class _SeedFeeder:
    """Feeds one parser through the seed interface, keeping its previous text and ids."""

    def __init__(self, parser: Any) -> None:
        self.parser = parser
        self.text = ""
        self.ids: list[int] = []

    def feed(self, text: str, ids: list[int] | None) -> Any:
        delta_ids = list(ids or ())
        message = self.parser.extract_reasoning_content_streaming(
            self.text, self.text + text, text, self.ids, self.ids + delta_ids, delta_ids
        )
        self.text, self.ids = self.text + text, self.ids + delta_ids
        return message

    def finish(self) -> Any:
        closing = getattr(self.parser, "finish", None)
        return closing() if closing is not None else None


def _interleave(feeders: list[tuple[Any, list[Delta]]], finishers: list[Any]) -> list[tuple[str | None, str | None]]:
    from ._drive import read_message

    sections = [["", ""] for _ in feeders]
    problems: list[str] = []
    longest = max(len(d) for _, d in feeders)
    for step in range(longest):
        for index, (feed, deltas) in enumerate(feeders):
            if step < len(deltas):
                r, c = read_message(feed(*deltas[step]), "feed()", problems)
                sections[index][0] += r
                sections[index][1] += c
    for index, finish in enumerate(finishers):
        r, c = read_message(finish(), "finish()", problems)
        sections[index][0] += r
        sections[index][1] += c
    return [(r or None, c or None) for r, c in sections]
