"""Tool-call parsers: turn the content of a model's answer into OpenAI ``tool_calls``.

Built in: ``hermes`` (``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``). Others are
registered through the ``register_tool_parsers(register)`` hook, like reasoning parsers, and
looked up with ``reasoning_plugins.get_tool_parser(name)``.
"""

from __future__ import annotations

from .base import (
    ToolCall,
    ToolCallDelta,
    ToolCallStream,
    ToolParser,
    ToolParseResult,
    ToolStreamDelta,
    make_tool_call_id,
)
from .hermes import HermesToolParser

__all__ = [
    "HermesToolParser",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallStream",
    "ToolParseResult",
    "ToolParser",
    "ToolStreamDelta",
    "make_tool_call_id",
]
