"""The incremental scanner behind every declarative parser, streaming and not.

Per delta the work is proportional to the delta plus the held-back text. Held-back text is never
longer than the longest marker, plus ``ID_TEXT_WINDOW`` characters while a marker's id has arrived
and its text has not. Non-streaming parsing feeds the whole output once and calls
:meth:`ReasoningStream.finish`, so both paths run the same code and cannot disagree.

Markers that are single tokens are matched by id once a stream has seen ids: their text spelled by
ordinary tokens is plain text, as the guided-decoding reasoner sees it. Engines send ids and text
in two ways that look alike when a marker's id arrives: text that lags the ids (vLLM holding back
the characters a stop string could still match) and text that never carries the marker at all
(``skip_special_tokens=True``), and both at once. An announced marker is therefore matched when
its text arrives within ``ID_TEXT_WINDOW`` characters; otherwise it is placed where the text of
the ids that followed it begins (exact at the end of the stream), or where its id arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._format import (
    CONTENT,
    DROP,
    END,
    IMPLICIT_END,
    Phase,
    Program,
    Rule,
    initial_phase,
)
from ._modes import Mode
from .protocol import ReasoningDelta

__all__ = ["ID_TEXT_WINDOW", "ReasoningStream"]

# How far (in characters) a marker's text may trail its id. vLLM holds back one character less
# than the longest stop string; 64 covers any practical stop string.
ID_TEXT_WINDOW = 64
_ALIGN = 16  # characters of the later ids' text that must line up before a marker is placed by them


class ReasoningStream:
    """One request's output, fed delta by delta.

    ``feed(delta_text, delta_token_ids)`` returns the newly decided reasoning and content as a
    :class:`ReasoningDelta` (``None`` when nothing was decided); ``finish()`` releases any text
    held back because it could have been the start of a marker. ``[]`` and ``None`` ids mean the
    same: this delta brought no ids.
    """

    __slots__ = (
        "_program", "_phase", "_held", "_held_blank", "_blanks", "_finished", "_decode", "_by_ids",
        "_credits", "_markers", "_quiet", "_quiet_set", "_quiet_content", "mode", "reasoning_ended",
    )

    def __init__(self, program: Program, mode: Mode, decode: Callable[[list[int]], str] | None = None) -> None:
        self._program = program
        self._decode = decode  # token ids -> text; places a marker whose text an engine skipped
        self.mode = mode
        self._phase: Phase = program.phases[initial_phase(program, mode)]
        self._held = ""
        self._held_blank = 0  # leading characters of _held already known to be whitespace
        # whitespace deltas before the model's first word, not yet joined to _held (a long run
        # of them would otherwise be copied once per delta)
        self._blanks: list[str] = []
        self._finished = False
        self._markers = program.marker_ids or None  # markers that are single tokens, by id
        self._by_ids = False  # ids have been seen: single-token markers are matched by id
        # markers announced by id whose text has not been matched: [marker id, where its text would
        # start, counted from the start of the held text, which is where the next scan starts,
        # and the ids that arrived after it)
        self._credits: list[list[Any]] = []
        self.reasoning_ended = self._phase.section == CONTENT and self._phase.name != "await"
        # when a delta without them may pass whole: the first character of this phase's markers
        # (or the set of them when there are several)
        self._quiet: str | None = None
        self._quiet_set: frozenset[str] | None = None
        self._quiet_content = False
        self._settle()

    @property
    def in_reasoning(self) -> bool:
        return self._phase.name in ("reason", "label")

    @property
    def in_plain_content(self) -> bool:
        """Past all markup: every later delta is content, verbatim (nothing is held back)."""
        phase = self._phase
        return not phase.rules and not phase.anchored and not self._held and not self._credits

    def feed(self, delta_text: str | None, delta_token_ids: Sequence[int] | None = None) -> ReasoningDelta | None:
        fresh = 0
        if delta_token_ids and self._markers is not None and not self._markers.isdisjoint(delta_token_ids):
            self._quiet = self._quiet_set = None
            fresh = self._announce(delta_text or "", delta_token_ids)
        # The common case: nothing held, and no marker can start in this delta.
        quiet = self._quiet
        if quiet is not None:
            if delta_text and quiet not in delta_text:
                if self._quiet_content:
                    return ReasoningDelta(None, delta_text)
                return ReasoningDelta(delta_text)
        elif self._quiet_set is not None and delta_text and self._quiet_set.isdisjoint(delta_text):
            if self._quiet_content:
                return ReasoningDelta(None, delta_text)
            return ReasoningDelta(delta_text)
        if self._finished:
            raise RuntimeError("this stream has finished; start a new stream for a new request")
        if delta_token_ids and self._markers is not None:
            self._by_ids = True  # (a quiet delta cannot hold a marker, so it need not say so)
            # ids after an announced marker place it if its text never comes (announcements
            # exist only on this path: they make every delta take it)
            for credit in self._credits[: len(self._credits) - fresh]:
                credit[2].extend(delta_token_ids)
        text = delta_text or ""
        if not text and not self._credits:
            return None
        if (self._phase.name == "await" and self._held_blank == len(self._held) and text.isspace()):
            self._blanks.append(text)  # still undecided: markup before <think>, else content
            return None
        reasoning, content = self._scan(text, final=False)
        if reasoning or content:
            return ReasoningDelta(reasoning or None, content or None)
        return None

    def finish(self) -> ReasoningDelta | None:
        """Release held-back text. The stream accepts no more deltas afterwards."""
        if self._finished:
            return None
        reasoning, content = self._scan("", final=True)
        self._finished = True
        self._quiet = self._quiet_set = None
        if reasoning or content:
            return ReasoningDelta(reasoning or None, content or None)
        return None

    # -- ids ------------------------------------------------------------------------------------

    def _announce(self, text: str, ids: Sequence[int]) -> int:
        """Record the markers whose ids this delta carries, with where their text would start;
        returns how many."""
        markers = self._program.marker_ids
        before = len(self._credits)
        for index, token in enumerate(ids):
            if token in markers:
                held = len(self._held) + sum(map(len, self._blanks))
                self._credits.append([token, held + self._offset_in_delta(text, ids, index), list(ids[index + 1 :])])
        return len(self._credits) - before

    def _offset_in_delta(self, text: str, ids: Sequence[int], index: int) -> int:
        """Characters of ``text`` before ``ids[index]``, decoding the ordinary tokens before it."""
        if index == 0:
            return 0
        if self._decode is None:
            return len(text)
        markers = self._program.marker_ids
        decoded = self._decode([t for t in ids[:index] if t not in markers])
        length = len(decoded)
        # A delta that starts inside a UTF-8 character: its first tokens decode to replacement
        # characters on their own, but complete one character of the text.
        if decoded.startswith("\ufffd") and not text.startswith("\ufffd"):
            length -= len(decoded) - len(decoded.lstrip("\ufffd")) - 1
        return min(len(text), length)

    def _credit(self, marker_id: int) -> int:
        """Index of the oldest unmatched announcement of ``marker_id``, or -1."""
        for index, (token, _at, _after) in enumerate(self._credits):
            if token == marker_id:
                return index
        return -1

    def _matchable(self, rule: Rule) -> bool:
        return rule.marker_id is None or not self._by_ids or self._credit(rule.marker_id) >= 0

    def _consume(self, rule: Rule) -> None:
        if self._by_ids and rule.marker_id is not None:
            index = self._credit(rule.marker_id)
            if index >= 0:
                del self._credits[index]

    def _announced_before(self, rule: Rule, credit: int) -> bool:
        """Whether ``rule``'s marker id arrived before the announcement at index ``credit``: ids
        come in output order, so its text, found first, is that marker (where an announcement is
        counted from the text of the ordinary tokens only, it may seem to come earlier)."""
        if rule.marker_id is None or not self._by_ids:
            return False
        own = self._credit(rule.marker_id)
        return 0 <= own < credit

    def _announced_transition(self, phase: Phase) -> tuple[int, Rule, int] | None:
        """The oldest announced marker that would move ``phase`` on: (credit index, rule, offset)."""
        for index, (token, at, _after) in enumerate(self._credits):
            rule = phase.transitions.get(token)
            if rule is not None:
                return index, rule, at
        return None

    def _place_by_later_ids(self, buf: str, at: int, after: list[int], final: bool) -> int | None:
        """Where a marker whose text never came sits, read from the ids that followed it.

        Text may lag the ids (stop strings) as well as skip the marker, so the place recorded
        when the id arrived can be early. The text of the later ids is the output's tail: at the
        end of the stream the buffer ends with it; before that, the buffer's end is the start of
        it (at least ``_ALIGN`` characters of it, so a coincidence cannot decide; until then the
        text waits, up to ``ID_TEXT_WINDOW`` characters).
        """
        n = len(buf)
        if final and not after:
            return n  # nothing came after the marker: all the text before it has arrived now
        if self._decode is None or not after:
            return None
        markers = self._program.marker_ids
        variants = {self._decode(after), self._decode([t for t in after if t not in markers])}
        for tail in sorted(variants, key=len, reverse=True):
            if not tail:
                continue
            if final:
                if buf.endswith(tail) and n - len(tail) >= at:
                    return n - len(tail)
                continue
            for start in range(at, n - _ALIGN + 1):
                if tail.startswith(buf[start:]):
                    return start
        return None

    def _expire_credits(self, phase: Phase, scanned: int) -> None:
        """Forget announcements the scan has passed by more than the window, unless they would
        move this phase on (those are placed where their id was)."""
        horizon = scanned - ID_TEXT_WINDOW
        self._credits = [c for c in self._credits if c[1] >= horizon or c[0] in phase.transitions]

    # -- scanning -------------------------------------------------------------------------

    def _scan(self, delta: str, final: bool) -> tuple[str, str]:
        if self._blanks:
            self._held += "".join(self._blanks)
            self._held_blank = len(self._held)
            self._blanks.clear()
        held = self._held
        buf = held + delta if held else delta
        known_blank = self._held_blank if held else 0
        self._held = ""
        self._held_blank = 0
        reasoning: list[str] = []
        content: list[str] = []
        n = len(buf)
        i = 0
        found: dict[int, int] = {}  # next position of each rule's pattern at or after i (-1: none)
        while True:
            phase = self._phase
            if self._credits:
                self._expire_credits(phase, i)
            out = content if phase.section == CONTENT else reasoning
            if not phase.rules and not phase.anchored:  # verbatim content
                self._credits.clear()
                out.append(buf[i:])
                break
            if phase.anchored:
                if i == n and not final:
                    break
                step = self._anchored(phase, buf, i, known_blank, final)
                known_blank = 0
                if step is None:
                    self._hold(buf, i)
                    break
                i = step  # what was passed over is markup
                found.clear()
                continue
            rule, pos = self._next_match(phase, buf, i, found)
            announced = self._announced_transition(phase) if self._credits else None
            if announced is not None and (rule is None or (
                rule.marker_id != announced[1].marker_id and announced[2] < pos
                and not self._announced_before(rule, announced[0])
            )):
                credit, marker_rule, at = announced
                at = min(n, max(i, at))
                placed = self._place_by_later_ids(buf, at, self._credits[credit][2], final)
                if placed is None and not final and n - at <= ID_TEXT_WINDOW:
                    # the id arrived, its text has not (yet): hold what follows the id's place
                    keep = self._holdback(phase, buf[i:at])
                    out.append(buf[i : at - keep])
                    self._hold(buf, at - keep)
                    break
                if placed is not None:
                    at = placed
                # the text never came: the engine skipped it; the marker sits where its id was
                del self._credits[credit]
                if at > i and buf[at - 1] == "\n" and any(r.pattern == "\n" + marker_rule.marker_text for r in phase.rules):
                    out.append(buf[i : at - 1])  # the format's trimmed newline belongs to the marker
                else:
                    out.append(buf[i:at])
                i = at
                self._transition(phase, marker_rule)
                found.clear()
                continue
            if rule is None:
                keep = 0 if final else self._holdback(phase, buf[i:])
                out.append(buf[i : n - keep])
                if keep:
                    self._hold(buf, n - keep)
                break
            out.append(buf[i:pos])
            self._consume(rule)
            i = pos if rule.action == IMPLICIT_END else pos + len(rule.pattern)
            if rule.action == DROP:
                label = phase.next_phase.get(DROP)
                if label is not None:
                    self._phase = self._program.phases[label]
                    found.clear()
                continue
            self._transition(phase, rule)
            found.clear()
        if self._credits:  # count their places from the start of what is held now
            shift = n - len(self._held)
            for credit in self._credits:
                credit[1] -= shift
        self._settle()
        return "".join(reasoning), "".join(content)

    def _settle(self) -> None:
        """Decide whether the next delta may take the fast path."""
        phase = self._phase
        self._quiet = self._quiet_set = None
        if not (self._held or self._credits or not phase.fast_path or self._finished):
            chars = phase.first_chars
            if len(chars) == 1:
                self._quiet = chars
            else:
                self._quiet_set = frozenset(chars)
            self._quiet_content = phase.section == CONTENT

    def _hold(self, buf: str, start: int) -> None:
        self._held = buf[start:]

    def _transition(self, phase: Phase, rule: Rule) -> None:
        if phase.name == "reason":
            self.reasoning_ended = True
        self._phase = self._program.phases[phase.next_phase[rule.action]]

    def _next_match(self, phase: Phase, buf: str, i: int, found: dict[int, int]) -> tuple[Rule | None, int]:
        """The earliest matchable rule at or after ``i`` (ties: the longest pattern)."""
        best: Rule | None = None
        best_pos = -1
        for index, rule in enumerate(phase.rules):
            pos = found.get(index)
            if pos is None or 0 <= pos < i:
                pos = buf.find(rule.pattern, i)
                found[index] = pos
            if pos < 0 or not self._matchable(rule):
                continue
            if best is None or pos < best_pos or (pos == best_pos and len(rule.pattern) > len(best.pattern)):
                best, best_pos = rule, pos
        return best, best_pos

    def _holdback(self, phase: Phase, text: str) -> int:
        """Length of the longest suffix of ``text`` that could still grow into a marker."""
        # While an id is announced its text may still arrive, so hold its prefixes too.
        prefixes = phase.prefixes_ids if self._by_ids and not self._credits else phase.prefixes_text
        if not prefixes or not text:
            return 0
        for k in range(min(len(text), phase.max_len - 1), 0, -1):
            if text[-k:] in prefixes:
                return k
        return 0

    def _anchored(self, phase: Phase, buf: str, i: int, known_blank: int, final: bool) -> int | None:
        """Decide an anchored phase from ``buf[i:]``.

        Returns None to hold ``buf[i:]`` until more text arrives, or the index where the next
        phase starts; what lies before it is markup, dropped.
        """
        if phase.name == "await":
            return self._await_start(buf, i, known_blank, final)
        program = self._program
        if phase.name == "lead":
            at = self._leading_end(buf, i, i, final)
            if at is None:
                return None
            self._phase = program.phases[phase.next_phase[END]]
            return at if at >= 0 else i
        if phase.name == "label":
            label = phase.openers[0]
            if buf.startswith(label, i):
                self._phase = program.phases["reason"]
                return i + len(label)
            if not final and label.startswith(buf[i:]):
                return None  # could still be the label
            self._phase = program.phases["reason"]
            return i
        n = len(buf)
        j = i
        if phase.strip_newlines:
            while j < n and buf[j] == "\n":
                j += 1
            if j == n:
                if final:
                    self._phase = program.phases["content"]
                return j
        for opener in phase.openers:
            if buf.startswith(opener, j):
                longer = any(len(o) > len(opener) and o.startswith(opener) for o in phase.openers)
                if longer and n - j == len(opener) and not final:
                    return None
                self._phase = program.phases["wrapped"]
                return j + len(opener)
        if phase.openers and not final and any(o.startswith(buf[j:]) for o in phase.openers):
            # could still become the wrapper's open marker: hold it (after dropping newlines)
            return j if j > i else None
        self._phase = program.phases["content"]
        return j

    def _leading_end(self, buf: str, i: int, j: int, final: bool) -> int | None:
        """A stray end marker opening the output at ``buf[j]`` after the whitespace ``buf[i:j]``
        (``leading_end_is_markup``): where the output continues after it, -1 when it is not
        there, None while it could be."""
        program = self._program
        end, end_id = program.fmt.end, program.end_id
        credit = self._credit(end_id) if self._by_ids and end_id is not None else -1
        if credit >= 0 and self._credits[credit][1] > j:
            credit = -1  # its id arrived after the output's first word
        by_text = not self._by_ids or end_id is None or credit >= 0
        if by_text and buf.startswith(end, j):
            if credit >= 0:
                del self._credits[credit]
            return j + len(end)
        if by_text and not final and end.startswith(buf[j:]):
            return None
        if credit >= 0:
            # its id arrived without its text (a skipped special token): it sits where the text of
            # the ids after it begins (text may lag the ids), else where its id arrived
            at = max(i, self._credits[credit][1])
            placed = self._place_by_later_ids(buf, at, self._credits[credit][2], final)
            if placed is None and not final and len(buf) - at <= ID_TEXT_WINDOW:
                return None
            del self._credits[credit]
            return at if placed is None else placed
        return -1

    def _await_start(self, buf: str, i: int, known_blank: int, final: bool) -> int | None:
        """Before the model's first word: does it open reasoning with the start marker?

        Leading whitespace waits with the decision: it is markup before the start marker and
        content otherwise.
        """
        program = self._program
        start = program.fmt.start or ""
        n = len(buf)
        j = i + known_blank
        while j < n and buf[j].isspace():
            j += 1
        start_id = program.start_id
        # the start marker's id arrived at or before the first word (its text may lag behind)
        credit = self._credit(start_id) if self._by_ids and start_id is not None else -1
        if credit >= 0 and self._credits[credit][1] > j:
            credit = -1
        announced = credit >= 0
        by_text = not self._by_ids or start_id is None or announced
        opened = program.phases["label" if "label" in program.phases else "reason"]
        if by_text and buf.startswith(start, j):
            if announced:
                del self._credits[credit]
            self._phase = opened
            return j + len(start)
        if program.fmt.leading_end_is_markup and not announced:
            stray = self._leading_end(buf, i, j, final)
            if stray is None:
                self._held_blank = j - i
                return None
            if stray >= 0:  # a stray end marker (and the whitespace before it) is markup
                self._phase = program.phases[program.phases["reason"].next_phase[END]]
                self.reasoning_ended = True
                return stray
        if j == n or (by_text and start.startswith(buf[j:])):
            if not final:
                self._held_blank = j - i
                return None
            if j == n and not announced:
                self._phase = self._content_start()
                self.reasoning_ended = True
                return i
        if announced:
            # the start marker's id arrived without its text: whitespace before it is markup
            at = self._credits.pop(credit)[1]
            self._phase = opened
            return max(i, at)
        self._phase = self._content_start()
        self.reasoning_ended = True
        return i

    def _content_start(self) -> Phase:
        """Where content begins when the model does not open reasoning: a content wrapper's
        opener there is markup."""
        phases = self._program.phases
        return phases["content_open"] if "content_open" in phases else phases["content"]
