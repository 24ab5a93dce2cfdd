"""Split generated text into reasoning, content and tool calls, streamed or whole.

The reasoning parser sees the raw output; the tool-call parser sees only what the reasoning
parser calls content, so a ``<tool_call>`` written while reasoning is never a call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reasoning_plugins.tool_parsers.base import ToolCall, ToolCallDelta

from .planning import ChatPlan

__all__ = ["ParserFactory", "Piece", "StreamSplitter", "Whole", "merge_pieces", "split_whole"]

ParserFactory = Callable[[], Any]


@dataclass(slots=True)
class Piece:
    """What one step of a stream adds to each section (``None`` = nothing)."""

    reasoning: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.reasoning is not None or self.content is not None or bool(self.tool_calls)


@dataclass(slots=True)
class Whole:
    """The sections of a complete output."""

    reasoning: str | None
    content: str | None
    tool_calls: list[ToolCall]


class StreamSplitter:
    """One request's incremental parsing: reasoning parser, then tool-call parser on content."""

    __slots__ = ("_reasoning", "_tools", "_keep_reasoning", "_parser", "_plan", "_unanswered")

    def __init__(self, plan: ChatPlan, reasoning_parser: Any | None) -> None:
        self._reasoning = (reasoning_parser.start_stream(request=plan.request, prompt_token_ids=plan.prompt_ids)
                           if reasoning_parser is not None else None)
        self._tools = plan.tool_parser.start_stream() if plan.tool_parser is not None else None
        self._keep_reasoning = plan.include_reasoning
        self._parser = reasoning_parser
        self._plan = plan
        # the text fed while the reasoning parser has returned none at all (None once it has)
        self._unanswered: list[str] | None = []

    @property
    def num_tool_calls(self) -> int:
        return self._tools.num_calls if self._tools is not None else 0

    def feed(self, text: str, token_ids: Sequence[int]) -> Piece:
        if self._reasoning is None:
            return self._content(text or None, final=False)
        msg = self._reasoning.feed(text, token_ids)
        if self._unanswered is not None:
            if _has_text(msg):
                self._unanswered = None
            elif text:
                self._unanswered.append(text)
        if msg is None:
            return Piece()
        piece = self._content(msg.content, final=False)
        if self._keep_reasoning:
            piece.reasoning = msg.reasoning_content or None
        return piece

    def finish(self) -> Piece:
        msg = self._reasoning.finish() if self._reasoning is not None else None
        if self._unanswered and not _has_text(msg):
            self._check_silence("".join(self._unanswered))
        piece = self._content(msg.content if msg is not None else None, final=True)
        if msg is not None and self._keep_reasoning:
            piece.reasoning = msg.reasoning_content or None
        return piece

    def _check_silence(self, text: str) -> None:
        """Nothing came back for the whole output: fine for markup alone, an error if text was lost.

        A parser whose streaming method returns nothing (the seed's stub) would otherwise send an
        empty answer; the whole output parsed at once tells the two apart.
        """
        name = type(self._parser).__name__
        try:
            sections = self._parser.parse(text, request=self._plan.request, prompt_token_ids=self._plan.prompt_ids)
        except Exception as exc:  # noqa: BLE001 - the parser's own failure, reported to the client
            raise RuntimeError(f"the reasoning parser {name} returned no text while streaming "
                               f"{len(text)} characters, and parsing them whole failed: {exc}") from exc
        if any(sections):
            raise RuntimeError(f"the reasoning parser {name} returned no text while streaming {len(text)} "
                               "characters that parse to reasoning or content as a whole; its streaming "
                               "method (extract_reasoning_content_streaming) loses them")

    def _content(self, content: str | None, *, final: bool) -> Piece:
        if self._tools is None:
            return Piece(content=content or None)
        delta = self._tools.feed(content) if content else None
        if not final:
            return Piece(content=delta.content, tool_calls=delta.tool_calls) if delta else Piece()
        tail = self._tools.finish()
        text = "".join(p for p in (delta.content if delta else None, tail.content) if p) or None
        calls = (delta.tool_calls if delta else []) + tail.tool_calls
        return Piece(content=text, tool_calls=calls)


def _has_text(msg: Any) -> bool:
    return msg is not None and bool(msg.reasoning_content or msg.content)


def merge_pieces(a: Piece, b: Piece) -> Piece:
    """One piece saying what ``a`` then ``b`` say (argument fragments of one call joined)."""
    if not a:
        return b
    if not b:
        return a
    calls = list(a.tool_calls)
    for delta in b.tool_calls:
        last = calls[-1] if calls else None
        if last is not None and last.index == delta.index and delta.id is None:
            calls[-1] = ToolCallDelta(last.index, last.id, last.name, (last.arguments or "") + (delta.arguments or ""))
        else:
            calls.append(delta)
    return Piece(reasoning=_join(a.reasoning, b.reasoning), content=_join(a.content, b.content), tool_calls=calls)


def _join(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    return a if b is None else a + b


def split_whole(plan: ChatPlan, reasoning_parser: Any | None, text: str) -> Whole:
    """Sections of a complete output (the non-streaming path)."""
    reasoning: str | None = None
    content: str | None = text or None
    if reasoning_parser is not None:
        reasoning, content = reasoning_parser.parse(text, request=plan.request, prompt_token_ids=plan.prompt_ids)
    calls: list[ToolCall] = []
    if plan.tool_parser is not None:
        parsed = plan.tool_parser.parse(content)
        content, calls = parsed.content, parsed.tool_calls
    return Whole(reasoning=reasoning if plan.include_reasoning else None, content=content or None, tool_calls=calls)
