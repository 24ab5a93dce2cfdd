"""The ``POST /v1/messages`` body (Anthropic's Messages API), and its translation into a chat request.

Content blocks map onto chat messages: ``text`` to content, ``tool_use`` to ``tool_calls``,
``tool_result`` to ``tool`` messages, ``thinking`` (after its signature is verified) to
``reasoning_content``. Blocks this server cannot read (images, documents) are a 400 naming them.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .protocol import ServerChatRequest
from .thinking_signature import ThinkingSigner
from .translation import EXTENSION_FIELDS, chat_request, invalid

__all__ = ["CHAT_NAMES", "MessagesRequest", "to_chat_request"]

_STRICT = ConfigDict(extra="allow", strict=True)

# chat field -> Messages field, for error messages produced by the shared plan
CHAT_NAMES = {"max_completion_tokens": "max_tokens", "stop": "stop_sequences",
              "response_format": "output_config.format", "reasoning_effort": "output_config.effort"}


class Message(BaseModel):
    model_config = _STRICT

    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class Tool(BaseModel):
    """``{"name", "description", "input_schema"}`` (a client tool)."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=256)
    description: str | None = None
    input_schema: dict[str, Any]
    type: Literal["custom"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _client_tools_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("type") not in (None, "custom"):
            raise ValueError(f"tools of type {data.get('type')!r} are not supported: this server runs "
                             'client tools only ({"name": ..., "description": ..., "input_schema": {...}})')
        return data


class ToolChoice(BaseModel):
    model_config = _STRICT

    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None

    @model_validator(mode="after")
    def _name_for_tool(self) -> ToolChoice:
        if self.type == "tool" and not self.name:
            raise ValueError('tool_choice of type "tool" needs the tool\'s "name"')
        return self


class Thinking(BaseModel):
    """``{"type": "enabled", "budget_tokens": N}``, ``{"type": "disabled"}`` or ``{"type": "adaptive"}``."""

    model_config = _STRICT

    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = Field(default=None, ge=0)
    display: str | None = None

    @model_validator(mode="after")
    def _budget_for_enabled(self) -> Thinking:
        if self.type == "enabled" and self.budget_tokens is None:
            raise ValueError('thinking of type "enabled" needs "budget_tokens" (the most tokens to think)')
        return self


class OutputFormat(BaseModel):
    model_config = _STRICT

    type: Literal["json_schema"]
    json_schema: dict[str, Any] = Field(alias="schema")


class OutputConfig(BaseModel):
    """``{"effort": level, "format": {"type": "json_schema", "schema": {...}}}``."""

    model_config = _STRICT

    effort: str | None = None
    format: OutputFormat | None = None


class MessagesRequest(BaseModel):
    """A ``/v1/messages`` body, as this server accepts it."""

    model_config = _STRICT

    max_tokens: int = Field(ge=1)
    messages: list[Message] = Field(min_length=1)
    model: str | None = None
    system: str | list[dict[str, Any]] | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=100.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=0)
    stream: bool = False
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    metadata: dict[str, Any] | None = None
    mcp_servers: list[Any] | None = None
    n: int | None = None


