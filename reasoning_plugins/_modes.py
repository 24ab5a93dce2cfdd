"""Where a model's output starts: inside reasoning, in content, or waiting for a start marker.

The mode is an explicit input to every parser and reasoner. It is resolved, in order, from an
explicit value, the prompt's tail (a template that prefilled ``<think>`` or closed the block),
the request's thinking switches, and finally the format's default.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

__all__ = ["Mode", "coerce_mode", "request_field", "thinking_switch"]

# How many trailing prompt tokens / characters count as the "tail" where a template leaves its
# generation prompt. Enough for `<think>\n\n</think>\n\n` plus a role header, small enough that
# a marker quoted in an earlier turn is not mistaken for the template's.
PROMPT_TAIL_TOKENS = 16
PROMPT_TAIL_CHARS = 64


class Mode(str, enum.Enum):
    """The state the output begins in."""

    REASONING = "reasoning"  # reasoning is open (the template prefilled the start marker)
    AWAIT_START = "await_start"  # the model may open reasoning itself with the start marker
    CONTENT = "content"  # thinking is off or already closed: everything is content
    RESPONSE = "response"  # inside a content wrapper such as ERNIE's <response> already
    TOOL_CALL = "tool_call"  # inside a tool call already: content, verbatim


# FastDeploy derives a "model_status" from the prompt; accept its values as modes.
_MODEL_STATUS = {
    "think_start": Mode.REASONING,
    "thinking": Mode.REASONING,
    "think_end": Mode.CONTENT,
    "responding": Mode.CONTENT,
    "response_start": Mode.RESPONSE,
    "tool_call_start": Mode.TOOL_CALL,
    "tool_call_end": Mode.CONTENT,
}


def coerce_mode(value: Mode | str) -> Mode:
    """Turn a :class:`Mode`, its value, or a FastDeploy ``model_status`` string into a Mode."""
    if isinstance(value, Mode):
        return value
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _MODEL_STATUS:
            return _MODEL_STATUS[key]
        try:
            return Mode(key)
        except ValueError:
            pass
    accepted = sorted({m.value for m in Mode} | set(_MODEL_STATUS))
    raise ValueError(f"unknown reasoning mode {value!r}; expected one of: {', '.join(accepted)}")


def request_field(request: Any, name: str) -> Any:
    """Read a top-level field from a request given as a pydantic model, a dict, or None."""
    if request is None:
        return None
    if isinstance(request, dict):
        return request.get(name)
    value = getattr(request, name, None)
    if value is None:
        extra = getattr(request, "model_extra", None)
        if extra:
            value = extra.get(name)
    return value


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "1", "yes", "on", "open", "enabled"}:
            return True
        if lowered in {"false", "0", "no", "off", "close", "closed", "disabled"}:
            return False
    if isinstance(value, int):
        return bool(value)
    return None


# reasoning_effort levels that turn thinking off where ``reasoning_effort`` is a declared switch:
# OpenAI's "none", and "no_think" as Hunyuan's chat templates name it. Every other level thinks.
EFFORT_OFF = frozenset({"none", "no_think"})


def thinking_switch(
    request: Any, switches: Sequence[str], off_values: Sequence[tuple[str, str]] = ()
) -> bool | None:
    """The request's thinking on/off switch among ``switches``, or None when it sets none.

    Switch names: ``enable_thinking`` and ``thinking`` (``chat_template_kwargs``, or top level),
    ``thinking_mode`` (``chat_template_kwargs.options.thinking_mode``: "open"/"close", as ERNIE
    reads it, else ``chat_template_kwargs.thinking_mode``: "enabled"/"disabled", as MiniMax M3),
    ``reasoning_effort`` (``chat_template_kwargs``, or top level: off at a level of
    :data:`EFFORT_OFF`, on at any other level; the first switch the request sets decides).
    ``off_values``: ``(field, value)`` pairs that turn thinking off whatever the switches say
    (DeepSeek V4's ``("reasoning_effort", "none")``, where other levels leave thinking as the
    switches decide), read from ``chat_template_kwargs``, else the top level.
    """
    if request is None or not (switches or off_values):
        return None
    kwargs = request_field(request, "chat_template_kwargs") or {}
    if not isinstance(kwargs, dict):
        return None
    for name, value in off_values:
        raw = kwargs.get(name)
        if raw is None:
            raw = request_field(request, name)
        if isinstance(raw, str) and raw.strip().lower() == value.lower():
            return False
    for switch in switches:
        if switch == "thinking_mode":
            options = kwargs.get("options")
            raw = options.get("thinking_mode") if isinstance(options, dict) else None
            if raw is None:
                raw = kwargs.get("thinking_mode")
        elif switch == "reasoning_effort":
            raw = kwargs.get(switch)
            level = raw if raw is not None else request_field(request, switch)
            if isinstance(level, str) and level.strip():
                return level.strip().lower() not in EFFORT_OFF
            continue
        else:
            raw = kwargs.get(switch, request_field(request, switch))
        if raw is not None:
            decided = _as_bool(raw)
            if decided is not None:
                return decided
    return None


def mode_from_prompt_ids(
    prompt_token_ids: Sequence[int], start_id: int | None, end_ids: frozenset[int]
) -> Mode | None:
    """The mode implied by the last marker token in the prompt's tail, if any."""
    tail = prompt_token_ids[-PROMPT_TAIL_TOKENS:]
    for token in reversed(tail):
        if token in end_ids:
            return Mode.CONTENT
        if start_id is not None and token == start_id:
            return Mode.REASONING
    return None


