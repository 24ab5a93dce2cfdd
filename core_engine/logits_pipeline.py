"""Per-request logits processing around sampling: reasoning budget, then guided decoding.

Before sampling, each row is resolved to one of: a forced token (a reasoning budget ran out, or a
guided prefix/suffix is being written), a grammar-masked row (the request has left reasoning and has
a grammar), or a free row. A request with a grammar cannot end (end-of-sequence is masked) before its
grammar is complete, so it does not stop while still reasoning. After sampling, the chosen token is fed to the reasoner's tracker and, for
masked rows only, to the grammar. An exception from one request's reasoner or grammar is caught
per row and reported back, so the step goes on for every other request.
"""

from __future__ import annotations

import torch

from .cuda import apply_token_bitmask_
from .guided import GuidedDecoding, GuidedPhase
from .request import Request
from .sampler import sample


class LogitsPipeline:
    def __init__(self, guided: GuidedDecoding, eos_token_ids: list[int], force_end_token_ids: list[int] | None,
                 max_rows: int) -> None:
        self.guided = guided
        self.eos_token_ids = eos_token_ids
        self.force_end_token_ids = force_end_token_ids or []
        self._bitmask: torch.Tensor | None = None
        self._max_rows = max_rows

    def _forced_token(self, request: Request, in_reasoning: bool) -> int | None:
        """The token this request must take next, or None when it samples."""
        if request.forced:
            return request.forced.popleft()
        if in_reasoning:
            budget = request.params.reasoning_max_tokens
            if budget is not None and request.reasoning_tokens >= budget and self.force_end_token_ids:
                request.forced.extend(self.force_end_token_ids)
                return request.forced.popleft()
            return None
        guided = request.guided
        if guided is None:
            return None
        if guided.phase is GuidedPhase.PREFIX:
            guided.phase = GuidedPhase.GRAMMAR
            # The model may already have started the prefix itself (e.g. written <tool_call>): finish it.
            remaining = guided.prefix_ids[_written_prefix(request.output_token_ids, guided.prefix_ids):]
            if remaining:
                request.forced.extend(remaining)
                return request.forced.popleft()
        if guided.phase is GuidedPhase.DONE:
            return self.eos_token_ids[0] if self.eos_token_ids else None
        return None

    def next_tokens(self, logits: torch.Tensor, requests: list[Request],
                    generator: torch.Generator) -> tuple[list[int], dict[int, tuple[str, Exception]]]:
        """One token per request, and the rows whose request failed: ``{row: (kind, exception)}``.

        An exception from one request's reasoner or grammar fails that row alone; its token is
        still sampled (so the batch's shapes do not change) and then ignored.
        """
        failed: dict[int, tuple[str, Exception]] = {}
        forced: list[int | None] = []
        candidates: list[int] = []
        for row, request in enumerate(requests):
            tracker = request.tracker
            try:
                in_reasoning = tracker is not None and tracker.in_reasoning
            except Exception as exc:  # noqa: BLE001 - a plugin's bug fails its own request only
                failed[row] = ("reasoner", exc)
                forced.append(None)
                continue
            try:
                token = self._forced_token(request, in_reasoning)
            except Exception as exc:  # noqa: BLE001
                failed[row] = ("internal", exc)
                forced.append(None)
                continue
            forced.append(token)
            guided = request.guided
            if token is None and guided is not None and guided.phase is GuidedPhase.GRAMMAR and not in_reasoning:
                candidates.append(row)
        masked_rows: list[int] = []
        if candidates:
            if self._bitmask is None:
                self._bitmask = self.guided.allocate_bitmask(self._max_rows)
            bitmask = self._bitmask
            for row in candidates:
                try:
                    requests[row].guided.matcher.fill_next_token_bitmask(bitmask, len(masked_rows))  # type: ignore[union-attr]
                except Exception as exc:  # noqa: BLE001
                    failed[row] = ("grammar", exc)
                    continue
                masked_rows.append(row)
        if masked_rows:
            index = torch.tensor(masked_rows, device=logits.device)
            rows = logits.index_select(0, index)
            apply_token_bitmask_(rows, self._bitmask[:len(masked_rows)])   # type: ignore[index]
            logits.index_copy_(0, index, rows)
        masked = set(masked_rows)
        # End-of-sequence is masked for ignore_eos, and for a request with a grammar that has not
        # reached its constrained part: it may end only where its grammar is complete.
        no_eos = [row for row, r in enumerate(requests) if row not in masked and (
            r.params.ignore_eos or (r.guided is not None and r.guided.phase is not GuidedPhase.DONE))]
        if no_eos and self.eos_token_ids:
            logits[torch.tensor(no_eos)[:, None], torch.tensor(self.eos_token_ids)[None, :]] = float("-inf")
        sampled = sample(logits, requests, generator)
        tokens = [f if f is not None else s for f, s in zip(forced, sampled)]
        for row in masked_rows:
            try:
                tokens[row] = self._advance_grammar(requests[row], tokens[row])
            except Exception as exc:  # noqa: BLE001
                failed[row] = ("grammar", exc)
        for row, (request, token) in enumerate(zip(requests, tokens)):
            tracker = request.tracker
            if tracker is None or row in failed:
                continue
            try:
                if tracker.feed(token):
                    request.reasoning_tokens += 1
            except Exception as exc:  # noqa: BLE001
                failed[row] = ("reasoner", exc)
        return tokens, failed

    def _advance_grammar(self, request: Request, token: int) -> int:
        """Feed a grammar-masked token; at the grammar's stop token switch to the suffix."""
        guided = request.guided
        assert guided is not None
        if token in self.eos_token_ids:   # the grammar allows end-of-sequence only where it is complete
            guided.phase = GuidedPhase.DONE
            if guided.suffix_ids:
                request.forced.extend(guided.suffix_ids[1:])
                return guided.suffix_ids[0]
            return token
        if not guided.matcher.accept_token(token):
            raise RuntimeError(f"the grammar rejected token {token} that its own mask allowed")
        return token


def _written_prefix(output: list[int], prefix: list[int]) -> int:
    """Length of the longest start of ``prefix`` that ``output`` already ends with."""
    for size in range(min(len(prefix), len(output)), 0, -1):
        if output[-size:] == prefix[:size]:
            return size
    return 0
