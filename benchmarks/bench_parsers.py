"""Streaming cost of the built-in parsers, one token per call, next to a bare loop.

The bare loop is the least any streaming server does per token: append the delta and build one
small plain object. Every figure is a ratio of runs measured side by side, alternating, in one
process (the machines are shared and noisy); each ratio is the median of the paired rounds.

- the native stream (``start_stream`` / ``feed``) at 32k tokens: at most 3x the bare loop;
- the seed interface called as vLLM's legacy path calls it (previous/current text and ids every
  token, the arguments built before timing): at most 2x the native stream;
- growth: 32k tokens cost at most 20x what 2k tokens cost (linear is 16x);
- adversarial outputs (a repeated start marker, a long run of marker prefixes, a long run of
  whitespace before a start marker): 4x the text costs at most 6x the time (quadratic is 16x).

Run with:

    pytest benchmarks/bench_parsers.py --benchmark-only --benchmark-disable-gc
"""

from __future__ import annotations

import gc
import random
import statistics
import time

import pytest

from reasoning_plugins import get_parser

PARSERS = ["deepseek-r1", "qwq", "ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1"]
WORDS = [" the", " value", " is", " greater", " than", " 9", ".", "11", ",", " so", " we", " compare",
         " digits", "\n", " First", " let", "'s", " check", " <", " x", "2", " =", " 4", " (", ")", "\n\n"]
ROUNDS = 5


class Plain:
    """The small object the bare loop builds per token."""

    __slots__ = ("reasoning_content", "content")

    def __init__(self, reasoning_content=None, content=None):
        self.reasoning_content = reasoning_content
        self.content = content


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
        Plain(text)
    return out


def run_native(name, tokens):
    stream = get_parser(name).start_stream()
    feed = stream.feed
    for text, ids in tokens:
        feed(text, ids)
    return stream.finish()


def vllm_calls(tokens):
    """The arguments vLLM's legacy streaming path passes, per token, built before timing:
    previous_text is the very object that was current_text on the call before."""
    calls = []
    previous_text, previous_ids = "", []
    for text, ids in tokens:
        current_text = previous_text + text
        current_ids = previous_ids + ids
        calls.append((previous_text, current_text, text, previous_ids, current_ids, ids))
        previous_text, previous_ids = current_text, current_ids
    return calls


def run_seed(name, calls):
    parser = get_parser(name)
    extract = parser.extract_reasoning_content_streaming
    for args in calls:
        extract(*args)
    return parser.finish()


def run_native_as_seed(name, calls):
    """The native stream fed from the same argument tuples (the loop costs the same)."""
    stream = get_parser(name).start_stream()
    feed = stream.feed
    for args in calls:
        feed(args[2], args[5])
    return stream.finish()


def timed(fn, *args) -> float:
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        fn(*args)
        return time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()


def paired(a, b, rounds=ROUNDS):
    """Median over rounds of time(a) / time(b), the two run back to back in each round."""
    ratios = []
    for _ in range(rounds):
        ta, tb = min(timed(*a) for _ in range(2)), min(timed(*b) for _ in range(2))
        ratios.append(ta / tb)
    return statistics.median(ratios)


@pytest.mark.parametrize("name", PARSERS)
def test_native_stream_vs_bare_loop_32k(benchmark, name):
    """Per-token cost of the native stream at 32k tokens stays within 3x the bare loop."""
    tokens = trace(32_000)
    benchmark.pedantic(run_native, args=(name, tokens), rounds=ROUNDS, iterations=1)
    ratio = paired((run_native, name, tokens), (bare_loop, tokens))
    benchmark.extra_info.update({
        "native_us_per_token": round(benchmark.stats.stats.min / len(tokens) * 1e6, 3),
        "ratio_vs_bare": round(ratio, 2),
    })
    assert ratio <= 3.0, f"{name}: {ratio:.2f}x the bare loop"


@pytest.mark.parametrize("name", PARSERS)
def test_seed_interface_vs_native(benchmark, name):
    """Called as vLLM's legacy path calls it (previous/current text and ids each token), a
    parser costs at most 2x its native stream. The arguments are built before timing (at 8k
    tokens, since vLLM's own copying of the whole text per token is not the parser's cost)."""
    calls = vllm_calls(trace(8_000))
    benchmark.pedantic(run_seed, args=(name, calls), rounds=ROUNDS, iterations=1)
    ratio = paired((run_seed, name, calls), (run_native_as_seed, name, calls))
    benchmark.extra_info.update({
        "seed_us_per_token": round(benchmark.stats.stats.min / len(calls) * 1e6, 3),
        "seed_over_native": round(ratio, 2),
    })
    assert ratio <= 2.0, f"{name}: the seed interface costs {ratio:.2f}x the native stream"


@pytest.mark.parametrize("name", PARSERS)
def test_parser_growth_2k_to_32k(benchmark, name):
    """32k tokens cost at most 20x what 2k tokens cost (linear is 16x): no rescans of earlier text."""
    small, large = trace(2_000, seed=1), trace(32_000, seed=1)
    benchmark.pedantic(run_native, args=(name, small), rounds=ROUNDS * 4, iterations=1)
    growth = paired((run_native, name, large), (run_native, name, small))
    benchmark.extra_info.update({"growth_32k_over_2k": round(growth, 2)})
    assert growth <= 20.0, f"{name}: 32k/2k = {growth:.1f}x"


ADVERSARIAL = {
    "repeated start marker": ("deepseek-r1", "<think>"),
    "run of marker prefixes": ("deepseek-r1", "</thi"),
    "whitespace before a start marker": ("deepseek-r1", " "),
    "repeated wrapper open": ("ernie-x1", "<response>"),
}


def parse_once(name, text, mode):
    return get_parser(name).parse(text, mode=mode)


def feed_chars(name, text, mode):
    stream = get_parser(name).start_stream(mode=mode)
    for ch in text:
        stream.feed(ch)
    return stream.finish()


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
@pytest.mark.parametrize("how", [parse_once, feed_chars], ids=["parse", "per-char"])
def test_adversarial_growth(benchmark, case, how):
    """4x the adversarial text costs at most 6x the time, parsed whole or fed per character."""
    name, unit = ADVERSARIAL[case]
    mode = "await_start" if unit == " " else None
    small = unit * (26_000 // len(unit))
    large = unit * (104_000 // len(unit))
    benchmark.pedantic(how, args=(name, large, mode), rounds=3, iterations=1)
    growth = paired((how, name, large, mode), (how, name, small, mode), rounds=3)
    benchmark.extra_info.update({"growth_4x": round(growth, 2), "large_chars": len(large)})
    assert growth <= 6.0, f"{case}: 4x the text took {growth:.1f}x the time"
