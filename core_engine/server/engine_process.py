"""The engine in its own process, driven from the server's event loop.

The engine and the HTTP side are both Python: in one process they take turns on the GIL, so every
microsecond spent framing and sending events is a microsecond the engine cannot step. Here the
engine core (:class:`~core_engine.llm_engine.LLMEngine`) runs a busy loop in a child process and
the server keeps the interface of :class:`~core_engine.AsyncLLMEngine` (``generate``, ``abort``,
``build_prompt``, ``stats``, ``tokenizer``):

- the server sends ``add``/``abort``/``shutdown`` commands through a pipe;
- after each step (or each batch of commands) the child sends one message with every output of
  that step, the errors of requests it refused, and its current ``stats()``;
- a reader thread in the server hands each output to its request's asyncio queue; when a
  request's consumer falls behind, the outputs waiting in its queue are handed over as one, so a
  starved server writes fewer, larger events instead of falling further behind.

Requests are validated in the child (``LLMEngine.submit``), so a bad prompt or schema raises the
engine's own ValueError from ``generate``; grammars compile on the child's worker thread, never in
its step loop. A request that fails inside the engine (a plugin's exception, its grammar,
detokenisation) raises :class:`~core_engine.errors.RequestFailedError` from its own ``generate``
only. If the child dies, running requests fail with :class:`EngineStoppedError` and ``stats()``
raises it too.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from core_engine.chat import build_prompt
from core_engine.config import EngineConfig
from core_engine.errors import EngineStoppedError, RequestFailedError
from core_engine.outputs import RequestOutput
from core_engine.sampling_params import SamplingParams

__all__ = ["EngineStoppedError", "ProcessEngine"]

log = logging.getLogger("core_engine.server")


@dataclass(slots=True)
class _Stream:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[RequestOutput | BaseException]


class ProcessEngine:
    """``AsyncLLMEngine``'s interface over an engine running in a child process."""

    def __init__(self, config: EngineConfig | None = None, *, start_timeout: float = 600.0) -> None:
        config = config or EngineConfig()
        context = multiprocessing.get_context("spawn")   # safe with CUDA and with threads
        self._conn, child_conn = context.Pipe(duplex=True)
        self._process = context.Process(target=_engine_main, args=(config, child_conn), name="core-engine",
                                        daemon=True)
        self._process.start()
        child_conn.close()
        if not self._conn.poll(start_timeout):
            self._process.kill()
            raise RuntimeError(f"the engine process did not start within {start_timeout:.0f} s")
        try:
            kind, payload = self._conn.recv()
        except EOFError:
            raise RuntimeError(f"the engine process exited while loading (exit code {self._process.exitcode})") \
                from None
        if kind == "failed":
            self._process.join(timeout=10)
            error_type, message = payload
            raise (ValueError if error_type == "ValueError" else RuntimeError)(message)
        self.tokenizer = payload["tokenizer"]
        self.model_name: str = payload["model_name"]
        self.max_model_len: int = payload["max_model_len"]
        self.reasoning_parser: str | None = payload["reasoning_parser"]
        self.has_reasoner: bool = payload["has_reasoner"]
        self.reasoner_note: str = payload["reasoner_note"]
        self._stats: dict[str, int] = payload["stats"]
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._stopped: str | None = None
        self._reader = threading.Thread(target=self._read, name="core-engine-reader", daemon=True)
        self._reader.start()

    # -- the AsyncLLMEngine interface -------------------------------------------------------------

    def build_prompt(self, messages: Any, tools: list[dict[str, Any]] | None = None,
                     chat_template_kwargs: dict[str, Any] | None = None) -> list[int]:
        return build_prompt(self.tokenizer, messages, tools, chat_template_kwargs, self.model_name)

    async def generate(self, request_id: str, prompt_ids: list[int], params: SamplingParams | None = None,
                       request: Any = None) -> AsyncIterator[RequestOutput]:
        """Stream a request's outputs; the engine's ValueError for a bad request comes first."""
        if self._stopped is not None:
            raise EngineStoppedError(self._stopped)
        stream = _Stream(asyncio.get_running_loop(), asyncio.Queue())
        with self._lock:
            if request_id in self._streams:
                raise ValueError(f"request id {request_id!r} is already in use; use a unique id per request")
            self._streams[request_id] = stream
        finished = False
        queue = stream.queue
        try:
            self._send(("add", request_id, list(prompt_ids), params or SamplingParams(), _plain(request)))
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    finished = True
                    raise item
                if item.error is not None:
                    finished = True
                    raise item.exception()   # type: ignore[misc]
                error = None
                if not queue.empty():
                    # the consumer fell behind the engine: hand over everything waiting as one output
                    item, error = _merge_waiting(item, queue)
                finished = item.finished or error is not None
                yield item
                if error is not None:
                    raise error
                if finished:
                    return
        finally:
            with self._lock:
                self._streams.pop(request_id, None)
            if not finished and self._stopped is None:
                self._send(("abort", request_id))

    async def abort(self, request_id: str) -> None:
        self._send(("abort", request_id))

    def stats(self) -> dict[str, int]:
        """The engine's latest ``stats()``, as of its last step or command."""
        if self._stopped is not None:
            raise EngineStoppedError(self._stopped)
        return dict(self._stats)

    def shutdown(self) -> None:
        if self._stopped is None:
            self._stopped = "the engine was shut down"
            try:
                self._send(("shutdown",))
            except (OSError, EngineStoppedError):
                pass
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()
        self._fail_all(EngineStoppedError("the engine was shut down while the request was running"))

    # -- plumbing ---------------------------------------------------------------------------------

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            with self._send_lock:
                self._conn.send(message)
        except (OSError, ValueError) as exc:
            raise EngineStoppedError(f"the engine process is gone: {exc}") from exc

    def _read(self) -> None:
        while True:
            try:
                kind, outputs, errors, stats = self._conn.recv()
            except (EOFError, OSError):
                break
            self._stats = stats
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Queue[Any], Any]]] = defaultdict(list)
            with self._lock:
                for output in outputs:
                    stream = self._streams.get(output.request_id)
                    if stream is not None:
                        by_loop[stream.loop].append((stream.queue, output))
                for request_id, error in errors:
                    stream = self._streams.get(request_id)
                    if stream is not None:
                        by_loop[stream.loop].append((stream.queue, error))
            for loop, items in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_put_all, items)
                except RuntimeError:      # that event loop is closed; its requests are gone
                    pass
        if self._stopped is None:
            code = self._process.exitcode
            self._stopped = f"the engine process stopped unexpectedly (exit code {code})"
            log.error(self._stopped)
        self._fail_all(EngineStoppedError(self._stopped))

    def _fail_all(self, error: BaseException) -> None:
        with self._lock:
            streams = list(self._streams.values())
        for stream in streams:
            try:
                stream.loop.call_soon_threadsafe(stream.queue.put_nowait, error)
            except RuntimeError:
                pass


