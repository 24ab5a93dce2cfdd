"""Formats whose markers the request chooses through ``reasoning_effort`` (K2-Horizon).

One declaration per effort level; each request's stream (and the id methods, for the request
they are bound to or built with) uses the markers of its level, read from
``chat_template_kwargs.reasoning_effort``, else the request's ``reasoning_effort``, else the
default level. An unknown level is a ValueError naming the supported ones.

The reasoner works the same way: one declarative reasoner per level, each request's tracker is
its level's, and a budget forces that level's end marker (the tracker names it, as
``force_end_token_ids``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from reasoning_plugins import (
    DeclarativeParser,
    DeclarativeReasoner,
    Mode,
    ReasoningFormat,
    ReasoningStream,
    Reasoner,
    request_field,
)


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


# K2-Horizon's markers are single tokens of its tokenizer, which is not available offline: the
# conformance suite's stand-in is Qwen's plus those tokens.
K2_HORIZON_STAND_IN = "qwen+" + " ".join(dict.fromkeys(m for fmt in K2_HORIZON.values() for m in fmt.markers))


class K2HorizonParser(EffortParser):
    """K2-Horizon (vLLM and SGLang ``k2_horizon``): ``<ifm|think…>`` markers chosen by effort."""

    efforts = K2_HORIZON
    default_effort = "high"
    format = K2_HORIZON["high"]
    conformance_tokenizer = K2_HORIZON_STAND_IN


class _LevelTracker:
    """A level's tracker that also names the tokens ending its reasoning (its own end marker),
    which an engine forces when the request's budget runs out."""

    __slots__ = ("_tracker", "force_end_token_ids")

    def __init__(self, tracker: Any, force_end_token_ids: list[int]) -> None:
        self._tracker = tracker
        self.force_end_token_ids = force_end_token_ids

    @property
    def in_reasoning(self) -> bool:
        return self._tracker.in_reasoning

    @property
    def awaiting_start(self) -> bool:
        return self._tracker.awaiting_start

    def feed(self, token_id: int) -> bool:
        return self._tracker.feed(token_id)


class EffortReasoner(Reasoner):
    """A reasoner with one declarative reasoner per ``reasoning_effort`` level: each request is
    followed by its level's (whose markers must be single tokens of the tokenizer)."""

    efforts: ClassVar[dict[str, ReasoningFormat]] = {}
    default_effort: ClassVar[str] = ""
    _level_classes: ClassVar[dict[str, type[DeclarativeReasoner]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._level_classes = {
            effort: type(f"{cls.__name__}_{effort}", (DeclarativeReasoner,), {"format": fmt, "__module__": cls.__module__})
            for effort, fmt in cls.efforts.items()
        }

    def __init__(self, levels: dict[str, DeclarativeReasoner]) -> None:
        self._levels = levels
        self._bound: dict[str, Any] = {}
        default = levels[self.default_effort]
        # the same at every level (the tool-call openers); the start and end markers are the
        # default level's here and the request's own in its tracker
        self.implicit_end_ids = default.implicit_end_ids
        self.start_token_id = default.start_token_id
        self.end_token_id = default.end_token_id

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> EffortReasoner:
        return cls({effort: level.from_tokenizer(tokenizer) for effort, level in cls._level_classes.items()})

    def _level(self, request: Any = None) -> DeclarativeReasoner:
        if request is None:
            request = self._bound.get("request")
        return self._levels[effort_of(request, self.efforts, self.default_effort)]

    @property
    def force_end_token_ids(self) -> list[int]:
        return self._level().force_end_token_ids

    def bind(
        self, request: Any = None, *, prompt_token_ids: Sequence[int] | None = None, mode: Mode | str | None = None
    ) -> EffortReasoner:
        """As :meth:`DeclarativeReasoner.bind`; the request also chooses the level."""
        self._level(request)  # an unknown level fails here
        self._bound = {"request": request, "prompt_token_ids": prompt_token_ids, "mode": mode}
        return self

    def _bound_level(self) -> DeclarativeReasoner:
        return self._level().bind(**self._bound) if self._bound else self._level()

    def resolve_mode(
        self, prompt_token_ids: Sequence[int] = (), *, request: Any = None, mode: Mode | str | None = None
    ) -> Mode:
        return self._level(request).resolve_mode(prompt_token_ids, request=request, mode=mode)

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return self._bound_level().is_reasoning_end(input_ids)

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        return self._bound_level().extract_content_ids(input_ids)

    def start(
        self, prompt_token_ids: Sequence[int] = (), *, request: Any = None, mode: Mode | str | None = None
    ) -> _LevelTracker:
        level = self._level(request)
        # the level's end marker alone: a forced newline before it would count past the budget
        return _LevelTracker(level.start(prompt_token_ids, request=request, mode=mode), [level.end_token_id])


class K2HorizonReasoner(EffortReasoner):
    """K2-Horizon's reasoner: the request's ``reasoning_effort`` chooses the end marker."""

    efforts = K2_HORIZON
    default_effort = "high"
    format = K2_HORIZON["high"]
    conformance_tokenizer = K2_HORIZON_STAND_IN
