"""``/v1/chat/completions``: run a planned request on the engine and shape the OpenAI response."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .assembly import Piece, StreamSplitter, Whole, merge_pieces, split_whole
from .config import ServerConfig
from .errors import ApiError
from .planning import ChatPlan, EngineLike
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
        """Submit the request and wait for its first output.

        Errors the engine raises before generating (prompt too long, a schema that does not
        compile) become a 400 here, before any response has been sent.
        """
        gen = self.engine.generate(plan.request_id, plan.prompt_ids, plan.params, request=plan.request)
        try:
            first = await gen.__anext__()
        except StopAsyncIteration:
            raise ApiError(500, "the engine finished the request without any output", type="server_error") from None
        except ValueError as exc:
            await _close(gen)
            raise ApiError(400, str(exc), param=_param_of(plan)) from exc
        except RuntimeError as exc:     # the engine stopped or a step failed
            await _close(gen)
            raise ApiError(503, f"the engine cannot serve requests: {exc}", type="server_error") from exc
        except BaseException:
            await _close(gen)
            raise
        return gen, first

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
        except RuntimeError as exc:
            raise ApiError(503, f"the engine stopped while generating: {exc}", type="server_error") from exc
        finally:
            await _close(gen)
        parse_started = time.perf_counter()
        whole = split_whole(plan, self.reasoning_parser(), "".join(texts))
        if self._metrics is not None:
            self._metrics.parser_time(time.perf_counter() - parse_started, out.completion_tokens)
        return whole, out

    async def steps(self, plan: ChatPlan, gen: AsyncIterator[Any], first: Any) -> AsyncIterator[Step]:
        """A started request's output as pieces, one per engine output; the last step is ``finished``.

        Every API streams from these steps, so reasoning, content and tool calls are split the same
        way whichever shape they are sent in. The generator is closed (the request aborted) when
        the caller stops early.
        """
        splitter = StreamSplitter(plan, self.reasoning_parser())
        out = first
        try:
            while True:
                piece = splitter.feed(out.new_text, out.new_token_ids)
                if out.finished:
                    yield Step(merge_pieces(piece, splitter.finish()), out, splitter.num_tool_calls)
                    return
                if piece:
                    yield Step(piece, out, splitter.num_tool_calls)
                out = await gen.__anext__()
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

    async def stream(self, plan: ChatPlan, gen: AsyncIterator[Any], first: Any) -> AsyncIterator[bytes]:
        """Yield the SSE events of a started request, ending with ``[DONE]``.

        The first text goes out at once; after that, text is sent every ``stream_interval``
        engine outputs (1 = each token), and the final text, the finish reason, the usage and
        ``[DONE]`` leave in one write.
        """
        encoder = ChunkEncoder(plan, full_keys=self.config.delta_keys == "full")
        splitter = StreamSplitter(plan, self.reasoning_parser())
        interval = self.config.stream_interval
        pending = Piece()
        since_sent = 0
        started = False
        out = first
        parse_s = 0.0
        clock = time.perf_counter
        try:
            while True:
                t = clock()
                piece = splitter.feed(out.new_text, out.new_token_ids)
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
            last = merge_pieces(merge_pieces(pending, piece), splitter.finish())
            if self._metrics is not None:
                self._metrics.parser_time(parse_s + clock() - t, out.completion_tokens)
            reason = _finish_reason(out.finish_reason, splitter.num_tool_calls > 0)
            end = [encoder.delta(last)] if last else []
            end.append(encoder.delta(Piece(), finish_reason=reason))
            if plan.include_usage:
                end.append(encoder.usage(out.prompt_tokens, out.completion_tokens, out.reasoning_tokens))
            end.append(DONE)
            yield b"".join(end)
        except Exception as exc:  # noqa: BLE001 - reported to the client as an error event
            log.exception("request %s failed while streaming", plan.request_id)
            if self._metrics is not None:
                self._metrics.error("stream_error")
            yield error_event(f"generation failed: {exc}")
            yield DONE
        finally:
            await _close(gen)


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
