"""Feeding outputs to parsers the ways engines do, and reading back what they return."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._results import CheckFailed, short
from ._subject import Context

__all__ = [
    "SEED_CALL",
    "Delta",
    "SeedCaller",
    "Split",
    "Streamed",
    "blank_tokens",
    "per_char",
    "read_pair",
    "per_token",
    "regroup",
    "run_parse",
    "run_seed",
    "run_stream",
    "whole",
]

Delta = tuple[str, "list[int] | None"]


@dataclass(frozen=True, slots=True)
class Split:
    """(reasoning, content) with ``None`` for an empty section."""

    reasoning: str | None
    content: str | None

    @classmethod
    def of(cls, reasoning: str, content: str) -> Split:
        return cls(reasoning or None, content or None)

    @property
    def text(self) -> str:
        return (self.reasoning or "") + (self.content or "")

    def __str__(self) -> str:
        return f"(reasoning={short(self.reasoning, 60)}, content={short(self.content, 60)})"


@dataclass(slots=True)
class Streamed:
    """What a stream returned: per delta (reasoning, content), the finish() part last."""

    split: Split
    deltas: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "" instead of None, wrong types

    @property
    def held_at_finish(self) -> tuple[str, str]:
        return self.deltas[-1] if self.deltas else ("", "")


def read_message(message: Any, where: str, problems: list[str]) -> tuple[str, str]:
    """The reasoning and content text of a returned message (None = nothing).

    The reasoning is ``reasoning_content``, or ``reasoning`` (vLLM's newer name) when a message
    has no ``reasoning_content``."""
    if message is None:
        return "", ""
    if isinstance(message, tuple | list | str) or not (
        hasattr(message, "reasoning_content") or hasattr(message, "reasoning") or hasattr(message, "content")
    ):
        raise CheckFailed(f"{where} returned {short(message, 60)}; expected a DeltaMessage or None")
    reasoning_attr = "reasoning_content"
    if getattr(message, "reasoning_content", None) is None and hasattr(message, "reasoning"):
        reasoning_attr = "reasoning"  # vLLM's DeltaMessage
    parts = []
    for attr in (reasoning_attr, "content"):
        value = getattr(message, attr, None)
        if value is None:
            parts.append("")
        elif not isinstance(value, str):
            raise CheckFailed(f"{where} returned {attr}={short(value, 60)}; expected str or None")
        else:
            if value == "":
                problems.append(f"{where} returned {attr}='' (an empty section must be None)")
            parts.append(value)
    return parts[0], parts[1]


def run_stream(parser: Any, ctx: Context, deltas: Sequence[Delta]) -> Streamed:
    """Native path: ``start_stream(...)``, ``feed`` each delta, then ``finish()``."""
    stream = parser.start_stream(**ctx.kwargs())
    return feed_all(stream, deltas)


def feed_all(stream: Any, deltas: Sequence[Delta], where: str = "feed()") -> Streamed:
    """Feed each delta to ``stream.feed`` then call ``stream.finish()`` (when it has one)."""
    out = Streamed(Split(None, None))
    reasoning: list[str] = []
    content: list[str] = []
    for index, (text, ids) in enumerate(deltas):
        r, c = read_message(stream.feed(text, ids), f"{where} of delta {index}", out.problems)
        out.deltas.append((r, c))
        reasoning.append(r)
        content.append(c)
    finish = getattr(stream, "finish", None)
    r, c = read_message(finish() if finish is not None else None, "finish()", out.problems)
    out.deltas.append((r, c))
    reasoning.append(r)
    content.append(c)
    out.split = Split.of("".join(reasoning), "".join(content))
    return out


def run_parse(parser: Any, ctx: Context, text: str, ids: Sequence[int] | None = None, problems: list[str] | None = None) -> Split:
    """Non-streaming path: ``parse(text, ...)``."""
    kwargs = ctx.kwargs()
    if ids is not None:
        kwargs["token_ids"] = list(ids)
    result = parser.parse(text, **kwargs)
    return read_pair(result, "parse()", problems)


def run_extract(parser: Any, ctx: Context, text: str, problems: list[str] | None = None) -> Split:
    """Seed non-streaming path: ``extract_reasoning_content(text, request)``."""
    return read_pair(parser.extract_reasoning_content(text, ctx.request), "extract_reasoning_content()", problems)


def read_pair(result: Any, where: str, problems: list[str] | None) -> Split:
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise CheckFailed(f"{where} returned {short(result, 60)}; expected a (reasoning, content) pair")
    for name, value in zip(("reasoning", "content"), result):
        if value is not None and not isinstance(value, str):
            raise CheckFailed(f"{where} returned {name}={short(value, 60)}; expected str or None")
        if value == "" and problems is not None:
            problems.append(f"{where} returned {name}='' (an empty section must be None)")
    return Split.of(result[0] or "", result[1] or "")


class SeedCaller:
    """One request's calls through the seed interface, keeping previous/current text and ids as
    engines do: ``current_text = previous_text + delta_text``, and the next call's
    ``previous_text`` is that very object. ``extra`` is appended to every call (FastDeploy's
    ``model_status``); ``keywords`` passes the six arguments by name (LMDeploy's call)."""

    __slots__ = ("extra", "keywords", "parser", "text", "ids")

    def __init__(self, parser: Any, *, extra: tuple[Any, ...] = (), keywords: bool = False) -> None:
        self.parser = parser
        self.extra = extra
        self.keywords = keywords
        self.text = ""
        self.ids: list[int] = []

    def feed(self, delta_text: str, ids: Sequence[int] | None) -> Any:
        delta_ids = list(ids or ())
        current_text = self.text + delta_text
        current_ids = self.ids + delta_ids
        if self.keywords:
            message = self.parser.extract_reasoning_content_streaming(
                previous_text=self.text, current_text=current_text, delta_text=delta_text,
                previous_token_ids=self.ids, current_token_ids=current_ids, delta_token_ids=delta_ids,
            )
        else:
            message = self.parser.extract_reasoning_content_streaming(
                self.text, current_text, delta_text, self.ids, current_ids, delta_ids, *self.extra
            )
        self.text, self.ids = current_text, current_ids
        return message

    def finish(self) -> Any:
        closing = getattr(self.parser, "finish", None)
        return closing() if closing is not None else None


SEED_CALL = "extract_reasoning_content_streaming()"


def run_seed(parser: Any, deltas: Sequence[Delta]) -> Streamed:
    """Seed path as vLLM calls it: previous/current text and ids on every delta, then finish()."""
    return feed_all(SeedCaller(parser), deltas, SEED_CALL)


# -- chunkings ------------------------------------------------------------------------------


def whole(text: str, ids: Sequence[int] | None = None) -> list[Delta]:
    return [(text, list(ids) if ids is not None else None)]


def per_char(text: str) -> list[Delta]:
    return [(ch, None) for ch in text]


@functools.lru_cache(maxsize=4096)
def _tokenize(tokenizer: Any, text: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    ids = tokenizer.encode(text, add_special_tokens=False)
    pieces: list[tuple[str, int]] = []
    emitted = ""
    for count in range(1, len(ids) + 1):
        decoded = tokenizer.decode(ids[:count], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if decoded.endswith("\ufffd") and count < len(ids):
            pieces.append(("", ids[count - 1]))  # part of a character: an engine sends no text yet
            continue
        if not decoded.startswith(emitted):
            raise RuntimeError(f"incremental decoding of {text!r} is not prefix-stable at token {count}")
        pieces.append((decoded[len(emitted):], ids[count - 1]))
        emitted = decoded
    return emitted, tuple(pieces)


def per_token(tokenizer: Any, text: str) -> tuple[str, list[Delta]]:
    """The tokenizer's tokens of ``text`` as an engine streams them: (decoded text, deltas).

    A token that ends inside a multi-byte character brings no text until the character completes.
    """
    decoded, pieces = _tokenize(tokenizer, text)
    return decoded, [(piece, [token]) for piece, token in pieces]


def regroup(deltas: Sequence[Delta], sizes: Sequence[int]) -> list[Delta]:
    """Merge consecutive deltas into groups of the given sizes (cycled), as multi-token deltas."""
    grouped: list[Delta] = []
    index = 0
    turn = 0
    while index < len(deltas):
        size = max(1, sizes[turn % len(sizes)]) if sizes else 1
        part = deltas[index : index + size]
        text = "".join(t for t, _ in part)
        ids: list[int] | None = None
        if any(i is not None for _, i in part):
            ids = [token for _, i in part for token in (i or ())]
        grouped.append((text, ids))
        index += size
        turn += 1
    return grouped


def cut(text: str, cuts: Sequence[int]) -> list[Delta]:
    """``text`` split at the given character offsets (text only, no ids)."""
    points = sorted({c for c in cuts if 0 < c < len(text)})
    bounds = [0, *points, len(text)]
    return [(text[a:b], None) for a, b in zip(bounds, bounds[1:])]


def blank_tokens(deltas: Sequence[Delta], blanked: frozenset[int]) -> list[Delta]:
    """Deltas as an engine decoding with ``skip_special_tokens=True`` sends them: no marker text."""
    return [("" if ids and len(ids) == 1 and ids[0] in blanked else text, ids) for text, ids in deltas]
