"""Stop strings matched across token boundaries, with the smallest possible holdback.

Only the text held back is kept: a stop string that completes later must start inside the held
text or the new delta (text already released cannot be the start of one, or it would have been
held), so each push costs O(len(held) + len(delta)), at most ``longest stop - 1`` plus the delta,
whatever the length of the output.
"""

from __future__ import annotations


class StopTextBuffer:
    """Releases a request's text as soon as it can no longer be part of a stop string."""

    __slots__ = ("_held", "matched", "_stops", "_longest", "_starts")

    def __init__(self, stops: list[str] | None) -> None:
        self._held = ""
        self.matched: str | None = None     # the stop string that ended the text, once found
        self._stops = stops or []
        self._longest = max((len(s) for s in self._stops), default=0)
        # every proper start of a stop string: the text that must be held back
        self._starts = frozenset(stop[:size] for stop in self._stops for size in range(1, len(stop)))

    @property
    def held(self) -> str:
        """Text received but not yet released (it could still be the start of a stop string)."""
        return self._held

    def push(self, delta: str) -> tuple[str, bool]:
        """Add ``delta``; return (text now safe to emit, whether a stop string was found).

        When a stop string is found the text is cut just before it and nothing after it is kept.
        """
        if not self._stops or not delta:
            return delta, False
        pending = self._held + delta
        cut = -1
        for stop in self._stops:
            found = pending.find(stop)
            if found != -1 and (cut == -1 or found < cut):
                cut = found
                self.matched = stop
        if cut != -1:
            self._held = ""
            return pending[:cut], True
        keep = self._holdback(pending)
        self._held = pending[len(pending) - keep:] if keep else ""
        return pending[:len(pending) - keep], False

    def flush(self) -> str:
        """Release everything held back (the request ended without completing a stop string)."""
        out, self._held = self._held, ""
        return out

    def _holdback(self, text: str) -> int:
        """Length of the longest end of ``text`` that is the start of some stop string."""
        starts = self._starts
        for size in range(min(self._longest - 1, len(text)), 0, -1):
            if text[-size:] in starts:
                return size
        return 0
