"""Server-sent events for ``stream: true``: chunk encoding and a response that aborts on disconnect.

Chunks are built as byte strings around a pre-encoded head, since a busy server writes one per
token per client. :class:`EventStreamResponse` watches the connection from the moment the request
is submitted (while it is queued, its grammar compiles or its prompt is read, not only once tokens
flow): when the client goes away, the producing task is cancelled, which closes the engine's
generator and so aborts the request and frees its KV blocks. The response headers are sent only
with the first event, so a failure before it is still an HTTP error.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .assembly import Piece
from .errors import ApiError, error_body, error_response, unexpected_error_response
from .planning import ChatPlan

__all__ = ["ChunkEncoder", "EventStreamResponse", "DONE"]

log = logging.getLogger("core_engine.server")

DONE = b"data: [DONE]\n\n"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class ChunkEncoder:
    """Encodes one request's ``chat.completion.chunk`` events."""

    __slots__ = ("_head", "_usage_head", "_full", "_reasoning_keys", "_role_sent")

    def __init__(self, plan: ChatPlan, *, full_keys: bool) -> None:
        ident = (f'{{"id":{_dumps(plan.request_id)},"object":"chat.completion.chunk",'
                 f'"created":{plan.created},"model":{_dumps(plan.model)}')
        self._head = (ident + ',"choices":[{"index":0,"delta":').encode()
        self._usage_head = (ident + ',"choices":[],"usage":').encode()
        self._full = full_keys
        self._reasoning_keys = plan.reasoning_keys if plan.include_reasoning else ()
        self._role_sent = False

    def delta(self, piece: Piece, finish_reason: str | None = None) -> bytes:
        delta: dict[str, Any] = {}
        if not self._role_sent:
            delta["role"] = "assistant"
            self._role_sent = True
        if self._full:
            delta["content"] = piece.content
            for key in self._reasoning_keys:
                delta[key] = piece.reasoning
        else:
            if piece.reasoning is not None:
                for key in self._reasoning_keys:
                    delta[key] = piece.reasoning
            if piece.content is not None:
                delta["content"] = piece.content
        if piece.tool_calls:
            delta["tool_calls"] = [call.to_openai() for call in piece.tool_calls]
        reason = "null" if finish_reason is None else _dumps(finish_reason)
        return b"data: " + self._head + _dumps(delta).encode() + \
            f',"logprobs":null,"finish_reason":{reason}}}]}}\n\n'.encode()

    def usage(self, prompt_tokens: int, completion_tokens: int, reasoning_tokens: int) -> bytes:
        return b"data: " + self._usage_head + _dumps(usage_dict(prompt_tokens, completion_tokens,
                                                                  reasoning_tokens)).encode() + b"}\n\n"


def usage_dict(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }


def error_event(message: str, *, type: str = "server_error", code: str | None = None) -> bytes:
    return b"data: " + _dumps(error_body(message, type=type, code=code)).encode() + b"\n\n"


class EventStreamResponse(Response):
    """An ASGI ``text/event-stream`` response over an async iterator of byte chunks."""

    def __init__(self, chunks: AsyncIterator[bytes], headers: dict[str, str] | None = None) -> None:
        self.background = None
        self.status_code = 200
        self._chunks = chunks
        self._headers = [(b"content-type", b"text/event-stream; charset=utf-8"),
                         (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
        for key, value in (headers or {}).items():
            self._headers.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        producer = asyncio.ensure_future(self._produce(scope, receive, send))
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            await asyncio.wait((producer, watcher), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not producer.done():
                # the client went away: cancelling closes the engine's generator, which aborts
                producer.cancel()
            watcher.cancel()
            for result in await asyncio.gather(producer, watcher, return_exceptions=True):
                if isinstance(result, Exception):
                    log.error("streaming response failed", exc_info=result)

    async def _produce(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = self._chunks
        try:
            try:
                first: bytes | None = await chunks.__anext__()
            except StopAsyncIteration:
                first = None
            except ApiError as exc:
                await error_response(exc)(scope, receive, send)
                return
            except Exception as exc:  # noqa: BLE001 - a 500 in the OpenAI shape
                await unexpected_error_response(exc)(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 200, "headers": self._headers})
            if first is not None:
                await send({"type": "http.response.body", "body": first, "more_body": True})
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            log.info("client disconnected while streaming")
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
