"""Stop-string matching per token at 10,000 and 40,000 tokens of output: the cost must not grow.

Each round pushes one short delta per token through ``StopTextBuffer`` (three stop strings, text
that often starts one and breaks it off), timing the whole output at each length. Reported: µs per
token at both lengths and their ratio (linear matching: about 1.0; re-scanning the whole text each
token would make it about 4). Run ``python benchmarks/bench_stop_strings.py`` for a table, or with
pytest-benchmark.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core_engine.stop_text import StopTextBuffer  # noqa: E402

STOPS = ["</answer>", "Observation:", "\n\nUser:"]
LENGTHS = (10_000, 40_000)


def deltas(count: int) -> list[str]:
    rng = random.Random(count)
    pieces = [" the", " answer", "</", "ans", "Obs", "\n", "\n\n", "Us", " is", " 42"]
    return [rng.choice(pieces) for _ in range(count)]


def per_token_us(count: int, rounds: int = 5) -> float:
    stream = deltas(count)
    timings = []
    for _ in range(rounds):
        buffer = StopTextBuffer(STOPS)
        push = buffer.push
        started = time.perf_counter()
        for delta in stream:
            push(delta)
        timings.append((time.perf_counter() - started) / count * 1e6)
    return statistics.median(timings)


def measure() -> dict[str, float]:
    short, long = (per_token_us(n) for n in LENGTHS)
    return {"us_per_token_10k": short, "us_per_token_40k": long, "ratio_40k_10k": long / short}


def test_stop_strings_per_token(benchmark: Any) -> None:
    figures = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    assert figures["ratio_40k_10k"] < 2


if __name__ == "__main__":
    figures = measure()
    print("| tokens | µs per token |\n|---:|---:|")
    print(f"| 10,000 | {figures['us_per_token_10k']:.2f} |\n| 40,000 | {figures['us_per_token_40k']:.2f} |")
    print(f"ratio 40k / 10k: {figures['ratio_40k_10k']:.2f}")
