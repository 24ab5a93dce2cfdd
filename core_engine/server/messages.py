"""``/v1/messages``: a planned chat request's output in the shapes of Anthropic's Messages API.

The output becomes content blocks in the order the model wrote them: ``thinking`` (signed, see
:mod:`.thinking_signature`), ``text`` and one ``tool_use`` per tool call. Streaming and
non-streaming build the blocks with the same :class:`ContentBlocks`, fed the same pieces.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from reasoning_plugins.tool_parsers.base import ToolCallDelta

from .assembly import Piece
from .chat import ChatRunner
from .messages_errors import anthropic_error_body
from .messages_protocol import CHAT_NAMES, MessagesRequest, to_chat_request
from .planning import ChatPlan
from .protocol import ServerChatRequest
from .thinking_signature import ThinkingSigner
from .translation import close_steps, encode_events, pieces_of

__all__ = ["ContentBlocks", "EVENT_SCHEMA", "MESSAGE_SCHEMA", "MessageCall", "MessagesApi", "complete_message",
           "stream_message"]

log = logging.getLogger("core_engine.server")

_TOKENS = {"type": "integer", "minimum": 0}
# the documented shape of a ``message`` object (the OpenAPI document's 200 for /v1/messages)
MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"],
    "properties": {
        "id": {"type": "string"},
        "type": {"const": "message"},
        "role": {"const": "assistant"},
        "model": {"type": "string"},
        "content": {"type": "array", "items": {
            "type": "object", "required": ["type"],
            "properties": {"type": {"enum": ["thinking", "text", "tool_use"]}}}},
        "stop_reason": {"enum": ["end_turn", "max_tokens", "stop_sequence", "tool_use"]},
        "stop_sequence": {"type": ["string", "null"]},
        "usage": {"type": "object", "required": ["input_tokens", "output_tokens"],
                  "properties": {"input_tokens": _TOKENS, "output_tokens": _TOKENS}},
    },
}
# the data of each server-sent event; the event's name is its type
EVENT_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type"],
    "properties": {"type": {"enum": ["message_start", "ping", "content_block_start", "content_block_delta",
                                     "content_block_stop", "message_delta", "message_stop", "error"]}}}


@dataclass(slots=True)
class MessageCall:
    """One ``/v1/messages`` request: the plan it runs as and the signer for its thinking."""

    plan: ChatPlan
    signer: ThinkingSigner
    message_id: str

    @classmethod
    def of(cls, plan: ChatPlan, signer: ThinkingSigner) -> MessageCall:
        return cls(plan, signer, f"msg_{uuid.uuid4().hex}")


class ContentBlocks:
    """Content blocks built from pieces, with the stream events that build them."""

    def __init__(self, signer: ThinkingSigner) -> None:
        self.blocks: list[dict[str, Any]] = []
        self._signer = signer
        self._open: dict[str, Any] | None = None
        self._parts: list[str] = []

    def add(self, piece: Piece) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if piece.reasoning is not None:
            events += self._text_delta("thinking", piece.reasoning)
        if piece.content is not None:
            events += self._text_delta("text", piece.content)
        for delta in piece.tool_calls:
            events += self._call_delta(delta)
        return events

    def close(self) -> list[dict[str, Any]]:
        block = self._open
        if block is None:
            return []
        self._open = None
        index = len(self.blocks) - 1
        text = "".join(self._parts)
        self._parts = []
        events: list[dict[str, Any]] = []
        if block["type"] == "thinking":
            block["thinking"] = text
            block["signature"] = self._signer.sign(text)
            events.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": "signature_delta", "signature": block["signature"]}})
        elif block["type"] == "text":
            block["text"] = text
        else:
            block["input"] = _arguments(text)
        events.append({"type": "content_block_stop", "index": index})
        return events

    def _text_delta(self, kind: str, text: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if self._open is None or self._open["type"] != kind:
            events += self.close()
            block = {"type": "thinking", "thinking": "", "signature": ""} if kind == "thinking" \
                else {"type": "text", "text": ""}
            events += self._opened(block)
        self._parts.append(text)
        delta = {"type": "thinking_delta", "thinking": text} if kind == "thinking" \
            else {"type": "text_delta", "text": text}
        return events + [{"type": "content_block_delta", "index": len(self.blocks) - 1, "delta": delta}]

    def _call_delta(self, delta: ToolCallDelta) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if delta.id is not None or self._open is None or self._open["type"] != "tool_use":
            events += self.close()
            events += self._opened({"type": "tool_use", "id": delta.id or f"toolu_{uuid.uuid4().hex[:24]}",
                                    "name": delta.name or "", "input": {}})
        if delta.arguments:
            self._parts.append(delta.arguments)
            events.append({"type": "content_block_delta", "index": len(self.blocks) - 1,
                           "delta": {"type": "input_json_delta", "partial_json": delta.arguments}})
        return events

    def _opened(self, block: dict[str, Any]) -> list[dict[str, Any]]:
        self.blocks.append(block)
        self._open = block
        return [{"type": "content_block_start", "index": len(self.blocks) - 1, "content_block": dict(block)}]


def _arguments(text: str) -> dict[str, Any]:
    """A tool call's arguments as the ``input`` object (``{}`` when the model wrote none)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        log.warning("tool call arguments are not valid JSON: %.200s", text)
        return {}
    return value if isinstance(value, dict) else {"value": value}


