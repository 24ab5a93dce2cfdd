"""Sampling by inverse CDF: one uniform number per row picks a token from its probabilities.

Token ``i`` is chosen when ``cumsum(p)[i-1] <= u * sum(p) < cumsum(p)[i]``, so a token with zero
probability (masked by a grammar, cut by top-k/top-p) is never chosen, and a request with its own
seeded generator consumes exactly one number per sampled token whatever else is in the batch. The
CUDA kernel runs one block per row: each thread sums a chunk, a block scan finds the chunk holding
the target, and that thread walks its chunk.
"""

from __future__ import annotations

import torch

from ._cupy import cupy_for, current_stream, raw_kernel

_THREADS = 256

_KERNEL_SOURCE = r"""
extern "C" __global__ void sample_inverse_cdf(const float* probs, const float* uniforms, long long* out, int vocab) {
    __shared__ float sums[256];
    __shared__ int found;
    const int tid = threadIdx.x;
    const float* p = probs + (long long)blockIdx.x * vocab;
    const int chunk = (vocab + blockDim.x - 1) / blockDim.x;
    const int start = min(tid * chunk, vocab);
    const int end = min(start + chunk, vocab);
    float own = 0.0f;
    int last_nonzero = -1;
    for (int i = start; i < end; ++i) {
        if (p[i] > 0.0f) { own += p[i]; last_nonzero = i; }
    }
    sums[tid] = own;
    if (tid == 0) found = -1;
    __syncthreads();
    for (int offset = 1; offset < blockDim.x; offset <<= 1) {
        float add = tid >= offset ? sums[tid - offset] : 0.0f;
        __syncthreads();
        sums[tid] += add;
        __syncthreads();
    }
    const float total = sums[blockDim.x - 1];
    const float target = uniforms[blockIdx.x] * total;
    const float before = tid > 0 ? sums[tid - 1] : 0.0f;
    const bool last_chunk_with_mass = last_nonzero >= 0 && sums[tid] >= total;
    if (last_nonzero >= 0 && ((before <= target && target < sums[tid]) || (target >= total && last_chunk_with_mass
                                                                           && before < total))) {
        float acc = before;
        int pick = last_nonzero;
        for (int i = start; i < end; ++i) {
            if (p[i] > 0.0f) {
                acc += p[i];
                if (acc > target) { pick = i; break; }
            }
        }
        atomicMax(&found, pick);
    }
    __syncthreads();
    if (tid == 0) out[blockIdx.x] = found < 0 ? 0 : found;
}
"""


def sample_from_probs(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Token ids ``[rows]`` drawn from ``probs [rows, vocab]`` (unnormalised is fine) with ``uniforms [rows]`` in [0, 1)."""
    if probs.dim() != 2 or uniforms.shape != probs.shape[:1]:
        raise ValueError(f"expected probs [rows, vocab] and uniforms [rows], got {tuple(probs.shape)} and "
                         f"{tuple(uniforms.shape)}")
    if cupy_for(probs) is not None and probs.dtype == torch.float32:
        return _sample_cupy(probs.contiguous(), uniforms.to(probs.device, torch.float32).contiguous())
    return sample_from_probs_torch(probs, uniforms)


def sample_from_probs_torch(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """The torch implementation (any device)."""
    cdf = probs.cumsum(dim=-1)
    target = uniforms.to(cdf.dtype)[:, None] * cdf[:, -1:]
    picks = torch.searchsorted(cdf, target, right=True).squeeze(1).clamp_max(probs.shape[1] - 1)
    # Rounding can put the target at the very end of the CDF: fall back to the last token with mass.
    zero = probs.gather(1, picks[:, None]).squeeze(1) <= 0
    if bool(zero.any()):
        positions = torch.arange(probs.shape[1], device=probs.device)
        last_nonzero = torch.where(probs > 0, positions, -1).amax(dim=-1).clamp_min(0)
        picks = torch.where(zero, last_nonzero, picks)
    return picks


def _sample_cupy(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    import cupy

    rows, vocab = probs.shape
    out = torch.empty(rows, dtype=torch.long, device=probs.device)
    kernel = raw_kernel(_KERNEL_SOURCE, "sample_inverse_cdf")
    with current_stream(probs):
        kernel((rows,), (_THREADS,), (cupy.from_dlpack(probs), cupy.from_dlpack(uniforms), cupy.from_dlpack(out),
                                      cupy.int32(vocab)))
    return out
