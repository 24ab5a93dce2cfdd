"""The FastAPI application: ``/v1/models``, ``/v1/chat/completions``, ``/health``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from reasoning_plugins import get_parser, get_tool_parser

from .chat import ChatRunner
from .config import ServerConfig
from .errors import ApiError, api_error_handler, error_response, unexpected_error_response, validation_error
from .guard import BodyTooLarge, GuardMiddleware, too_large
from .planning import EngineLike, plan_chat
from .protocol import ServerChatRequest
from .streaming import EventStreamResponse

__all__ = ["create_app"]

_JSON = "application/json"


def create_app(engine: EngineLike, config: ServerConfig | None = None) -> FastAPI:
    """An app serving ``engine``; parser names in ``config`` must already be known to exist."""
    config = config or ServerConfig()
    served_name = config.served_model_name or engine.model_name
    tokenizer = engine.tokenizer
    make_parser = (lambda: get_parser(config.reasoning_parser, tokenizer)) if config.reasoning_parser else None
    make_tool_parser = (lambda: get_tool_parser(config.tool_call_parser, tokenizer)) if config.tool_call_parser else None
    runner = ChatRunner(engine, config, make_parser)
    created = int(time.time())

    app = FastAPI(title="reasoning-plugins", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    app.state.config = config
    app.add_middleware(GuardMiddleware, api_key=config.api_key, max_request_bytes=config.max_request_bytes)
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)

    def model_card() -> dict[str, Any]:
        return {"id": served_name, "object": "model", "created": created, "owned_by": "reasoning-plugins",
                "root": engine.model_name, "max_model_len": engine.max_model_len}

    @app.get("/health")
    async def health() -> Response:
        try:
            stats = engine.stats()
        except Exception as exc:  # noqa: BLE001 - a broken engine is what /health reports
            return JSONResponse({"status": "error", "detail": f"{type(exc).__name__}: {exc}"}, status_code=503)
        return JSONResponse({"status": "ok", "model": served_name, **stats})

    @app.get("/v1/models")
    async def list_models() -> Response:
        return JSONResponse({"object": "list", "data": [model_card()]})

    @app.get("/v1/models/{model_id:path}")
    async def retrieve_model(model_id: str) -> Response:
        if model_id != served_name:
            raise ApiError(404, f"The model '{model_id}' does not exist; this server serves '{served_name}'.",
                           param="model", code="model_not_found")
        return JSONResponse(model_card())

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        body = await _read_body(request, config.max_request_bytes)
        try:
            parsed = ServerChatRequest.model_validate_json(body)
        except ValidationError as exc:
            raise validation_error(exc) from None
        plan = plan_chat(parsed, engine, config, served_name, make_tool_parser)
        if parsed.stream:
            return EventStreamResponse(runner.stream(plan))
        return _CancellableJSON(lambda: runner.complete(plan))

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except BodyTooLarge:
        raise too_large(limit) from None
    body = b"".join(chunks)
    if not body.strip():
        raise ApiError(400, "The request body is empty; send a JSON object with at least 'messages'.",
                       code="invalid_json")
    return body


class _CancellableJSON(Response):
    """A JSON response computed while the connection is watched; a client that leaves cancels it."""

    def __init__(self, compute: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self.background = None
        self.status_code = 200
        self._compute = compute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.ensure_future(self._compute())
        watcher = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return
        try:
            payload = task.result()
        except ApiError as exc:
            response = error_response(exc)
        except Exception as exc:  # noqa: BLE001 - becomes a 500 in the OpenAI shape
            response = unexpected_error_response(exc)
        else:
            response = Response(json.dumps(payload, ensure_ascii=False), media_type=_JSON)
        await response(scope, receive, send)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"No route {request.method} {request.url.path}; this server offers GET /v1/models, " \
                  "POST /v1/chat/completions and GET /health."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    else:
        message = str(exc.detail)
    return error_response(ApiError(exc.status_code, message, code="not_found" if exc.status_code == 404 else None))


async def _unexpected(request: Request, exc: Exception) -> Response:
    return unexpected_error_response(exc)
