"""Engine throughput: generated tokens/s next to transformers' padded ``generate`` on the same work.

For 1, 8, 32 and 64 concurrent requests, one workload of ``2 x concurrency`` chat requests (distinct
prompts, greedy, ``ignore_eos``, each with its own length between 24 and 96 new tokens) runs two
ways, alternating round by round in one process with the same torch thread count:

- engine: ``LLMEngine`` with ``max_num_seqs = concurrency``; a new request joins as soon as one
  leaves, so the batch stays full while requests of different lengths come and go;
- padded generate: ``model.generate`` on left-padded batches of ``concurrency`` requests, each batch
  running until its longest request is done (shorter rows are cut to their own length).

Each figure is the best of N alternating rounds: on a shared machine the best round is the one
least disturbed by other work, for both sides alike.

Only each request's own tokens are counted for both, so the ratio engine/generate is the useful
throughput of continuous batching against a padded static batch (target at 32 requests: >= 1.0).
The KV memory per token of the paged pool is reported too.

Run as a script for a table (``python benchmarks/bench_engine.py [--json out.json] [--rounds N]``)
or with pytest-benchmark (``pytest benchmarks/bench_engine.py``), which records the figures in
``extra_info``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CONCURRENCY = (1, 8, 32, 64)
MIN_TOKENS, MAX_TOKENS = 24, 96


@dataclass(slots=True)
class Level:
    concurrency: int
    requests: int
    generated_tokens: int
    engine_tok_s: float
    generate_tok_s: float
    ratio: float


def workload(tokenizer: Any, requests: int) -> list[tuple[list[int], int]]:
    """(prompt ids, max new tokens) per request; lengths spread evenly over [MIN_TOKENS, MAX_TOKENS]."""
    items = []
    span = MAX_TOKENS - MIN_TOKENS
    for i in range(requests):
        messages = [{"role": "user", "content": f"Request {i}: what is {i} + {(i * 7) % 13}? Explain briefly."}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        items.append((tokenizer.encode(text, add_special_tokens=False), MIN_TOKENS + (i * 37) % (span + 1)))
    return items


def run_engine(engine: Any, items: list[tuple[list[int], int]], concurrency: int, tag: str) -> tuple[int, float]:
    """Keep ``concurrency`` requests in flight until all are done; returns (tokens, seconds)."""
    from core_engine import SamplingParams

    queue = list(enumerate(items))
    in_flight = 0
    tokens = 0
    start = time.perf_counter()
    while queue or in_flight:
        while queue and in_flight < concurrency:
            index, (prompt, max_tokens) = queue.pop(0)
            engine.add_request(f"{tag}-{index}", prompt,
                               SamplingParams(max_tokens=max_tokens, temperature=0.0, ignore_eos=True))
            in_flight += 1
        for out in engine.step():
            tokens += len(out.new_token_ids)
            in_flight -= out.finished
    return tokens, time.perf_counter() - start


def run_generate(model: Any, pad_id: int, items: list[tuple[list[int], int]], concurrency: int) -> tuple[int, float]:
    """Static left-padded batches through ``model.generate``; returns (useful tokens, seconds)."""
    import torch

    tokens = 0
    start = time.perf_counter()
    for first in range(0, len(items), concurrency):
        batch = items[first:first + concurrency]
        width = max(len(p) for p, _ in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (prompt, _) in enumerate(batch):
            ids[row, width - len(prompt):] = torch.tensor(prompt)
            mask[row, width - len(prompt):] = 1
        longest = max(n for _, n in batch)
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=longest,
                                 min_new_tokens=longest, do_sample=False, pad_token_id=pad_id)
        tokens += sum(min(n, out.shape[1] - width) for _, n in batch)
    return tokens, time.perf_counter() - start


class Bench:
    """The engine and a plain transformers copy of the same model, loaded once."""

    def __init__(self, model: str | None = None) -> None:
        from transformers import AutoModelForCausalLM

        from core_engine import EngineConfig, LLMEngine

        self.model = model
        self.engine = LLMEngine(EngineConfig(model=model, max_num_seqs=max(CONCURRENCY), num_kv_blocks=2048,
                                             max_model_len=512))
        self.reference = AutoModelForCausalLM.from_pretrained(self.engine.config.model_dir,
                                                              attn_implementation="sdpa").eval()
        self.tokenizer = self.engine.tokenizer
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None \
            else self.engine.eos_token_ids[0]
        self.kv_bytes_per_token = self.engine.kv_bytes_per_token

    def level(self, concurrency: int, rounds: int) -> Level:
        self.engine.scheduler.max_num_seqs = concurrency
        items = workload(self.tokenizer, 2 * concurrency)
        run_engine(self.engine, items[:concurrency], concurrency, "warm")
        run_generate(self.reference, self.pad_id, items[:concurrency], concurrency)
        engine_rates, generate_rates = [], []
        expected = sum(n for _, n in items)
        for round_index in range(rounds):
            tokens, seconds = run_engine(self.engine, items, concurrency, f"r{round_index}")
            assert tokens == expected, (tokens, expected)
            engine_rates.append(tokens / seconds)
            tokens, seconds = run_generate(self.reference, self.pad_id, items, concurrency)
            assert tokens == expected, (tokens, expected)
            generate_rates.append(tokens / seconds)
        engine_rate = max(engine_rates)
        generate_rate = max(generate_rates)
        return Level(concurrency, len(items), expected, round(engine_rate, 1), round(generate_rate, 1),
                     round(engine_rate / generate_rate, 2))


# --------------------------------------------------------------------------------------- pytest
try:
    import pytest
except ImportError:   # script use without pytest installed
    pytest = None  # type: ignore[assignment]

if pytest is not None:
    @pytest.fixture(scope="module")
    def bench() -> Bench:
        return Bench()

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    def test_engine_throughput_vs_padded_generate(bench: Bench, benchmark: Any, concurrency: int) -> None:
        """Engine tokens/s over padded generate on the same requests; >= 1.0x at 32 concurrent requests."""
        level = bench.level(concurrency, rounds=3)
        benchmark.extra_info.update(asdict(level))
        benchmark.extra_info["kv_bytes_per_token"] = bench.kv_bytes_per_token
        items = workload(bench.tokenizer, 2 * concurrency)
        benchmark.pedantic(run_engine, args=(bench.engine, items, concurrency, "bench"), rounds=1, iterations=1)
        print(f"\n{concurrency:>3} concurrent: engine {level.engine_tok_s:8.1f} tok/s, padded generate "
              f"{level.generate_tok_s:8.1f} tok/s, ratio {level.ratio:.2f}x")
        if concurrency == 32:
            assert level.ratio >= 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="local model directory (default: the bundled model)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per level (best reported)")
    parser.add_argument("--levels", default=",".join(map(str, CONCURRENCY)), help="comma-separated concurrency")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    bench = Bench(args.model)
    levels = [bench.level(int(c), args.rounds) for c in args.levels.split(",")]
    print(f"model: {bench.engine.model_name}; KV memory per token: {bench.kv_bytes_per_token} bytes")
    print(f"{'concurrency':>11} {'requests':>8} {'tokens':>7} {'engine tok/s':>12} {'generate tok/s':>14} {'ratio':>6}")
    for lv in levels:
        print(f"{lv.concurrency:>11} {lv.requests:>8} {lv.generated_tokens:>7} {lv.engine_tok_s:>12.1f} "
              f"{lv.generate_tok_s:>14.1f} {lv.ratio:>5.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"model": bench.engine.model_name,
                                         "kv_bytes_per_token": bench.kv_bytes_per_token,
                                         "levels": [asdict(lv) for lv in levels]}, indent=2))


if __name__ == "__main__":
    main()
