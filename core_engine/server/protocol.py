"""The server's request model: ``reasoning_plugins.protocol.ChatCompletionRequest``, typed strictly.

Types are strict (a string is not accepted where a number is expected) and unknown fields are
kept but ignored, as OpenAI-compatible servers do. Checks that need the model (prompt length,
image parts, tool names) happen later, when the request is planned.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reasoning_plugins.protocol import ChatCompletionRequest

from ..sampling_params import SEED_MIN, SEED_MAX

__all__ = [
    "ChatMessage",
    "JsonSchemaFormat",
    "NamedToolChoice",
    "ResponseFormat",
    "ServerChatRequest",
    "StreamOptions",
    "ToolDefinition",
]

_STRICT = ConfigDict(extra="allow", strict=True)

# What /openapi.json says about fields whose checks are validators or plain-code rules: a text part
# needs its text, and n and logprobs take only the values this server serves.
_CONTENT_DOC = {"anyOf": [
    {"type": "string"},
    {"type": "array", "items": {"anyOf": [
        {"type": "object", "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
         "required": ["type", "text"]},
        {"type": "object", "properties": {"type": {"type": "string", "not": {"const": "text"}}}, "required": ["type"]},
    ]}},
    {"type": "null"}]}


class ChatMessage(BaseModel):
    """One conversation turn; ``content`` is a string or a list of content parts."""

    model_config = _STRICT

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = Field(default=None, json_schema_extra=_CONTENT_DOC)
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None

    @field_validator("content")
    @classmethod
    def _parts_have_a_type(cls, value: Any) -> Any:
        if isinstance(value, list):
            for i, part in enumerate(value):
                if not isinstance(part.get("type"), str):
                    raise ValueError(f"content part {i} needs a string 'type' such as \"text\"")
                if part["type"] == "text" and not isinstance(part.get("text"), str):
                    raise ValueError(f"content part {i} of type \"text\" needs a string 'text'")
        return value


class StreamOptions(BaseModel):
    model_config = _STRICT

    include_usage: bool = False


class FunctionDefinition(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, max_length=256)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(BaseModel):
    model_config = _STRICT

    type: Literal["function"] = "function"
    function: FunctionDefinition


class NamedFunction(BaseModel):
    model_config = _STRICT

    name: str


class NamedToolChoice(BaseModel):
    model_config = _STRICT

    type: Literal["function"] = "function"
    function: NamedFunction


class JsonSchemaFormat(BaseModel):
    model_config = _STRICT

    name: str = "response"
    description: str | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    model_config = _STRICT

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_present(self) -> ResponseFormat:
        if self.type == "json_schema" and (self.json_schema is None or self.json_schema.json_schema is None):
            raise ValueError('response_format of type "json_schema" needs '
                             '{"json_schema": {"name": ..., "schema": {...}}}')
        return self


class ServerChatRequest(ChatCompletionRequest):
    """A ``/v1/chat/completions`` body, as this server accepts it."""

    model_config = _STRICT

    messages: list[ChatMessage] = Field(min_length=1)  # type: ignore[assignment]
    model: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=100.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=-1)
    seed: int | None = Field(default=None, ge=SEED_MIN, le=SEED_MAX)
    stop: str | list[str] | None = None
    n: int | None = Field(default=1, json_schema_extra={"anyOf": [{"const": 1}, {"type": "null"}]})
    tools: list[ToolDefinition] | None = None  # type: ignore[assignment]
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None  # type: ignore[assignment]
    guided_json: dict[str, Any] | str | None = None
    guided_regex: str | None = None
    chat_template_kwargs: dict[str, Any] | None = None
    reasoning_max_tokens: int | None = Field(default=None, ge=0)
    include_reasoning: bool = True
    # other spellings of the reasoning controls, read together by controls.resolve_controls
    reasoning_effort: str | None = None
    thinking_token_budget: int | None = Field(default=None, ge=0)
    thinking_budget: int | None = Field(default=None, ge=0)
    reasoning: dict[str, Any] | None = None
    logprobs: bool | None = Field(default=None, json_schema_extra={"anyOf": [{"const": False}, {"type": "null"}]})
    top_logprobs: int | None = None
    ignore_eos: bool = False

    @field_validator("stop")
    @classmethod
    def _stop_not_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        items = [value] if isinstance(value, str) else (value or [])
        if any(not s for s in items):
            raise ValueError("stop strings must not be empty")
        if len(items) > 16:
            raise ValueError(f"at most 16 stop strings are supported, got {len(items)}")
        return value

    @property
    def output_limit(self) -> int | None:
        """``max_completion_tokens`` (the newer name) or ``max_tokens``."""
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    @property
    def stop_list(self) -> list[str] | None:
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop) or None

    def tool_dicts(self) -> list[dict[str, Any]]:
        """The tools as plain OpenAI dicts (what chat templates and tool parsers read)."""
        return [tool.model_dump(exclude_none=True) for tool in self.tools or []]

    def message_dicts(self) -> list[dict[str, Any]]:
        """The messages as plain dicts for the chat template (``None`` fields left out)."""
        return [m.model_dump(exclude_none=True) for m in self.messages]
