"""Markers an engine left out of the text, put back from their token ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["MarkerIds"]


class MarkerIds:
    """Puts back the markers an engine left out of the text (``skip_special_tokens``).

    Each marker id is placed after as many characters of ordinary text as the ids before it
    decode to (the ids since the previous marker are decoded when a marker comes, so each id is
    decoded about once). Text may lag the ids (vLLM holding back what a stop string could match):
    a marker is placed only once the text has reached its place, and a marker whose text does
    arrive there is taken as it is.
    """

    __slots__ = ("_decode", "_by_id", "_context", "_plain", "_expected", "_seen", "_due", "_partial")

    def __init__(self, decode: Any, by_id: dict[int, str]) -> None:
        self._decode = decode
        self._by_id = by_id
        self._context: list[int] = []  # the last ordinary ids already counted (decoding context)
        self._plain: list[int] = []  # ordinary ids not counted yet: decoded when a marker comes
        self._expected = 0  # characters of ordinary text the counted ids decode to
        self._seen = 0  # characters of ordinary text received so far
        self._due: list[tuple[int, str]] = []  # (characters of text before it, marker)
        self._partial = ""  # text that may be the start of a due marker's own text

    def _count(self) -> None:
        """Count the ordinary ids since the last marker, decoded after a few ids of context (so a
        word's leading space and a character split across tokens come out as in the whole text)."""
        plain = self._plain
        if not plain:
            return
        context = self._context
        before = self._decode(context) if context else ""
        window = context + plain
        self._expected += len(self._decode(window)) - len(before)
        self._context = window[-4:]
        self._plain = []

    def align(self, text: str, ids: Sequence[int] | None, final: bool = False) -> str:
        """``text`` with the markers its ids announce and it lacks, where they belong."""
        for token in ids or ():
            marker = self._by_id.get(token)
            if marker is None:
                self._plain.append(token)
            else:
                self._count()
                self._due.append((self._expected, marker))
        if not self._due and not self._partial:
            self._seen += len(text)
            return text
        text = self._partial + text
        self._partial = ""
        out: list[str] = []
        i = 0
        while self._due:
            at, marker = self._due[0]
            gap = at - self._seen
            if gap > 0:  # ordinary text before the marker's place
                take = text[i : i + gap]
                out.append(take)
                self._seen += len(take)
                i += len(take)
                if len(take) < gap:
                    break
                continue
            rest = text[i:]
            if rest.startswith(marker):  # the engine sent the marker's text
                out.append(marker)
                i += len(marker)
            elif not final and len(rest) < len(marker) and marker.startswith(rest):
                self._partial = rest  # the marker's text may be arriving
                i = len(text)
                break
            elif not rest and not final:
                break  # the text has not reached past the marker yet
            else:
                out.append(marker)  # the engine left it out: put it back
            del self._due[0]
        tail = text[i:]
        self._seen += len(tail)
        out.append(tail)
        return "".join(out)
