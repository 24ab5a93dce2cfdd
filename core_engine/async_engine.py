"""AsyncLLMEngine: the engine core stepped on a background thread, streamed to asyncio callers.

Callers on any event loop iterate ``generate()``; requests and aborts travel to the engine thread
through a command queue, and each step's outputs come back through one ``call_soon_threadsafe`` per
event loop into per-request ``asyncio.Queue`` objects. Closing or cancelling the iterator aborts the
request and frees its KV blocks.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import torch

from .config import EngineConfig
from .errors import EngineStoppedError
from .llm_engine import LLMEngine
from .outputs import RequestOutput
from .request import Request
from .sampling_params import SamplingParams

logger = logging.getLogger("core_engine")


@dataclass(slots=True)
class _Stream:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[RequestOutput | BaseException]


class AsyncLLMEngine:
    """Runs engine steps on a background thread; ``generate()`` streams each request's outputs."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.engine = LLMEngine(config)
        self.tokenizer = self.engine.tokenizer
        self.model_name = self.engine.model_name
        self.max_model_len = self.engine.max_model_len
        self.reasoning_parser = self.engine.reasoning_parser
        self.has_reasoner = self.engine.has_reasoner
        self.reasoner_note = self.engine.reasoner_note
        self._streams: dict[str, _Stream] = {}
        self._streams_lock = threading.Lock()
        self._commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopped = False
        # torch's thread count is per OS thread; carry the engine's choice over to the stepping thread.
        self._num_threads = torch.get_num_threads()
        self.engine.guided.warm_up()
        self._thread = threading.Thread(target=self._run, name="core-engine-steps", daemon=True)
        self._thread.start()

    # -- public API -------------------------------------------------------------------------------

    def build_prompt(self, messages: Any, tools: list[dict[str, Any]] | None = None,
                     chat_template_kwargs: dict[str, Any] | None = None) -> list[int]:
        return self.engine.build_prompt(messages, tools, chat_template_kwargs)

    async def generate(self, request_id: str, prompt_ids: list[int], params: SamplingParams | None = None,
                       request: Any = None) -> AsyncIterator[RequestOutput]:
        """Stream a request's outputs.

        Invalid input raises ValueError before anything is queued; a grammar that does not compile
        (it compiles on the engine's worker thread) raises GrammarError, a ValueError, before the
        first output. A failure inside the engine for this request raises RequestFailedError.
        """
        if self._stopped:
            raise EngineStoppedError("the engine has been shut down; create a new AsyncLLMEngine")
        prepared = self.engine.make_request(request_id, prompt_ids, params, request, defer_grammar=True)
        stream = _Stream(asyncio.get_running_loop(), asyncio.Queue())
        with self._streams_lock:
            if request_id in self._streams:
                raise ValueError(f"request id {request_id!r} is already in use; use a unique id per request")
            self._streams[request_id] = stream
        self._send("add", prepared)
        finished = False
        try:
            while True:
                item = await stream.queue.get()
                if isinstance(item, BaseException):
                    finished = True
                    raise item
                if item.error is not None:
                    finished = True
                    raise item.exception()   # type: ignore[misc]
                finished = item.finished
                yield item
                if finished:
                    return
        finally:
            with self._streams_lock:
                self._streams.pop(request_id, None)
            if not finished:
                self._send("abort", request_id)

    async def abort(self, request_id: str) -> None:
        """Stop a request; its stream ends with ``finish_reason == "abort"``."""
        self._send("abort", request_id)

    def stats(self) -> dict[str, int]:
        return self.engine.stats()

    def shutdown(self) -> None:
        """Stop the engine thread; running requests end with an error."""
        if self._stopped:
            return
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=30)

    # -- engine thread ----------------------------------------------------------------------------

    def _send(self, kind: str, payload: Any) -> None:
        self._commands.put((kind, payload))
        self._wake.set()

    def _run(self) -> None:
        torch.set_num_threads(self._num_threads)
        engine = self.engine
        while not self._stopped:
            outputs = self._drain_commands()
            if engine.has_unfinished():
                try:
                    outputs.extend(engine.step())
                except Exception as exc:   # noqa: BLE001 - a failed step must not kill the server
                    logger.exception("engine step failed outside any one request; aborting the running requests")
                    self._fail_all(EngineStoppedError(f"the engine step failed: {exc!r}"))
            if outputs:
                self._deliver(outputs)
            elif not engine.has_unfinished():
                self._wake.wait()
                self._wake.clear()
        self._drain_commands()
        self._fail_all(EngineStoppedError("the engine was shut down while the request was running"))

    def _drain_commands(self) -> list[RequestOutput]:
        outputs: list[RequestOutput] = []
        while True:
            try:
                kind, payload = self._commands.get_nowait()
            except queue.Empty:
                return outputs
            if kind == "add":
                request: Request = payload
                try:
                    self.engine.enqueue(request)
                except ValueError as exc:
                    if request.grammar_job is not None:
                        self.engine.guided.abandon(request.grammar_job)
                    self._deliver_error(request.request_id, exc)
            else:
                final = self.engine.abort(payload)
                if final is not None:
                    outputs.append(final)

    def _deliver(self, outputs: list[RequestOutput]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Queue[Any], RequestOutput]]] = defaultdict(list)
        with self._streams_lock:
            for output in outputs:
                stream = self._streams.get(output.request_id)
                if stream is not None:
                    by_loop[stream.loop].append((stream.queue, output))
                elif not output.finished:
                    # Nobody listens any more (the caller went away): stop generating for it.
                    self.engine.abort(output.request_id)
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_put_all, items)
            except RuntimeError:   # the caller's event loop is closed
                for _queue, output in items:
                    self.engine.abort(output.request_id)

    def _deliver_error(self, request_id: str, error: BaseException) -> None:
        with self._streams_lock:
            stream = self._streams.get(request_id)
        if stream is not None:
            try:
                stream.loop.call_soon_threadsafe(stream.queue.put_nowait, error)
            except RuntimeError:
                pass

    def _fail_all(self, error: BaseException) -> None:
        for request_id in list(self.engine.requests):
            self.engine.abort(request_id)
            self._deliver_error(request_id, error)


def _put_all(items: list[tuple[asyncio.Queue[Any], RequestOutput]]) -> None:
    for target, output in items:
        target.put_nowait(output)
