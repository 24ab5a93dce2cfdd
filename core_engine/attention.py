"""Paged attention over a packed ``[1, T]`` batch, registered with transformers.

The engine concatenates every scheduled request's new tokens into one row and passes their true
positions. transformers computes Q/K/V and rotary embeddings as usual and then calls the function
registered here, which writes the new K/V into the paged pool and attends each request over its own
blocks. Requests are grouped into decode rows (one new token) and prefill rows (several); each group
runs as one padded ``scaled_dot_product_attention`` call. The mask function registered alongside
returns None: the per-request masks are built once per step in ``PagedBatch``, one per distinct
sliding window the model's layers use (a layer with window ``W`` sees the keys at positions
``p - W < k <= p``, transformers' definition). The loader runs one probe forward pass with an
``AttentionProbe`` in place of the batch to learn each layer's window and to refuse what this
function cannot compute.
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
    rows: int
    q_max: int
    token_index: torch.Tensor | None   # [B, q_max] packed positions (padding repeats a valid one); None for decode
    block_ids: torch.Tensor     # [B * max_blocks] block table, row-major (padding points at block 0, masked out)
    mask: torch.Tensor          # [B, 1, G * q_max, max_blocks * block_size] additive: 0 visible, -inf hidden
    valid: torch.Tensor | None  # flat indices of the unpadded query rows; None when nothing is padded
    window_masks: dict[int, torch.Tensor]   # sliding window -> the same mask limited to that window


# Keyword arguments with which a model asks the attention for something it does not compute: each
# maps to the config field (or model part) that causes it.
UNSUPPORTED_ATTENTION_KWARGS = {
    "softcap": "attn_logit_softcapping (tanh soft-capping of attention scores, Gemma 2)",
    "s_aux": "attention sinks (a learned per-head sink logit, gpt-oss)",
    "sinks": "attention sinks (a learned per-head sink logit)",
}


@dataclass(slots=True)
class AttentionCall:
    """What one layer passed to the attention function during the load-time probe."""

    layer_idx: int | None
    query_shape: tuple[int, ...]
    key_shape: tuple[int, ...]
    value_shape: tuple[int, ...]
    sliding_window: int | None
    unsupported: dict[str, str]   # keyword -> what it asks for
    is_causal: bool | None


@dataclass(slots=True)
class AttentionProbe:
    """Passed instead of a PagedBatch: the attention records each call and returns zeros."""

    calls: list[AttentionCall]


@dataclass(slots=True)
class PagedBatch:
    """What one forward pass needs beyond input ids and positions; shared by every layer."""

    pool: KVPool
    slot_mapping: torch.Tensor   # [T] pool slot each new token's K/V is written to
    groups: list[AttentionGroup]


def build_group(first_token: int, q_lens: list[int], ctx_starts: list[int], block_tables: list[list[int]],
                block_size: int, query_groups: int, dtype: torch.dtype, device: torch.device,
                windows: tuple[int, ...] = ()) -> AttentionGroup:
    """Metadata for requests whose new tokens follow each other from ``first_token`` in the packed row.

    ``ctx_starts[i]`` is the position of request i's first new token (the number already in the pool);
    ``query_groups`` is how many query heads share one KV head. The mask has one row per query head of
    a KV group and query position (heads outermost), matching how queries are laid out for attention.
    """
    rows = len(q_lens)
    q_max = max(q_lens)
    max_blocks = max(len(t) for t in block_tables)
    table = torch.tensor([t + [0] * (max_blocks - len(t)) for t in block_tables], dtype=torch.long)
    key_pos = torch.arange(max_blocks * block_size)
    ctx = torch.tensor(ctx_starts, dtype=torch.long)
    num_tokens = sum(q_lens)
    hidden = torch.zeros((), dtype=dtype).fill_(float("-inf"))
    zero = torch.zeros((), dtype=dtype)
    if q_max == 1:
        def decode_mask(window: int | None) -> torch.Tensor:
            visible = key_pos[None, :] <= ctx[:, None]
            if window is not None:
                visible &= key_pos[None, :] > ctx[:, None] - window
            return torch.where(visible, zero, hidden)[:, None, None, :].to(device)

        return AttentionGroup(first_token, num_tokens, rows, 1, None, table.flatten().to(device), decode_mask(None),
                              None, {w: decode_mask(w) for w in windows})
    offs = torch.arange(q_max)
    lens = torch.tensor(q_lens, dtype=torch.long)
    starts = first_token + torch.cumsum(lens, 0) - lens
    valid_rows = offs[None, :] < lens[:, None]
    token_index = torch.where(valid_rows, starts[:, None] + offs[None, :], starts[:, None])
    # Padded query rows see key 0 only, so no row is fully masked (which would produce NaN).
    query_pos = torch.where(valid_rows, ctx[:, None] + offs[None, :], 0)

    def prefill_mask(window: int | None) -> torch.Tensor:
        visible = key_pos[None, None, :] <= query_pos[:, :, None]   # [B, q_max, L]
        if window is not None:
            visible &= key_pos[None, None, :] > query_pos[:, :, None] - window
        mask = torch.where(visible, zero, hidden)
        mask = mask[:, None].expand(rows, query_groups, q_max, mask.shape[-1]).reshape(rows, 1, query_groups * q_max, -1)
        return mask.to(device)

    valid = None if bool(valid_rows.all()) else valid_rows.flatten().nonzero().squeeze(1).to(device)
    return AttentionGroup(first_token, num_tokens, rows, q_max, token_index.to(device), table.flatten().to(device),
                          prefill_mask(None), valid, {w: prefill_mask(w) for w in windows})


def paged_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                    attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                    paged_batch: PagedBatch | AttentionProbe | None = None, sliding_window: int | None = None,
                    **kwargs: Any) -> tuple[torch.Tensor, None]:
    """Attention function with the signature transformers expects; returns ``[1, T, H, D]``.

    Grouped-query attention is computed without repeating K/V: the query heads that share a KV head
    are laid out as extra query rows of that head. ``sliding_window`` (passed per layer by
    transformers' Mistral, Qwen2, Gemma 3 ... attention modules) limits each query to the last
    ``sliding_window`` positions up to its own.
    """
    if isinstance(paged_batch, AttentionProbe):
        unsupported = {name: what for name, what in UNSUPPORTED_ATTENTION_KWARGS.items() if kwargs.get(name) is not None}
        paged_batch.calls.append(AttentionCall(getattr(module, "layer_idx", None), tuple(query.shape), tuple(key.shape),
                                               tuple(value.shape), sliding_window, unsupported,
                                               kwargs.get("is_causal", getattr(module, "is_causal", None))))
        return query.new_zeros(query.shape[0], query.shape[2], query.shape[1], value.shape[-1]), None
    if paged_batch is None:
        raise RuntimeError("the core_engine paged attention was called without a PagedBatch; "
                           "models switched to it must be run through core_engine's model runner")
    for name, what in UNSUPPORTED_ATTENTION_KWARGS.items():
        if kwargs.get(name) is not None:
            raise RuntimeError(f"the model asked the attention for {what}, which core_engine does not compute")
    pool = paged_batch.pool
    k_cache, v_cache = pool.keys[module.layer_idx], pool.values[module.layer_idx]
    new_k = key[0].transpose(0, 1)
    new_v = value[0].transpose(0, 1)
    if new_k.dtype != k_cache.dtype:
        new_k, new_v = new_k.to(k_cache.dtype), new_v.to(v_cache.dtype)
    k_cache.index_copy_(0, paged_batch.slot_mapping, new_k)
    v_cache.index_copy_(0, paged_batch.slot_mapping, new_v)
    num_heads, head_dim = query.shape[1], query.shape[3]
    kv_heads = k_cache.shape[1]
    groups = num_heads // kv_heads
    # Rows of whole blocks: index_select on them is several times faster than advanced indexing, and
    # gathering into reused buffers avoids fresh allocations (page faults) in every layer.
    k_blocks = k_cache.view(pool.num_blocks, -1)
    v_blocks = v_cache.view(pool.num_blocks, -1)
    q_tokens = query[0].transpose(0, 1)   # [T, H, D]
    outputs = []
    for group in paged_batch.groups:
        rows, q_max = group.rows, group.q_max
        if group.token_index is None:
            q = q_tokens[group.first_token:group.first_token + rows].reshape(rows, kv_heads, groups, head_dim)
        else:
            q = q_tokens[group.token_index].permute(0, 2, 1, 3).reshape(rows, kv_heads, groups * q_max, head_dim)
        k_rows, v_rows = pool.gather_buffers(group.block_ids.numel())
        k = torch.index_select(k_blocks, 0, group.block_ids, out=k_rows).view(rows, -1, kv_heads, head_dim)
        v = torch.index_select(v_blocks, 0, group.block_ids, out=v_rows).view(rows, -1, kv_heads, head_dim)
        k, v = k.transpose(1, 2), v.transpose(1, 2)
        if k.dtype != q.dtype:
            k, v = k.to(q.dtype), v.to(q.dtype)
        mask = group.mask if sliding_window is None else group.window_masks[sliding_window]
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scaling)
        # [B, Hkv, G * q_max, D] -> [B * q_max, H, D]
        o = o.view(rows, num_heads, q_max, head_dim).transpose(1, 2).reshape(rows * q_max, num_heads, head_dim)
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
