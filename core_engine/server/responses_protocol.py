"""The ``POST /v1/responses`` body, and its translation into a chat request.

Typed strictly like the chat request; unknown fields are accepted and ignored. This server does
not store responses, so everything that refers to a stored one (``previous_response_id``,
``conversation``, item references, ``background``) is a 400 that says so.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import ApiError
from .protocol import ServerChatRequest
from .translation import EXTENSION_FIELDS, chat_request, invalid

__all__ = ["CHAT_NAMES", "ResponsesRequest", "not_stored", "to_chat_request"]

_STRICT = ConfigDict(extra="allow", strict=True)

# chat field -> Responses field, for error messages produced by the shared plan
CHAT_NAMES = {"max_completion_tokens": "max_output_tokens", "max_tokens": "max_output_tokens",
              "response_format": "text.format", "messages": "input"}

_NOT_STORED = ("this server does not store responses; send the whole conversation in 'input' "
               "(earlier output items can be passed back as input items)")


class FunctionTool(BaseModel):
    """``{"type": "function", "name", "description", "parameters", "strict"}``."""

    model_config = _STRICT

    type: Literal["function"] = "function"
    name: str = Field(min_length=1, max_length=256)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _function_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("type", "function") != "function":
            raise ValueError(f"tools of type {data.get('type')!r} are not supported: this server calls "
                             'function tools only ({"type": "function", "name": ..., "parameters": {...}})')
        return data


class NamedFunctionChoice(BaseModel):
    model_config = _STRICT

    type: Literal["function"]
    name: str


class TextFormat(BaseModel):
    """``text.format``: plain text, any JSON object, or a JSON schema."""

    model_config = _STRICT

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    description: str | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema_present(self) -> TextFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError('a format of type "json_schema" needs a "schema" object '
                             '({"type": "json_schema", "name": ..., "schema": {...}})')
        return self


class TextConfig(BaseModel):
    model_config = _STRICT

    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(BaseModel):
    model_config = _STRICT

    effort: str | None = None
    summary: str | None = None


class ResponsesRequest(BaseModel):
    """A ``/v1/responses`` body, as this server accepts it."""

    model_config = _STRICT

    input: str | list[dict[str, Any]]
    model: str | None = None
    instructions: str | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=100.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedFunctionChoice | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    stream: bool = False
    store: bool | None = None
    metadata: dict[str, str] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    previous_response_id: str | None = None
    background: bool | None = None
    conversation: Any = None
    prompt: Any = None
    top_logprobs: int | None = None
    n: int | None = None

    @property
    def text_format(self) -> TextFormat | None:
        return self.text.format if self.text is not None else None


def to_chat_request(request: ResponsesRequest) -> ServerChatRequest:
    """The chat request that runs ``request`` (a 400 for what this server cannot do)."""
    _check_unsupported(request)
    fields: dict[str, Any] = {
        "messages": _messages(request),
        "model": request.model,
        "stream": request.stream,
        "max_completion_tokens": request.max_output_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "parallel_tool_calls": request.parallel_tool_calls,
    }
    if request.tools:
        fields["tools"] = [{"type": "function", "function": tool.model_dump(exclude={"type"}, exclude_none=True)}
                           for tool in request.tools]
    choice = request.tool_choice
    if isinstance(choice, NamedFunctionChoice):
        fields["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    elif choice is not None:
        fields["tool_choice"] = choice
    fmt = request.text_format
    if fmt is not None and fmt.type == "json_object":
        fields["response_format"] = {"type": "json_object"}
    elif fmt is not None and fmt.type == "json_schema":
        fields["response_format"] = {"type": "json_schema", "json_schema": {
            "name": fmt.name or "response", "schema": fmt.json_schema, "strict": fmt.strict}}
    if request.reasoning is not None and request.reasoning.effort is not None:
        # read by the shared reasoning controls, which name it reasoning.effort in their errors
        fields["reasoning"] = {"effort": request.reasoning.effort}
    extra = request.model_extra or {}
    fields.update({name: extra[name] for name in EXTENSION_FIELDS if name in extra})
    return chat_request({k: v for k, v in fields.items() if v is not None}, CHAT_NAMES)


def _check_unsupported(request: ResponsesRequest) -> None:
    if request.previous_response_id is not None:
        raise invalid("previous_response_id", f"previous_response_id is not supported: {_NOT_STORED}.",
                      code="not_stored")
    if request.conversation is not None:
        raise invalid("conversation", f"conversation is not supported: {_NOT_STORED}.", code="not_stored")
    if request.background:
        raise invalid("background", "background responses are not supported: this server does not store "
                                    "responses; leave 'background' out and wait for the answer (or stream it).",
                      code="not_stored")
    if request.prompt is not None:
        raise invalid("prompt", "stored prompt templates ('prompt') are not supported; send the text in "
                                "'instructions' and 'input'.")
    if request.top_logprobs:
        raise invalid("top_logprobs", "logprobs are not supported by this server; leave 'top_logprobs' out.")
    if request.n is not None and request.n != 1:
        raise invalid("n", f"n={request.n} is not supported: a response has exactly one answer; repeat the "
                           "request for more samples.")


def _messages(request: ResponsesRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    if isinstance(request.input, str):
        messages.append({"role": "user", "content": request.input})
        return messages
    if not request.input:
        raise invalid("input", "input is an empty list; send a string or at least one input item.")
    reasoning: list[str] = []     # reasoning items passed back, kept for the next assistant turn
    for i, item in enumerate(request.input):
        kind = item.get("type", "message" if "role" in item else None)
        where = f"input[{i}]"
        if kind == "message":
            message = _message(item, where)
            if message["role"] == "assistant" and reasoning:
                message["reasoning_content"] = "".join(reasoning)
                reasoning = []
            messages.append(message)
        elif kind == "function_call":
            call = {"id": _string(item, "call_id", where), "type": "function",
                    "function": {"name": _string(item, "name", where), "arguments": _string(item, "arguments", where)}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and not reasoning:
                last.setdefault("tool_calls", []).append(call)      # the same turn as the text before
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
                if reasoning:
                    messages[-1]["reasoning_content"] = "".join(reasoning)
                    reasoning = []
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": _string(item, "call_id", where),
                             "content": _text(item.get("output"), f"{where}.output")})
        elif kind == "reasoning":
            reasoning.extend(_reasoning_texts(item.get("content"), f"{where}.content"))
        elif kind == "item_reference":
            raise invalid(where, f"{where} is an item reference, but {_NOT_STORED}.", code="not_stored")
        else:
            raise invalid(where, f"{where} has type {kind!r}; this server accepts input items of type "
                                 "message, function_call, function_call_output and reasoning.")
    return messages


_ROLES = ("user", "assistant", "system", "developer")


def _message(item: dict[str, Any], where: str) -> dict[str, Any]:
    role = item.get("role")
    if role not in _ROLES:
        raise invalid(f"{where}.role", f"{where}.role is {role!r}; expected one of {', '.join(_ROLES)}.")
    return {"role": "system" if role == "developer" else role,
            "content": _text(item.get("content"), f"{where}.content")}


def _text(content: Any, where: str) -> str:
    """A string, or text parts joined; any other part (images, files, audio) is a 400."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid(where, f"{where} must be a string or a list of text parts, got {json.dumps(content)[:80]}.")
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
        else:
            raise invalid(f"{where}[{j}]", f"{where}[{j}] is a part of type {kind!r}, but this server's model "
                                           "reads text only; send input_text parts or a string.",
                          code="unsupported_content")
    return "".join(texts)


def _reasoning_texts(content: Any, where: str) -> list[str]:
    """The texts of a reasoning item's ``content`` (absent or null: none)."""
    if content is None:
        return []
    if not isinstance(content, list):
        raise invalid(where, f"{where} must be a list of reasoning_text parts, got {json.dumps(content)[:80]}.")
    texts = []
    for j, part in enumerate(content):
        text = part.get("text") if isinstance(part, dict) else None
        if not isinstance(text, str):
            raise invalid(f"{where}[{j}]", f"{where}[{j}] must be a part with a string 'text' "
                                           '({"type": "reasoning_text", "text": ...}).')
        texts.append(text)
    return texts


def _string(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise invalid(f"{where}.{key}", f"{where} needs a string {key!r}, got {json.dumps(value)[:80]}.")
    return value


def not_stored(response_id: str) -> ApiError:
    """The answer to ``GET``/``DELETE /v1/responses/{id}``."""
    return ApiError(404, f"No response '{response_id}': {_NOT_STORED}.", param="response_id", code="not_stored")
