"""Cost per token does not grow with the history; instances do not share state."""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Sequence
from typing import Any

from reasoning_plugins import current_host
from reasoning_plugins._host import PARSER

from ._drive import SEED_CALL, Delta, SeedCaller, per_char, per_token, run_extract, run_seed, run_stream
from ._drivers import DRIVERS, companion, interleave
from ._registry import check
from ._results import CheckFailed, CheckSkipped, short
from ._samples import _WORDS, contexts, samples_for
from ._subject import Context, Subject

__all__ = ["independence", "linear_cost"]

_SHALLOW_WORDS = 50
_ABSOLUTE_SLACK_S = 1e-6  # per token: below a microsecond, differences are timer noise
_ATTEMPTS = 3
_CLEARLY = 4.0  # this far over the bound no load spike explains it (chunks with spikes are dropped)
_CHUNK = 50  # tokens per timed chunk
_SEED_TIMED_CALLS = 400  # seed calls timed per window (their previous/current objects are built beforehand)


def _word_deltas(subject: Subject, count: int, rng: random.Random) -> list[Delta]:
    """``count`` realistic word tokens (" the", " answer", ",", "\\n") with their token ids."""
    markers = subject.markers
    avoid = markers.edge_chars if markers else frozenset()
    pool = [w for w in _WORDS if not set(w) & avoid]
    tokenizer = subject.tokenizer
    cache: dict[str, list[int] | None] = {}
    out: list[Delta] = []
    for _ in range(count):
        word = ("\n" if rng.random() < 0.05 else " ") + rng.choice(pool)
        if word not in cache:
            cache[word] = list(tokenizer.encode(word, add_special_tokens=False)) if tokenizer is not None else None
        out.append((word, cache[word]))
    return out


def _marker_delta(subject: Subject, text: str) -> Delta:
    tokenizer = subject.tokenizer
    return (text, list(tokenizer.encode(text, add_special_tokens=False)) if tokenizer is not None else None)