def mode_from_prompt_text(prompt_text: str, start: str | None, end: str) -> Mode | None:
    """The mode implied by the last marker text in the prompt's tail, if any."""
    tail = prompt_text[-PROMPT_TAIL_CHARS:]
    end_at = tail.rfind(end)
    start_at = tail.rfind(start) if start else -1
    if end_at < 0 and start_at < 0:
        return None
    return Mode.CONTENT if end_at > start_at else Mode.REASONING


def reasoning_end_index(
    ids: Sequence[int],
    mode: Mode,
    start_id: int | None,
    end_id: int | None,
    implicit_ids: frozenset[int],
    is_blank: Any = None,
    text_ends: Any = None,
    leading_end: bool = False,
) -> int | None:
    """Index of an output's first content token, or None while reasoning has not ended.

    ``ids`` are the output's tokens, read from the start the way the parser reads the text: the
    first end marker ends reasoning and later markers (quoted in the answer) change nothing. In
    ``AWAIT_START`` leading whitespace tokens (``is_blank``) wait for the decision; when the first
    word is not the start marker, content tokens begin at that word (the text's content keeps
    the whitespace, but a grammar never sees it, as the tracker withholds it).

    ``text_ends`` (a ``TextMarkers``) finds implicit ends that are not single tokens by their
    text: content begins at the token that completes one, as the tracker sees it (the tokens
    that spelled its start were reasoning by the time it was complete).

    ``leading_end`` (the format's ``leading_end_is_markup``): an end marker token opening output
    outside reasoning (first in content, first word while awaiting the start) is markup, and
    content begins after it.
    """
    if mode is Mode.CONTENT or mode is Mode.RESPONSE or mode is Mode.TOOL_CALL:
        return 1 if leading_end and mode is Mode.CONTENT and ids and ids[0] == end_id else 0
    index = 0
    if mode is Mode.AWAIT_START and start_id is not None:
        while index < len(ids) and is_blank is not None and is_blank(ids[index]):
            index += 1
        if index == len(ids):
            return None
        if leading_end and ids[index] == end_id:
            return index + 1  # a stray end marker: markup, like the whitespace before it
        if ids[index] != start_id:
            return index  # whitespace before the first word is not for the grammar
        index += 1
    found = None
    stop = len(ids)  # the marker token that ends reasoning, if any
    for position in range(index, len(ids)):
        token = ids[position]
        if token == end_id:
            found, stop = position + 1, position
            break
        if token in implicit_ids:
            found = stop = position
            break
    if text_ends is not None:
        by_text = text_ends.first_end(ids, index, stop)
        if by_text is not None:
            return by_text
    return found
