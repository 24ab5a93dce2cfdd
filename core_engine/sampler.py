"""Vectorised sampling for one step: greedy, temperature, top-k, top-p, per-request seeds."""

from __future__ import annotations

import torch

from .cuda import sample_from_probs
from .request import Request


def _filter_top_k_top_p(scaled: torch.Tensor, top_k: list[int], top_p: list[float]) -> torch.Tensor:
    vocab = scaled.shape[1]
    sorted_logits, order = scaled.sort(dim=-1, descending=True)
    ranks = torch.arange(vocab, device=scaled.device)[None, :]
    if any(top_k):
        # k of 0 (off) or at least the vocabulary keeps every token (and a huge k fits the tensor)
        limits = torch.tensor([k if 0 < k < vocab else vocab for k in top_k], device=scaled.device)
        sorted_logits.masked_fill_(ranks >= limits[:, None], float("-inf"))
    if any(p < 1.0 for p in top_p):
        probs = sorted_logits.softmax(dim=-1)
        mass_before = probs.cumsum(dim=-1) - probs
        # Keep the smallest prefix whose mass reaches top_p. The most likely token always stays,
        # even when top_p rounds to 0 in the logits' dtype (5e-324 does in float32).
        limits_p = torch.tensor(top_p, device=scaled.device, dtype=probs.dtype)
        sorted_logits.masked_fill_((mass_before >= limits_p[:, None]) & (ranks > 0), float("-inf"))
    return torch.empty_like(scaled).scatter_(1, order, sorted_logits)


class NonFiniteLogitsError(RuntimeError):
    """The model produced logits no token can be drawn from (NaN, +inf, or every token masked)."""

    def __init__(self, request_ids: list[str]) -> None:
        self.request_ids = request_ids
        super().__init__(f"the model produced NaN or +inf logits, or every token was masked, for request(s) "
                         f"{', '.join(request_ids)}; no token can be sampled (with float16 try dtype='bfloat16' "
                         "or 'float32')")


def sample(logits: torch.Tensor, requests: list[Request], generator: torch.Generator) -> list[int]:
    """One token per row of ``logits``.

    Each sampled row consumes one uniform number: from the request's own generator when it has a
    seed (so its tokens do not depend on the batch), else from the engine's generator. A row with
    a NaN or +inf logit, or with every logit -inf, raises NonFiniteLogitsError naming its requests
    (on every device: the argmax of such a row, or a draw from it, would be an arbitrary token).
    """
    bad = (torch.isnan(logits) | torch.isposinf(logits)).any(dim=-1) | torch.isneginf(logits).all(dim=-1)
    if bool(bad.any()):
        raise NonFiniteLogitsError([requests[row].request_id for row in bad.nonzero().flatten().tolist()])
    params = [r.params for r in requests]
    temperatures = [p.temperature for p in params]
    greedy = logits.argmax(dim=-1)
    sampled_rows = [row for row, t in enumerate(temperatures) if t > 0]
    if not sampled_rows:
        return greedy.tolist()
    device = logits.device
    index = torch.tensor(sampled_rows, device=device)
    rows = logits.index_select(0, index) if len(sampled_rows) < len(requests) else logits
    scale = torch.tensor([temperatures[row] for row in sampled_rows], device=device, dtype=rows.dtype)
    scaled = rows / scale[:, None]
    # A temperature so small that the scaled logits overflow (or that is 0 in the logits' dtype) is
    # sampled as its limit, the greedy choice: such a row has no distribution to draw from.
    overflowed = (torch.isnan(scaled) | torch.isposinf(scaled)).any(dim=-1) | torch.isneginf(scaled).all(dim=-1)
    top_k = [params[row].top_k for row in sampled_rows]
    top_p = [params[row].top_p for row in sampled_rows]
    if any(top_k) or any(p < 1.0 for p in top_p):
        scaled = _filter_top_k_top_p(scaled, top_k, top_p)
    probs = scaled.softmax(dim=-1)
    uniforms = torch.rand(len(sampled_rows), generator=generator, device=device)
    for slot, row in enumerate(sampled_rows):
        own = requests[row].generator
        if own is not None:
            uniforms[slot] = torch.rand(1, generator=own, device=device)[0]
    picks = sample_from_probs(probs, uniforms)
    if bool(overflowed.any()):
        picks = torch.where(overflowed, greedy.index_select(0, index), picks)
    return greedy.index_copy_(0, index, picks).tolist()
