"""Formats whose markers the request chooses through ``reasoning_effort`` (K2-Horizon).

One declaration per effort level; each request's stream (and the id methods, for the request
they are bound to or built with) uses the markers of its level, read from
``chat_template_kwargs.reasoning_effort``, else the request's ``reasoning_effort``, else the
default level. An unknown level is a ValueError naming the supported ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from reasoning_plugins import DeclarativeParser, Mode, ReasoningFormat, ReasoningStream, request_field


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
    """A declarative parser with one format per ``reasoning_effort`` level: each request is
    parsed by the declarative parser of its level."""

    efforts: ClassVar[dict[str, ReasoningFormat]] = {}
    default_effort: ClassVar[str] = ""
    _level_classes: ClassVar[dict[str, type[DeclarativeParser]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._level_classes = {
            effort: type(f"{cls.__name__}_{effort}", (DeclarativeParser,), {"format": fmt, "__module__": cls.__module__})
            for effort, fmt in cls.efforts.items()
        }

    def __init__(self, tokenizer: Any = None, *args: Any, chat_template_kwargs: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, chat_template_kwargs=chat_template_kwargs, **kwargs)
        self._levels: dict[str, DeclarativeParser] = {effort: level(tokenizer) for effort, level in self._level_classes.items()}
        if self._default_request is not None:
            effort_of(self._default_request, self.efforts, self.default_effort)  # a bad level fails here

    @property
    def id_format(self) -> ReasoningFormat:
        """The format of the request this instance was built for (engine adapters' id methods)."""
        return self.efforts[self._effort(None)]

    def _effort(self, request: Any) -> str:
        return effort_of(request if request is not None else self._default_request, self.efforts, self.default_effort)

    def _level(self, request: Any) -> DeclarativeParser:
        return self._levels[self._effort(request if request is not None else self._default_request)]

    def resolve_mode(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> Mode:
        request = request if request is not None else self._default_request
        return self._level(request).resolve_mode(request, prompt_token_ids=prompt_token_ids, prompt_text=prompt_text,
                                                 mode=mode)

    def start_stream(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> ReasoningStream:
        request = request if request is not None else self._default_request
        return self._level(request).start_stream(request, prompt_token_ids=prompt_token_ids, prompt_text=prompt_text,
                                                 mode=mode)

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return self._bound_level().is_reasoning_end(input_ids)

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        return self._bound_level().extract_content_ids(input_ids)

    def _bound_level(self) -> DeclarativeParser:
        bound = dict(self._bound)
        if bound.get("request") is None:
            bound["request"] = self._default_request
        return self._level(bound["request"]).bind(**bound)


class K2HorizonParser(EffortParser):
    """K2-Horizon (vLLM and SGLang ``k2_horizon``): ``<ifm|think…>`` markers chosen by effort."""

    efforts = K2_HORIZON
    default_effort = "high"
    format = K2_HORIZON["high"]
