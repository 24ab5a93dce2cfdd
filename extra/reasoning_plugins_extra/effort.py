"""Formats whose markers the request chooses through ``reasoning_effort`` (K2-Horizon).

One declaration per effort level; each request's stream (and the id methods, for the request
they are bound to or built with) uses the markers of its level, read from
``chat_template_kwargs.reasoning_effort``, else the request's ``reasoning_effort``, else the
default level. An unknown level is a ValueError naming the supported ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from reasoning_plugins import DeclarativeParser, Mode, ReasoningFormat
from reasoning_plugins._format import Program, compile_format, resolve_mode
from reasoning_plugins._modes import coerce_mode, reasoning_end_index, request_field
from reasoning_plugins._scanner import ReasoningStream
from reasoning_plugins._tokens import marker_token_ids, text_markers


def _k2_horizon(start: str, end: str) -> ReasoningFormat:
    # the template prefills the start marker (a written one is removed); a tool-call section opened
    # before the end marker ends reasoning (vLLM <ifm|tool_calls>, SGLang also <ifm|tool_call>)
    return ReasoningFormat(start=start, end=end, start_in_output=True, default_mode=Mode.REASONING,
                           implicit_ends=("<ifm|tool_calls>", "<ifm|tool_call>"))


K2_HORIZON = {
    "high": _k2_horizon("<ifm|think>", "</ifm|think>"),
    "medium": _k2_horizon("<ifm|think_fast>", "</ifm|think_fast>"),
    "low": _k2_horizon("<ifm|think_faster>", "</ifm|think_faster>"),
}


def effort_of(request: Any, efforts: dict[str, ReasoningFormat], default: str) -> str:
    """The request's reasoning effort among ``efforts`` (ValueError for an unknown one)."""
    kwargs = request_field(request, "chat_template_kwargs")
    effort = kwargs.get("reasoning_effort") if isinstance(kwargs, dict) else None
    if effort is None:
        effort = request_field(request, "reasoning_effort")
    if effort is None:
        return default
    if not isinstance(effort, str) or effort.strip().lower() not in efforts:
        raise ValueError(
            f"unsupported reasoning_effort {effort!r}; this format supports {', '.join(sorted(efforts))}"
        )
    return effort.strip().lower()


class EffortParser(DeclarativeParser):
    """A declarative parser with one format per ``reasoning_effort`` level."""

    efforts: ClassVar[dict[str, ReasoningFormat]] = {}
    default_effort: ClassVar[str] = ""

    def __init__(self, tokenizer: Any = None, *args: Any, chat_template_kwargs: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, chat_template_kwargs=chat_template_kwargs, **kwargs)
        self._programs: dict[str, Program] = {
            effort: compile_format(fmt, marker_token_ids(tokenizer, fmt.markers)) for effort, fmt in self.efforts.items()
        }
        self._text_ends_by = {
            effort: text_markers(tokenizer, tuple(fmt.implicit_ends)) for effort, fmt in self.efforts.items()
        }
        if self._default_request is not None:
            effort_of(self._default_request, self.efforts, self.default_effort)  # a bad level fails here

    @property
    def id_format(self) -> ReasoningFormat:
        """The format of the request this instance was built for (engine adapters' id methods)."""
        return self.efforts[self._effort(None)]

    def _effort(self, request: Any) -> str:
        return effort_of(request if request is not None else self._default_request, self.efforts, self.default_effort)

    def resolve_mode(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> Mode:
        if request is None:
            request = self._default_request
        program = self._programs[self._effort(request)]
        if mode is None:
            mode = request_field(request, "model_status")
        return resolve_mode(
            program.fmt,
            mode=coerce_mode(mode) if mode is not None else None,
            request=request,
            prompt_token_ids=prompt_token_ids,
            prompt_text=prompt_text,
            start_id=program.start_id,
            end_ids=frozenset({program.end_id}) if program.end_id is not None else frozenset(),
        )

    def start_stream(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> ReasoningStream:
        program = self._programs[self._effort(request)]
        resolved = self.resolve_mode(request, prompt_token_ids=prompt_token_ids, prompt_text=prompt_text, mode=mode)
        return ReasoningStream(program, resolved, self._decode)

    def _end_index(self, input_ids: Sequence[int]) -> int | None:
        effort = self._effort(self._bound.get("request"))
        program = self._programs[effort]
        end_id = program.end_id
        implicit = program.end_ids - {end_id} if end_id is not None else program.end_ids
        mode = self.resolve_mode(**self._bound)
        return reasoning_end_index(input_ids, mode, program.start_id, end_id, implicit, self._is_blank,
                                   self._text_ends_by[effort])


class K2HorizonParser(EffortParser):
    """K2-Horizon (vLLM and SGLang ``k2_horizon``): ``<ifm|think…>`` markers chosen by effort."""

    efforts = K2_HORIZON
    default_effort = "high"
    format = K2_HORIZON["high"]
