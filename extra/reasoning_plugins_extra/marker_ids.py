"""Markers an engine left out of the text, put back from their token ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reasoning_plugins.protocol import ReasoningDelta

__all__ = ["IdAlignedStream", "MarkerIds", "proper_prefix"]


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


def proper_prefix(text: str, markers: Sequence[str]) -> bool:
    """Whether ``text`` is the start of one of ``markers`` but not the whole of it."""
    return any(len(text) < len(m) and m.startswith(text) for m in markers)


class IdAlignedStream:
    """The delta-by-delta half of a stream that scans text of its own (Inkling, Beam): with token
    ids, markers an engine left out of the text are put back first (``self._ids``, a
    :class:`MarkerIds` or None); ``_scan(text, final)`` does the rest."""

    __slots__ = ()
    _ids: MarkerIds | None
    _finished: bool

    # markup (closers, terminators, headers) may follow any content: never plain from here on
    in_plain_content = False

    def feed(self, delta_text: str | None, delta_token_ids: Sequence[int] | None = None) -> ReasoningDelta | None:
        if self._finished:
            raise RuntimeError("this stream has finished; start a new stream for a new request")
        if self._ids is not None and delta_token_ids:
            delta_text = self._ids.align(delta_text or "", delta_token_ids)
        if not delta_text:
            return None
        return self._scan(delta_text, final=False)

    def finish(self) -> ReasoningDelta | None:
        if self._finished:
            return None
        self._finished = True
        rest = self._ids.align("", (), final=True) if self._ids is not None else ""
        return self._scan(rest, final=True)

    def _scan(self, delta: str, final: bool) -> ReasoningDelta | None:
        raise NotImplementedError
