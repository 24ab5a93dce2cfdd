"""What the Responses and Messages APIs share: their requests become a chat request.

Each API translates its body into a :class:`~.protocol.ServerChatRequest` and hands it to
:func:`~.planning.plan_chat`, so sampling, guided decoding, tool calls and the reasoning split
are decided in one place. The plan's error messages speak of chat fields; :func:`renamed`
rewrites them in the API's own field names (``max_output_tokens``, ``max_tokens``, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from reasoning_plugins.tool_parsers.base import ToolCallDelta

from .assembly import Piece, Whole
from .errors import ApiError, validation_error
from .protocol import ServerChatRequest

if TYPE_CHECKING:
    from .chat import ChatRunner
    from .planning import ChatPlan

__all__ = ["EXTENSION_FIELDS", "TranslatedApi", "chat_request", "close_steps", "encode_events", "invalid",
           "pieces_of", "renaming", "renamed"]

T = TypeVar("T")

# Chat-completions extensions (vLLM, SGLang, FastDeploy names) that mean the same in every API and
# are passed through unchanged when a Responses or Messages body carries them.
EXTENSION_FIELDS = ("top_k", "seed", "ignore_eos", "guided_regex", "chat_template_kwargs", "enable_thinking",
                    "reasoning_effort", "reasoning_max_tokens", "thinking_token_budget", "thinking_budget",
                    "include_reasoning")


def invalid(param: str, message: str, code: str | None = None) -> ApiError:
    """A 400 about one field of the body."""
    return ApiError(400, message, param=param, code=code)


def chat_request(fields: dict[str, Any], names: Mapping[str, str]) -> ServerChatRequest:
    """The chat request for translated ``fields``; a problem is reported in the API's names."""
    try:
        return ServerChatRequest.model_validate(fields)
    except ValidationError as exc:
        raise renamed(validation_error(exc), names) from None


def renamed(error: ApiError, names: Mapping[str, str]) -> ApiError:
    """``error`` with chat field names replaced by the API's (``names``: chat name -> API name)."""
    if not names:
        return error
    param = error.param
    if param:
        head = re.match(r"[^.\[]*", param).group(0)  # type: ignore[union-attr]  # always matches
        param = names.get(head, head) + param[len(head):]
    # identifiers with an underscore are rewritten anywhere in the text, plain words only where they
    # are quoted as a field ('stop': ...), so prose keeps its meaning
    spelled = {chat: api for chat, api in names.items() if "_" in chat}
    message = error.message
    if spelled:
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, spelled)) + r")\b")
        message = pattern.sub(lambda m: spelled[m.group(1)], message)
    quoted = re.compile(r"'(" + "|".join(map(re.escape, names)) + r")(?=['.\[])")
    message = quoted.sub(lambda m: "'" + names[m.group(1)], message)
    return ApiError(error.status, message, type=error.type, param=param, code=error.code)


async def renaming(names: Mapping[str, str], call: Callable[[], Awaitable[T]]) -> T:
    """Await ``call()``; an :class:`ApiError` it raises comes out in the API's field names."""
    try:
        return await call()
    except ApiError as exc:
        raise renamed(exc, names) from None


def pieces_of(whole: Whole) -> list[Piece]:
    """A complete output as the pieces a stream would give: reasoning, content, then the calls.

    The non-streaming responses are built by feeding these to the same builders the streams use.
    """
    calls = [ToolCallDelta(i, call.id, call.name, call.arguments) for i, call in enumerate(whole.tool_calls)]
    return [Piece(reasoning=whole.reasoning), Piece(content=whole.content), Piece(tool_calls=calls)]


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_events(events: list[dict[str, Any]]) -> bytes:
    """Server-sent events named by their ``type``: ``event: <type>`` then ``data: <json>``."""
    return "".join(f"event: {event['type']}\ndata: {_dumps(event)}\n\n" for event in events).encode()


async def close_steps(steps: AsyncIterator[Any], gen: AsyncIterator[Any]) -> None:
    """Close a stream's steps and the engine generator under them (which aborts the request).

    Called when a stream ends for any reason, the client leaving included: closing at once frees
    the request's KV blocks instead of waiting for the garbage collector. The generator is closed
    too in case the steps never started.
    """
    for closable in (steps, gen):
        aclose = getattr(closable, "aclose", None)
        if aclose is not None:
            await aclose()


class TranslatedApi(Protocol):
    """An API served by translation: its body model, the translation, and its two output shapes."""

    request_model: type[BaseModel]
    chat_names: Mapping[str, str]        # chat field -> this API's field, for error messages

    def to_chat(self, request: Any) -> ServerChatRequest: ...

    async def complete(self, runner: ChatRunner, request: Any, plan: ChatPlan) -> dict[str, Any]: ...

    def stream(self, runner: ChatRunner, request: Any, plan: ChatPlan, gen: AsyncIterator[Any],
               first: Any) -> AsyncIterator[bytes]: ...
