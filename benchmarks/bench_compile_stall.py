"""Do grammar compiles stall running streams? Inter-token latency of 8 streams, quiet and disturbed.

The engine core is stepped in a loop exactly as the server's engine process steps it. Eight greedy
requests decode (``ignore_eos``); once they have produced ``WARMUP`` tokens, eight new requests
arrive, each with its own JSON schema (distinct, so the compiler's cache cannot help), at one step
apart. Three variants run side by side, alternating rounds in one process:

- ``quiet``: nothing arrives;
- ``worker``: the schemas compile on the engine's worker thread (``LLMEngine.submit``), as the
  server does;
- ``inline``: the schemas compile inside the step loop (``LLMEngine.add_request``), for comparison.

Reported: p50 and p99 of the gaps between consecutive tokens of the eight running streams, from the
first arrival until the last schema request was admitted (or an equal number of steps when quiet).
Target: worker p99 within 2x the quiet p99. Run ``python benchmarks/bench_compile_stall.py [--json
out.json]`` for a table, or with pytest-benchmark (``pytest benchmarks/bench_compile_stall.py``).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core_engine import EngineConfig, GuidedDecodingParams, LLMEngine, SamplingParams  # noqa: E402

STREAMS = 8
ARRIVALS = 8
WARMUP = 20
PROPERTIES = 120      # optional properties per schema: tens of milliseconds to compile here


def schema(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    names = {"".join(rng.choice(string.ascii_lowercase) for _ in range(8)) for _ in range(PROPERTIES)}
    return {"type": "object", "properties": {name: {"type": "string"} for name in sorted(names)}}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_round(engine: LLMEngine, variant: str, round_no: int) -> list[float]:
    """Gaps (seconds) between consecutive tokens of the running streams while requests arrive."""
    prompts = [engine.build_prompt([{"role": "user", "content": f"What is {i} + {i * 3}?"}]) for i in range(STREAMS)]
    params = SamplingParams(max_tokens=1000, temperature=0.0, ignore_eos=True)
    streams = [f"s{round_no}-{i}" for i in range(STREAMS)]
    for rid, prompt in zip(streams, prompts):
        engine.add_request(rid, prompt, params)
    last: dict[str, float] = {}
    gaps: list[float] = []
    produced = 0
    arrivals = 0
    measuring = False
    steps_after = 0
    arrived: list[str] = []
    while True:
        if measuring and arrivals < ARRIVALS:
            rid = f"g{round_no}-{arrivals}"
            guided = SamplingParams(max_tokens=8, temperature=0.0, guided=GuidedDecodingParams(
                json_schema=schema(1000 * round_no + arrivals)))
            if variant == "worker":
                engine.submit(rid, prompts[0], guided)
            elif variant == "inline":
                engine.add_request(rid, prompts[0], guided)
            if variant != "quiet":
                arrived.append(rid)
            arrivals += 1
        outputs = engine.step()
        now = time.perf_counter()
        for out in outputs:
            if out.request_id in streams and out.new_token_ids:
                if measuring and out.request_id in last:
                    gaps.append(now - last[out.request_id])
                last[out.request_id] = now
                produced += 1
        if not measuring and produced >= WARMUP * STREAMS:
            measuring = True
        if measuring:
            steps_after += 1
            admitted = all(rid not in engine.requests or engine.requests[rid].grammar_job is None for rid in arrived)
            if arrivals == ARRIVALS and admitted and steps_after >= 40:
                break
    for rid in list(engine.requests):
        engine.abort(rid)
    return gaps


def measure(rounds: int = 3) -> dict[str, dict[str, float]]:
    engine = LLMEngine(EngineConfig(max_num_seqs=32, num_kv_blocks=1024))
    engine.guided.compile(GuidedDecodingParams(json_object=True))    # tokenizer info built before timing
    gaps: dict[str, list[float]] = {"quiet": [], "worker": [], "inline": []}
    for round_no in range(rounds):
        for variant in gaps:
            gaps[variant] += run_round(engine, variant, round_no * 10 + list(gaps).index(variant))
    return {variant: {"p50_ms": 1000 * statistics.median(values), "p99_ms": 1000 * percentile(values, 0.99),
                      "max_ms": 1000 * max(values), "gaps": len(values)}
            for variant, values in gaps.items()}


def table(figures: dict[str, dict[str, float]]) -> str:
    quiet = figures["quiet"]["p99_ms"]
    lines = ["| variant | ITL p50 ms | ITL p99 ms | max ms | p99 / quiet p99 |", "|---|---:|---:|---:|---:|"]
    for variant, row in figures.items():
        lines.append(f"| {variant} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['max_ms']:.1f} | "
                     f"{row['p99_ms'] / quiet:.2f}x |")
    return "\n".join(lines)


def test_compile_stall(benchmark: Any) -> None:
    figures = benchmark.pedantic(measure, kwargs={"rounds": 2}, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    assert figures["worker"]["p99_ms"] <= 2 * figures["quiet"]["p99_ms"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    figures = measure(args.rounds)
    print(table(figures))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
