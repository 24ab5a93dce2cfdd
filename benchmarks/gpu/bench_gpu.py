"""GPU figures for the engine, measured side by side in one process; ``run.sh`` calls it.

``build``  compiles each CuPy kernel once on the device and says which path runs (kernel or fallback).
``time``   measures, and prints one table last:

* bitmask application at batch 1, 32 and 256, vocabulary 151,936, float32 and bfloat16: the engine's
  kernel, xgrammar's own ``apply_token_bitmask_inplace`` and plain torch masking (the engine's torch
  path), each as achieved bandwidth (logits read and written, mask read) over the device-to-device
  copy bandwidth measured in the same run (target: at least 60% at batch 256);
* engine decode throughput with Qwen3-0.6B's real config and random weights at batch 1, 32 and 128,
  next to transformers' padded ``generate`` on the same weights and prompts (target: at least 1.0x
  at batch 32);
* the largest term of one engine decode step at batch 32, from the profiler: matrix products,
  attention (the K/V block gather, SDPA), other GPU kernels, and host time (launches, syncs: wall
  time the GPU sits idle).

``--dry-run`` runs the same code on the CPU with tiny sizes (a 2-layer model, vocabulary 1,536,
masks over 1,000 tokens, batch 1 and 2) so that argument parsing, the measurements' plumbing and the table are checked
without a GPU; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402

# Qwen3-0.6B's config.json (the architecture fields; weights are random).
QWEN3_06B = {
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 1024, "intermediate_size": 3072,
    "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
    "vocab_size": 151936, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000,
    "tie_word_embeddings": True, "hidden_act": "silu", "attention_bias": False, "bos_token_id": 151643,
    "eos_token_id": 151645, "torch_dtype": "bfloat16",
}
TINY = {**QWEN3_06B, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 1536, "max_position_embeddings": 512,
        "bos_token_id": 1529, "eos_token_id": 1531}


@dataclass
class Sizes:
    device: str
    vocab: int
    mask_batches: tuple[int, ...]
    mask_dtypes: tuple[str, ...]
    engine_batches: tuple[int, ...]
    prompt_len: int
    new_tokens: int
    profile_batch: int
    repeats: int
    model: dict[str, Any]


FULL = Sizes("cuda", 151936, (1, 32, 256), ("float32", "bfloat16"), (1, 32, 128), 64, 128, 32, 50, QWEN3_06B)
DRY = Sizes("cpu", 1000, (1, 2), ("float32", "bfloat16"), (1, 2), 8, 4, 2, 2, TINY)


@dataclass
class Row:
    section: str
    case: str
    ours: str
    reference: str
    other: str
    note: str = ""


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _timer(device: str) -> Callable[[Callable[[], Any], int], float]:
    """Median seconds of ``fn`` over ``repeats`` runs after warm-ups (CUDA events on a GPU)."""

    def measure(fn: Callable[[], Any], repeats: int) -> float:
        for _ in range(3):
            fn()
        times = []
        for _ in range(repeats):
            if device == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end) / 1000)
            else:
                began = time.perf_counter()
                fn()
                times.append(time.perf_counter() - began)
        return statistics.median(times)

    return measure


def copy_bandwidth(sizes: Sizes) -> float:
    """Device-to-device copy bandwidth in bytes/s (bytes read plus bytes written)."""
    numel = (1 << 28) if sizes.device == "cuda" else (1 << 20)
    src = torch.randn(numel, device=sizes.device)
    dst = torch.empty_like(src)
    seconds = _timer(sizes.device)(lambda: dst.copy_(src), sizes.repeats)
    return 2 * src.numel() * src.element_size() / seconds


def bench_bitmask(sizes: Sizes, copy_bw: float) -> list[Row]:
    from core_engine.cuda import apply_token_bitmask_
    from core_engine.cuda.bitmask import apply_token_bitmask_torch_

    try:
        import xgrammar
        xgr_apply = xgrammar.apply_token_bitmask_inplace
    except ImportError:
        xgr_apply = None
    measure = _timer(sizes.device)
    rows = []
    generator = torch.Generator().manual_seed(0)
    for dtype_name in sizes.mask_dtypes:
        dtype = getattr(torch, dtype_name)
        for batch in sizes.mask_batches:
            logits = torch.randn(batch, sizes.vocab, generator=generator).to(dtype).to(sizes.device)
            words = (sizes.vocab + 31) // 32
            mask = torch.randint(-2**31, 2**31 - 1, (batch, words), generator=generator, dtype=torch.int64)
            mask = mask.to(torch.int32).to(sizes.device)
            moved = 2 * logits.numel() * logits.element_size() + mask.numel() * 4

            def share(fn: Callable[[], Any]) -> str:
                seconds = measure(fn, sizes.repeats)
                return f"{moved / seconds / copy_bw:.0%} ({seconds * 1e6:.0f} us)"

            ours = share(lambda: apply_token_bitmask_(logits, mask))
            plain = share(lambda: apply_token_bitmask_torch_(logits, mask))
            xgr = share(lambda: xgr_apply(logits, mask)) if xgr_apply is not None else "n/a (no xgrammar)"
            rows.append(Row("bitmask", f"batch {batch}, {dtype_name}", ours, xgr, plain,
                            "target >= 60%" if batch == 256 else ""))
            _log(f"bitmask batch {batch} {dtype_name}: ours {ours}, xgrammar {xgr}, torch {plain}")
    return rows


def _model_dir(sizes: Sizes, root: Path) -> Path:
    """A model directory with ``sizes.model``'s config, random weights and the bundled tokenizer."""
    import shutil

    from transformers import AutoConfig, AutoModelForCausalLM

    from core_engine.config import BUNDLED_MODEL_DIR

    fields = dict(sizes.model)
    config = AutoConfig.for_model(fields.pop("model_type"), **fields)
    torch.manual_seed(0)
    with torch.device(sizes.device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16 if sizes.device == "cuda"
                                                 else torch.float32)
    path = root / "model"
    model.save_pretrained(path)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(BUNDLED_MODEL_DIR / name, path / name)
    return path


