"""Streaming cost of the built-in parsers, one token per call, next to a bare loop.

The bare loop is the least any streaming server does per token: append the delta and build one
DeltaMessage. Targets: a parser costs at most 2x the bare loop at 32k tokens, and 32k tokens cost
at most 20x 2k tokens (linear would be 16x). Run with:

    pytest benchmarks/bench_parsers.py --benchmark-only
"""

from __future__ import annotations

import gc
import random
import time

import pytest

from reasoning_plugins import get_parser
from reasoning_plugins.protocol import DeltaMessage

PARSERS = ["deepseek-r1", "qwq", "ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1"]
WORDS = [" the", " value", " is", " greater", " than", " 9", ".", "11", ",", " so", " we", " compare",
         " digits", "\n", " First", " let", "'s", " check", " <", " x", "2", " =", " 4", " (", ")", "\n\n"]
ROUNDS = 5


def trace(n_tokens: int, seed: int = 0) -> list[tuple[str, list[int]]]:
    """A reasoning trace of ``n_tokens`` word tokens, then `</think>` and a short answer."""
    rng = random.Random(seed)
    # A shared vocabulary of (text, ids) pairs keeps the trace itself small, so the cost of
    # walking a large input does not blur the parser's own growth.
    vocabulary = [(word, [1000 + index]) for index, word in enumerate(WORDS)]
    tokens = [rng.choice(vocabulary) for _ in range(n_tokens)]
    tokens += [("\n", [198]), ("</think>", [151668]), ("\n\n", [271]), ("9.8", [24]), (" is greater.", [25])]
    return tokens


def bare_loop(tokens):
    out = []
    for text, _ids in tokens:
        out.append(text)
        DeltaMessage(reasoning_content=text)
    return out


def run_parser(name, tokens):
    stream = get_parser(name).start_stream()
    feed = stream.feed
    for text, ids in tokens:
        feed(text, ids)
    return stream.finish()


def best_of(fn, *args, rounds=ROUNDS) -> float:
    """Fastest of ``rounds`` runs with the garbage collector off (as timeit does)."""
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            fn(*args)
            best = min(best, time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return best


@pytest.mark.parametrize("name", PARSERS)
def test_parser_vs_bare_loop_32k(benchmark, name):
    """Per-token parser cost at 32k tokens stays within 2x of a bare append-and-build loop."""
    tokens = trace(32_000)
    benchmark.pedantic(run_parser, args=(name, tokens), rounds=ROUNDS, iterations=1)
    parser_s = benchmark.stats.stats.min
    bare_s = best_of(bare_loop, tokens)
    ratio = parser_s / bare_s
    benchmark.extra_info.update({
        "parser_us_per_token": round(parser_s / len(tokens) * 1e6, 3),
        "bare_us_per_token": round(bare_s / len(tokens) * 1e6, 3),
        "ratio_vs_bare": round(ratio, 2),
    })
    assert ratio <= 2.0, f"{name}: {ratio:.2f}x the bare loop"


@pytest.mark.parametrize("name", PARSERS)
def test_parser_growth_2k_to_32k(benchmark, name):
    """32k tokens cost at most 20x what 2k tokens cost (linear is 16x): no rescans of earlier text."""
    small, large = trace(2_000, seed=1), trace(32_000, seed=1)
    benchmark.pedantic(run_parser, args=(name, small), rounds=ROUNDS * 4, iterations=1)
    # interleave the two sizes so both see the same machine load; keep the fastest of each
    small_s, large_s = benchmark.stats.stats.min, float("inf")
    for _ in range(ROUNDS):
        small_s = min(small_s, best_of(run_parser, name, small, rounds=4))
        large_s = min(large_s, best_of(run_parser, name, large, rounds=1))
    growth = large_s / small_s
    benchmark.extra_info.update({"t_2k_ms": round(small_s * 1e3, 3), "t_32k_ms": round(large_s * 1e3, 3),
                                 "growth_32k_over_2k": round(growth, 2)})
    assert growth <= 20.0, f"{name}: 32k/2k = {growth:.1f}x"
