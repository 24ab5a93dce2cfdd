"""Evaluate the bundled tiny reasoning model on a fixed held-out set with greedy decoding.

    python tools/eval_tiny_reasoner.py                 # readable table
    python tools/eval_tiny_reasoner.py --json out.json # also write the figures as JSON

The set is drawn with its own seed from the evaluation side of the split in _tiny_tasks (problems
that training never draws). Decoding is plain transformers ``generate`` (greedy, batched with left
padding); a reasoning budget is simulated by stopping after N reasoning tokens, appending `</think>`
and letting the model continue.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _tiny_checks import Verdict, judge  # noqa: E402
from _tiny_data import render_prompt  # noqa: E402
from _tiny_tasks import FAMILIES, Sample, make_sample  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO / "core_engine" / "models" / "tiny-reasoner"
EVAL_SEED = 20250
MAIN_COUNTS = {"arithmetic": 60, "comparison": 60, "json": 60, "tool_call": 60,
               "tool_followup": 20, "no_tool": 20, "greeting": 10, "echo": 30}
BUDGET_FAMILIES = ["arithmetic", "comparison", "json", "tool_call"]


def seed_prompts() -> list[tuple[str, Sample]]:
    """The prompts of the reference documents, with what a correct answer looks like."""
    fd_tool = {"type": "function", "function": {
        "name": "get_weather", "description": "Determine weather in my location",
        "parameters": {"type": "object", "properties": {
            "location": {"type": "string", "description": "The city and state e.g. San Francisco, CA"},
            "unit": {"type": "string", "enum": ["c", "f"]}},
            "additionalProperties": False, "required": ["location", "unit"]},
        "strict": True}}
    vllm_tool = {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather in a given location",
        "parameters": {"type": "object", "properties": {
            "location": {"type": "string", "description": "City and state, e.g., 'San Francisco, CA'"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["location", "unit"]}}}

    def one(family: str, text: str, expected: dict[str, Any], answer: str = "", tools=None) -> Sample:
        return Sample(family, [{"role": "user", "content": text}], "", answer, tools=tools,
                      expected=expected)

    return [
        ("9.11 vs 9.8", one("comparison", "9.11 and 9.8, which is greater?", {},
                            answer="9.8 is greater than 9.11.")),
        ("random person JSON", one("json", "Generate a JSON with the name and age of one random person.",
                                   {"keys": {"name": "str", "age": "int"}})),
        ("weather, vLLM tool", one("tool_call", "What's the weather like in San Francisco?",
                                   {"call": {"name": "get_weather", "arguments": {
                                       "location": "San Francisco", "unit": "celsius"}}}, tools=[vllm_tool])),
        ("北京天气, FastDeploy tool", one("tool_call", "北京今天天气怎么样？",
                                         {"call": {"name": "get_weather", "arguments": {
                                             "location": "北京", "unit": "c"}}}, tools=[fd_tool])),
        ("北京天气 (ASCII ?)", one("tool_call", "北京今天天气怎么样?",
                                   {"call": {"name": "get_weather", "arguments": {
                                       "location": "北京", "unit": "c"}}}, tools=[fd_tool])),
    ]


class Generator:
    """Batched greedy decoding with plain ``generate``."""

    def __init__(self, model_dir: Path, batch_size: int = 32) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.eos = self.tok.convert_tokens_to_ids("<|im_end|>")
        self.end_think = self.tok.convert_tokens_to_ids("</think>")
        self.pad = self.tok.pad_token_id
        self.batch_size = batch_size
        self.generated_tokens = 0

    def prompt_ids(self, sample: Sample) -> list[int]:
        return self.tok.encode(render_prompt(sample), add_special_tokens=False)

    @torch.inference_mode()
    def complete(self, prompts: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        """Greedy continuations, each cut after its first eos."""
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        results: list[list[int]] = [[] for _ in prompts]
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = max(len(prompts[i]) for i in rows)
            ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                ids[r, width - len(prompts[i]):] = torch.tensor(prompts[i])
                mask[r, width - len(prompts[i]):] = 1
            out = self.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                                      do_sample=False, eos_token_id=self.eos, pad_token_id=self.pad)
            for r, i in enumerate(rows):
                new = out[r, width:].tolist()
                if self.eos in new:
                    new = new[: new.index(self.eos) + 1]
                results[i] = new
                self.generated_tokens += len(new)
        return results

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=False)


@dataclass(slots=True)
class Row:
    name: str
    verdicts: list[Verdict] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        n = len(self.verdicts)
        json_flags = [v.valid_json for v in self.verdicts if v.valid_json is not None]
        return {
            "n": n,
            "format": sum(v.format_ok for v in self.verdicts) / n if n else 0.0,
            "accuracy": sum(v.correct for v in self.verdicts) / n if n else 0.0,
            "valid_json": (sum(json_flags) / len(json_flags)) if json_flags else None,
        }


def run_plain(gen: Generator, samples: list[Sample], max_new_tokens: int) -> list[Verdict]:
    outs = gen.complete([gen.prompt_ids(s) for s in samples], max_new_tokens)
    return [judge(s, gen.decode(o)) for s, o in zip(samples, outs)]


def run_budget(gen: Generator, samples: list[Sample], budget: int, max_new_tokens: int) -> list[Verdict]:
    """Force `</think>` after ``budget`` reasoning tokens, then judge what follows."""
    prompts = [gen.prompt_ids(s) for s in samples]
    heads = gen.complete(prompts, budget) if budget > 0 else [[] for _ in samples]
    verdicts: list[Verdict | None] = [None] * len(samples)
    forced_rows, forced_prompts = [], []
    for i, head in enumerate(heads):
        if gen.end_think in head or gen.eos in head:
            rest = gen.complete([prompts[i] + head], max_new_tokens)[0] if gen.eos not in head else []
            verdicts[i] = judge(samples[i], gen.decode(head + rest))
        else:
            forced_rows.append(i)
            forced_prompts.append(prompts[i] + head + [gen.end_think])
    for i, tail in zip(forced_rows, gen.complete(forced_prompts, max_new_tokens)):
        verdicts[i] = judge(samples[i], gen.decode(tail), forced=True)
    return [v for v in verdicts if v is not None]


def evaluate(model_dir: Path, seed: int = EVAL_SEED, scale: float = 1.0, max_new_tokens: int = 160,
             budgets: tuple[int, ...] = (0, 8), show_failures: int = 0) -> dict[str, Any]:
    started = time.monotonic()
    gen = Generator(model_dir)
    rng = random.Random(seed)
    rows: list[Row] = []
    failures: list[str] = []

    def record(name: str, samples: list[Sample], verdicts: list[Verdict]) -> None:
        rows.append(Row(name, verdicts))
        for s, v in zip(samples, verdicts):
            if (not v.correct) and len(failures) < show_failures:
                failures.append(f"[{name}] {s.messages[-1]['content']!r}\n    -> {v.reasoning!r} | "
                                f"{v.answer!r} ({v.note})")

    for family, count in MAIN_COUNTS.items():
        n = max(1, round(count * scale))
        samples = [make_sample(rng, family, split="eval", thinking_off_rate=0.0) for _ in range(n)]
        record(family, samples, run_plain(gen, samples, max_new_tokens))
    n = max(1, round(60 * scale))
    off = [make_sample(rng, rng.choice(list(FAMILIES)), split="eval", thinking_off_rate=1.0) for _ in range(n)]
    record("thinking disabled", off, run_plain(gen, off, max_new_tokens))
    for budget in budgets:
        n = max(1, round(60 * scale))
        samples = [make_sample(rng, rng.choice(BUDGET_FAMILIES), split="eval", thinking_off_rate=0.0)
                   for _ in range(n)]
        record(f"budget {budget} (forced </think>)", samples, run_budget(gen, samples, budget, max_new_tokens))
    seeds = seed_prompts()
    seed_verdicts = run_plain(gen, [s for _, s in seeds], max_new_tokens)
    record("reference-document prompts", [s for _, s in seeds], seed_verdicts)

    main = [v for r in rows[: len(MAIN_COUNTS)] for v in r.verdicts]
    json_flags = [v.valid_json for r in rows if r.name in ("json", "tool_call") for v in r.verdicts]
    return {
        "model": str(model_dir),
        "seed": seed,
        "rows": {r.name: r.figures() for r in rows},
        "overall_thinking_on": {
            "n": len(main),
            "format": sum(v.format_ok for v in main) / len(main),
            "accuracy": sum(v.correct for v in main) / len(main),
        },
        "valid_json_rate": sum(bool(f) for f in json_flags) / len(json_flags),
        "tool_call_accuracy": next(r for r in rows if r.name == "tool_call").figures()["accuracy"],
        "seed_prompts": [
            {"name": name, "format": v.format_ok, "correct": v.correct, "reasoning": v.reasoning,
             "answer": v.answer} for (name, _), v in zip(seeds, seed_verdicts)
        ],
        "generated_tokens": gen.generated_tokens,
        "seconds": round(time.monotonic() - started, 1),
        "failures": failures,
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [f"{'set':34} {'n':>4} {'format':>8} {'correct':>8} {'valid JSON':>11}", "-" * 68]
    for name, f in report["rows"].items():
        vj = f"{f['valid_json']:.1%}" if f["valid_json"] is not None else "-"
        lines.append(f"{name:34} {f['n']:>4} {f['format']:>8.1%} {f['accuracy']:>8.1%} {vj:>11}")
    o = report["overall_thinking_on"]
    lines += ["-" * 68,
              f"{'all thinking-on families':34} {o['n']:>4} {o['format']:>8.1%} {o['accuracy']:>8.1%}",
              f"valid JSON (json + tool_call answers): {report['valid_json_rate']:.1%}; "
              f"correct tool calls: {report['tool_call_accuracy']:.1%}",
              f"{report['generated_tokens']} tokens generated in {report['seconds']} s", "",
              "reference-document prompts:"]
    for s in report["seed_prompts"]:
        mark = "ok " if s["correct"] else "BAD"
        lines.append(f"  {mark} {s['name']}: {s['reasoning']!r} -> {s['answer']!r}")
    if report["failures"]:
        lines += ["", "failures:"] + [f"  {f}" for f in report["failures"]]
    return "\n".join(lines)


def format_markdown(report: dict[str, Any]) -> str:
    """The figures as a Markdown table (for MODEL_CARD.md)."""
    lines = ["| set | n | format | correct | valid JSON |", "|---|---:|---:|---:|---:|"]
    for name, f in report["rows"].items():
        vj = f"{f['valid_json']:.1%}" if f["valid_json"] is not None else "-"
        label = name.replace("</think>", "`</think>`")
        lines.append(f"| {label} | {f['n']} | {f['format']:.1%} | {f['accuracy']:.1%} | {vj} |")
    o = report["overall_thinking_on"]
    lines.append(f"| **all thinking-on families** | {o['n']} | {o['format']:.1%} | {o['accuracy']:.1%} | "
                 f"{report['valid_json_rate']:.1%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model directory")
    p.add_argument("--seed", type=int, default=EVAL_SEED)
    p.add_argument("--scale", type=float, default=1.0, help="multiply every set size (e.g. 0.2 for a quick look)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--failures", type=int, default=0, help="print up to N failing cases")
    p.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    p.add_argument("--markdown", action="store_true", help="also print the figures as a Markdown table")
    a = p.parse_args(argv)
    missing = [n for n in ("config.json", "tokenizer.json", "model.safetensors") if not (a.model / n).is_file()]
    if missing:
        print(f"error: {a.model} is not a complete model directory (missing {', '.join(missing)}); "
              f"train one with tools/train_tiny_reasoner.py --out {a.model}", file=sys.stderr)
        return 2
    if a.scale <= 0:
        print(f"error: --scale must be positive, got {a.scale}", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    report = evaluate(a.model, seed=a.seed, scale=a.scale, show_failures=a.failures)
    print(format_table(report))
    if a.markdown:
        print("\n" + format_markdown(report))
    if a.json:
        a.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