def bench_engine(sizes: Sizes, path: Path) -> tuple[list[Row], Any]:
    from transformers import AutoModelForCausalLM

    from core_engine import EngineConfig, LLMEngine, SamplingParams

    max_batch = max(sizes.engine_batches)
    engine = LLMEngine(EngineConfig(model=path, device=sizes.device, max_num_seqs=max_batch,
                                    max_model_len=sizes.prompt_len + sizes.new_tokens + 16,
                                    max_num_batched_tokens=max(2048, max_batch * sizes.prompt_len)))
    reference = AutoModelForCausalLM.from_pretrained(path, dtype=engine.model.dtype,
                                                     attn_implementation="sdpa").to(sizes.device).eval()
    generator = torch.Generator().manual_seed(1)
    vocab = min(engine.vocab_size, 1500)   # ids the bundled tokenizer can print
    params = SamplingParams(max_tokens=sizes.new_tokens, temperature=0.0, ignore_eos=True)
    rows = []
    for batch in sizes.engine_batches:
        prompts = torch.randint(3, vocab, (batch, sizes.prompt_len), generator=generator)

        def run_engine() -> None:
            for i, prompt in enumerate(prompts.tolist()):
                engine.add_request(f"b{batch}-{i}", prompt, params)
            while engine.has_unfinished():
                engine.step()

        def run_generate() -> None:
            with torch.inference_mode():
                reference.generate(prompts.to(sizes.device), attention_mask=torch.ones_like(prompts).to(sizes.device),
                                   max_new_tokens=sizes.new_tokens, min_new_tokens=sizes.new_tokens,
                                   do_sample=False, pad_token_id=0)

        timings = {}
        for name, fn in (("engine", run_engine), ("generate", run_generate)):
            fn()   # warm-up
            _sync(sizes.device)
            best = float("inf")
            for _ in range(2):
                began = time.perf_counter()
                fn()
                _sync(sizes.device)
                best = min(best, time.perf_counter() - began)
            timings[name] = batch * sizes.new_tokens / best
        ratio = timings["engine"] / timings["generate"]
        rows.append(Row("decode", f"batch {batch}", f"{timings['engine']:,.0f} tok/s", f"{timings['generate']:,.0f} tok/s",
                        f"{ratio:.2f}x", "target >= 1.0x" if batch == 32 else ""))
        _log(f"decode batch {batch}: engine {timings['engine']:,.0f} tok/s, generate {timings['generate']:,.0f} tok/s")
    return rows, engine


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


TERMS = (("attention gather", ("index_select", "indexselect")),
         ("attention (sdpa)", ("attention", "sdpa", "fmha", "flash")),
         ("matrix products", ("gemm", "matmul", "aten::mm", "addmm", "aten::linear", "cublas", "cutlass", "nvjet")))


