"""Per-request logits processing around sampling: reasoning budget, then guided decoding.

Before sampling, each row is resolved to a forced token (a reasoning budget ran out, or a guided
prefix/suffix is being written) or to a ``Gate``: the grammar's mask once the request has left
reasoning; while the output may still open reasoning with a start marker (a hybrid format in
await-start mode), the grammar's mask plus the start marker, since the first word is either that
marker or the grammar's first token; inside reasoning, every token except implicit end markers
(e.g. ERNIE's ``<tool_call>``) that the grammar could not begin with. A budget spent before reasoning
opened bans the start marker instead of forcing the end marker, which would be content there. A
request with a grammar cannot end (end-of-sequence is masked) before its grammar is complete. After
sampling, the chosen token is fed to the reasoner's tracker and, when it is content, to the
grammar: whitespace sampled before the decision is fed too and taken back if the start marker
follows, and an implicit end marker that begins the content is the grammar's first token.
An exception from one request's reasoner or grammar is caught per row and reported back, so
the step goes on for every other request.
"""

from __future__ import annotations

import torch

from collections.abc import Iterable
from enum import Enum
from typing import Any

from .cuda import apply_token_bitmask_
from .guided import GuidedDecoding, GuidedPhase
from .request import Request
from .sampler import NonFiniteLogitsError, sample


