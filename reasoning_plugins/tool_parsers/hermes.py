"""Hermes-style tool calls: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``.

Rules (the same for streaming and non-streaming, which share this state machine):

- Text outside ``<tool_call>...</tool_call>`` blocks is content. When the output has blocks,
  whitespace that only separates content from a block is dropped (so ``"\\n\\n<tool_call>..."``
  has no content); an output without blocks is returned unchanged.
- A block whose JSON starts ``{"name": "<str>", "arguments": `` (or ``"parameters"``) is
  streamed as it is written: first the id and name, then the arguments' raw JSON text in
  fragments, O(len(delta)) per delta.
- Any other block is buffered up to ``</tool_call>`` and decoded as a whole; if it is not a JSON
  object with a string ``name``, the block's text is returned as content (nothing is lost).
- A block cut off by the end of the output: a call whose name was complete keeps the arguments
  written so far; an incomplete header is returned as content.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from .base import ToolCallDelta, ToolCallStream, ToolParser, ToolStreamDelta, make_tool_call_id

__all__ = ["HermesToolParser"]

_OUTSIDE, _HEADER, _ARGS, _ARGS_BUFFER, _RAW, _TAIL = range(6)

# header grammar, matched one character at a time: ws { ws "name" ws : ws STRING ws , ws KEY ws : ws
_WS, _LIT, _STR, _KEY = range(4)
_HEADER_STEPS: tuple[tuple[int, Any], ...] = (
    (_WS, None), (_LIT, "{"), (_WS, None), (_LIT, '"name"'), (_WS, None), (_LIT, ":"), (_WS, None),
    (_STR, None), (_WS, None), (_LIT, ","), (_WS, None), (_KEY, ('"arguments"', '"parameters"')),
    (_WS, None), (_LIT, ":"), (_WS, None),
)
_JSON_STRUCTURAL = re.compile(r'["{}\[\]<]')
_IN_STRING = re.compile(r'["\\]')


class _HermesStream(ToolCallStream):
    """State of one streamed output."""

    __slots__ = (
        "_prefix", "_suffix", "_state", "_partial", "_ws", "_after_block", "_calls",
        "_head", "_step", "_step_pos", "_key", "_name_raw", "_name_escape",
        "_depth", "_in_string", "_escape", "_buffer", "_window", "_out_content", "_out_calls",
    )

    def __init__(self, prefix: str, suffix: str) -> None:
        self._prefix = prefix
        self._suffix = suffix
        self._state = _OUTSIDE
        self._partial = ""            # tail that may be the start of the prefix
        self._ws: list[str] = []      # whitespace held back: dropped if a block follows
        self._after_block = False     # drop whitespace right after a block
        self._calls = 0
        self._reset_block()
        self._out_content: list[str] = []
        self._out_calls: list[ToolCallDelta] = []

    @property
    def num_calls(self) -> int:
        return self._calls

    # ------------------------------------------------------------------ public
    def feed(self, delta_text: str) -> ToolStreamDelta:
        if delta_text:
            self._consume(delta_text)
        return self._collect()

    def finish(self) -> ToolStreamDelta:
        state = self._state
        if state == _OUTSIDE:
            partial, self._partial = self._partial, ""
            self._emit_text(partial, block_follows=False)
            self._flush_ws()
        elif state in (_HEADER, _RAW):
            # an unfinished block that never became a call: it is content
            self._after_block = False
            self._emit_text(self._prefix + self._head + "".join(self._buffer), block_follows=False)
            self._flush_ws()
        elif state == _ARGS_BUFFER:
            self._emit_args(self._buffered_arguments("".join(self._buffer)))
        self._state = _OUTSIDE
        self._reset_block()
        return self._collect()

    # ------------------------------------------------------------------ driver
    def _consume(self, text: str) -> None:
        while text:
            state = self._state
            if state == _OUTSIDE:
                text = self._outside(text)
            elif state == _HEADER:
                text = self._header(text)
            elif state == _ARGS:
                text = self._args(text)
            else:
                text = self._until_suffix(text)

    def _collect(self) -> ToolStreamDelta:
        content = "".join(self._out_content) if self._out_content else None
        calls = self._out_calls
        self._out_content = []
        self._out_calls = []
        if len(calls) > 1:
            calls = _coalesce(calls)
        return ToolStreamDelta(content=content or None, tool_calls=calls)

    def _reset_block(self) -> None:
        self._head = ""
        self._step = 0
        self._step_pos = 0
        self._key = ""
        self._name_raw: list[str] = []
        self._name_escape = False
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._buffer: list[str] = []
        self._window = ""

    # ------------------------------------------------------------------ content
    def _outside(self, text: str) -> str:
        text = self._partial + text
        self._partial = ""
        start = text.find(self._prefix)
        if start >= 0:
            self._emit_text(text[:start], block_follows=True)
            self._state = _HEADER
            self._reset_block()
            return text[start + len(self._prefix):]
        keep = _prefix_overlap(text, self._prefix)
        if keep:
            self._partial = text[-keep:]
            text = text[:-keep]
        self._emit_text(text, block_follows=False)
        return ""

    def _emit_text(self, text: str, *, block_follows: bool) -> None:
        if self._after_block:
            text = text.lstrip()
            if not text:
                return
            self._after_block = False
        if block_follows:
            body = text.rstrip()
            if body:
                self._flush_ws()
                self._out_content.append(body)
            self._ws = []
            return
        body = text.rstrip()
        if body:
            self._flush_ws()
            self._out_content.append(body)
        if len(body) < len(text):
            self._ws.append(text[len(body):])

    def _flush_ws(self) -> None:
        if self._ws:
            self._out_content.append("".join(self._ws))
            self._ws = []

    # ------------------------------------------------------------------ header
    def _header(self, text: str) -> str:
        for i, ch in enumerate(text):
            outcome = self._header_char(ch)
            if outcome is None:          # header rejected: buffer the block as a whole
                self._head += text[:i]
                self._state = _RAW
                return text[i:]
            if outcome == "value":       # first character of the arguments value
                self._head += text[:i]
                self._start_call()
                return text[i:]
        self._head += text
        return ""

    def _header_char(self, ch: str) -> str | None:
        """Advance the header matcher by one character: "more", "value" or None (rejected)."""
        while self._step < len(_HEADER_STEPS):
            kind, arg = _HEADER_STEPS[self._step]
            if kind == _WS:
                if ch.isspace():
                    return "more"
                self._step += 1
                continue
            if kind == _LIT:
                if ch != arg[self._step_pos]:
                    return None
                self._step_pos += 1
                if self._step_pos == len(arg):
                    self._step += 1
                    self._step_pos = 0
                return "more"
            if kind == _KEY:
                so_far = self._key + ch
                if not any(key.startswith(so_far) for key in arg):
                    return None
                self._key = so_far
                if so_far in arg:
                    self._step += 1
                    self._key = ""
                return "more"
            # _STR: the function name
            if self._step_pos == 0:
                if ch != '"':
                    return None
                self._step_pos = 1
                return "more"
            self._name_raw.append(ch)
            if self._name_escape:
                self._name_escape = False
            elif ch == "\\":
                self._name_escape = True
            elif ch == '"':
                self._step += 1
                self._step_pos = 0
            return "more"
        return "value"

    def _start_call(self) -> None:
        name = _decode_json_string('"' + "".join(self._name_raw))
        index = self._calls
        self._calls += 1
        self._out_calls.append(ToolCallDelta(index=index, id=make_tool_call_id(), name=name, arguments=""))
        self._state = _ARGS

    # ------------------------------------------------------------------ arguments
    def _args(self, text: str) -> str:
        pos = 0
        n = len(text)
        if self._depth == 0 and not self._in_string:
            # first non-space character of the value decides how it is read
            stripped = len(text) - len(text.lstrip())
            if stripped == n:
                return ""
            pos = stripped
            if text[pos] not in "{[":
                self._state = _ARGS_BUFFER
                return text[pos:]
        begin = pos
        while pos < n:
            if self._in_string:
                if self._escape:         # the character after a backslash that ended the last delta
                    self._escape = False
                    pos += 1
                    continue
                m = _IN_STRING.search(text, pos)
                if m is None:
                    pos = n
                    break
                pos = m.end()
                if m.group() == "\\":
                    if pos < n:
                        pos += 1
                    else:
                        self._escape = True
                else:
                    self._in_string = False
                continue
            m = _JSON_STRUCTURAL.search(text, pos)
            if m is None:
                pos = n
                break
            ch = m.group()
            if ch == "<":                # malformed: the block closes before the value does
                self._emit_args(text[begin:m.start()])
                self._state = _TAIL
                return text[m.start():]
            pos = m.end()
            if ch == '"':
                self._in_string = True
            elif ch in "{[":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    self._emit_args(text[begin:pos])
                    self._state = _TAIL
                    return text[pos:]
        self._emit_args(text[begin:pos])
        return ""

    def _emit_args(self, fragment: str) -> None:
        if fragment:
            self._out_calls.append(ToolCallDelta(index=self._calls - 1, arguments=fragment))

    # ------------------------------------------------------------------ block end
    def _until_suffix(self, text: str) -> str:
        # search only the new text and the few characters before it that could start the suffix
        window = self._window + text
        end = window.find(self._suffix)
        if end < 0:
            self._buffer.append(text)
            self._window = window[-(len(self._suffix) - 1):]
            return ""
        before = "".join(self._buffer)
        body = before[:len(before) - len(self._window)] + window[:end]
        rest = window[end + len(self._suffix):]
        state = self._state
        if state == _RAW:
            self._close_raw(body)
        elif state == _ARGS_BUFFER:
            self._emit_args(self._buffered_arguments(body))
            self._after_block = True
        else:  # _TAIL
            self._after_block = True
        self._state = _OUTSIDE
        self._reset_block()
        return rest

    def _buffered_arguments(self, value_text: str) -> str:
        call = _decode_call(self._head + value_text)
        return call[1] if call is not None else _loose_arguments(value_text)

    def _close_raw(self, body: str) -> None:
        text = self._head + body
        call = _decode_call(text)
        if call is None:
            self._after_block = False
            self._emit_text(self._prefix + text + self._suffix, block_follows=False)
            return
        name, arguments = call
        index = self._calls
        self._calls += 1
        self._out_calls.append(ToolCallDelta(index=index, id=make_tool_call_id(), name=name, arguments=arguments))
        self._after_block = True


class HermesToolParser(ToolParser):
    """Tool calls written as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``."""

    name: ClassVar[str] = "hermes"
    call_prefix: ClassVar[str] = "<tool_call>"
    call_suffix: ClassVar[str] = "</tool_call>"

    def start_stream(self) -> ToolCallStream:
        return _HermesStream(self.call_prefix, self.call_suffix)


# ---------------------------------------------------------------------- helpers
def _prefix_overlap(text: str, prefix: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``prefix``."""
    first = prefix[0]
    start = max(0, len(text) - len(prefix) + 1)
    i = text.find(first, start)
    while i >= 0:
        if prefix.startswith(text[i:]):
            return len(text) - i
        i = text.find(first, i + 1)
    return 0


def _coalesce(calls: list[ToolCallDelta]) -> list[ToolCallDelta]:
    """Merge consecutive pieces of the same call produced by one feed."""
    merged: list[ToolCallDelta] = []
    for piece in calls:
        last = merged[-1] if merged else None
        if last is not None and last.index == piece.index and piece.id is None:
            last.arguments = (last.arguments or "") + (piece.arguments or "")
        else:
            merged.append(ToolCallDelta(piece.index, piece.id, piece.name, piece.arguments))
    return merged


def _decode_json_string(raw: str) -> str:
    try:
        value = json.loads(raw)
    except ValueError:
        return raw.strip('"')
    return value if isinstance(value, str) else raw.strip('"')


def _decode_call(text: str) -> tuple[str, str] | None:
    """``(name, arguments JSON)`` from a whole block body, or None if it is not a call."""
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"]:
        return None
    arguments = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(arguments, str):
        return obj["name"], arguments
    return obj["name"], json.dumps(arguments, ensure_ascii=False)


def _loose_arguments(value_text: str) -> str:
    """Arguments from a value that is not an object: a JSON string is unwrapped, else kept."""
    text = value_text.strip()
    if text.endswith("}"):
        text = text[:-1].rstrip()
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
