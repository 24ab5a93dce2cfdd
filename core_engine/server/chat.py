"""``/v1/chat/completions``: run a planned request on the engine and shape the OpenAI response.

The runner is also the engine path of ``/v1/responses`` and ``/v1/messages``: they start requests
with :meth:`ChatRunner.start` and read them through :meth:`ChatRunner.collect` or
:meth:`ChatRunner.steps`, so timeouts, aborts and failures are handled once, here.

Failures reach the client in the API's error shape and never touch other requests: before the
first byte as an HTTP error (400 for a grammar that does not compile or compiles too slowly, 500
when a plugin or the engine failed for this request, 503 when the engine is stopped, 504 when
``--request-timeout`` passed), after it as an error event (for chat completions an
``{"error": ...}`` event followed by ``[DONE]``). A request the server aborted never reports
``finish_reason: "abort"``: it gets an error too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from core_engine.errors import EngineStoppedError, RequestFailedError

from .assembly import Piece, StreamSplitter, Whole, merge_pieces, split_whole
from .config import ServerConfig
from .errors import ApiError
from .planning import ChatPlan, EngineLike
from .shutdown import ServerShuttingDown
from .streaming import DONE, ChunkEncoder, error_event, usage_dict

__all__ = ["ChatRunner", "Step"]

log = logging.getLogger("core_engine.server")


@dataclass(slots=True)
class Step:
    """What one engine output added, and the output itself (``output.finished`` on the last)."""

    piece: Piece
    output: Any
    num_tool_calls: int

    @property
    def finished(self) -> bool:
        return bool(self.output.finished)


class _Watched:
    """A request's engine outputs with the request timeout applied and server aborts turned into errors."""

    def __init__(self, runner: ChatRunner, plan: ChatPlan, gen: AsyncIterator[Any], deadline: float | None) -> None:
        self._runner, self._plan, self._gen, self._deadline = runner, plan, gen, deadline
        self._produced = 0

    def __aiter__(self) -> _Watched:
        return self

    async def __anext__(self) -> Any:
        out = await self._runner._next(self._plan, self._gen, self._deadline, self._produced)
        self._produced = out.completion_tokens
        return out

    async def aclose(self) -> None:
        await _close(self._gen)