def _merge_waiting(first: RequestOutput, queue: asyncio.Queue[Any]) -> tuple[RequestOutput, BaseException | None]:
    """``first`` and the outputs queued after it as one output (and an error that followed them)."""
    ids = list(first.new_token_ids)
    texts = [first.new_text]
    last = first
    while not queue.empty() and not last.finished:
        item = queue.get_nowait()
        if isinstance(item, BaseException):
            return _joined(last, ids, texts), item
        if item.error is not None:
            return _joined(last, ids, texts), item.exception()
        ids.extend(item.new_token_ids)
        texts.append(item.new_text)
        last = item
    return _joined(last, ids, texts), None


def _joined(last: RequestOutput, ids: list[int], texts: list[str]) -> RequestOutput:
    return RequestOutput(request_id=last.request_id, new_token_ids=ids, new_text="".join(texts),
                         finished=last.finished, finish_reason=last.finish_reason, prompt_tokens=last.prompt_tokens,
                         completion_tokens=last.completion_tokens, reasoning_tokens=last.reasoning_tokens,
                         stop_string=last.stop_string)


def _put_all(items: list[tuple[asyncio.Queue[Any], Any]]) -> None:
    for target, item in items:
        target.put_nowait(item)


def _plain(request: Any) -> Any:
    """The request as plain data for the child (what reasoners read to resolve the mode)."""
    dump = getattr(request, "model_dump", None)
    return dump(exclude_none=True) if dump is not None else request


# ------------------------------------------------------------------------------ child process
def _engine_main(config: EngineConfig, conn: Connection) -> None:
    """The child: load the engine, then step while there is work and wait for commands otherwise."""
    logging.basicConfig(level=logging.WARNING)
    # Ctrl-C reaches the whole process group: the server drains first and then stops this process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from core_engine.llm_engine import LLMEngine

        engine = LLMEngine(config)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("failed", (type(exc).__name__ if isinstance(exc, ValueError) else "RuntimeError",
                              f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc))))
        return
    engine.guided.warm_up()
    conn.send(("ready", {"tokenizer": engine.tokenizer, "model_name": engine.model_name,
                         "max_model_len": engine.max_model_len, "reasoning_parser": engine.reasoning_parser,
                         "has_reasoner": engine.has_reasoner, "reasoner_note": engine.reasoner_note,
                         "stats": engine.stats()}))
    try:
        _serve(engine, conn)
    except (EOFError, OSError, KeyboardInterrupt):
        pass   # the server went away


def _serve(engine: Any, conn: Connection) -> None:
    while True:
        outputs: list[RequestOutput] = []
        errors: list[tuple[str, Exception]] = []
        changed = False
        # block while idle; otherwise only take what is already waiting
        while conn.poll(0 if engine.has_unfinished() or changed else None):
            command = conn.recv()
            changed = True
            kind = command[0]
            if kind == "add":
                _, request_id, prompt_ids, params, request = command
                try:
                    engine.submit(request_id, prompt_ids, params, request)
                except ValueError as exc:   # sent as a plain ValueError: a plugin's subclass may not unpickle
                    errors.append((request_id, ValueError(str(exc))))
                except RequestFailedError as exc:
                    errors.append((request_id, exc))
                except Exception as exc:  # noqa: BLE001 - one bad request must not end the engine
                    log.exception("request %s could not be added", request_id)
                    errors.append((request_id, RequestFailedError(
                        f"request {request_id} could not be added to the engine: {type(exc).__name__}: {exc}",
                        request_id=request_id, kind="internal")))
            elif kind == "abort":
                final = engine.abort(command[1])
                if final is not None:
                    outputs.append(final)
            elif kind == "shutdown":
                return
        if engine.has_unfinished():
            try:
                outputs.extend(engine.step())
            except Exception as exc:  # noqa: BLE001 - a failed step must not end the server
                log.exception("engine step failed outside any one request; aborting the running requests")
                for request_id in list(engine.requests):
                    engine.abort(request_id)
                    errors.append((request_id, RequestFailedError(f"the engine step failed: {exc!r}",
                                                                  request_id=request_id, kind="internal")))
            changed = True
        if changed:
            conn.send(("out", outputs, errors, engine.stats()))
