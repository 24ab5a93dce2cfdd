"""The paged KV pool: fixed-size blocks of key/value slots shared by all requests."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

logger = logging.getLogger("core_engine")


@dataclass(slots=True)
class KVLayout:
    num_layers: int
    num_kv_heads: int
    head_dim: int
    dtype: torch.dtype

    @property
    def bytes_per_token(self) -> int:
        """Bytes of K and V one token occupies across all layers."""
        return 2 * self.num_layers * self.num_kv_heads * self.head_dim * torch.empty((), dtype=self.dtype).element_size()

    @property
    def element_size(self) -> int:
        return torch.empty((), dtype=self.dtype).element_size()

    @classmethod
    def from_config(cls, config: object, dtype: torch.dtype) -> KVLayout:
        text_config = getattr(config, "get_text_config", lambda: config)()
        heads = text_config.num_attention_heads
        head_dim = getattr(text_config, "head_dim", None) or text_config.hidden_size // heads
        kv_heads = getattr(text_config, "num_key_value_heads", None) or heads
        return cls(text_config.num_hidden_layers, kv_heads, head_dim, dtype)


class BlockAllocator:
    """Hands out block ids; a block holds ``block_size`` consecutive token positions of one request."""

    def __init__(self, num_blocks: int, block_size: int) -> None:
        self.num_blocks = num_blocks
        self.block_size = block_size
        self._free: list[int] = list(range(num_blocks - 1, -1, -1))

    @property
    def num_free(self) -> int:
        return len(self._free)

    def blocks_needed(self, num_tokens: int, num_held: int) -> int:
        """How many more blocks a request holding ``num_held`` blocks needs to store ``num_tokens``."""
        return max(0, -(-num_tokens // self.block_size) - num_held)

    def allocate(self, count: int) -> list[int]:
        if count > len(self._free):
            raise RuntimeError(f"KV pool exhausted: {count} blocks requested, {len(self._free)} free")
        taken = self._free[-count:] if count else []
        del self._free[len(self._free) - count:]
        return taken

    def free(self, blocks: list[int]) -> None:
        self._free.extend(reversed(blocks))


class KVPool:
    """Per-layer K and V tensors of shape ``[num_blocks * block_size, kv_heads, head_dim]``."""

    def __init__(self, layout: KVLayout, num_blocks: int, block_size: int, device: torch.device) -> None:
        self.layout = layout
        self.block_size = block_size
        self.num_blocks = num_blocks
        shape = (num_blocks * block_size, layout.num_kv_heads, layout.head_dim)
        self.keys = [torch.zeros(shape, dtype=layout.dtype, device=device) for _ in range(layout.num_layers)]
        self.values = [torch.zeros(shape, dtype=layout.dtype, device=device) for _ in range(layout.num_layers)]
        self._gather_k = torch.empty((0, block_size * layout.num_kv_heads * layout.head_dim), dtype=layout.dtype,
                                     device=device)
        self._gather_v = torch.empty_like(self._gather_k)
        logger.info("KV pool: %d blocks x %d tokens = %d tokens, %.1f MiB (%d bytes per token)",
                    num_blocks, block_size, num_blocks * block_size,
                    num_blocks * block_size * layout.bytes_per_token / 2**20, layout.bytes_per_token)


    def gather_buffers(self, num_blocks: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Reusable ``[num_blocks, block_size * kv_heads * head_dim]`` buffers for gathered K and V rows.

        One layer's gathered blocks are consumed before the next gather, so every layer and attention
        group shares the same two buffers; they grow to the largest group seen and stay, never past
        the pool's own block count (the model runner splits groups to stay within it), which is what
        ``attention_scratch_bytes`` counts.
        """
        if num_blocks > self.num_blocks:
            raise ValueError(f"an attention group gathers {num_blocks} blocks, more than the pool's {self.num_blocks}")
        if self._gather_k.shape[0] < num_blocks:
            size = min(max(num_blocks, 2 * self._gather_k.shape[0]), self.num_blocks)
            self._gather_k = self._gather_k.new_empty((size, self._gather_k.shape[1]))
            self._gather_v = self._gather_v.new_empty((size, self._gather_v.shape[1]))
        return self._gather_k[:num_blocks], self._gather_v[:num_blocks]


def attention_scratch_bytes(layout: KVLayout, block_size: int, num_blocks: int, max_num_seqs: int,
                            max_num_batched_tokens: int, max_model_len: int, query_groups: int,
                            num_windows: int = 0) -> int:
    """Peak bytes of the attention's working memory next to a pool of ``num_blocks`` blocks.

    * gathered K and V of one attention group: at most the pool's blocks of one layer (groups are
      split to stay within it), ``2 x num_blocks x block_size x kv_heads x head_dim`` elements;
    * the additive masks of one step, one per distinct sliding window plus the full one: decode
      masks have one row per request (at most ``max_num_seqs``), prefill masks ``query_groups`` rows
      per padded query token (padding at most doubles the step's ``max_num_batched_tokens``), and
      both at most ``max_model_len`` rounded up to whole blocks as columns.

    The attention scores are not materialised: ``scaled_dot_product_attention``'s fused kernels
    (flash attention on CPU, memory-efficient attention on CUDA) tile them.
    """
    size = layout.element_size
    gathered = 2 * num_blocks * block_size * layout.num_kv_heads * layout.head_dim * size
    context = -(-max_model_len // block_size) * block_size
    decode_mask = max_num_seqs * context * size
    prefill_mask = 2 * max_num_batched_tokens * query_groups * context * size
    return gathered + (1 + num_windows) * (decode_mask + prefill_mask)


def auto_num_blocks(layout: KVLayout, block_size: int, max_num_seqs: int, max_model_len: int,
                    device: torch.device, memory_bytes: int | None, *, max_num_batched_tokens: int = 2048,
                    query_groups: int = 1, num_windows: int = 0) -> int:
    """Enough blocks for every sequence at full length, capped by a memory budget.

    The budget covers the pool and the attention's scratch memory (``attention_scratch_bytes``).
    """
    wanted = max_num_seqs * -(-max_model_len // block_size)
    if memory_bytes is None:
        if device.type == "cuda":
            free, _total = torch.cuda.mem_get_info(device)
            memory_bytes = int(free * 0.8)
        else:
            memory_bytes = 1 << 30

    def scratch(blocks: int) -> int:
        return attention_scratch_bytes(layout, block_size, blocks, max_num_seqs, max_num_batched_tokens,
                                       max_model_len, query_groups, num_windows)

    fixed = scratch(0)
    per_block = layout.bytes_per_token * block_size + scratch(1) - fixed
    affordable = max(0, memory_bytes - fixed) // per_block
    blocks = min(wanted, affordable)
    needed_for_one = -(-max_model_len // block_size)
    if blocks < needed_for_one:
        raise ValueError(f"the KV memory budget ({memory_bytes} bytes) holds {blocks} blocks after "
                         f"{fixed} bytes of attention masks, fewer than the {needed_for_one} one full-length "
                         "sequence needs; raise kv_cache_memory_bytes, or lower max_model_len or "
                         "max_num_batched_tokens")
    logger.info("KV budget: %d bytes = %d blocks x %d bytes (KV %d + attention scratch %d) + %d bytes of masks",
                memory_bytes, blocks, per_block, layout.bytes_per_token * block_size,
                per_block - layout.bytes_per_token * block_size, fixed)
    return int(blocks)
