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
