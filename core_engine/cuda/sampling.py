"""Sampling by inverse CDF: one uniform number per row picks a token from its probabilities.

Only finite positive entries carry mass: NaN, +-inf, zero and negative entries are never chosen.
With ``total`` the row's mass and ``cdf`` its running sum, token ``i`` is chosen when
``cdf[i-1] <= u * total < cdf[i]`` (a token with no mass has an empty interval, so a token masked by
a grammar or cut by top-k/top-p is never chosen), and rounding that puts the target past the last
interval picks the last token with mass. A row without mass (all NaN, or nothing allowed) gives -1:
the caller decides what that means. Each row consumes exactly one number, so a request with its own
seeded generator gets the same tokens whatever else is in the batch.

The CUDA kernel runs one block of 256 threads per row in two coalesced passes: a strided sum (each
warp reads 32 consecutive floats), then 256-wide tiles, each loaded by the whole block and scanned
in shared memory, until the tile holding the target. Its sums are ordered differently from
``torch.cumsum``, so a target within rounding distance of an interval's edge may pick the
neighbouring token; elsewhere both paths pick the same token.
"""

from __future__ import annotations

import torch

from ._cupy import launch_or_fallback, raw_kernel

_THREADS = 256

_KERNEL_SOURCE = r"""
__device__ __forceinline__ float mass(float x) { return (x > 0.0f && x <= 3.402823466e38f) ? x : 0.0f; }

extern "C" __global__ void sample_inverse_cdf(const float* probs, const float* uniforms, long long* out, int vocab,
                                               long long stride) {
    __shared__ float scan[256];
    __shared__ int last[256];
    __shared__ float carry;
    __shared__ int found;
    const int tid = threadIdx.x;
    const float* p = probs + (long long)blockIdx.x * stride;
    float own = 0.0f;
    int own_last = -1;
    for (int i = tid; i < vocab; i += 256) {
        const float x = mass(p[i]);
        if (x > 0.0f) { own += x; own_last = i; }
    }
    scan[tid] = own;
    last[tid] = own_last;
    __syncthreads();
    for (int s = 128; s > 0; s >>= 1) {
        if (tid < s) { scan[tid] += scan[tid + s]; last[tid] = max(last[tid], last[tid + s]); }
        __syncthreads();
    }
    const float total = scan[0];
    const int last_with_mass = last[0];
    if (tid == 0) { carry = 0.0f; found = -1; }
    __syncthreads();
    if (last_with_mass < 0) {
        if (tid == 0) out[blockIdx.x] = -1;
        return;
    }
    const float target = uniforms[blockIdx.x] * total;
    for (int base = 0; base <= last_with_mass; base += 256) {
        const int i = base + tid;
        const float x = i < vocab ? mass(p[i]) : 0.0f;
        scan[tid] = x;
        __syncthreads();
        for (int offset = 1; offset < 256; offset <<= 1) {
            const float add = tid >= offset ? scan[tid - offset] : 0.0f;
            __syncthreads();
            scan[tid] += add;
            __syncthreads();
        }
        const float before = carry + (tid > 0 ? scan[tid - 1] : 0.0f);
        const float after = carry + scan[tid];
        if (x > 0.0f && before <= target && target < after) atomicMax(&found, i);
        __syncthreads();
        if (found >= 0) break;
        if (tid == 255) carry = after;
        __syncthreads();
    }
    if (tid == 0) out[blockIdx.x] = found >= 0 ? found : last_with_mass;
}
"""


def sample_from_probs(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Token ids ``[rows]`` drawn from ``probs [rows, vocab]`` (unnormalised is fine) with ``uniforms [rows]`` in [0, 1).

    A row without finite positive entries gives -1.
    """
    if probs.dim() != 2 or uniforms.shape != probs.shape[:1]:
        raise ValueError(f"expected probs [rows, vocab] and uniforms [rows], got {tuple(probs.shape)} and "
                         f"{tuple(uniforms.shape)}")
    if probs.dtype != torch.float32 or probs.stride(1) != 1 or probs.shape[0] == 0:
        return sample_from_probs_torch(probs, uniforms)
    return launch_or_fallback("sample_inverse_cdf", probs, lambda cupy: _sample_cupy(cupy, probs, uniforms),
                              lambda: sample_from_probs_torch(probs, uniforms))


def sample_from_probs_torch(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """The torch implementation (any device)."""
    weights = torch.where(torch.isfinite(probs) & (probs > 0), probs, torch.zeros((), dtype=probs.dtype,
                                                                                   device=probs.device))
    cdf = weights.cumsum(dim=-1)
    target = uniforms.to(cdf.dtype)[:, None] * cdf[:, -1:]
    picks = torch.searchsorted(cdf, target, right=True).squeeze(1).clamp_max(probs.shape[1] - 1)
    positions = torch.arange(probs.shape[1], device=probs.device)
    last_with_mass = torch.where(weights > 0, positions, -1).amax(dim=-1)
    # Rounding can put the target at the very end of the CDF: fall back to the last token with mass.
    no_mass_pick = weights.gather(1, picks[:, None]).squeeze(1) <= 0
    return torch.where(no_mass_pick, last_with_mass, picks)


def _sample_cupy(cupy: object, probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    rows, vocab = probs.shape
    u = uniforms.to(probs.device, torch.float32).contiguous()
    out = torch.empty(rows, dtype=torch.long, device=probs.device)
    kernel = raw_kernel(_KERNEL_SOURCE, "sample_inverse_cdf")
    ptr = cupy.uint64  # type: ignore[attr-defined]
    kernel((rows,), (_THREADS,), (ptr(probs.data_ptr()), ptr(u.data_ptr()), ptr(out.data_ptr()),
                                  cupy.int32(vocab), cupy.int64(probs.stride(0))))  # type: ignore[attr-defined]
    return out
