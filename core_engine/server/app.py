"""The FastAPI application: ``/v1/models``, ``/v1/chat/completions``, ``/v1/responses``,
``/v1/messages``, ``/v1/parsers``, ``/health``, ``/metrics``, the playground at ``/``.

The three generating routes share one plan (:func:`~.planning.plan_chat`) and one engine path
(:class:`~.chat.ChatRunner`): Responses and Messages bodies are translated into a chat request
first, and their outputs are shaped from the same pieces.
"""

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
from .messages import EVENT_SCHEMA as MESSAGE_EVENT
from .messages import MESSAGE_SCHEMA, MessagesApi
from .messages_protocol import MessagesRequest
from .metrics import CONTENT_TYPE, MeteredEngine, MetricsMiddleware, ServerMetrics
from .openapi import AnthropicErrorResponse, ApiDocs, event_stream
from .planning import ChatPlan, EngineLike, plan_chat
from .playground import add_playground
from .protocol import ServerChatRequest
from .responses import EVENT_SCHEMA as RESPONSE_EVENT
from .responses import RESPONSE_SCHEMA, ResponsesApi
from .responses_protocol import ResponsesRequest, not_stored
from .shutdown import DrainableEngine, Lifecycle, LifecycleMiddleware
from .streaming import EventStreamResponse
from .translation import TranslatedApi, renamed, renaming

__all__ = ["create_app"]

_JSON = "application/json"
_CHAT_EXAMPLE = {"messages": [{"role": "user", "content": "What is 2 + 3?"}], "max_tokens": 8}
_RESPONSES_EXAMPLE = {"input": "What is 2 + 3?", "max_output_tokens": 8}
_MESSAGES_EXAMPLE = {"max_tokens": 8, "messages": [{"role": "user", "content": "What is 2 + 3?"}]}