class LogitsPipeline:
    """``force_end_token_ids`` end the reasoning when a budget runs out; their first
    ``force_end_prefix_len`` tokens are layout before the end marker (a newline), which counts as
    reasoning and is left out when the budget has no room for it. A tracker with its own
    ``force_end_token_ids`` (the tokens that end reasoning from where its request stands) is
    forced those instead, and one with ``last_counted`` says which tokens count as reasoning."""

    def __init__(self, guided: GuidedDecoding, eos_token_ids: list[int], force_end_token_ids: list[int] | None,
                 max_rows: int, start_token_id: int | None = None, implicit_end_ids: Iterable[int] = (),
                 force_end_prefix_len: int = 0) -> None:
        self.guided = guided
        self.eos_token_ids = eos_token_ids
        self.force_end_token_ids = force_end_token_ids or []
        self._force_prefix_len = force_end_prefix_len if force_end_token_ids else 0
        self._end_marker = self.force_end_token_ids[self._force_prefix_len:]
        self.start_token_id = start_token_id
        self.implicit_end_ids = sorted(set(implicit_end_ids))
        self._bitmask: torch.Tensor | None = None
        self._max_rows = max_rows

    def _forced_token(self, request: Request) -> int | None:
        """The token this request must take next, or None when it samples."""
        if request.forced:
            return request.forced.popleft()
        tracker = request.tracker
        if tracker is not None and tracker.in_reasoning:
            budget = request.params.reasoning_max_tokens
            # While the output may still open reasoning nothing is forced (the end marker would be
            # content there): a spent budget bans the start marker instead, see _gate.
            if budget is not None and self.force_end_token_ids and not _awaiting_start(tracker):
                # A hard cap: the reasoning tokens reported, a forced newline included, never exceed
                # the budget. The end marker itself is markup and is not counted.
                room = budget - request.reasoning_tokens
                own = getattr(tracker, "force_end_token_ids", None)
                if own is not None:
                    # a tracker that knows which tokens end reasoning from where its request stands
                    # (Harmony: the rest of a header, or close the analysis and open the answer)
                    if room <= 0 and own:
                        request.forced.extend(own)
                        return request.forced.popleft()
                    return None
                if room <= 0:
                    request.forced.extend(self._end_marker)
                    return request.forced.popleft()
                if room == self._force_prefix_len and request.reasoning_tokens > 0:
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

    def _gate(self, request: Request) -> Gate:
        """How the next sampled token of ``request`` is constrained."""
        tracker, guided = request.tracker, request.guided
        if guided is not None and guided.phase is GuidedPhase.DONE:
            return Gate.FREE
        if tracker is not None and _awaiting_start(tracker):
            budget = request.params.reasoning_max_tokens
            spent = budget is not None and request.reasoning_tokens >= budget
            if guided is not None:
                return Gate.GRAMMAR_OR_START if not spent and self.start_token_id is not None else Gate.GRAMMAR_FIRST
            return Gate.NO_START if spent and self.start_token_id is not None else Gate.FREE
        if tracker is not None and tracker.in_reasoning:
            return Gate.REASONING if guided is not None and self.implicit_end_ids else Gate.FREE
        if guided is not None and guided.phase is GuidedPhase.GRAMMAR:
            return Gate.GRAMMAR
        return Gate.FREE

    def next_tokens(self, logits: torch.Tensor, requests: list[Request],
                    generator: torch.Generator) -> tuple[list[int], dict[int, tuple[str, Exception]]]:
        """One token per request, and the rows whose request failed: ``{row: (kind, exception)}``.

        An exception from one request's reasoner or grammar fails that row alone; its token is
        still sampled (so the batch's shapes do not change) and then ignored.
        """
        failed: dict[int, tuple[str, Exception]] = {}
        forced: list[int | None] = []
        gates: list[Gate] = []
        for row, request in enumerate(requests):
            token, gate = None, Gate.FREE
            tracker = request.tracker
            try:
                if tracker is not None:
                    tracker.in_reasoning, _awaiting_start(tracker)   # a broken reasoner fails here, as "reasoner"
            except Exception as exc:  # noqa: BLE001 - a plugin's bug fails its own request only
                failed[row] = ("reasoner", exc)
            else:
                try:
                    token = self._forced_token(request)
                    if token is None:
                        gate = self._gate(request)
                except Exception as exc:  # noqa: BLE001
                    failed[row] = ("internal", exc)
            forced.append(token)
            gates.append(gate)
        masked_rows: list[int] = []
        candidates = [row for row, gate in enumerate(gates) if gate in _BITMASK_GATES and row not in failed]
        if candidates:
            if self._bitmask is None:
                self._bitmask = self.guided.allocate_bitmask(self._max_rows)
            bitmask = self._bitmask
            for row in candidates:
                try:
                    self._fill_row(bitmask, len(masked_rows), requests[row], gates[row])
                except Exception as exc:  # noqa: BLE001
                    failed[row] = ("grammar", exc)
                    continue
                masked_rows.append(row)
            if masked_rows:
                apply_token_bitmask_(logits, bitmask[:len(masked_rows)], masked_rows)
        banned: list[tuple[int, int]] = []
        for row, gate in enumerate(gates):
            if row in failed:
                continue
            try:
                banned.extend((row, token) for token in self._banned(requests[row], gate))
            except Exception as exc:  # noqa: BLE001
                failed[row] = ("grammar", exc)
        if banned:
            logits[torch.tensor([r for r, _ in banned]), torch.tensor([t for _, t in banned])] = float("-inf")
        masked = set(masked_rows)
        # End-of-sequence is masked for ignore_eos, and for a request with a grammar that has not
        # reached its constrained part: it may end only where its grammar is complete.
        no_eos = [row for row, r in enumerate(requests) if row not in masked and (
            r.params.ignore_eos or (r.guided is not None and r.guided.phase is not GuidedPhase.DONE))]
        if no_eos and self.eos_token_ids:
            logits[torch.tensor(no_eos)[:, None], torch.tensor(self.eos_token_ids)[None, :]] = float("-inf")
        try:
            sampled = sample(logits, requests, generator)
        except NonFiniteLogitsError as exc:
            # Only the named rows have nothing to sample from: they fail, the others are drawn again.
            bad = [row for row, r in enumerate(requests) if r.request_id in exc.request_ids]
            for row in bad:
                failed[row] = ("internal", exc)
            logits[torch.tensor(bad, device=logits.device)] = 0.0
            sampled = sample(logits, requests, generator)
        tokens = [f if f is not None else s for f, s in zip(forced, sampled)]
        for row in masked_rows:
            if gates[row] is not Gate.GRAMMAR or row in failed:
                continue
            try:
                tokens[row] = self._advance_grammar(requests[row], tokens[row])
            except Exception as exc:  # noqa: BLE001
                failed[row] = ("grammar", exc)
        for row, (request, token) in enumerate(zip(requests, tokens)):
            tracker = request.tracker
            if tracker is None or row in failed:
                continue
            # Markers are markup: the start and end markers and whitespace before the decision are
            # not counted as reasoning tokens; what is sampled inside reasoning is.
            try:
                was_reasoning = tracker.in_reasoning and not _awaiting_start(tracker)
                is_reasoning = tracker.feed(token)
                now_reasoning = tracker.in_reasoning
            except Exception as exc:  # noqa: BLE001
                failed[row] = ("reasoner", exc)
                continue
            # a tracker may say itself which tokens are reasoning text (headers are markup)
            counted = getattr(tracker, "last_counted", None)
            if (was_reasoning and now_reasoning) if counted is None else counted:
                request.reasoning_tokens += 1
            gate = gates[row]
            try:
                if gate is Gate.GRAMMAR_OR_START or gate is Gate.GRAMMAR_FIRST:
                    tokens[row] = self._after_decision(request, token)
                elif gate is Gate.REASONING and not is_reasoning and not now_reasoning:
                    # An implicit end marker (e.g. <tool_call>) closed reasoning and begins the content.
                    tokens[row] = self._begin_content(request, token)
            except Exception as exc:  # noqa: BLE001
                failed[row] = ("grammar", exc)
        return tokens, failed

    def _fill_row(self, bitmask: torch.Tensor, slot: int, request: Request, gate: Gate) -> None:
        guided = request.guided
        assert guided is not None
        if gate is not Gate.GRAMMAR and guided.prefix_ids:
            # The content must open with the prefix: allow its first token (the rest is forced).
            bitmask[slot].zero_()
            _allow(bitmask, slot, guided.prefix_ids[0])
        else:
            guided.matcher.fill_next_token_bitmask(bitmask, slot)
        if gate is Gate.GRAMMAR_OR_START:
            _allow(bitmask, slot, self.start_token_id)   # type: ignore[arg-type]

    def _banned(self, request: Request, gate: Gate) -> list[int]:
        """Tokens masked on an otherwise free row."""
        if gate is Gate.NO_START:
            return [self.start_token_id]   # type: ignore[list-item]
        if gate is not Gate.REASONING:
            return []
        guided = request.guided
        assert guided is not None
        if guided.implicit_end_allowed is None:
            if guided.prefix_ids:
                allowed = {guided.prefix_ids[0]} & set(self.implicit_end_ids)
            else:
                row = self.guided.allocate_bitmask(1)
                guided.matcher.fill_next_token_bitmask(row, 0)
                allowed = {t for t in self.implicit_end_ids if _is_allowed(row, t)}
            guided.implicit_end_allowed = frozenset(allowed)
        return [t for t in self.implicit_end_ids if t not in guided.implicit_end_allowed]

    def _after_decision(self, request: Request, token: int) -> int:
        """After a token sampled while the output could still open reasoning."""
        guided, tracker = request.guided, request.tracker
        assert guided is not None
        if tracker.in_reasoning:
            if not _awaiting_start(tracker):
                # The start marker: reasoning begins, the whitespace before it was markup after all.
                if guided.tokens_before_decision:
                    guided.matcher.rollback(guided.tokens_before_decision)
                    guided.tokens_before_decision = 0
                return token
            if not guided.prefix_ids:
                # Whitespace, still undecided: the grammar allowed it, so it follows the grammar.
                guided.tokens_before_decision += 1
                return self._advance_grammar(request, token)
            return token
        return self._begin_content(request, token)

    def _begin_content(self, request: Request, token: int) -> int:
        """The first content token, sampled outside a GRAMMAR row: feed it to the grammar."""
        guided = request.guided
        assert guided is not None
        guided.tokens_before_decision = 0
        if guided.prefix_ids:
            return token   # it is the prefix's first token; _forced_token writes the rest
        guided.phase = GuidedPhase.GRAMMAR
        return self._advance_grammar(request, token)

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


