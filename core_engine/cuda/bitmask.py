"""Apply an xgrammar token bitmask to logits: disallowed tokens become -inf.

The bitmask is int32 ``[rows, ceil(V / 32)]``; bit ``j`` of word ``w`` (little-endian) allows token
``32 * w + j``. The CPU path expands each mask byte through a 256-entry table of eight booleans, which
is several times faster than testing bits one by one on mostly-masked rows.
"""

from __future__ import annotations

import torch

from ._cupy import cupy_for, current_stream, raw_kernel

_BLOCKED_BY_BYTE = ((torch.arange(256)[:, None] >> torch.arange(8)[None, :]) & 1) == 0   # [256, 8] True = blocked
_blocked_tables: dict[torch.device, torch.Tensor] = {}

_KERNEL_SOURCE = r"""
extern "C" __global__ void apply_bitmask_f32(float* logits, const int* mask, long long rows, int vocab, int words) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows * vocab) return;
    long long row = i / vocab;
    int col = (int)(i - row * vocab);
    int word = mask[row * words + (col >> 5)];
    if (((word >> (col & 31)) & 1) == 0) logits[i] = __int_as_float(0xff800000);
}
extern "C" __global__ void apply_bitmask_16(unsigned short* logits, const int* mask, long long rows, int vocab,
                                             int words, unsigned short neg_inf_bits) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows * vocab) return;
    long long row = i / vocab;
    int col = (int)(i - row * vocab);
    int word = mask[row * words + (col >> 5)];
    if (((word >> (col & 31)) & 1) == 0) logits[i] = neg_inf_bits;
}
"""

_NEG_INF_BITS = {torch.float16: 0xFC00, torch.bfloat16: 0xFF80}


def apply_token_bitmask_(logits: torch.Tensor, bitmask: torch.Tensor) -> None:
    """Set ``logits[r, t]`` to -inf wherever ``bitmask[r]`` does not allow token ``t`` (in place)."""
    if logits.dim() != 2 or bitmask.dim() != 2 or logits.shape[0] != bitmask.shape[0]:
        raise ValueError(f"expected logits [rows, vocab] and bitmask [rows, words] with equal rows, got "
                         f"{tuple(logits.shape)} and {tuple(bitmask.shape)}")
    if bitmask.shape[1] * 32 < logits.shape[1]:
        raise ValueError(f"bitmask covers {bitmask.shape[1] * 32} tokens, logits have {logits.shape[1]}")
    if cupy_for(logits) is not None and logits.is_contiguous() and logits.dtype in (torch.float32, torch.float16,
                                                                                     torch.bfloat16):
        _apply_cupy(logits, bitmask.to(logits.device, non_blocking=True).contiguous())
    else:
        apply_token_bitmask_torch_(logits, bitmask)


def apply_token_bitmask_torch_(logits: torch.Tensor, bitmask: torch.Tensor) -> None:
    """The torch implementation (any device)."""
    rows, vocab = logits.shape
    table = _blocked_tables.get(logits.device)
    if table is None:
        table = _blocked_tables.setdefault(logits.device, _BLOCKED_BY_BYTE.to(logits.device))
    mask_bytes = bitmask.to(logits.device).contiguous().view(torch.uint8)
    blocked = table[mask_bytes.long()].view(rows, -1)[:, :vocab]
    logits.masked_fill_(blocked, float("-inf"))


def _apply_cupy(logits: torch.Tensor, bitmask: torch.Tensor) -> None:
    import cupy

    rows, vocab = logits.shape
    words = bitmask.shape[1]
    total = rows * vocab
    threads = 256
    blocks = (total + threads - 1) // threads
    mask = cupy.from_dlpack(bitmask)
    with current_stream(logits):
        if logits.dtype == torch.float32:
            kernel = raw_kernel(_KERNEL_SOURCE, "apply_bitmask_f32")
            kernel((blocks,), (threads,), (cupy.from_dlpack(logits), mask, cupy.int64(rows), cupy.int32(vocab),
                                           cupy.int32(words)))
        else:
            kernel = raw_kernel(_KERNEL_SOURCE, "apply_bitmask_16")
            raw = cupy.from_dlpack(logits.view(torch.int16)).view(cupy.uint16)
            kernel((blocks,), (threads,), (raw, mask, cupy.int64(rows), cupy.int32(vocab), cupy.int32(words),
                                           cupy.uint16(_NEG_INF_BITS[logits.dtype])))