def _stop(out: Any, has_tool_calls: bool) -> tuple[str, str | None]:
    """``stop_reason`` and ``stop_sequence``."""
    if out.finish_reason == "length":
        return "max_tokens", None
    if has_tool_calls:
        return "tool_use", None
    if out.stop_string is not None:
        return "stop_sequence", out.stop_string
    return "end_turn", None


def _usage(out: Any) -> dict[str, Any]:
    return {"input_tokens": out.prompt_tokens, "output_tokens": out.completion_tokens,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "output_tokens_details": {"thinking_tokens": out.reasoning_tokens}}


def _message(call: MessageCall, content: list[dict[str, Any]], stop: tuple[str | None, str | None],
             usage: dict[str, Any]) -> dict[str, Any]:
    return {"id": call.message_id, "type": "message", "role": "assistant", "model": call.plan.model,
            "content": content, "stop_reason": stop[0], "stop_sequence": stop[1], "usage": usage}


async def complete_message(runner: ChatRunner, call: MessageCall) -> dict[str, Any]:
    """Run to the end and return a ``message`` object."""
    whole, out = await runner.collect(call.plan)
    blocks = ContentBlocks(call.signer)
    for piece in pieces_of(whole):
        blocks.add(piece)
    blocks.close()
    return _message(call, blocks.blocks, _stop(out, bool(whole.tool_calls)), _usage(out))


async def stream_message(runner: ChatRunner, call: MessageCall, gen: AsyncIterator[Any],
                         first: Any) -> AsyncIterator[bytes]:
    """The server-sent events of a started request, in the order Anthropic sends them."""
    start_usage = {"input_tokens": len(call.plan.prompt_ids), "output_tokens": 0}
    blocks = ContentBlocks(call.signer)
    steps = runner.steps(call.plan, gen, first)
    try:
        yield encode_events([{"type": "message_start", "message": _message(call, [], (None, None), start_usage)},
                             {"type": "ping"}])
        async for step in steps:
            events = blocks.add(step.piece)
            if step.finished:
                reason, sequence = _stop(step.output, step.num_tool_calls > 0)
                events += blocks.close()
                events += [{"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": sequence},
                            "usage": _usage(step.output)},
                           {"type": "message_stop"}]
            if events:
                yield encode_events(events)
    except Exception as exc:  # noqa: BLE001 - reported to the client as an error event
        log.exception("message %s failed while streaming", call.message_id)
        yield encode_events([anthropic_error_body(500, f"generation failed: {exc}")])
    finally:
        await close_steps(steps, gen)


class MessagesApi:
    """``POST /v1/messages`` for the app (see :class:`~.translation.TranslatedApi`).

    Holds the signer, so thinking blocks verify for as long as this app runs.
    """

    request_model = MessagesRequest
    chat_names = CHAT_NAMES

    def __init__(self, signer: ThinkingSigner | None = None) -> None:
        self.signer = signer or ThinkingSigner()

    def to_chat(self, request: MessagesRequest) -> ServerChatRequest:
        return to_chat_request(request, self.signer)

    async def complete(self, runner: ChatRunner, request: MessagesRequest, plan: ChatPlan) -> dict[str, Any]:
        return await complete_message(runner, MessageCall.of(plan, self.signer))

    def stream(self, runner: ChatRunner, request: MessagesRequest, plan: ChatPlan, gen: AsyncIterator[Any],
               first: Any) -> AsyncIterator[bytes]:
        return stream_message(runner, MessageCall.of(plan, self.signer), gen, first)
