"""A parser's markers: what they are, and where to find them on a parser class.

Used by the conformance suite (which markers to exercise) and by the reference engine (a
reasoner derived for a parser registered without one). Markers are found, in this order:

1. what the caller was told at run time (``declared``);
2. a ``conformance_markers`` class attribute: ``(start, end)`` or a mapping;
3. our ``format`` (a :class:`~reasoning_plugins.ReasoningFormat`);
4. the attributes engines' parsers already carry, on the class or on an instance built with the
   tokenizer: ``start_token``/``end_token``, ``think_start_token``/``think_end_token``,
   ``reasoning_start_str``/``reasoning_end_str``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._format import ReasoningFormat

__all__ = ["ATTRIBUTE_PAIRS", "Markers", "discover_markers"]

# Attribute names engines' own parsers use for their marker texts (start, end).
ATTRIBUTE_PAIRS = (
    ("start_token", "end_token"),
    ("think_start_token", "think_end_token"),
    ("reasoning_start_str", "reasoning_end_str"),
)

@dataclass(frozen=True, slots=True)
class Markers:
    """The marker texts a parser reacts to.

    start/end: the reasoning block's markers (``start`` None when the model never writes one);
    implicit_ends: markers that end reasoning and stay in the content (a tool-call opener);
    content_wrapper: (open, close) markers around the content, removed by the parser;
    start_label: text right after the start marker (or at the start of output that begins in
    reasoning) that the parser removes with it (Gemma 4's ``thought\\n``);
    leading_end: an end marker opening output outside reasoning is markup, removed (MiniMax M3).
    """

    end: str
    start: str | None = None
    implicit_ends: tuple[str, ...] = ()
    content_wrapper: tuple[str, str] | None = None
    start_label: str | None = None
    leading_end: bool = False

    def __post_init__(self) -> None:
        for marker in (self.end, self.start, *self.implicit_ends, *(self.content_wrapper or ())):
            if marker is not None and (not isinstance(marker, str) or not marker):
                raise ValueError(f"markers must be non-empty strings, got {marker!r}")
        if self.start == self.end:
            raise ValueError(f"the start and end markers must differ, both are {self.end!r}")

    @classmethod
    def from_format(cls, fmt: ReasoningFormat) -> Markers:
        return cls(end=fmt.end, start=fmt.start, implicit_ends=tuple(fmt.implicit_ends), content_wrapper=fmt.content_wrapper,
                   start_label=fmt.start_label, leading_end=fmt.leading_end_is_markup)

    @classmethod
    def from_declaration(cls, value: Any, owner: str) -> Markers:
        """Read a ``conformance_markers`` class attribute: ``(start, end)`` or a mapping."""
        if isinstance(value, Markers):
            return value
        if isinstance(value, ReasoningFormat):
            return cls.from_format(value)
        if isinstance(value, Mapping):
            unknown = set(value) - {"start", "end", "implicit_ends", "content_wrapper", "start_label", "leading_end"}
            if unknown or "end" not in value:
                raise ValueError(
                    f"{owner}.conformance_markers: expected keys start, end, implicit_ends, "
                    f"content_wrapper, start_label, leading_end ('end' required); got {sorted(value)}"
                )
            wrapper = value.get("content_wrapper")
            return cls(
                end=value["end"],
                start=value.get("start"),
                implicit_ends=tuple(value.get("implicit_ends") or ()),
                content_wrapper=tuple(wrapper) if wrapper else None,  # type: ignore[arg-type]
                start_label=value.get("start_label"),
                leading_end=bool(value.get("leading_end", False)),
            )
        if isinstance(value, tuple | list) and len(value) == 2:
            return cls(start=value[0], end=value[1])
        raise ValueError(
            f"{owner}.conformance_markers must be (start, end), e.g. ('<think>', '</think>') "
            f"with start None when the model never writes one, or a mapping; got {value!r}"
        )

    @property
    def removed(self) -> tuple[str, ...]:
        """Markers that never appear in either section when they act as markers."""
        found = [self.end]
        if self.start:
            found.append(self.start)
        if self.content_wrapper:
            found.extend(self.content_wrapper)
        return tuple(found)

    @property
    def every(self) -> tuple[str, ...]:
        return (*self.removed, *self.implicit_ends)

    @property
    def edge_chars(self) -> frozenset[str]:
        """First and last characters of the removed markers: text free of them cannot hold a fragment."""
        return frozenset(ch for marker in self.removed for ch in (marker[0], marker[-1]))


def _pair(owner: Any) -> tuple[tuple[str, str], str | None] | None:
    """The first attribute pair of ``owner`` whose end is a non-empty string."""
    for start_name, end_name in ATTRIBUTE_PAIRS:
        try:
            start, end = getattr(owner, start_name, None), getattr(owner, end_name, None)
        except Exception:  # a property that needs state the owner does not have
            continue
        if isinstance(end, str) and end and (start is None or (isinstance(start, str) and start and start != end)):
            return (start_name, end_name), start
    return None


def discover_markers(
    parser_cls: Any, declared: tuple[str | None, str] | None, new_parser: Callable[[], Any]
) -> tuple[Markers | None, str]:
    """(markers, where they came from); (None, why not) when none can be found.

    ``declared`` is what the author passed at run time; ``new_parser`` builds an instance with
    the tokenizer, for attributes set in ``__init__``.
    """
    if declared is not None:
        start, end = declared
        return Markers(start=start, end=end), "given with --markers"
    if parser_cls is None:
        return None, "no parser"
    owner = getattr(parser_cls, "__name__", "parser")
    value = getattr(parser_cls, "conformance_markers", None)
    if value is not None:
        return Markers.from_declaration(value, owner), f"{owner}.conformance_markers"
    fmt = getattr(parser_cls, "format", None)
    if isinstance(fmt, ReasoningFormat):
        return Markers.from_format(fmt), f"{owner}.format"
    found = _pair(parser_cls)
    where = "class"
    if found is None:
        try:
            instance = new_parser()
        except Exception as exc:
            return None, f"{owner}(tokenizer) raised {type(exc).__name__}: {exc}"
        found = _pair(instance)
        where = "instance"
        if found is None:
            return None, "no marker attributes"
        names, start = found
        end = getattr(instance, names[1])
    else:
        names, start = found
        end = getattr(parser_cls, names[1])
    return Markers(start=start, end=end), f"{owner} {where} attributes {names[0]}/{names[1]}"