def to_chat_request(request: MessagesRequest, signer: ThinkingSigner) -> ServerChatRequest:
    """The chat request that runs ``request`` (a 400 for what this server cannot do)."""
    if request.mcp_servers:
        raise invalid("mcp_servers", "MCP servers are not supported by this server; leave 'mcp_servers' out "
                                     "and pass the tools you want in 'tools'.")
    if request.n is not None and request.n != 1:
        raise invalid("n", f"n={request.n} is not supported: a message has exactly one answer; repeat the "
                           "request for more samples.")
    fields: dict[str, Any] = {
        "messages": _system(request.system) + _messages(request.messages, signer),
        "model": request.model,
        "stream": request.stream,
        "max_completion_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "top_k": request.top_k,
        "stop": request.stop_sequences or None,
    }
    if request.tools:
        fields["tools"] = [{"type": "function", "function": {
            "name": tool.name, "description": tool.description, "parameters": tool.input_schema}}
            for tool in request.tools]
    choice = request.tool_choice
    if choice is not None:
        if choice.type == "tool":
            fields["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
        else:
            fields["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[choice.type]
        if choice.disable_parallel_tool_use is not None:
            fields["parallel_tool_calls"] = not choice.disable_parallel_tool_use
    output = request.output_config
    if output is not None and output.format is not None:
        fields["response_format"] = {"type": "json_schema",
                                     "json_schema": {"name": "output", "schema": output.format.json_schema}}
    if output is not None and output.effort is not None:
        fields["reasoning_effort"] = output.effort
    extra = request.model_extra or {}
    fields.update({name: extra[name] for name in EXTENSION_FIELDS if name in extra})
    fields.update(_thinking(request))
    return chat_request({k: v for k, v in fields.items() if v is not None}, CHAT_NAMES)


def _thinking(request: MessagesRequest) -> dict[str, Any]:
    """``thinking`` as the shared reasoning controls read it (``adaptive``: the model's default)."""
    thinking = request.thinking
    if thinking is None or thinking.type == "adaptive":
        return {}
    if thinking.budget_tokens is not None and thinking.budget_tokens >= request.max_tokens:
        raise invalid("thinking.budget_tokens",
                      f"thinking.budget_tokens ({thinking.budget_tokens}) must be less than max_tokens "
                      f"({request.max_tokens}): max_tokens counts the thinking too, so leave room for the answer.")
    return {"thinking": thinking.model_dump(include={"type", "budget_tokens"}, exclude_none=True)}


def _system(system: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if system is None:
        return []
    text = system if isinstance(system, str) else _texts(system, "system", allowed=("text",))
    return [{"role": "system", "content": text}] if text else []


def _messages(messages: list[Message], signer: ThinkingSigner) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if isinstance(message.content, str):
            out.append({"role": message.role, "content": message.content})
        elif message.role == "user":
            out += _user_turn(message.content, where)
        else:
            out.append(_assistant_turn(message.content, where, signer))
    if messages[-1].role == "assistant":
        raise invalid(f"messages[{len(messages) - 1}]",
                      f"messages[{len(messages) - 1}] is an assistant message: continuing a prefilled assistant "
                      "turn is not supported by this server; end the conversation with a user message.")
    return out


def _user_turn(blocks: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """Tool results become ``tool`` messages (first, as they answer the previous turn), text a user message."""
    results: list[dict[str, Any]] = []
    texts: list[str] = []
    for j, block in enumerate(blocks):
        kind = _kind(block, f"{where}.content[{j}]")
        if kind == "tool_result":
            tool_use_id = block.get("tool_use_id")
            if not isinstance(tool_use_id, str):
                raise invalid(f"{where}.content[{j}].tool_use_id",
                              f"{where}.content[{j}] (tool_result) needs a string 'tool_use_id'.")
            content = block.get("content", "")
            text = content if isinstance(content, str) else _texts(content, f"{where}.content[{j}].content",
                                                                   allowed=("text",))
            if block.get("is_error") is True:
                text = f"Error: {text}"
            results.append({"role": "tool", "tool_call_id": tool_use_id, "content": text})
        elif kind == "text":
            texts.append(_text(block, f"{where}.content[{j}]"))
        else:
            raise _unsupported(kind, f"{where}.content[{j}]", "text and tool_result")
    turn = [{"role": "user", "content": "".join(texts)}] if texts else []
    return results + turn


def _assistant_turn(blocks: list[dict[str, Any]], where: str, signer: ThinkingSigner) -> dict[str, Any]:
    thinking: list[str] = []
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        at = f"{where}.content[{j}]"
        kind = _kind(block, at)
        if kind == "thinking":
            text, signature = block.get("thinking"), block.get("signature")
            if not isinstance(text, str) or not isinstance(signature, str):
                raise invalid(at, f"{at} (thinking) needs a string 'thinking' and the 'signature' this server "
                                  "sent with it.")
            if not signer.verify(text, signature):
                raise invalid(f"{at}.signature",
                              f"{at}.signature does not match its thinking text: the block was altered, or it "
                              "was not produced by this server (signatures do not survive a restart). Send "
                              "thinking blocks back exactly as received, or leave them out.",
                              code="invalid_signature")
            thinking.append(text)
        elif kind == "text":
            texts.append(_text(block, at))
        elif kind == "tool_use":
            call_id, name, arguments = block.get("id"), block.get("name"), block.get("input")
            if not isinstance(call_id, str) or not isinstance(name, str) or not isinstance(arguments, dict):
                raise invalid(at, f"{at} (tool_use) needs a string 'id', a string 'name' and an object 'input'.")
            calls.append({"id": call_id, "type": "function",
                          "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}})
        elif kind == "redacted_thinking":
            raise invalid(at, f"{at} is a redacted_thinking block, which this server never produces; send the "
                              "thinking blocks it returned, or leave them out.")
        else:
            raise _unsupported(kind, at, "thinking, text and tool_use")
    turn: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if thinking:
        turn["reasoning_content"] = "".join(thinking)
    if calls:
        turn["tool_calls"] = calls
    return turn


def _kind(block: Any, where: str) -> str:
    kind = block.get("type") if isinstance(block, dict) else None
    if not isinstance(kind, str):
        raise invalid(where, f"{where} must be a content block with a string 'type' such as \"text\".")
    return kind


def _text(block: dict[str, Any], where: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise invalid(f"{where}.text", f"{where} (text) needs a string 'text'.")
    return text


def _texts(blocks: Any, where: str, *, allowed: tuple[str, ...]) -> str:
    if not isinstance(blocks, list):
        raise invalid(where, f"{where} must be a string or a list of text blocks.")
    texts = []
    for j, block in enumerate(blocks):
        kind = _kind(block, f"{where}[{j}]")
        if kind not in allowed:
            raise _unsupported(kind, f"{where}[{j}]", " and ".join(allowed))
        texts.append(_text(block, f"{where}[{j}]"))
    return "".join(texts)


def _unsupported(kind: str, where: str, accepted: str) -> Exception:
    if kind in ("image", "document", "search_result", "container_upload"):
        return invalid(where, f"{where} is a block of type {kind!r}, but this server's model reads text only; "
                              "send text blocks.", code="unsupported_content")
    return invalid(where, f"{where} has type {kind!r}; this server accepts {accepted} blocks here.")