def _per_token(chunk_seconds: list[float], chunk: int) -> float:
    """Seconds per token over the cheapest 80% of the timed chunks: a load spike (another
    process taking the core) lands in a few chunks and is dropped; work that grows with the
    history shows in every chunk, and periodic work in more than a fifth of them."""
    kept = sorted(chunk_seconds)[: max(1, (len(chunk_seconds) * 4) // 5)]
    return sum(kept) / (len(kept) * chunk)


def _timed(call: Any, deltas: Sequence[Delta]) -> float:
    chunk_seconds = []
    gc.disable()
    try:
        for at in range(0, len(deltas) - _CHUNK + 1, _CHUNK):
            part = deltas[at : at + _CHUNK]
            started = time.perf_counter()
            for text, ids in part:
                call(text, ids)
            chunk_seconds.append(time.perf_counter() - started)
    finally:
        gc.enable()
    return _per_token(chunk_seconds, _CHUNK)


def _seed_window(parser: Any, caller: SeedCaller, timed: list[Delta]) -> float:
    """Seconds per call for ``timed`` through the seed interface as vLLM calls it. The
    previous/current text and id lists are built beforehand, so the time is the parser's own work."""
    texts, idss = [caller.text], [caller.ids]
    for text, ids in timed:
        texts.append(texts[-1] + text)
        idss.append(idss[-1] + list(ids or ()))
    calls = [
        (texts[j], texts[j + 1], text, idss[j], idss[j + 1], list(ids or ())) for j, (text, ids) in enumerate(timed)
    ]
    method = parser.extract_reasoning_content_streaming
    chunk_seconds = []
    gc.disable()
    try:
        for at in range(0, len(calls) - _CHUNK + 1, _CHUNK):
            part = calls[at : at + _CHUNK]
            started = time.perf_counter()
            for args in part:
                method(*args)
            chunk_seconds.append(time.perf_counter() - started)
    finally:
        gc.enable()
    caller.text, caller.ids = texts[-1], idss[-1]
    return _per_token(chunk_seconds, _CHUNK)


def _run(
    subject: Subject, ctx: Context, seed: bool, prefix: list[Delta], timed: list[Delta], history: list[Delta]
) -> tuple[float, float, int]:
    """(seconds per token after ``prefix``, seconds per token after the history, calls made
    before that second window). The history is fed one word per call; the second window is also
    timed at 1/8 and 1/2 of the history, and the run stops there when a token already costs far
    more than the bound allows (a rescanning parser need not be fed all of it)."""
    settings = subject.settings
    parser = subject.new_parser()
    if seed:
        caller = SeedCaller(parser)
        feed: Any = caller.feed

        def window() -> float:
            return _seed_window(parser, caller, timed)
    else:
        stream = parser.start_stream(**ctx.kwargs())
        feed = stream.feed

        def window() -> float:
            return _timed(stream.feed, timed)

    for text, ids in prefix:
        feed(text, ids)
    shallow = window()
    hopeless = _CLEARLY * (settings.cost_bound * shallow + _ABSOLUTE_SLACK_S)
    calls, done = len(prefix) + len(timed), 0
    for stop in (len(history) // 8, len(history) // 2, len(history)):
        for text, ids in history[done:stop]:
            feed(text, ids)
        calls, done = calls + stop - done, stop
        deep = window()
        if deep > hopeless or stop == len(history):
            return shallow, deep, calls
        calls += len(timed)
    raise AssertionError("unreachable")


@check(core=True)
def linear_cost(subject: Subject) -> str:
    """Each token costs the same after a long history as after a short one (O(delta) work).

    The history is fed the way engines feed it, one word token per call with its token ids, so
    a parser that scans the id history (``end_id in previous_token_ids``), re-parses the text, or
    does work that grows with the number of calls gets slower as answers grow, until 32k-token
    answers stall the server. Measured in reasoning and in content, under our native stream
    (after ``cost_history_words`` words) and through the seed interface as vLLM calls it (after a
    third of that; the previous/current text and ids of the timed calls are built beforehand).
    """
    settings = subject.settings
    rng = random.Random(7)
    markers = subject.markers
    started = contexts(subject)[0]
    ctx = started.ctx
    opener = markers.start if (markers and markers.start and started.starts in ("await", None)) else ""
    opening = [_marker_delta(subject, opener)] if opener else []
    paths = []
    if "ours" in subject.engines and subject.native:
        paths.append(("ours", "stream", settings.cost_history_words, settings.cost_timed_words, False))
    if "vllm" in subject.engines:
        paths.append(("vllm", SEED_CALL, settings.cost_history_words // 3, _SEED_TIMED_CALLS, True))
    if not paths:
        raise CheckSkipped("engine", "linear_cost measures the ours and vllm drivers; neither is selected (or the parser has no native stream)")
    figures = []
    for driver, what, history_words, timed_words, seed in paths:
        timed = _word_deltas(subject, timed_words, rng)
        history = _word_deltas(subject, history_words, rng)
        scenarios = [("reasoning", opening + history[:_SHALLOW_WORDS])]
        if markers is not None:
            half = _SHALLOW_WORDS // 2
            end = _marker_delta(subject, "\n" + markers.end + "\n\n")
            scenarios.append(("content", opening + history[:half] + [end] + history[half:_SHALLOW_WORDS]))
        for label, prefix in scenarios:
            shallow, deep, calls = float("inf"), float("inf"), 0
            for attempt in range(_ATTEMPTS):  # a load spike passes on retry, a rescan never does
                for _ in range(1 if attempt == 0 else settings.cost_repeats):
                    short_s, long_s, calls = _run(subject, ctx, seed, prefix, timed, history)
                    shallow, deep = min(shallow, short_s), min(deep, long_s)
                allowed = settings.cost_bound * shallow + _ABSOLUTE_SLACK_S
                if deep <= allowed or deep > _CLEARLY * allowed:
                    break
            figures.append(f"{driver}/{label} {shallow * 1e6:.1f}->{deep * 1e6:.1f}")
            if deep > allowed:
                raise CheckFailed(
                    f"{what} in {label}: {deep * 1e6:.1f} us/token after {calls} calls of one word vs "
                    f"{shallow * 1e6:.1f} us/token after {len(prefix)} (allowed {allowed * 1e6:.1f}): "
                    "work grows with the history",
                    driver=driver,
                )
    return "us/token, short->long history: " + ", ".join(figures)


@check(core=True)
def independence(subject: Subject) -> None:
    """Requests do not share state: two instances fed interleaved requests (token by token and
    character by character) answer as each does alone, through the native stream and the seed
    interface; ONE instance shared by concurrent requests (LMDeploy) gives each its own split;
    one request's stream does not change the next request's result.

    Engines serve many requests at once; a class-level or module-level buffer mixes them up.
    """
    every = contexts(subject)
    first = every[0]
    second = next((s for s in every if s.starts != first.starts), first)
    samples_a = samples_for(subject, first)
    samples_b = samples_for(subject, second)
    long_a = max(samples_a, key=lambda s: len(s.text))
    short_b = min((s for s in samples_b if s.text), key=lambda s: len(s.text))
    tokenizer = subject.tokenizer
    engines = subject.engines
    ran = False

    def by_token(text: str) -> list[Delta]:
        return per_token(tokenizer, text)[1] if tokenizer is not None else per_char(text)

    chunkings = [("token by token", by_token), ("character by character", per_char)]
    if "ours" in engines and DRIVERS["ours"].unavailable(subject) is None:
        ran = True
        alone_a = run_stream(subject.new_parser(), first.ctx, by_token(long_a.text))
        alone_b = run_stream(subject.new_parser(), second.ctx, by_token(short_b.text))
        again_a = run_stream(subject.new_parser(), first.ctx, by_token(long_a.text))
        if again_a.split != alone_a.split:
            raise CheckFailed(
                f"the same request gave {alone_a.split} then {again_a.split} after another request ran: "
                "state leaks between instances",
                driver="ours",
            )
        parser_a, parser_b = subject.new_parser(), subject.new_parser()
        if parser_a is parser_b:
            raise CheckFailed("the parser class returned the same instance twice; each request needs its own")
        for how, chunk in chunkings:
            stream_a = subject.new_parser().start_stream(**first.ctx.kwargs())
            stream_b = subject.new_parser().start_stream(**second.ctx.kwargs())
            got = _interleave([(stream_a.feed, chunk(long_a.text)), (stream_b.feed, chunk(short_b.text))], [stream_a.finish, stream_b.finish])
            for label, started, alone, mixed in (("A", first, alone_a, got[0]), ("B", second, alone_b, got[1])):
                if mixed != (alone.split.reasoning, alone.split.content):
                    raise CheckFailed(
                        f"two instances fed interleaved {how}: request {label} [{started.ctx.label}] gave "
                        f"(reasoning={short(mixed[0], 40)}, content={short(mixed[1], 40)}) instead of {alone.split}",
                        driver="ours",
                    )
    # The seed interface takes no prompt or mode: the default context for every request.
    short_a = min((s for s in samples_a if s.text), key=lambda s: len(s.text))
    if "vllm" in engines:
        ran = True
        for how, chunk in chunkings:
            requests = [chunk(long_a.text), chunk(short_a.text)]
            alone = [run_seed(subject.new_parser(), deltas).split for deltas in requests]
            seeds = [SeedCaller(subject.new_parser()), SeedCaller(subject.new_parser())]
            got = _interleave([(seed.feed, deltas) for seed, deltas in zip(seeds, requests)], [s.finish for s in seeds])
            for label, want, mixed in zip("AB", alone, got):
                if mixed != (want.reasoning, want.content):
                    raise CheckFailed(
                        f"two instances called through the seed interface, interleaved {how}: request {label} gave "
                        f"(reasoning={short(mixed[0], 40)}, content={short(mixed[1], 40)}) instead of {want}",
                        driver="vllm",
                    )
    if "lmdeploy" in engines:
        ran = True
        for how, chunk in chunkings:
            deltas_a = [(t, list(i or ())) for t, i in chunk(long_a.text)]
            other_text, other = companion(subject, deltas_a)
            texts = [long_a.text, long_a.text, other_text, short_a.text]
            requests = [deltas_a, list(deltas_a), other, [(t, list(i or ())) for t, i in chunk(short_a.text)]]
            got = interleave(subject.new_parser(), requests)
            for index, (text, streamed) in enumerate(zip(texts, got)):
                want = run_extract(subject.new_parser(), first.ctx, text)
                if streamed.split != want:
                    raise CheckFailed(
                        f"one instance shared by 4 concurrent requests (2 with the same output in lockstep), "
                        f"interleaved {how}: request {index + 1} {short(text, 40)} gave {streamed.split}; "
                        f"extract_reasoning_content() gives {want}",
                        driver="lmdeploy",
                    )
    if not ran:
        raise CheckSkipped("engine", "independence runs under the ours, vllm and lmdeploy drivers; none is selected")
    try:
        host_cls = current_host().resolve(PARSER, subject.name)
    except Exception:
        host_cls = None
    if host_cls is subject.parser_cls and host_cls is not None:
        from reasoning_plugins import get_parser

        if get_parser(subject.name, tokenizer) is get_parser(subject.name, tokenizer):
            raise CheckFailed(f"get_parser({subject.name!r}) returned the same instance twice")


def _interleave(feeders: list[tuple[Any, list[Delta]]], finishers: list[Any]) -> list[tuple[str | None, str | None]]:
    """Each feeder's deltas in turn (separate instances), then every finish()."""
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
