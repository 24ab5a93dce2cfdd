"""Train the bundled tiny reasoning model (core_engine/models/tiny-reasoner) on CPU in minutes.

    python tools/train_tiny_reasoner.py                      # 7000 steps (~10 min on 2 idle cores), writes the model dir
    python tools/train_tiny_reasoner.py --minutes 5          # a time budget instead (step count fixed after 30 steps)
    python tools/train_tiny_reasoner.py --init-only --out /tmp/m   # tokenizer, template, random weights

Steps: synthetic corpus -> byte-level BPE tokenizer -> tiny Qwen3 -> AdamW on the assistant part
of freshly drawn samples (loss masked elsewhere, forced reasoning ends loss-free).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _tiny_artifacts import model_config, train_tokenizer, write_text_files  # noqa: E402
from _tiny_data import encode, full_text  # noqa: E402
from _tiny_tasks import make_sample  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "core_engine" / "models" / "tiny-reasoner"


@dataclass(slots=True)
class TrainConfig:
    out: Path = DEFAULT_OUT
    seed: int = 1234
    minutes: float | None = None
    steps: int = 7000
    batch_size: int = 8
    lr: float = 3e-3
    warmup_steps: int = 40
    weight_decay: float = 0.01
    vocab_size: int = 1536
    tokenizer_corpus: int = 12000
    hidden: int = 128
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 32
    intermediate: int = 384
    threads: int = 2
    init_only: bool = False
    log_every: int = 100

    def __post_init__(self) -> None:
        if self.minutes is not None and self.minutes <= 0:
            raise ValueError(f"--minutes must be positive, got {self.minutes}")
        if self.steps < 1:
            raise ValueError(f"--steps must be at least 1, got {self.steps}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {self.threads}")
        if min(self.heads, self.kv_heads, self.head_dim, self.hidden, self.layers, self.intermediate) < 1:
            raise ValueError("model sizes (--hidden, --layers, --intermediate, heads) must be positive")
        if self.heads % self.kv_heads:
            raise ValueError(f"--heads ({self.heads}) must be a multiple of --kv-heads ({self.kv_heads})")
        if not 256 + 7 < self.vocab_size <= 65536:
            raise ValueError(f"--vocab-size must be in 264..65536, got {self.vocab_size}")


def build_tokenizer_and_config(cfg: TrainConfig):
    rng = random.Random(cfg.seed)
    texts = (full_text(make_sample(rng)) for _ in range(cfg.tokenizer_corpus))
    tok = train_tokenizer(texts, cfg.vocab_size)
    config = model_config(tok, hidden=cfg.hidden, layers=cfg.layers, heads=cfg.heads,
                          kv_heads=cfg.kv_heads, head_dim=cfg.head_dim,
                          intermediate=cfg.intermediate)
    write_text_files(cfg.out, tok, config)


def make_batches(tok, rng: random.Random, batch_size: int, pad_id: int, groups: int = 8):
    """Endless batches; samples of similar length are grouped to keep padding small."""
    while True:
        pool = [encode(make_sample(rng), tok, rng) for _ in range(batch_size * groups)]
        pool.sort(key=lambda e: len(e.input_ids))
        chunks = [pool[i:i + batch_size] for i in range(0, len(pool), batch_size)]
        rng.shuffle(chunks)
        for chunk in chunks:
            width = max(len(e.input_ids) for e in chunk)
            ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            labels = torch.full((len(chunk), width), -100, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, e in enumerate(chunk):
                n = len(e.input_ids)
                ids[row, :n] = torch.tensor(e.input_ids)
                labels[row, :n] = torch.tensor(e.labels)
                mask[row, :n] = 1
            yield ids, labels, mask


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Warm-up, a constant plateau, then a linear decay to 5% over the last 30% of the steps."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    decay_start = int(total * 0.7)
    if step < decay_start:
        return cfg.lr
    progress = min(1.0, (step - decay_start) / max(1, total - decay_start))
    return cfg.lr * (1.0 - 0.95 * progress)


def assistant_loss(model, ids: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean next-token loss over labelled positions; logits only where a label exists (cheaper)."""
    hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != -100
    logits = model.lm_head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits, targets[keep])


def train(cfg: TrainConfig) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen3Config

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    started = time.monotonic()
    build_tokenizer_and_config(cfg)
    tok = AutoTokenizer.from_pretrained(cfg.out)
    config = Qwen3Config.from_pretrained(cfg.out)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"tokenizer: {len(tok)} tokens; model: {n_params / 1e6:.2f}M parameters "
          f"({time.monotonic() - started:.1f}s)", flush=True)
    if cfg.init_only:
        model.save_pretrained(cfg.out)
        print(f"wrote untrained model to {cfg.out}")
        return

    rng = random.Random(cfg.seed + 1)
    batches = make_batches(tok, rng, cfg.batch_size, tok.pad_token_id)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optim = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=(0.9, 0.98),
    )
    model.train()
    # with a time budget the step count is fixed after 30 steps, so the schedule ends on time
    total = cfg.steps if cfg.minutes is None else 10**9
    train_start = time.monotonic()
    step, smooth = 0, None
    while step < total:
        ids, labels, mask = next(batches)
        for group in optim.param_groups:
            group["lr"] = lr_at(step, total, cfg)
        loss = assistant_loss(model, ids, labels, mask)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        step += 1
        smooth = loss.item() if smooth is None else 0.95 * smooth + 0.05 * loss.item()
        elapsed = time.monotonic() - train_start
        if cfg.minutes is not None and step == 30:
            total = max(step + 1, int(cfg.minutes * 60 / (elapsed / step)))
            print(f"time budget {cfg.minutes:g} min -> {total} steps", flush=True)
        if step % cfg.log_every == 0 or step == total:
            eta = elapsed / step * (total - step) if total < 10**9 else float("nan")
            print(f"step {step:5d}/{total if total < 10**9 else '?'}  loss {loss.item():.4f}  "
                  f"smooth {smooth:.4f}  lr {optim.param_groups[0]['lr']:.2e}  "
                  f"elapsed {elapsed:6.1f}s  eta {eta:6.1f}s", flush=True)
    model.eval()
    model.config.use_cache = True
    model.save_pretrained(cfg.out)
    print(f"trained {step} steps in {time.monotonic() - train_start:.1f}s "
          f"(total {time.monotonic() - started:.1f}s); wrote {cfg.out}", flush=True)


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="model directory to write")
    p.add_argument("--steps", type=int, default=7000, help="number of optimiser steps")
    p.add_argument("--minutes", type=float, default=None, help="train for a time budget instead of --steps")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=384)
    p.add_argument("--vocab-size", type=int, default=1536)
    p.add_argument("--init-only", action="store_true", help="write tokenizer, template and random weights")
    a = p.parse_args(argv)
    return TrainConfig(out=a.out, seed=a.seed, minutes=a.minutes, steps=a.steps,
                       batch_size=a.batch_size, lr=a.lr, threads=a.threads, hidden=a.hidden,
                       layers=a.layers, intermediate=a.intermediate, vocab_size=a.vocab_size,
                       init_only=a.init_only)


def main(argv: list[str] | None = None) -> int:
    try:
        cfg = parse_args(argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    train(cfg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
