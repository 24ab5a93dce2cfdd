"""Request and message models shared by parsers, engines and the HTTP server.

Field names follow the OpenAI chat-completions API and the reasoning extensions used by vLLM,
LMDeploy and FastDeploy, so a parser written against any of them finds what it expects.
Unknown fields are kept (``extra="allow"``): engines add their own.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatCompletionRequest",
    "DeltaFunctionCall",
    "DeltaMessage",
    "DeltaToolCall",
    "FunctionCall",
    "ReasoningDelta",
    "ToolCall",
]


class FunctionCall(BaseModel):
    name: str
    arguments: str


class ToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class DeltaFunctionCall(BaseModel):
    name: str | None = None
    arguments: str | None = None


class DeltaToolCall(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: DeltaFunctionCall | None = None


class DeltaMessage(BaseModel):
    """One streamed piece of an assistant message. ``None`` means "nothing in this section"."""

    model_config = ConfigDict(extra="allow")

    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[DeltaToolCall] = Field(default_factory=list)


class ReasoningDelta:
    """What a parser returns for one delta: the light message of the streaming hot path.

    It reads like :class:`DeltaMessage` (``reasoning_content``, ``content``, ``tool_calls``) and
    like vLLM's newer message (``reasoning``), but costs a plain object instead of a validated
    pydantic model per token. :meth:`to_delta_message` builds the pydantic model where an engine
    or a server needs one. ``None`` means "nothing in this section", never ``""``.
    """

    __slots__ = ("reasoning_content", "content")

    tool_calls: tuple[DeltaToolCall, ...] = ()
    role = None

    def __init__(self, reasoning_content: str | None = None, content: str | None = None) -> None:
        self.reasoning_content = reasoning_content
        self.content = content

    @property
    def reasoning(self) -> str | None:
        """The reasoning under vLLM's newer field name."""
        return self.reasoning_content

    def to_delta_message(self) -> DeltaMessage:
        return DeltaMessage(reasoning_content=self.reasoning_content, content=self.content)

    def model_dump(self, **_: Any) -> dict[str, Any]:
        return {"role": None, "content": self.content, "reasoning_content": self.reasoning_content, "tool_calls": []}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ReasoningDelta | DeltaMessage):
            return (self.reasoning_content, self.content) == (other.reasoning_content, other.content)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ReasoningDelta(reasoning_content={self.reasoning_content!r}, content={self.content!r})"


class ChatCompletionRequest(BaseModel):
    """The parts of a chat-completions request that parsers and engines read."""

    model_config = ConfigDict(extra="allow")

    messages: list[dict[str, Any]] = Field(default_factory=list)
    model: str | None = None
    stream: bool = False
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    chat_template_kwargs: dict[str, Any] | None = None
    reasoning_max_tokens: int | None = None
    include_reasoning: bool = True
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    response_format: dict[str, Any] | None = None
    guided_json: Any = None
    guided_regex: str | None = None
