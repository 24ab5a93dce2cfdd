"""Looking up marker token ids in whatever tokenizer an engine hands us (cached per tokenizer)."""

from __future__ import annotations

import weakref
from typing import Any

_CACHE: dict[tuple[int, tuple[str, ...]], tuple[Any, dict[str, int]]] = {}


def _single_token_id(tokenizer: Any, marker: str) -> int | None:
    convert = getattr(tokenizer, "convert_tokens_to_ids", None)
    if convert is not None:
        try:
            token_id = convert(marker)
        except Exception:
            token_id = None
        unk = getattr(tokenizer, "unk_token_id", None)
        if isinstance(token_id, int) and token_id >= 0 and (unk is None or token_id != unk or marker == getattr(tokenizer, "unk_token", None)):
            return token_id
    get_vocab = getattr(tokenizer, "get_vocab", None)
    if get_vocab is not None:
        try:
            token_id = get_vocab().get(marker)
        except Exception:
            token_id = None
        if isinstance(token_id, int):
            return token_id
    encode = getattr(tokenizer, "encode", None)
    if encode is not None:
        try:
            ids = encode(marker, add_special_tokens=False)
        except TypeError:
            ids = encode(marker)
        except Exception:
            ids = None
        if ids is not None and len(ids) == 1:
            return int(ids[0])
    return None


def marker_token_ids(tokenizer: Any, markers: tuple[str, ...]) -> dict[str, int]:
    """Map each marker that is a single token of ``tokenizer`` to its id."""
    if tokenizer is None:
        return {}
    key = (id(tokenizer), markers)
    hit = _CACHE.get(key)
    if hit is not None:
        ref, found = hit
        if ref() is tokenizer:
            return found
    found = {}
    for marker in markers:
        token_id = _single_token_id(tokenizer, marker)
        if token_id is not None:
            found[marker] = token_id
    try:
        ref = weakref.ref(tokenizer)
    except TypeError:
        ref = lambda: tokenizer  # noqa: E731 - objects without weakref support are kept alive
    _CACHE[key] = (ref, found)
    return found


def encode_plain(tokenizer: Any, text: str) -> list[int]:
    """Token ids of ``text`` without special tokens added."""
    try:
        return list(tokenizer.encode(text, add_special_tokens=False))
    except TypeError:
        return list(tokenizer.encode(text))


def blank_token_checker(tokenizer: Any) -> Any:
    """``is_blank(token_id)``: whether a token decodes to whitespace only (cached), or None."""
    decode = getattr(tokenizer, "decode", None)
    if decode is None:
        return None
    cache: dict[int, bool] = {}

    def is_blank(token_id: int) -> bool:
        blank = cache.get(token_id)
        if blank is None:
            try:
                text = decode([token_id])
            except Exception:
                text = "x"
            blank = cache[token_id] = bool(text) and not text.strip()
        return blank

    return is_blank


class TextMarkers:
    """Finds markers that are not single tokens of a tokenizer in a sequence of token ids.

    A marker spelled by several ordinary tokens (a tool-call opener the tokenizer lacks) has no
    id to look for, so its text is read back: ``finder()`` follows one sequence token by token
    (each token decoded with the few before it, so a character split across tokens decodes
    whole) and says on which token a marker's text is complete; :meth:`first_end` finds that
    token in a whole sequence with a few decodes of it.
    """

    __slots__ = ("_decode", "markers", "window")

    def __init__(self, decode: Any, markers: tuple[str, ...]) -> None:
        self._decode = decode
        self.markers = markers
        # tokens decoded together: every token of a marker adds at least one character to it
        self.window = max(len(m) for m in markers) + 2

    def text(self, ids: Any) -> str:
        return self._decode(list(ids))

    def found_in(self, text: str) -> bool:
        return any(marker in text for marker in self.markers)

    def finder(self) -> TextMarkerFinder:
        return TextMarkerFinder(self)

    def first_end(self, ids: Any, start: int, stop: int) -> int | None:
        """Index of the token of ``ids[start:stop]`` on which a marker's text is first complete."""
        if stop <= start or not self.found_in(self.text(ids[start:stop])):
            return None
        low, high = start, stop - 1  # the answer lies in [low, high]
        while low < high:
            middle = (low + high) // 2
            if self.found_in(self.text(ids[start : middle + 1])):
                high = middle
            else:
                low = middle + 1
        return low


class TextMarkerFinder:
    """One sequence's state for :class:`TextMarkers`: ``feed(token_id)`` is True on the token
    that completes a marker's text."""

    __slots__ = ("_markers", "_ids")

    def __init__(self, markers: TextMarkers) -> None:
        self._markers = markers
        self._ids: list[int] = []

    def feed(self, token_id: int) -> bool:
        ids = self._ids
        ids.append(token_id)
        window = self._markers.window
        if len(ids) > window:
            del ids[: len(ids) - window]
        markers = self._markers
        if not markers.found_in(markers.text(ids)):
            return False
        # complete on this token only if it was not already before it
        return not markers.found_in(markers.text(ids[:-1]))


def text_markers(tokenizer: Any, markers: tuple[str, ...]) -> TextMarkers | None:
    """A :class:`TextMarkers` for those of ``markers`` that are not single tokens, or None."""
    if tokenizer is None or not markers:
        return None
    decode = getattr(tokenizer, "decode", None)
    if decode is None:
        return None
    single = marker_token_ids(tokenizer, markers)
    rest = tuple(m for m in markers if m not in single)
    if not rest:
        return None

    def decode_all(ids: list[int]) -> str:
        try:
            return decode(ids, skip_special_tokens=False)
        except TypeError:
            return decode(ids)

    return TextMarkers(decode_all, rest)