def largest_decode_term(sizes: Sizes, engine: Any) -> list[Row]:
    """Profile decode steps at ``profile_batch``; split the step into GPU terms and host time."""
    from torch.profiler import ProfilerActivity, profile

    from core_engine import SamplingParams

    params = SamplingParams(max_tokens=sizes.new_tokens, temperature=0.0, ignore_eos=True)
    for i in range(sizes.profile_batch):
        engine.add_request(f"p{i}", list(range(3, 3 + sizes.prompt_len)), params)
    for _ in range(3):   # prefill and warm-up
        engine.step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if sizes.device == "cuda" else [])
    steps = 5
    _sync(sizes.device)
    began = time.perf_counter()
    with profile(activities=activities) as prof:
        for _ in range(steps):
            engine.step()
        _sync(sizes.device)
    wall = (time.perf_counter() - began) / steps
    for request_id in list(engine.requests):
        engine.abort(request_id)
    terms = dict.fromkeys([t for t, _ in TERMS] + ["other kernels"], 0.0)
    busy = 0.0
    from torch.autograd import DeviceType

    for event in prof.key_averages():
        # On a GPU only kernel events count (an aten op's device time repeats its kernels'); on the
        # CPU the aten ops' own time stands in for them.
        if sizes.device == "cuda":
            if event.device_type != DeviceType.CUDA:
                continue
            device_us = event.self_device_time_total
        else:
            if not event.key.startswith("aten::"):
                continue
            device_us = event.self_cpu_time_total
        if not device_us:
            continue
        seconds = device_us / 1e6 / steps
        name = event.key.lower()
        term = next((t for t, keys in TERMS if any(k in name for k in keys)), "other kernels")
        terms[term] += seconds
        busy += seconds
    terms["host (launches, syncs)"] = max(0.0, wall - busy)
    largest = max(terms, key=terms.__getitem__)
    shown = ", ".join(f"{name} {seconds * 1e3:.2f} ms" for name, seconds in sorted(terms.items(), key=lambda kv: -kv[1]))
    _log(f"decode step at batch {sizes.profile_batch}: {wall * 1e3:.2f} ms; {shown}")
    return [Row("decode step", f"batch {sizes.profile_batch}, {wall * 1e3:.2f} ms", f"largest: {largest}",
                f"{terms[largest] * 1e3:.2f} ms", f"{terms[largest] / wall:.0%} of the step", shown)]


def build(sizes: Sizes) -> int:
    """Compile each kernel once on the device; report kernel or fallback for each."""
    from core_engine.cuda import apply_token_bitmask_, cupy_problem, sample_from_probs
    from core_engine.cuda._cupy import disabled_kernels

    problem = cupy_problem() if sizes.device == "cuda" else "dry run on the CPU"
    logits = torch.randn(4, 1000, device=sizes.device)
    apply_token_bitmask_(logits, torch.full((4, 32), -2, dtype=torch.int32, device=sizes.device))
    sample_from_probs(logits.softmax(-1), torch.rand(4, device=sizes.device))
    _sync(sizes.device)
    failed = disabled_kernels()
    for name in ("apply_bitmask", "sample_inverse_cdf"):
        path = "torch fallback" if problem or name in failed else "CuPy kernel"
        print(f"{name}: {path}{': ' + (failed.get(name) or problem or '') if path != 'CuPy kernel' else ''}")
    if sizes.device == "cuda":
        print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    return 1 if sizes.device == "cuda" and (problem or failed) else 0


def print_table(rows: list[Row], header: str) -> None:
    """One table: a legend line names each section's columns."""
    legends = {"bitmask": ("[bitmask]", "", "engine kernel / copy bw", "xgrammar / copy bw",
                           "torch masking / copy bw", ""),
               "decode": ("[decode]", "", "engine", "padded generate", "engine / generate", ""),
               "decode step": ("[decode step]", "", "largest term", "its time", "share", "all terms")}
    lines: list[tuple[str, ...]] = [("section", "case", "engine", "reference", "other", "note")]
    last_section = None
    for row in rows:
        if row.section != last_section:
            lines.append(legends[row.section])
            last_section = row.section
        lines.append((row.section, row.case, row.ours, row.reference, row.other, row.note))
    widths = [max(len(line[i]) for line in lines) for i in range(6)]
    print(header)
    for index, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("build", "time"))
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU (checks the plumbing only)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--skip", action="append", default=[], choices=("bitmask", "decode", "profile"),
                        help="leave a part out (repeatable)")
    args = parser.parse_args(argv)
    sizes = DRY if args.dry_run else FULL
    if sizes.device == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device is visible; use --dry-run to check the script on a CPU", file=sys.stderr)
        return 2
    if args.command == "build":
        return build(sizes)
    rows: list[Row] = []
    copy_bw = copy_bandwidth(sizes)
    _log(f"device-to-device copy: {copy_bw / 1e9:,.1f} GB/s")
    if "bitmask" not in args.skip:
        rows += bench_bitmask(sizes, copy_bw)
    if "decode" not in args.skip or "profile" not in args.skip:
        with tempfile.TemporaryDirectory() as root:
            path = _model_dir(sizes, Path(root))
            engine = None
            if "decode" not in args.skip:
                decode_rows, engine = bench_engine(sizes, path)
                rows += decode_rows
            if "profile" not in args.skip:
                if engine is None:
                    from core_engine import EngineConfig, LLMEngine
                    engine = LLMEngine(EngineConfig(model=path, device=sizes.device, max_num_seqs=sizes.profile_batch,
                                                    max_model_len=sizes.prompt_len + sizes.new_tokens + 16))
                rows += largest_decode_term(sizes, engine)
    gpu = torch.cuda.get_device_name() if sizes.device == "cuda" else "CPU (dry run: figures mean nothing)"
    header = (f"GPU figures on {gpu}; torch {torch.__version__}; device-to-device copy "
              f"{copy_bw / 1e9:,.1f} GB/s (read + write)")
    if args.json:
        args.json.write_text(json.dumps({"device": gpu, "copy_bandwidth_bytes_per_s": copy_bw,
                                         "rows": [asdict(r) for r in rows]}, indent=2))
    print_table(rows, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
