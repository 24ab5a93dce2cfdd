"""Paged attention over a packed ``[1, T]`` batch, registered with transformers.

The engine concatenates every scheduled request's new tokens into one row and passes their true
positions. transformers computes Q/K/V and rotary embeddings as usual and then calls the function
registered here, which writes the new K/V into the paged pool and attends each request over its own
blocks. Requests are grouped into decode rows (one new token) and prefill rows (several); each group
runs as one padded ``scaled_dot_product_attention`` call. The mask function registered alongside
returns None: the per-request masks are built once per step in ``PagedBatch``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .kv_cache import KVPool

ATTN_IMPLEMENTATION = "core_engine_paged"

_registered = False


@dataclass(slots=True)
class AttentionGroup:
    """Requests attended together, whose new tokens form one contiguous slice of the packed row.

    Query tokens are padded to ``[B, q_max]``; a decode group (one token per request) needs no padding.
    """

    first_token: int
    num_tokens: int
    token_index: torch.Tensor | None   # [B, q_max] packed positions (padding repeats a valid one); None for decode
    rows: int
    block_ids: torch.Tensor     # [B * max_blocks] block table, row-major (padding points at block 0, masked out)
    mask: torch.Tensor          # [B, 1, q_max, max_blocks * block_size] True where a key is visible
    valid: torch.Tensor | None  # flat indices of the unpadded query rows; None when nothing is padded


@dataclass(slots=True)
class PagedBatch:
    """What one forward pass needs beyond input ids and positions; shared by every layer."""

    pool: KVPool
    slot_mapping: torch.Tensor   # [T] pool slot each new token's K/V is written to
    groups: list[AttentionGroup]


def build_group(first_token: int, q_lens: list[int], ctx_starts: list[int], block_tables: list[list[int]],
                block_size: int, device: torch.device) -> AttentionGroup:
    """Metadata for requests whose new tokens follow each other from ``first_token`` in the packed row.

    ``ctx_starts[i]`` is the position of request i's first new token (the number already in the pool).
    """
    q_max = max(q_lens)
    max_blocks = max(len(t) for t in block_tables)
    table = torch.tensor([t + [0] * (max_blocks - len(t)) for t in block_tables], dtype=torch.long)
    key_pos = torch.arange(max_blocks * block_size)
    ctx = torch.tensor(ctx_starts, dtype=torch.long)
    num_tokens = sum(q_lens)
    if q_max == 1:
        mask = (key_pos[None, :] <= ctx[:, None])[:, None, None, :]
        return AttentionGroup(first_token, num_tokens, None, len(q_lens), table.flatten().to(device),
                              mask.to(device), None)
    offs = torch.arange(q_max)
    lens = torch.tensor(q_lens, dtype=torch.long)
    starts = first_token + torch.cumsum(lens, 0) - lens
    valid_rows = offs[None, :] < lens[:, None]
    token_index = torch.where(valid_rows, starts[:, None] + offs[None, :], starts[:, None])
    # Padded query rows see key 0 only, so no row is fully masked (which would produce NaN).
    query_pos = torch.where(valid_rows, ctx[:, None] + offs[None, :], 0)
    mask = (key_pos[None, None, :] <= query_pos[:, :, None]).unsqueeze(1)
    valid = None if bool(valid_rows.all()) else valid_rows.flatten().nonzero().squeeze(1).to(device)
    return AttentionGroup(first_token, num_tokens, token_index.to(device), len(q_lens), table.flatten().to(device),
                          mask.to(device), valid)


def paged_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                    attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                    paged_batch: PagedBatch | None = None, **_: Any) -> tuple[torch.Tensor, None]:
    """Attention function with the signature transformers expects; returns ``[1, T, H, D]``."""
    if paged_batch is None:
        raise RuntimeError("the core_engine paged attention was called without a PagedBatch; "
                           "models switched to it must be run through core_engine's model runner")
    pool = paged_batch.pool
    k_cache, v_cache = pool.keys[module.layer_idx], pool.values[module.layer_idx]
    k_cache.index_copy_(0, paged_batch.slot_mapping, key[0].transpose(0, 1).to(k_cache.dtype))
    v_cache.index_copy_(0, paged_batch.slot_mapping, value[0].transpose(0, 1).to(v_cache.dtype))
    num_heads, head_dim = query.shape[1], query.shape[3]
    kv_heads = k_cache.shape[1]
    # Rows of whole blocks: index_select on them is several times faster than advanced indexing.
    k_blocks = k_cache.view(pool.num_blocks, -1)
    v_blocks = v_cache.view(pool.num_blocks, -1)
    q_tokens = query[0].transpose(0, 1)   # [T, H, D]
    outputs = []
    for group in paged_batch.groups:
        rows = group.rows
        if group.token_index is None:
            q = q_tokens[group.first_token:group.first_token + rows].unsqueeze(2)   # [B, H, 1, D]
        else:
            q = q_tokens[group.token_index].transpose(1, 2)   # [B, H, q_max, D]
        k = k_blocks.index_select(0, group.block_ids).view(rows, -1, kv_heads, head_dim).transpose(1, 2)
        v = v_blocks.index_select(0, group.block_ids).view(rows, -1, kv_heads, head_dim).transpose(1, 2)
        o = F.scaled_dot_product_attention(q, k.to(q.dtype), v.to(q.dtype), attn_mask=group.mask, scale=scaling,
                                           enable_gqa=kv_heads != num_heads)
        o = o.transpose(1, 2).reshape(-1, num_heads, head_dim)
        outputs.append(o if group.valid is None else o.index_select(0, group.valid))
    out = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
    return out.unsqueeze(0), None


def _no_mask(*_args: Any, **_kwargs: Any) -> None:
    return None


def register_paged_attention() -> str:
    """Register the attention and (empty) mask functions with transformers; returns their name."""
    global _registered
    if not _registered:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface

        AttentionInterface.register(ATTN_IMPLEMENTATION, paged_attention)
        AttentionMaskInterface.register(ATTN_IMPLEMENTATION, _no_mask)
        _registered = True
    return ATTN_IMPLEMENTATION