def create_app(engine: EngineLike, config: ServerConfig | None = None) -> FastAPI:
    """An app serving ``engine``; parser names in ``config`` must already be known to exist."""
    config = config or ServerConfig()
    served_name = config.served_model_name or engine.model_name
    lifecycle = Lifecycle()
    metrics = ServerMetrics(served_name, config.reasoning_parser, engine)
    lifecycle.on_drain.append(lambda: setattr(metrics, "draining", True))
    engine = MeteredEngine(DrainableEngine(engine, lifecycle), metrics)
    tokenizer = engine.tokenizer
    make_parser = (lambda: get_parser(config.reasoning_parser, tokenizer)) if config.reasoning_parser else None
    make_tool_parser = (lambda: get_tool_parser(config.tool_call_parser, tokenizer)) if config.tool_call_parser else None
    runner = ChatRunner(engine, config, make_parser, metrics=metrics)
    mode_probe = make_parser() if make_parser is not None else None   # asked resolve_mode only
    created = int(time.time())

    app = FastAPI(title="reasoning-plugins", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    docs = ApiDocs(app)
    app.state.engine = engine
    app.state.config = config
    app.state.lifecycle = lifecycle
    app.state.metrics = metrics
    app.add_middleware(GuardMiddleware, api_key=config.api_key, max_request_bytes=config.max_request_bytes)
    app.add_middleware(LifecycleMiddleware, lifecycle=lifecycle)
    app.add_middleware(MetricsMiddleware, metrics=metrics)   # outermost: sees every status
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)

    def model_card() -> dict[str, Any]:
        return {"id": served_name, "object": "model", "created": created, "owned_by": "reasoning-plugins",
                "root": engine.model_name, "max_model_len": engine.max_model_len}

    @app.get("/metrics", responses={200: {"description": "Prometheus text format",
                                          "content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/health", responses={503: {"description": "The engine cannot report its state, or the server "
                                                        "is shutting down."}})
    async def health() -> Response:
        try:
            stats = engine.stats()
        except Exception as exc:  # noqa: BLE001 - a broken engine is what /health reports
            return JSONResponse({"status": "error", "detail": f"{type(exc).__name__}: {exc}"}, status_code=503)
        return JSONResponse({"status": "ok", "model": served_name, **stats})

    @app.get("/v1/models", responses=docs.errors(401))
    async def list_models() -> Response:
        return JSONResponse({"object": "list", "data": [model_card()]})

    @app.get("/v1/models/{model_id:path}", responses=docs.errors(401, 404))
    async def retrieve_model(model_id: str) -> Response:
        if model_id != served_name:
            raise ApiError(404, f"The model '{model_id}' does not exist; this server serves '{served_name}'.",
                           param="model", code="model_not_found")
        return JSONResponse(model_card())

    add_playground(app, config)

    @app.post("/v1/chat/completions", openapi_extra=docs.body(ServerChatRequest, _CHAT_EXAMPLE),
              responses={200: {"description": "A chat.completion object, or chat.completion.chunk events with "
                                              "\"stream\": true",
                               "content": {"application/json": {"schema": {"type": "object"}},
                                           "text/event-stream": {"schema": event_stream(named=False)}}},
                         **docs.errors(400, 401, 404, 413, 503)})
    async def chat_completions(request: Request) -> Any:
        body = await _read_body(request, config.max_request_bytes)
        try:
            parsed = ServerChatRequest.model_validate_json(body)
        except ValidationError as exc:
            raise validation_error(exc) from None
        plan = plan_chat(parsed, engine, config, served_name, make_tool_parser, mode_probe)
        if parsed.stream:
            return EventStreamResponse(runner.stream(plan))
        return _CancellableJSON(lambda: runner.complete(plan))

    def plan_translated(request: ServerChatRequest) -> ChatPlan:
        return plan_chat(request, engine, config, served_name, make_tool_parser, mode_probe)

    statuses = (400, 401, 404, 413, 503)
    app.add_api_route("/v1/responses", _translated_route(ResponsesApi(), runner, plan_translated,
                                                         config.max_request_bytes),
                      methods=["POST"], openapi_extra=docs.body(ResponsesRequest, _RESPONSES_EXAMPLE),
                      responses={200: _generated("A response object, or its server-sent events (named by their "
                                                 "type) with \"stream\": true", RESPONSE_SCHEMA,
                                                 event_stream(RESPONSE_EVENT, named=True)),
                                 **docs.errors(*statuses)})
    app.add_api_route("/v1/messages", _translated_route(MessagesApi(), runner, plan_translated,
                                                        config.max_request_bytes),
                      methods=["POST"], openapi_extra=docs.body(MessagesRequest, _MESSAGES_EXAMPLE),
                      responses={200: _generated("A message object, or its server-sent events (named by their "
                                                 "type) with \"stream\": true", MESSAGE_SCHEMA,
                                                 event_stream(MESSAGE_EVENT, named=True)),
                                 **docs.errors(*statuses, model=AnthropicErrorResponse)})

    # responses are never stored, so these answer 404 for every id
    not_stored_docs = docs.errors(401, 404, described={404: "Always (code not_stored): this server does not "
                                                            "store responses."})

    @app.get("/v1/responses/{response_id}", status_code=404, responses=not_stored_docs)
    @app.delete("/v1/responses/{response_id}", status_code=404, responses=not_stored_docs)
    async def stored_response(response_id: str) -> Any:
        raise not_stored(response_id)

    return app


def _generated(description: str, json_schema: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The documented 200 of a generating route: one JSON object, or a stream of events."""
    return {"description": description,
            "content": {_JSON: {"schema": json_schema}, "text/event-stream": {"schema": event}}}


def _translated_route(api: TranslatedApi, runner: ChatRunner, plan: Callable[[ServerChatRequest], ChatPlan],
                      max_request_bytes: int) -> Callable[[Request], Awaitable[Any]]:
    """A route that translates ``api``'s body into a chat request and runs it on the shared path."""
    names = api.chat_names

    async def route(request: Request) -> Any:
        body = await _read_body(request, max_request_bytes)
        try:
            parsed = api.request_model.model_validate_json(body)
        except ValidationError as exc:
            raise validation_error(exc) from None
        try:
            planned = plan(api.to_chat(parsed))
        except ApiError as exc:
            raise renamed(exc, names) from None
        if getattr(parsed, "stream", False):
            gen, first = await renaming(names, lambda: runner.start(planned))
            return EventStreamResponse(api.stream(runner, parsed, planned, gen, first))
        return _CancellableJSON(lambda: renaming(names, lambda: api.complete(runner, parsed, planned)))

    return route


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
        raise ApiError(400, "The request body is empty; send the request as a JSON object.",
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
        path = scope.get("path", "")
        try:
            payload = task.result()
        except ApiError as exc:
            response = error_response(exc, path)
        except Exception as exc:  # noqa: BLE001 - becomes a 500 in the API's error shape
            response = unexpected_error_response(exc, path)
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
                  "POST /v1/chat/completions, POST /v1/responses, POST /v1/messages, GET /v1/parsers, " \
                  "GET /health and the playground at GET /."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    else:
        message = str(exc.detail)
    return error_response(ApiError(exc.status_code, message, code="not_found" if exc.status_code == 404 else None),
                          request.url.path)


async def _unexpected(request: Request, exc: Exception) -> Response:
    return unexpected_error_response(exc, request.url.path)