class ChatRunner:
    """Runs chat completions for one app: holds the engine and the parser factory."""

    def __init__(self, engine: EngineLike, config: ServerConfig, make_reasoning_parser: Any | None,
                 metrics: Any | None = None) -> None:
        self.engine = engine
        self.config = config
        self._make_parser = make_reasoning_parser
        self._metrics = metrics     # a ServerMetrics: parser time and stream errors

    def reasoning_parser(self) -> Any | None:
        return self._make_parser() if self._make_parser is not None else None

    async def start(self, plan: ChatPlan) -> tuple[AsyncIterator[Any], Any]:
        """Submit the request and wait for its first output; returns its outputs and the first one.

        Errors the engine raises before generating (prompt too long, a schema that does not
        compile) become a 400 here, before any response has been sent; a timeout a 504, a failure
        in a plugin a 500, a stopped engine a 503.
        """
        timeout = self.config.request_timeout
        deadline = time.monotonic() + timeout if timeout is not None else None
        gen = self.engine.generate(plan.request_id, plan.prompt_ids, plan.params, request=plan.request)
        watched = _Watched(self, plan, gen, deadline)
        try:
            first = await watched.__anext__()
        except StopAsyncIteration:
            await _close(gen)
            raise ApiError(500, "the engine finished the request without any output", type="server_error") from None
        except ApiError:
            await _close(gen)
            raise
        except ValueError as exc:
            await _close(gen)
            raise ApiError(400, str(exc), param=_param_of(plan)) from exc
        except BaseException as exc:
            await _close(gen)
            if isinstance(exc, Exception):
                raise _api_error(exc) from exc
            raise
        return watched, first

    async def _next(self, plan: ChatPlan, gen: AsyncIterator[Any], deadline: float | None, produced: int) -> Any:
        """The next engine output; raises a 504 ApiError (the request is aborted) past the deadline."""
        if deadline is None:
            out = await gen.__anext__()
        else:
            try:
                out = await asyncio.wait_for(gen.__anext__(), max(deadline - time.monotonic(), 0.0))
            except TimeoutError:
                log.warning("request %s passed the request timeout of %g s; aborted", plan.request_id,
                            self.config.request_timeout)
                raise ApiError(504, f"request {plan.request_id} did not finish within the server's request "
                                    f"timeout of {self.config.request_timeout:g} s (--request-timeout) and was "
                                    f"aborted after {produced} generated tokens; ask for fewer tokens "
                                    "(max_tokens) or retry later.", type="timeout_error",
                               code="request_timeout") from None
        if out.finished and out.finish_reason == "abort":
            raise ApiError(503, f"request {plan.request_id} was aborted by the server before it finished; "
                                "retry it.", type="server_error", code="request_aborted")
        return out

    async def collect(self, plan: ChatPlan) -> tuple[Whole, Any]:
        """Run to the end: the output's sections and the engine's last output (finish reason, counts)."""
        gen, out = await self.start(plan)
        texts: list[str] = []
        try:
            while True:
                if out.new_text:
                    texts.append(out.new_text)
                if out.finished:
                    break
                out = await gen.__anext__()
        except ApiError:
            raise
        except Exception as exc:
            raise _api_error(exc) from exc
        finally:
            await _close(gen)
        parse_started = time.perf_counter()
        try:
            whole = split_whole(plan, self.reasoning_parser(), "".join(texts))
        except Exception as exc:
            raise _parser_error(plan, exc) from exc
        if self._metrics is not None:
            self._metrics.parser_time(time.perf_counter() - parse_started, out.completion_tokens)
        return whole, out

    async def steps(self, plan: ChatPlan, gen: AsyncIterator[Any], first: Any) -> AsyncIterator[Step]:
        """A started request's output as pieces, one per engine output; the last step is ``finished``.

        Every API streams from these steps, so reasoning, content and tool calls are split the same
        way whichever shape they are sent in. The generator is closed (the request aborted) when
        the caller stops early. Failures are raised as :class:`ApiError`.
        """
        splitter = StreamSplitter(plan, self.reasoning_parser())
        out = first
        try:
            while True:
                piece = _parsed(plan, splitter.feed, out.new_text, out.new_token_ids)
                if out.finished:
                    yield Step(merge_pieces(piece, _parsed(plan, splitter.finish)), out, splitter.num_tool_calls)
                    return
                if piece:
                    yield Step(piece, out, splitter.num_tool_calls)
                try:
                    out = await gen.__anext__()
                except ApiError:
                    raise
                except Exception as exc:
                    raise _api_error(exc) from exc
        finally:
            await _close(gen)

    async def complete(self, plan: ChatPlan) -> dict[str, Any]:
        """Run to the end and return a ``chat.completion`` object."""
        whole, out = await self.collect(plan)
        message: dict[str, Any] = {"role": "assistant", "content": whole.content}
        if plan.include_reasoning:
            for key in plan.reasoning_keys:
                message[key] = whole.reasoning
        if whole.tool_calls:
            message["tool_calls"] = [call.to_openai() for call in whole.tool_calls]
        return {
            "id": plan.request_id,
            "object": "chat.completion",
            "created": plan.created,
            "model": plan.model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish_reason(out.finish_reason, bool(whole.tool_calls)),
            }],
            "usage": usage_dict(out.prompt_tokens, out.completion_tokens, out.reasoning_tokens),
        }

    async def stream(self, plan: ChatPlan) -> AsyncIterator[bytes]:
        """Start the request and yield its SSE events, ending with ``[DONE]``.

        Anything that fails before the first event raises ApiError (the response then is an HTTP
        error); after it, the failure becomes an error event. The first text goes out at once;
        after that, text is sent every ``stream_interval`` engine outputs (1 = each token), and the
        final text, the finish reason, the usage and ``[DONE]`` leave in one write.
        """
        gen, out = await self.start(plan)
        encoder = ChunkEncoder(plan, full_keys=self.config.delta_keys == "full")
        interval = self.config.stream_interval
        pending = Piece()
        since_sent = 0
        started = False
        parse_s = 0.0
        clock = time.perf_counter
        try:
            splitter = StreamSplitter(plan, self.reasoning_parser())
            while True:
                t = clock()
                piece = _parsed(plan, splitter.feed, out.new_text, out.new_token_ids)
                parse_s += clock() - t
                if out.finished:
                    break
                if piece:
                    pending = merge_pieces(pending, piece) if pending else piece
                since_sent += 1
                if pending and (since_sent >= interval or not started):
                    yield encoder.delta(pending)
                    pending = Piece()
                    since_sent = 0
                    started = True
                out = await gen.__anext__()
            t = clock()
            last = merge_pieces(merge_pieces(pending, piece), _parsed(plan, splitter.finish))
            if self._metrics is not None:
                self._metrics.parser_time(parse_s + clock() - t, out.completion_tokens)
            reason = _finish_reason(out.finish_reason, splitter.num_tool_calls > 0)
            end = [encoder.delta(last)] if last else []
            end.append(encoder.delta(Piece(), finish_reason=reason))
            if plan.include_usage:
                end.append(encoder.usage(out.prompt_tokens, out.completion_tokens, out.reasoning_tokens))
            end.append(DONE)
            yield b"".join(end)
        except Exception as exc:  # noqa: BLE001 - reported to the client as an error
            error = exc if isinstance(exc, ApiError) else _api_error(exc)
            log.error("request %s failed while streaming: %s", plan.request_id, error.message)
            if not started:
                raise error from exc
            if self._metrics is not None:
                self._metrics.error("stream_error")
            yield error_event(error.message, type=error.type, code=error.code)
            yield DONE
        finally:
            await _close(gen)


