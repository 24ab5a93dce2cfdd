"""Which requests run in the next step, and how many of their tokens.

Every step has a token budget (``max_num_batched_tokens``). Running requests go first, in arrival
order: a decoding request needs one token, a request still reading its prompt gets the next chunk.
When the KV pool cannot hold a running request's next tokens, the most recently admitted running
request is preempted: its blocks are freed and it goes back to the front of the queue, to be
recomputed from its tokens later. Waiting requests are admitted while the budget, the sequence limit
and free blocks allow, and never in a step that had to preempt.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .kv_cache import BlockAllocator
from .request import Request, RequestStatus


@dataclass(slots=True)
class ScheduledBatch:
    """Requests of one step (decodes first, then prefill chunks longest first) and their new token counts."""

    requests: list[Request]
    num_new_tokens: list[int]
    preempted: list[Request]

    @property
    def empty(self) -> bool:
        return not self.requests


class Scheduler:
    def __init__(self, allocator: BlockAllocator, max_num_seqs: int, max_num_batched_tokens: int) -> None:
        self.allocator = allocator
        self.max_num_seqs = max_num_seqs
        self.max_num_batched_tokens = max_num_batched_tokens
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self.num_preemptions = 0

    def add(self, request: Request) -> None:
        self.waiting.append(request)

    def has_unfinished(self) -> bool:
        return bool(self.waiting or self.running)

    def schedule(self) -> ScheduledBatch:
        budget = self.max_num_batched_tokens
        allocator = self.allocator
        chosen: list[tuple[Request, int]] = []
        preempted: list[Request] = []
        index = 0
        while index < len(self.running) and budget > 0:
            request = self.running[index]
            count = min(request.num_tokens - request.num_computed, budget)
            needed = allocator.blocks_needed(request.num_computed + count, len(request.blocks))
            while needed > allocator.num_free:
                victim = self.running.pop()
                self._preempt(victim)
                preempted.append(victim)
                if victim is request:
                    break
            if request.status is not RequestStatus.RUNNING:
                break
            if needed:
                request.blocks.extend(allocator.allocate(needed))
            chosen.append((request, count))
            budget -= count
            index += 1
        if not preempted:
            while self.waiting and budget > 0 and len(self.running) < self.max_num_seqs:
                request = self.waiting[0]
                count = min(request.num_tokens - request.num_computed, budget)
                needed = allocator.blocks_needed(request.num_computed + count, len(request.blocks))
                if needed > allocator.num_free:
                    break
                self.waiting.popleft()
                request.blocks.extend(allocator.allocate(needed))
                request.status = RequestStatus.RUNNING
                self.running.append(request)
                chosen.append((request, count))
                budget -= count
        # Decodes first (one unpadded attention group), then prefill chunks longest first, so that
        # chunks of similar length are neighbours and pad little when attended together.
        chosen.sort(key=lambda item: (item[1] != 1, -item[1]))
        return ScheduledBatch([r for r, _ in chosen], [n for _, n in chosen], preempted)

    def _preempt(self, request: Request) -> None:
        self.allocator.free(request.blocks)
        request.blocks = []
        request.num_computed = 0
        request.status = RequestStatus.WAITING
        request.num_preemptions += 1
        self.num_preemptions += 1
        self.waiting.appendleft(request)

    def finish(self, request: Request) -> None:
        """Release a finished or aborted request's blocks and forget it."""
        if request.status is RequestStatus.RUNNING:
            self.running.remove(request)
        elif request.status is RequestStatus.WAITING:
            self.waiting.remove(request)
        self.allocator.free(request.blocks)
        request.blocks = []
        request.status = RequestStatus.FINISHED
