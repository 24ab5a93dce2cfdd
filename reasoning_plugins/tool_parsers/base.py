"""The tool-call parser interface.

A tool-call parser turns the *content* part of a model's output (never the reasoning part)
into OpenAI-style tool calls. Like reasoning parsers, one instance serves one request, and
there are two ways in that share one state machine:

- ``parser.parse(content)`` for a complete output -> :class:`ToolParseResult`;
- ``stream = parser.start_stream()``, then ``stream.feed(delta_text)`` per content delta and
  ``stream.finish()`` at the end -> :class:`ToolStreamDelta` each, where the concatenated
  deltas equal the non-streaming result.

A parser also describes how a single call is written, so a server can *force* a call with
guided decoding (``tool_choice="required"`` or a named function): ``call_prefix`` and
``call_suffix`` surround a JSON object that matches :meth:`ToolParser.call_schema`.

Example (a parser for ``[[call]]{...}[[/call]]`` could reuse the hermes machinery)::

    from reasoning_plugins.tool_parsers.hermes import HermesToolParser

    class BracketToolParser(HermesToolParser):
        call_prefix = "[[call]]"
        call_suffix = "[[/call]]"
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "ToolCall",
    "ToolCallDelta",
    "ToolCallStream",
    "ToolParseResult",
    "ToolParser",
    "ToolStreamDelta",
    "make_tool_call_id",
    "tool_function",
]


def make_tool_call_id() -> str:
    """A fresh OpenAI-style tool call id (``call_`` and 24 hex digits)."""
    return "call_" + uuid.uuid4().hex[:24]


@dataclass(slots=True)
class ToolCall:
    """One complete tool call; ``arguments`` is JSON text, as in the OpenAI API."""

    id: str
    name: str
    arguments: str

    def to_openai(self) -> dict[str, Any]:
        """The call as an OpenAI ``message.tool_calls`` entry."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of a streamed tool call.

    The first piece of call ``index`` carries ``id`` and ``name`` (and ``arguments`` = ``""``
    or the first fragment); later pieces carry only argument fragments.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str | None = None

    def to_openai(self) -> dict[str, Any]:
        """The piece as an OpenAI ``delta.tool_calls`` entry."""
        out: dict[str, Any] = {"index": self.index}
        function: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
            out["type"] = "function"
        if self.name is not None:
            function["name"] = self.name
        if self.arguments is not None:
            function["arguments"] = self.arguments
        if function:
            out["function"] = function
        return out


@dataclass(slots=True)
class ToolStreamDelta:
    """What one ``feed()``/``finish()`` produced: plain content and tool-call pieces."""

    content: str | None = None
    tool_calls: list[ToolCallDelta] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.content is not None or bool(self.tool_calls)


@dataclass(slots=True)
class ToolParseResult:
    """A complete output split into content (``None`` when empty) and tool calls."""

    content: str | None
    tool_calls: list[ToolCall]


class ToolCallStream(ABC):
    """Incremental parsing state of one request."""

    @abstractmethod
    def feed(self, delta_text: str) -> ToolStreamDelta:
        """Consume the next piece of content; O(len(delta_text))."""

    @abstractmethod
    def finish(self) -> ToolStreamDelta:
        """Flush anything held back at the end of the output."""

    @property
    @abstractmethod
    def num_calls(self) -> int:
        """How many tool calls have been started so far."""


class ToolParser(ABC):
    """Base class of tool-call parsers; one instance serves one request."""

    name: ClassVar[str] = ""
    #: literal text that opens and closes one call around its JSON object
    call_prefix: ClassVar[str] = ""
    call_suffix: ClassVar[str] = ""

    def __init__(self, tokenizer: object | None = None) -> None:
        self.tokenizer = tokenizer

    @abstractmethod
    def start_stream(self) -> ToolCallStream:
        """Begin parsing one streamed output."""

    def parse(self, content: str | None) -> ToolParseResult:
        """Split a complete content string into plain content and tool calls."""
        stream = self.start_stream()
        pieces = [stream.feed(content or ""), stream.finish()]
        return merge_deltas(pieces)

    def call_schema(self, tools: Sequence[dict[str, Any]], name: str | None = None) -> dict[str, Any]:
        """JSON schema of one call object, for guided decoding.

        ``tools`` are OpenAI tool definitions; ``name`` restricts the call to that function.
        Raises ``ValueError`` when ``name`` is not among the tools.
        """
        functions = [tool_function(tool) for tool in tools]
        if name is not None:
            functions = [f for f in functions if f["name"] == name]
            if not functions:
                offered = ", ".join(tool_function(t)["name"] for t in tools) or "none"
                raise ValueError(f"tool_choice names function {name!r}, which is not among the tools offered ({offered})")
        if not functions:
            raise ValueError("a tool call was required but no tools were offered")
        variants = [self.single_call_schema(f["name"], f.get("parameters")) for f in functions]
        return variants[0] if len(variants) == 1 else {"anyOf": variants}

    def single_call_schema(self, name: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
        """Schema of a call to one function: ``{"name": <const>, "arguments": <parameters>}``."""
        arguments = parameters if parameters else {"type": "object"}
        return {
            "type": "object",
            "properties": {"name": {"const": name}, "arguments": arguments},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }


def tool_function(tool: dict[str, Any]) -> dict[str, Any]:
    """The ``function`` part of an OpenAI tool definition; ``ValueError`` if it is malformed."""
    if not isinstance(tool, dict):
        raise ValueError(f"each tool must be an object, got {type(tool).__name__}")
    function = tool.get("function")
    if tool.get("type", "function") != "function" or not isinstance(function, dict):
        raise ValueError('each tool must look like {"type": "function", "function": {"name": ..., "parameters": {...}}}')
    if not isinstance(function.get("name"), str) or not function["name"]:
        raise ValueError("each tool function needs a non-empty string 'name'")
    parameters = function.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise ValueError(f"tool {function['name']!r}: 'parameters' must be a JSON schema object")
    return function


def merge_deltas(pieces: Sequence[ToolStreamDelta]) -> ToolParseResult:
    """Fold streamed pieces into the complete result (what a non-streaming caller sees)."""
    content: list[str] = []
    calls: list[ToolCall] = []
    for piece in pieces:
        if piece.content is not None:
            content.append(piece.content)
        for delta in piece.tool_calls:
            if delta.index == len(calls):
                calls.append(ToolCall(id=delta.id or make_tool_call_id(), name=delta.name or "", arguments=""))
            call = calls[delta.index]
            if delta.arguments:
                call.arguments += delta.arguments
    text = "".join(content)
    return ToolParseResult(content=text or None, tool_calls=calls)