def _api_error(exc: Exception) -> ApiError:
    """The HTTP error for an engine exception raised while a request runs."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValueError):
        return ApiError(400, str(exc))
    if isinstance(exc, RequestFailedError):
        return ApiError(500, str(exc), type="server_error", code="request_failed")
    if isinstance(exc, ServerShuttingDown):
        return ApiError(503, str(exc), type="server_error", code="server_shutting_down")
    if isinstance(exc, EngineStoppedError):
        return ApiError(503, f"the engine cannot serve requests: {exc}", type="server_error", code="engine_stopped")
    log.exception("unexpected error while generating", exc_info=exc)
    return ApiError(500, f"generation failed: {type(exc).__name__}: {exc}", type="server_error")


def _parser_error(plan: ChatPlan, exc: Exception) -> ApiError:
    parsers = " / ".join(p for p in (f"reasoning parser '{plan.reasoning_parser}'" if plan.reasoning_parser else "",
                                     "tool-call parser" if plan.tool_parser is not None else "") if p)
    log.error("request %s: the %s failed", plan.request_id, parsers or "output parser", exc_info=exc)
    return ApiError(500, f"request {plan.request_id} failed in the {parsers or 'output parser'} (a plugin) while "
                         f"splitting the output: {type(exc).__name__}: {exc}. Other requests are not affected.",
                    type="server_error", code="parser_failed")


def _parsed(plan: ChatPlan, call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as exc:
        raise _parser_error(plan, exc) from exc


def _finish_reason(engine_reason: str | None, has_tool_calls: bool) -> str:
    if engine_reason == "stop" and has_tool_calls:
        return "tool_calls"
    return engine_reason or "stop"


def _param_of(plan: ChatPlan) -> str | None:
    request = plan.request
    if request.guided_json is not None:
        return "guided_json"
    if request.guided_regex is not None:
        return "guided_regex"
    if request.response_format is not None and request.response_format.type != "text":
        return "response_format"
    if plan.params.guided is not None:
        return "tool_choice"
    return None


async def _close(gen: Any) -> None:
    aclose = getattr(gen, "aclose", None)
    if aclose is not None:
        await aclose()