class Gate(Enum):
    """How one sampled token is constrained."""

    FREE = "free"                          # nothing (forced tokens, no grammar, reasoning)
    GRAMMAR = "grammar"                    # the grammar's mask
    GRAMMAR_OR_START = "grammar_or_start"  # undecided output: the start marker or the grammar's first token
    GRAMMAR_FIRST = "grammar_first"        # undecided output whose budget is spent: the grammar's first token
    NO_START = "no_start"                  # undecided output without a grammar, budget spent: not the start marker
    REASONING = "reasoning"                # reasoning: free, except implicit end markers the grammar cannot begin with


_BITMASK_GATES = (Gate.GRAMMAR, Gate.GRAMMAR_OR_START, Gate.GRAMMAR_FIRST)


def _awaiting_start(tracker: Any) -> bool:
    return bool(getattr(tracker, "awaiting_start", False))


def _word_bit(token: int) -> tuple[int, int]:
    """(word index, signed int32 value with only the token's bit set)."""
    bit = 1 << (token % 32)
    return token // 32, bit - (1 << 32) if bit >= 1 << 31 else bit


def _allow(bitmask: torch.Tensor, slot: int, token: int) -> None:
    word, bit = _word_bit(token)
    bitmask[slot, word] = int(bitmask[slot, word]) | bit


def _is_allowed(bitmask: torch.Tensor, token: int) -> bool:
    word, bit = _word_bit(token)
    return int(bitmask[0, word]) & bit != 0


def _written_prefix(output: list[int], prefix: list[int]) -> int:
    """Length of the longest start of ``prefix`` that ``output`` already ends with."""
    for size in range(min(len(prefix), len(output)), 0, -1):
        if output[-size:] == prefix[:size]:
            return size
    return 0
