"""``/v1/responses``: a planned chat request's output in the shapes of OpenAI's Responses API.

The output becomes items in the order the model wrote them: a ``reasoning`` item (its text as a
``reasoning_text`` content part), a ``message`` item (``output_text``) and one ``function_call``
item per tool call. Streaming and non-streaming build the items with the same
:class:`OutputItems`, fed the same pieces, so both give the same ``output``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from reasoning_plugins.tool_parsers.base import ToolCallDelta

from .assembly import Piece
from .chat import ChatRunner
from .planning import ChatPlan
from .protocol import ServerChatRequest
from .responses_protocol import CHAT_NAMES, ResponsesRequest, to_chat_request
from .translation import close_steps, encode_events, pieces_of

__all__ = ["EVENT_SCHEMA", "OutputItems", "RESPONSE_SCHEMA", "ResponseCall", "ResponsesApi", "complete_response",
           "stream_response"]

log = logging.getLogger("core_engine.server")

_TOKENS = {"type": "integer", "minimum": 0}
# the documented shape of a ``response`` object (the OpenAPI document's 200 for /v1/responses)
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "object", "created_at", "status", "model", "output", "usage"],
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "response"},
        "created_at": {"type": "integer"},
        "status": {"enum": ["completed", "incomplete", "in_progress", "failed"]},
        "model": {"type": "string"},
        "output": {"type": "array", "items": {
            "type": "object", "required": ["id", "type", "status"],
            "properties": {"id": {"type": "string"}, "type": {"enum": ["reasoning", "message", "function_call"]},
                           "status": {"enum": ["completed", "incomplete", "in_progress"]}}}},
        "usage": {"type": ["object", "null"], "required": ["input_tokens", "output_tokens", "total_tokens"],
                  "properties": {"input_tokens": _TOKENS, "output_tokens": _TOKENS, "total_tokens": _TOKENS}},
    },
}
# the data of each server-sent event; the event's name is its type
EVENT_SCHEMA: dict[str, Any] = {"type": "object", "required": ["type", "sequence_number"],
                                "properties": {"type": {"type": "string", "pattern": "^response\\."},
                                               "sequence_number": {"type": "integer", "minimum": 0}}}


@dataclass(slots=True)
class ResponseCall:
    """One ``/v1/responses`` request: the body as sent and the plan it runs as."""

    request: ResponsesRequest
    plan: ChatPlan
    response_id: str
    created_at: int

    @classmethod
    def of(cls, request: ResponsesRequest, plan: ChatPlan) -> ResponseCall:
        return cls(request, plan, f"resp_{uuid.uuid4().hex}", int(time.time()))


class OutputItems:
    """Output items built from pieces, with the stream events that build them.

    An item is open while the model writes its kind of text; text of another kind (or a new
    tool call) closes it and opens the next one.
    """

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None
        self._text: list[str] = []

    def add(self, piece: Piece) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if piece.reasoning is not None:
            events += self._text_delta("reasoning", piece.reasoning)
        if piece.content is not None:
            events += self._text_delta("message", piece.content)
        for delta in piece.tool_calls:
            events += self._call_delta(delta)
        return events

    def close(self, status: str = "completed") -> list[dict[str, Any]]:
        """Close the open item (``status`` ``"incomplete"`` when the output was cut short)."""
        item = self._open
        if item is None:
            return []
        self._open = None
        index = len(self.items) - 1
        where = {"item_id": item["id"], "output_index": index}
        item["status"] = status
        if item["type"] == "function_call":
            return [{"type": "response.function_call_arguments.done", **where, "name": item["name"],
                     "arguments": item["arguments"]},
                    {"type": "response.output_item.done", "output_index": index, "item": item}]
        text = "".join(self._text)
        self._text = []
        if item["type"] == "reasoning":
            part = {"type": "reasoning_text", "text": text}
            done = {"type": "response.reasoning_text.done", **where, "content_index": 0, "text": text}
        else:
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            done = {"type": "response.output_text.done", **where, "content_index": 0, "text": text, "logprobs": []}
        item["content"] = [part]
        return [done,
                {"type": "response.content_part.done", **where, "content_index": 0, "part": part},
                {"type": "response.output_item.done", "output_index": index, "item": item}]

    def _text_delta(self, kind: str, text: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if self._open is None or self._open["type"] != kind:
            events += self.close()
            if kind == "reasoning":
                item = {"id": f"rs_{uuid.uuid4().hex}", "type": "reasoning", "summary": [], "content": [],
                        "status": "in_progress"}
                part: dict[str, Any] = {"type": "reasoning_text", "text": ""}
            else:
                item = {"id": f"msg_{uuid.uuid4().hex}", "type": "message", "role": "assistant",
                        "status": "in_progress", "content": []}
                part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            events += self._opened(item)
            events.append({"type": "response.content_part.added", "item_id": item["id"],
                           "output_index": len(self.items) - 1, "content_index": 0, "part": part})
        assert self._open is not None
        self._text.append(text)
        delta: dict[str, Any] = {"type": f"response.{'reasoning_text' if kind == 'reasoning' else 'output_text'}.delta",
                                 "item_id": self._open["id"], "output_index": len(self.items) - 1,
                                 "content_index": 0, "delta": text}
        if kind == "message":
            delta["logprobs"] = []
        return events + [delta]

    def _call_delta(self, delta: ToolCallDelta) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if delta.id is not None or self._open is None or self._open["type"] != "function_call":
            events += self.close()
            events += self._opened({"id": f"fc_{uuid.uuid4().hex}", "type": "function_call",
                                    "call_id": delta.id or f"call_{uuid.uuid4().hex[:24]}", "name": delta.name or "",
                                    "arguments": "", "status": "in_progress"})
        assert self._open is not None
        if delta.arguments:
            self._open["arguments"] += delta.arguments
            events.append({"type": "response.function_call_arguments.delta", "item_id": self._open["id"],
                           "output_index": len(self.items) - 1, "delta": delta.arguments})
        return events

    def _opened(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        self.items.append(item)
        self._open = item
        # the added event shows the item as it was then, not as it ends up
        return [{"type": "response.output_item.added", "output_index": len(self.items) - 1, "item": dict(item)}]


def _response(call: ResponseCall, status: str, output: list[dict[str, Any]], out: Any = None,
              error: dict[str, Any] | None = None) -> dict[str, Any]:
    request = call.request
    fmt = request.text_format
    text_format: dict[str, Any] = {"type": "text"}
    if fmt is not None:
        text_format = fmt.model_dump(by_alias=True, exclude_none=True)
    finished = status in ("completed", "incomplete")
    return {
        "id": call.response_id,
        "object": "response",
        "created_at": call.created_at,
        "status": status,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "model": call.plan.model,
        "output": output,
        "parallel_tool_calls": request.parallel_tool_calls is not False,
        "previous_response_id": None,
        "reasoning": {"effort": request.reasoning.effort if request.reasoning else None, "summary": None},
        "store": False,
        "temperature": request.temperature,
        "text": {"format": text_format},
        "tool_choice": _tool_choice(request),
        "tools": [tool.model_dump(exclude_none=True) for tool in request.tools or []],
        "top_p": request.top_p,
        "truncation": request.truncation or "disabled",
        "usage": _usage(out) if finished and out is not None else None,
        "metadata": request.metadata or {},
        "background": False,
    }


def _tool_choice(request: ResponsesRequest) -> Any:
    choice = request.tool_choice
    if choice is None:
        return "auto"
    return choice if isinstance(choice, str) else choice.model_dump()


def _usage(out: Any) -> dict[str, Any]:
    return {
        "input_tokens": out.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": out.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": out.reasoning_tokens},
        "total_tokens": out.prompt_tokens + out.completion_tokens,
    }


def _status(out: Any) -> str:
    return "incomplete" if out.finish_reason == "length" else "completed"


async def complete_response(runner: ChatRunner, call: ResponseCall) -> dict[str, Any]:
    """Run to the end and return a ``response`` object."""
    whole, out = await runner.collect(call.plan)
    items = OutputItems()
    for piece in pieces_of(whole):
        items.add(piece)
    status = _status(out)
    items.close(status)
    return _response(call, status, items.items, out)


async def stream_response(runner: ChatRunner, call: ResponseCall, gen: AsyncIterator[Any],
                          first: Any) -> AsyncIterator[bytes]:
    """The server-sent events of a started request, in the order OpenAI sends them."""
    sequence = 0

    def encode(events: list[dict[str, Any]]) -> bytes:
        nonlocal sequence
        for event in events:
            event["sequence_number"] = sequence
            sequence += 1
        return encode_events(events)

    items = OutputItems()
    steps = runner.steps(call.plan, gen, first)
    try:
        yield encode([{"type": "response.created", "response": _response(call, "in_progress", [])},
                      {"type": "response.in_progress", "response": _response(call, "in_progress", [])}])
        async for step in steps:
            events = items.add(step.piece)
            if step.finished:
                status = _status(step.output)
                events += items.close(status)
                events.append({"type": f"response.{status}",
                               "response": _response(call, status, items.items, step.output)})
            if events:
                yield encode(events)
    except Exception as exc:  # noqa: BLE001 - reported to the client as response.failed
        log.exception("response %s failed while streaming", call.response_id)
        error = {"code": "server_error", "message": f"generation failed: {exc}"}
        yield encode(items.close("incomplete") +
                     [{"type": "response.failed", "response": _response(call, "failed", items.items, error=error)}])
    finally:
        await close_steps(steps, gen)


class ResponsesApi:
    """``POST /v1/responses`` for the app (see :class:`~.translation.TranslatedApi`)."""

    request_model = ResponsesRequest
    chat_names = CHAT_NAMES

    def to_chat(self, request: ResponsesRequest) -> ServerChatRequest:
        return to_chat_request(request)

    async def complete(self, runner: ChatRunner, request: ResponsesRequest, plan: ChatPlan) -> dict[str, Any]:
        return await complete_response(runner, ResponseCall.of(request, plan))

    def stream(self, runner: ChatRunner, request: ResponsesRequest, plan: ChatPlan, gen: AsyncIterator[Any],
               first: Any) -> AsyncIterator[bytes]:
        return stream_response(runner, ResponseCall.of(request, plan), gen, first)
