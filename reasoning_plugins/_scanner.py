"""The incremental scanner behind every declarative parser, streaming and not.

Per delta the work is proportional to the delta plus the held-back text, and held-back text is
never longer than the longest marker (anchored phases hold only leading whitespace or a marker
prefix). Non-streaming parsing feeds the whole output once and calls :meth:`finish`, so both
paths run the same code and cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._format import (
    CONTENT,
    DROP,
    END,
    IMPLICIT_END,
    Phase,
    Program,
    initial_phase,
)
from ._modes import Mode
from .protocol import DeltaMessage

__all__ = ["ReasoningStream"]

_FEW_IDS = 16


class ReasoningStream:
    """One request's output, fed delta by delta.

    ``feed(delta_text, delta_token_ids)`` returns the newly decided reasoning and content as a
    :class:`DeltaMessage` (``None`` when nothing was decided); ``finish()`` releases any text
    held back because it could have been the start of a marker.
    """

    __slots__ = ("_program", "_phase", "_held", "_seen_chars", "_finished", "_decode", "mode", "reasoning_ended")

    def __init__(self, program: Program, mode: Mode, decode: Callable[[list[int]], str] | None = None) -> None:
        self._program = program
        self._decode = decode  # token ids -> text; places a marker whose text an engine skipped
        self.mode = mode
        self._phase: Phase = program.phases[initial_phase(program, mode)]
        self._held = ""
        self._seen_chars = 0
        self._finished = False
        self.reasoning_ended = self._phase.section == CONTENT and self._phase.name != "await"

    @property
    def seen_chars(self) -> int:
        """Characters fed so far (held-back text included)."""
        return self._seen_chars

    @property
    def in_reasoning(self) -> bool:
        return self._phase.name == "reason"

    def feed(self, delta_text: str | None, delta_token_ids: Sequence[int] | None = None) -> DeltaMessage | None:
        if self._finished:
            raise RuntimeError("this stream has finished; start a new stream for a new request")
        if not delta_text:
            if not delta_token_ids:
                return None
            delta_text = ""
        self._seen_chars += len(delta_text)
        phase = self._phase
        if (
            delta_text
            and not self._held
            and phase.fast_path
            and (delta_token_ids is None or not phase.rule_ids or phase.rule_ids.isdisjoint(delta_token_ids))
        ):
            # The common case: no marker can start in this delta, so it all goes to one section.
            for ch in phase.first_chars:
                if ch in delta_text:
                    break
            else:
                if phase.section == CONTENT:
                    return DeltaMessage(content=delta_text)
                return DeltaMessage(reasoning_content=delta_text)
        reasoning, content = self._scan(delta_text, delta_token_ids, final=False)
        if reasoning or content:
            return DeltaMessage(reasoning_content=reasoning or None, content=content or None)
        return None

    def finish(self) -> DeltaMessage | None:
        """Release held-back text. The stream accepts no more deltas afterwards."""
        if self._finished:
            return None
        reasoning, content = self._scan("", None, final=True)
        self._finished = True
        if reasoning or content:
            return DeltaMessage(reasoning_content=reasoning or None, content=content or None)
        return None

    # -- scanning -------------------------------------------------------------------------

    def _scan(self, delta: str, ids: Sequence[int] | None, final: bool) -> tuple[str, str]:
        held = self._held
        buf = held + delta if held else delta
        self._held = ""
        reasoning = ""
        content = ""
        delta_start = len(held)
        id_seq = ids
        if ids is not None and len(ids) > _FEW_IDS:
            ids = frozenset(ids)
        while True:
            phase = self._phase
            if not phase.rules and not phase.anchored:  # verbatim content
                content += buf
                return reasoning, content
            if phase.anchored:
                if not buf and not final and (ids is None or phase.name != "await"):
                    return reasoning, content
                consumed, emitted, keep = self._anchored(phase, buf, ids, final)
                if keep:
                    self._held = buf
                    return reasoning, content
                content += emitted
                buf = buf[consumed:]
                delta_start = max(0, delta_start - consumed)
                continue
            # free phase: find the earliest rule match (ties: the longest pattern)
            best_pos = -1
            best = None
            if buf:
                for ch in phase.first_chars:
                    if ch in buf:
                        break
                else:
                    ch = None
                if ch is not None:
                    for rule in phase.rules:
                        if ids is not None and rule.marker_id is not None and rule.marker_id not in ids:
                            continue
                        pos = buf.find(rule.pattern)
                        if pos >= 0 and (best is None or pos < best_pos or (pos == best_pos and len(rule.pattern) > len(best.pattern))):
                            best_pos, best = pos, rule
            skipped = 0  # chars consumed with a marker whose text the engine skipped
            if best is None and ids is not None:
                best_pos, best, skipped = self._marker_without_text(phase, buf, ids, id_seq, delta_start)
            if best is None:
                keep = 0 if final else self._holdback(phase, buf, ids is not None)
                text = buf[: len(buf) - keep] if keep else buf
                if phase.section == CONTENT:
                    content += text
                else:
                    reasoning += text
                if keep:
                    self._held = buf[len(buf) - keep :]
                return reasoning, content
            before = buf[:best_pos]
            if phase.section == CONTENT:
                content += before
            else:
                reasoning += before
            action = best.action
            if action == IMPLICIT_END:
                buf = buf[best_pos:]
            else:
                buf = buf[best_pos + (skipped - 1 if skipped else len(best.pattern)) :]
            delta_start = 0
            if action == DROP:
                continue
            if phase.name == "reason":
                self.reasoning_ended = True
            self._phase = self._program.phases[phase.next_phase[action]]
            if skipped:
                ids = id_seq = None  # the marker the ids announced has been placed

    def _holdback(self, phase: Phase, buf: str, by_ids: bool) -> int:
        """Length of the longest suffix of ``buf`` that could still grow into a marker."""
        prefixes = phase.prefixes_ids if by_ids else phase.prefixes_text
        if not prefixes:
            return 0
        longest = min(len(buf), phase.max_len - 1)
        for k in range(longest, 0, -1):
            if buf[-k:] in prefixes:
                return k
        return 0

    def _marker_without_text(self, phase: Phase, buf: str, ids, id_seq, delta_start: int):
        """Engines that skip special tokens send a marker's id with no text: place it anyway.

        Returns (position, rule, consumed + 1) or (-1, None, 0). The position comes from decoding
        the delta's ids before the marker when a tokenizer is known.
        """
        for rule in phase.rules:
            if rule.marker_id is None or rule.action == DROP or rule.pattern != rule.marker_text:
                continue
            if rule.marker_id not in ids or rule.marker_text in buf:
                continue
            pos = self._position_of(rule.marker_id, buf, id_seq, delta_start)
            consumed = 1
            # the format's trimmed newline before the marker belongs to it, text or not
            if pos > 0 and buf[pos - 1] == "\n" and any(r.pattern == "\n" + rule.marker_text for r in phase.rules):
                pos -= 1
                consumed = 2
            return pos, rule, consumed
        return -1, None, 0

    def _position_of(self, marker_id: int, buf: str, id_seq, delta_start: int) -> int:
        """Where in ``buf`` the text of a marker that arrived as an id alone would have been."""
        index = list(id_seq).index(marker_id)
        if index == 0:
            return delta_start
        if self._decode is None:
            return len(buf)
        markers = self._program.marker_ids
        before = [t for t in id_seq[:index] if t not in markers]
        return min(len(buf), delta_start + len(self._decode(before)))

    def _anchored(self, phase: Phase, buf: str, ids, final: bool) -> tuple[int, str, bool]:
        """Decide an anchored phase. Returns (chars consumed, content emitted, hold everything)."""
        program = self._program
        if phase.name == "await":
            start = program.fmt.start or ""
            stripped = buf.lstrip()
            lead = len(buf) - len(stripped)
            gated = ids is not None and program.start_id is not None
            if gated and program.start_id in ids and start not in buf:
                # the start marker's id arrived without its text: whitespace before it is markup
                pos = self._position_of(program.start_id, buf, ids, 0) if not isinstance(ids, frozenset) else lead
                if not buf[:pos].strip():
                    self._phase = program.phases["reason"]
                    return pos, "", False
            if not stripped:
                if final:
                    self._phase = program.phases["content"]
                    return 0, "", False
                return 0, "", True
            if stripped.startswith(start) and (not gated or program.start_id in ids):
                self._phase = program.phases["reason"]
                return lead + len(start), "", False
            if start.startswith(stripped) and not final and not gated:
                return 0, "", True
            self._phase = program.phases["content"]
            self.reasoning_ended = True
            return 0, "", False
        # content_pre / after_wrap: drop leading newlines, then maybe open the wrapper
        consumed = 0
        if phase.strip_newlines:
            rest = buf.lstrip("\n")
            consumed = len(buf) - len(rest)
            if not rest:
                if final:
                    self._phase = program.phases["content"]
                return consumed, "", False
        else:
            rest = buf
        for opener in phase.openers:
            if rest.startswith(opener):
                longer = [o for o in phase.openers if len(o) > len(opener) and o.startswith(opener)]
                if longer and len(rest) == len(opener) and not final:
                    return 0, "", True
                self._phase = program.phases["wrapped"]
                return consumed + len(opener), "", False
        if phase.openers and not final and any(o.startswith(rest) for o in phase.openers):
            # could still become the wrapper's open marker: hold it (after dropping newlines)
            return (consumed, "", False) if consumed else (0, "", True)
        self._phase = program.phases["content"]
        return consumed, "", False
