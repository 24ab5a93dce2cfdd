"""Apply an xgrammar token bitmask to logits in place: disallowed tokens become -inf.

The bitmask is int32 ``[n, ceil(V / 32)]``; bit ``j`` of word ``w`` (little-endian) allows token
``32 * w + j``. Mask row ``i`` applies to logits row ``indices[i]`` (row ``i`` without indices), and
only those rows are written: no row is copied out and back. The CUDA kernel runs one thread per
logit with a 2-D grid (vocabulary chunks x masked rows); consecutive threads touch consecutive
logits and the 32 threads of a warp share one mask word. The CPU path expands each mask byte
through a 256-entry table of eight booleans, several times faster than testing bits one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._cupy import launch_or_fallback, raw_kernel

_BLOCKED_BY_BYTE = ((torch.arange(256)[:, None] >> torch.arange(8)[None, :]) & 1) == 0   # [256, 8] True = blocked
_blocked_tables: dict[torch.device, torch.Tensor] = {}
_THREADS = 256

_KERNEL_SOURCE = r"""
template <typename T>
__device__ __forceinline__ void apply(T* logits, const int* mask, const long long* rows, int vocab, int words,
                                      long long stride, T neg_inf) {
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= vocab) return;
    const long long row = rows == nullptr ? blockIdx.y : rows[blockIdx.y];
    const int word = mask[(long long)blockIdx.y * words + (col >> 5)];
    if (((word >> (col & 31)) & 1) == 0) logits[row * stride + col] = neg_inf;
}
extern "C" __global__ void apply_bitmask_f32(float* logits, const int* mask, const long long* rows, int vocab,
                                              int words, long long stride) {
    apply<float>(logits, mask, rows, vocab, words, stride, __int_as_float(0xff800000));
}
extern "C" __global__ void apply_bitmask_16(unsigned short* logits, const int* mask, const long long* rows, int vocab,
                                             int words, long long stride, unsigned short neg_inf_bits) {
    apply<unsigned short>(logits, mask, rows, vocab, words, stride, neg_inf_bits);
}
"""

_NEG_INF_BITS = {torch.float16: 0xFC00, torch.bfloat16: 0xFF80}


def apply_token_bitmask_(logits: torch.Tensor, bitmask: torch.Tensor,
                         indices: Sequence[int] | torch.Tensor | None = None) -> None:
    """Set ``logits[indices[i], t]`` to -inf wherever ``bitmask[i]`` does not allow token ``t`` (in place)."""
    rows = bitmask.shape[0] if bitmask.dim() == 2 else -1
    expected_rows = logits.shape[0] if indices is None else len(indices)
    if logits.dim() != 2 or bitmask.dim() != 2 or rows != expected_rows:
        pairing = "with equal rows" if indices is None else f"with one bitmask row per index ({len(indices)} indices)"
        raise ValueError(f"expected logits [rows, vocab] and bitmask [n, words] {pairing}, got "
                         f"{tuple(logits.shape)} and {tuple(bitmask.shape)}")
    if bitmask.shape[1] * 32 < logits.shape[1]:
        raise ValueError(f"bitmask covers {bitmask.shape[1] * 32} tokens, logits have {logits.shape[1]}")
    if rows == 0:
        return
    if logits.dtype in (torch.float32, torch.float16, torch.bfloat16) and logits.stride(1) == 1:
        launch_or_fallback("apply_bitmask", logits, lambda cupy: _apply_cupy(cupy, logits, bitmask, indices),
                           lambda: apply_token_bitmask_torch_(logits, bitmask, indices))
    else:
        apply_token_bitmask_torch_(logits, bitmask, indices)


def apply_token_bitmask_torch_(logits: torch.Tensor, bitmask: torch.Tensor,
                               indices: Sequence[int] | torch.Tensor | None = None) -> None:
    """The torch implementation (any device)."""
    vocab = logits.shape[1]
    table = _blocked_tables.get(logits.device)
    if table is None:
        table = _blocked_tables.setdefault(logits.device, _BLOCKED_BY_BYTE.to(logits.device))
    mask_bytes = bitmask.to(logits.device).contiguous().view(torch.uint8)
    blocked = table[mask_bytes.long()].view(bitmask.shape[0], -1)[:, :vocab]
    if indices is None:
        logits.masked_fill_(blocked, float("-inf"))
        return
    for slot, row in enumerate(indices.tolist() if isinstance(indices, torch.Tensor) else indices):
        logits[row].masked_fill_(blocked[slot], float("-inf"))


def _apply_cupy(cupy: object, logits: torch.Tensor, bitmask: torch.Tensor,
                indices: Sequence[int] | torch.Tensor | None) -> None:
    device = logits.device
    mask = bitmask.to(device, non_blocking=True).contiguous()
    rows = None if indices is None else torch.as_tensor(indices, dtype=torch.long).to(device, non_blocking=True)
    vocab, words = logits.shape[1], mask.shape[1]
    grid = ((vocab + _THREADS - 1) // _THREADS, mask.shape[0])
    # Raw device pointers: the tensors stay on torch's stream-ordered allocator, so their memory is
    # not reused before the kernel has run. A null row pointer selects logits row i for mask row i.
    ptr = cupy.uint64  # type: ignore[attr-defined]
    rows_arg = ptr(0 if rows is None else rows.data_ptr())
    if logits.dtype == torch.float32:
        kernel = raw_kernel(_KERNEL_SOURCE, "apply_bitmask_f32")
        kernel(grid, (_THREADS,), (ptr(logits.data_ptr()), ptr(mask.data_ptr()), rows_arg, cupy.int32(vocab),  # type: ignore[attr-defined]
                                   cupy.int32(words), cupy.int64(logits.stride(0))))  # type: ignore[attr-defined]
    else:
        kernel = raw_kernel(_KERNEL_SOURCE, "apply_bitmask_16")
        kernel(grid, (_THREADS,), (ptr(logits.data_ptr()), ptr(mask.data_ptr()), rows_arg, cupy.int32(vocab),  # type: ignore[attr-defined]
                                   cupy.int32(words), cupy.int64(logits.stride(0)),  # type: ignore[attr-defined]
                                   cupy.uint16(_NEG_INF_BITS[logits.dtype])))  # type: ignore[attr-defined]
