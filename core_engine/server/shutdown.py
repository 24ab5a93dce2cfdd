"""Graceful shutdown: SIGTERM or SIGINT drains the server, then it exits with status 0.

On the first signal the server keeps its socket open but answers every new request with 503 and a
``Retry-After`` header (``/health`` too, so a load balancer stops sending traffic), while the
requests already running go on. When they have all finished, or ``--shutdown-timeout`` seconds
have passed, the ones still running are aborted: a stream ends with an error event and
``[DONE]``, a non-streaming request gets a 503, both saying the server shut down. A second signal
skips the wait. Only then does uvicorn close the connections and the engine stop.

uvicorn's own handling would close the listening socket at once (new clients see a refused
connection, not an answer) and re-raise the signal after shutting down, so the process would end
with the signal's status instead of 0; :class:`DrainingServer` replaces both.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from types import FrameType
from typing import Any, TextIO

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_body

__all__ = ["DrainableEngine", "DrainingServer", "Lifecycle", "LifecycleMiddleware", "ServerShuttingDown"]

RETRY_AFTER_S = 5
_UNCOUNTED = ("/health", "/metrics")   # never wait for these; /metrics answers while draining


class ServerShuttingDown(RuntimeError):
    """A running request was aborted because the server shut down before it finished."""


class Lifecycle:
    """Whether the app is draining, how many requests are in flight, and which run on the engine."""

    def __init__(self) -> None:
        self.draining = False
        self.aborting = False
        self.shutdown_timeout: float | None = None
        self.in_flight = 0
        self._idle: asyncio.Event | None = None
        self._hurry: asyncio.Event | None = None
        self._running: dict[str, list[bool]] = {}   # request id -> [aborted]
        self.engine: Any = None                      # what abort_running() aborts on
        self.on_drain: list[Any] = []

    def enter(self) -> None:
        self.in_flight += 1
        if self._idle is not None:
            self._idle.clear()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0 and self._idle is not None:
            self._idle.set()

    def track(self, request_id: str) -> list[bool]:
        """Note a request running on the engine; the returned flag turns True when it is aborted."""
        flag = [False]
        self._running[request_id] = flag
        return flag

    def untrack(self, request_id: str) -> None:
        self._running.pop(request_id, None)

    def start_draining(self) -> None:
        self.draining = True
        for callback in self.on_drain:
            callback()

    def hurry(self) -> None:
        """Stop waiting for the running requests (a second signal)."""
        if self._hurry is not None:
            self._hurry.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight; False if ``timeout`` or :meth:`hurry` came first."""
        if self._idle is None:
            self._idle, self._hurry = asyncio.Event(), asyncio.Event()
        if self.in_flight == 0:
            return True
        self._idle.clear()
        assert self._hurry is not None
        idle = asyncio.ensure_future(self._idle.wait())
        hurry = asyncio.ensure_future(self._hurry.wait())
        try:
            await asyncio.wait((idle, hurry), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()
            hurry.cancel()
        return self.in_flight == 0

    async def abort_running(self) -> int:
        """Abort every request on the engine; each ends with :class:`ServerShuttingDown`."""
        self.aborting = True
        running = list(self._running.items())
        for _, flag in running:
            flag[0] = True
        for request_id, _ in running:
            try:
                await self.engine.abort(request_id)
            except Exception:  # noqa: BLE001 - a stopped engine fails its streams itself
                pass
        return len(running)

    def shutdown_error(self) -> ServerShuttingDown:
        waited = f" after waiting {self.shutdown_timeout:g} s for it (--shutdown-timeout)" \
            if self.shutdown_timeout is not None else ""
        return ServerShuttingDown(f"the server shut down before this request finished{waited}; "
                                  "send it again once the server is back")


class DrainableEngine:
    """The engine with its running requests known to the :class:`Lifecycle`, which can abort them."""

    def __init__(self, engine: Any, lifecycle: Lifecycle) -> None:
        self._engine = engine
        self._lifecycle = lifecycle
        lifecycle.engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    async def generate(self, request_id: str, prompt_ids: list[int], params: Any = None,
                       request: Any = None) -> AsyncIterator[Any]:
        lifecycle = self._lifecycle
        if lifecycle.aborting:
            raise lifecycle.shutdown_error()
        flag = lifecycle.track(request_id)
        gen = self._engine.generate(request_id, prompt_ids, params, request=request)
        try:
            async for out in gen:
                if flag[0]:
                    raise lifecycle.shutdown_error()
                yield out
        finally:
            lifecycle.untrack(request_id)
            aclose = getattr(gen, "aclose", None)
            if aclose is not None:
                await aclose()


class LifecycleMiddleware:
    """Counts requests in flight; while draining, answers new ones with 503 and ``Retry-After``."""

    def __init__(self, app: ASGIApp, *, lifecycle: Lifecycle) -> None:
        self.app = app
        self._lifecycle = lifecycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        lifecycle = self._lifecycle
        if lifecycle.draining and path != "/metrics":
            await _refuse(send, path)
            return
        if path in _UNCOUNTED:
            await self.app(scope, receive, send)
            return
        lifecycle.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            lifecycle.leave()


async def _refuse(send: Send, path: str) -> None:
    message = ("The server is shutting down and accepts no new requests; send the request again to "
               "another server, or to this one once it has restarted.")
    if path == "/health":
        body: dict[str, Any] = {"status": "shutting_down", "detail": message}
    else:
        body = error_body(message, type="server_error", code="server_shutting_down")
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": data, "more_body": False})


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining the app's :class:`Lifecycle` on SIGTERM/SIGINT before it stops."""

    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle, shutdown_timeout: float,
                 out: TextIO | None = None) -> None:
        super().__init__(config)
        self._lifecycle = lifecycle
        self._timeout = shutdown_timeout
        self._out = out or sys.stderr
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain: asyncio.Task[None] | None = None
        lifecycle.shutdown_timeout = shutdown_timeout

    async def serve(self, sockets: Any = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # runs in the signal handler: hand the work to the event loop
        if self._loop is None or not self.started:
            self.should_exit = True
            return
        self._loop.call_soon_threadsafe(self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self._drain is None:
            self._drain = asyncio.ensure_future(self._drain_then_exit(name))
        else:
            self._say(f"{name} again: aborting the requests still running")
            self._lifecycle.hurry()

    async def _drain_then_exit(self, name: str) -> None:
        lifecycle = self._lifecycle
        lifecycle.start_draining()
        self._say(f"{name}: shutting down; new requests get 503; waiting up to {self._timeout:g} s for "
                  f"{lifecycle.in_flight} request(s) in flight")
        if not await lifecycle.wait_idle(self._timeout):
            count = await lifecycle.abort_running()
            self._say(f"aborted {count} request(s) still running; their clients get an error")
            await lifecycle.wait_idle(5.0)
        self.should_exit = True

    def _say(self, line: str) -> None:
        print(line, file=self._out, flush=True)
