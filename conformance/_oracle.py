"""The documented meaning of a :class:`ReasoningFormat`, written plainly (not incrementally).

Used by the mode checks as the expected answer for short, unambiguous outputs. It deliberately
shares no code with the scanner it is compared against.
"""

from __future__ import annotations

from reasoning_plugins import Mode, ReasoningFormat

from ._drive import Split

__all__ = ["expected_split"]


def _verbatim(text: str) -> Split:
    return Split.of("", text)


def _after_wrapper(fmt: ReasoningFormat, text: str) -> str:
    return text.lstrip("\n") if fmt.trim_content_leading_newlines else text


def _wrapped(fmt: ReasoningFormat, text: str) -> str:
    """Content inside the wrapper (its opener already consumed), then what follows it."""
    assert fmt.content_wrapper is not None
    closer = fmt.content_wrapper[1]
    at = text.find(closer)
    if at < 0:
        return text
    inner = text[:at]
    if fmt.trim_wrapper_newlines and inner.endswith("\n"):
        inner = inner[:-1]
    return inner + _after_wrapper(fmt, text[at + len(closer) :])


def _content(fmt: ReasoningFormat, text: str) -> str:
    """Content right after the end marker (or from the start when thinking is off)."""
    if fmt.trim_content_leading_newlines:
        text = text.lstrip("\n")
    if fmt.content_wrapper and text.startswith(fmt.content_wrapper[0]):
        text = text[len(fmt.content_wrapper[0]) :]
        if fmt.trim_wrapper_newlines and text.startswith("\n"):
            text = text[1:]
        return _wrapped(fmt, text)
    return text


def _opened(fmt: ReasoningFormat, text: str) -> str:
    """Content that begins without the end marker: a wrapper's opener right at its start is markup
    (no newline is)."""
    if fmt.content_wrapper and text.startswith(fmt.content_wrapper[0]):
        return _content(fmt, text)
    return text


def expected_split(fmt: ReasoningFormat, mode: Mode, text: str) -> Split:
    """(reasoning, content) that ``fmt`` documents for ``text`` when the output starts in ``mode``."""
    if mode is Mode.TOOL_CALL:
        return _verbatim(text)
    if mode is Mode.RESPONSE:
        return _verbatim(_wrapped(fmt, text) if fmt.content_wrapper else text)
    if mode is Mode.CONTENT:
        if fmt.leading_end_is_markup and text.startswith(fmt.end):
            text = text[len(fmt.end) :]  # a stray end marker as the very first text is markup
        return _verbatim(_content(fmt, text))
    if mode is Mode.AWAIT_START and fmt.start:
        stripped = text.lstrip()
        if fmt.leading_end_is_markup and stripped.startswith(fmt.end):
            # a stray end marker as the first word: it and the whitespace before it are markup
            return _verbatim(_content(fmt, stripped[len(fmt.end) :]))
        if not stripped.startswith(fmt.start):
            return _verbatim(_opened(fmt, text))
        text = stripped[len(fmt.start) :]
    label = fmt.start_label
    if label and text.startswith(label):
        text = text[len(label) :]  # where reasoning opens, the label is markup
    # reasoning is open: it runs to the end marker or an implicit end, whichever comes first
    ends = [(text.find(fmt.end), fmt.end, False)] + [(text.find(m), m, True) for m in fmt.implicit_ends]
    ends = [e for e in ends if e[0] >= 0]
    if not ends:
        return Split.of(_drop_starts(fmt, text), "")
    at, marker, implicit = min(ends, key=lambda e: (e[0], -len(e[1])))
    reasoning = _drop_starts(fmt, text[:at])
    if implicit:
        return Split.of(reasoning, _opened(fmt, text[at:]))  # the marker stays, unless it opens the wrapper
    if fmt.trim_newline_before_end and reasoning.endswith("\n"):
        reasoning = reasoning[:-1]
    rest = text[at + len(marker) :]
    if fmt.content_wrapper or fmt.trim_content_leading_newlines:
        rest = _content(fmt, rest)
    return Split.of(reasoning, rest)


def _drop_starts(fmt: ReasoningFormat, reasoning: str) -> str:
    """Reasoning without the start markers written inside it (and the label after each)."""
    if not fmt.start:
        return reasoning
    if fmt.start_label:
        reasoning = reasoning.replace(fmt.start + fmt.start_label, "")
    return reasoning.replace(fmt.start, "")
