"""Runs one forward pass over a packed batch and returns the logits of the rows to sample."""

from __future__ import annotations

import itertools

import torch

from .attention import PagedBatch, build_group
from .kv_cache import KVPool
from .scheduler import ScheduledBatch


class ModelRunner:
    def __init__(self, model: torch.nn.Module, pool: KVPool, device: torch.device, dtype: torch.dtype,
                 sliding_windows: tuple[int, ...] = ()) -> None:
        self.model = model
        self.sliding_windows = sliding_windows
        self.pool = pool
        self.device = device
        self.dtype = dtype
        self.block_size = pool.block_size
        text_config = model.config.get_text_config()
        self.query_groups = text_config.num_attention_heads // pool.layout.num_kv_heads
        self._mask_placeholder = torch.zeros((1, 1, 1, 1), dtype=dtype, device=device)

    def execute(self, batch: ScheduledBatch, sample_rows: list[int]) -> torch.Tensor:
        """Logits ``[len(sample_rows), vocab]`` (float32) for the last new token of each listed request."""
        bs = self.block_size
        ids: list[int] = []
        positions: list[int] = []
        slots: list[int] = []
        groups = []
        requests, counts = batch.requests, batch.num_new_tokens
        num_decode = next((i for i, n in enumerate(counts) if n != 1), len(counts))
        limit = self.pool.num_blocks
        for lo, hi in _split_by_blocks([len(r.blocks) for r in requests[:num_decode]], limit):
            decode = requests[lo:hi]
            for request in decode:
                pos = request.num_computed
                ids.append(request.token_ids[pos])
                positions.append(pos)
                slots.append(request.blocks[pos // bs] * bs + pos % bs)
            groups.append(build_group(lo, [1] * len(decode), positions[lo:hi], [r.blocks for r in decode], bs,
                                      self.query_groups, self.dtype, self.device, self.sliding_windows))
        first = num_decode
        for chunk_group in _prefill_groups(counts[num_decode:]):
            tables = [len(r.blocks) for r in requests[first:first + len(chunk_group)]]
            for lo, hi in _split_by_blocks(tables, limit):
                group = chunk_group[lo:hi]
                prefill = requests[first + lo:first + hi]
                starts = []
                for request, count in zip(prefill, group):
                    start = request.num_computed
                    starts.append(start)
                    ids.extend(request.token_ids[start:start + count])
                    positions.extend(range(start, start + count))
                    blocks = request.blocks
                    slots.extend(blocks[p // bs] * bs + p % bs for p in range(start, start + count))
                groups.append(build_group(len(ids) - sum(group), group, starts, [r.blocks for r in prefill], bs,
                                          self.query_groups, self.dtype, self.device, self.sliding_windows))
            first += len(chunk_group)
        ends = list(itertools.accumulate(counts))
        last_index = [ends[row] - 1 for row in sample_rows]
        keep = torch.tensor(last_index, dtype=torch.long, device=self.device) if last_index else 1
        paged = PagedBatch(self.pool, torch.tensor(slots, dtype=torch.long, device=self.device), groups)
        with torch.inference_mode():
            out = self.model(
                input_ids=torch.tensor([ids], dtype=torch.long, device=self.device),
                position_ids=torch.tensor([positions], dtype=torch.long, device=self.device),
                # A "prepared" 4D mask is passed through untouched by transformers' mask builders,
                # which would otherwise scan position_ids for packed sequences every step; the
                # real per-request masks travel in ``paged_batch``.
                attention_mask=self._mask_placeholder,
                use_cache=False,
                logits_to_keep=keep,
                paged_batch=paged,
            )
        logits = out.logits[0].float()
        return logits if last_index else logits[:0]


def _split_by_blocks(table_lengths: list[int], limit: int) -> list[tuple[int, int]]:
    """Cut consecutive requests into ranges whose padded block tables (rows x longest) fit ``limit`` blocks."""
    ranges: list[tuple[int, int]] = []
    start, longest = 0, 0
    for i, length in enumerate(table_lengths):
        if i > start and (i - start + 1) * max(longest, length) > limit:
            ranges.append((start, i))
            start, longest = i, 0
        longest = max(longest, length)
    if start < len(table_lengths):
        ranges.append((start, len(table_lengths)))
    return ranges


def _prefill_groups(counts: list[int]) -> list[list[int]]:
    """Split consecutive prefill chunks so that padding at most doubles a group's query rows."""
    groups: list[list[int]] = []
    current: list[int] = []
    for count in counts:
        if current and max(max(current), count) * (len(current) + 1) > 2 * (sum(current) + count):
            groups.append(current)
            current = []
        current.append(count)
    if current:
        groups.append(current)
    return groups
