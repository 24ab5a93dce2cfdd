"""Stop strings matched across token boundaries, with the smallest possible holdback."""

from __future__ import annotations


class StopTextBuffer:
    """Accumulates a request's text and releases only what can no longer be part of a stop string."""

    __slots__ = ("text", "matched", "_stops", "_longest", "_emitted")

    def __init__(self, stops: list[str] | None) -> None:
        self.text = ""
        self.matched: str | None = None     # the stop string that ended the text, once found
        self._stops = stops or []
        self._longest = max((len(s) for s in self._stops), default=0)
        self._emitted = 0

    def push(self, delta: str) -> tuple[str, bool]:
        """Add ``delta``; return (text now safe to emit, whether a stop string was found).

        When a stop string is found the text is cut just before it and nothing after it is kept.
        """
        if not self._stops:
            self.text += delta
            self._emitted = len(self.text)
            return delta, False
        search_from = max(0, len(self.text) - self._longest + 1)
        self.text += delta
        if not delta:
            return "", False
        cut = -1
        for stop in self._stops:
            found = self.text.find(stop, search_from)
            if found != -1 and (cut == -1 or found < cut):
                cut = found
                self.matched = stop
        if cut != -1:
            self.text = self.text[:cut]
            return self._release(len(self.text)), True
        return self._release(len(self.text) - self._holdback()), False

    def flush(self) -> str:
        """Release everything held back (the request ended without completing a stop string)."""
        return self._release(len(self.text))

    def _holdback(self) -> int:
        text = self.text
        for size in range(min(self._longest - 1, len(text) - self._emitted), 0, -1):
            tail = text[-size:]
            if any(stop.startswith(tail) for stop in self._stops):
                return size
        return 0

    def _release(self, upto: int) -> str:
        if upto <= self._emitted:
            return ""
        out = self.text[self._emitted:upto]
        self._emitted = upto
        return out
