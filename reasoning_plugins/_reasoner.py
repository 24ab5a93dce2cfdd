"""Guided-decoding reasoners: where reasoning ends, in token ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ._errors import MissingMarkerError
from ._format import ReasoningFormat, resolve_mode
from ._modes import Mode, coerce_mode, reasoning_end_index
from ._tokens import TextMarkers, blank_token_checker, encode_plain, marker_token_ids, text_markers

__all__ = ["DeclarativeReasoner", "Reasoner", "ReasoningTracker"]


class ReasoningTracker:
    """Follows one request token by token, as the parser reads the same tokens.

    ``in_reasoning`` says whether the next token may be reasoning (no grammar may constrain it);
    ``feed(token_id)`` returns True when that token is not for the grammar: reasoning, the end
    marker, and whitespace before a start marker the model may still write; False for content
    tokens, the only ones a grammar should see.
    """

    __slots__ = ("_start_id", "_end_id", "_implicit_ids", "_awaiting", "_is_blank", "_by_text", "_stray_end",
                 "in_reasoning")

    def __init__(
        self, start_id: int | None, end_id: int, implicit_ids: frozenset[int], mode: Mode, is_blank: Any = None,
        text_ends: TextMarkers | None = None, leading_end: bool = False,
    ) -> None:
        self._start_id = start_id
        self._end_id = end_id
        self._implicit_ids = implicit_ids
        self._is_blank = is_blank
        # implicit ends spelled by several tokens: found by their text, on the token completing it
        self._by_text = text_ends.finder() if text_ends is not None else None
        self._awaiting = mode is Mode.AWAIT_START and start_id is not None
        self.in_reasoning = mode is Mode.REASONING or mode is Mode.AWAIT_START
        # leading_end_is_markup: an end marker opening output outside reasoning is not for the grammar
        self._stray_end = leading_end and (self._awaiting or mode is Mode.CONTENT)

    @property
    def awaiting_start(self) -> bool:
        """True while the output may still open reasoning with the start marker (whitespace so far)."""
        return self._awaiting

    def feed(self, token_id: int) -> bool:
        if self._awaiting:
            if self._is_blank is not None and self._is_blank(token_id):
                return True  # whitespace before the decision: markup if <think> follows
            self._awaiting = False
            stray, self._stray_end = self._stray_end, False
            if stray and token_id == self._end_id:
                self.in_reasoning = False
                return True
            self.in_reasoning = token_id == self._start_id
            return self.in_reasoning
        if not self.in_reasoning:
            if self._stray_end:
                self._stray_end = False
                return token_id == self._end_id
            return False
        if token_id == self._end_id:
            self.in_reasoning = False
            return True
        if token_id in self._implicit_ids or (self._by_text is not None and self._by_text.feed(token_id)):
            self.in_reasoning = False
            return False
        return True


class Reasoner:
    """Base class of guided-decoding reasoners (compatible with the vLLM ``Reasoner`` shape).

    ``start`` returns a tracker for one request (:class:`ReasoningTracker` or any object with
    ``in_reasoning`` and ``feed``). A tracker may also have, for formats whose end is a sequence
    that depends on what was written (gpt-oss Harmony's channel headers):

    - ``force_end_token_ids``: the tokens that end reasoning from where the request stands; an
      engine forces them when a reasoning budget runs out, instead of the reasoner's;
    - ``last_counted``: whether the token fed last is reasoning text, counted against a budget
      and reported as a reasoning token (markup such as a header is not); without it every
      token fed while reasoning stays open counts.
    """

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> Reasoner:
        raise NotImplementedError

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        raise NotImplementedError

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        raise NotImplementedError

    @property
    def force_end_token_ids(self) -> list[int]:
        raise NotImplementedError

    def start(
        self, prompt_token_ids: Sequence[int] = (), *, request: Any = None, mode: Mode | str | None = None
    ) -> ReasoningTracker:
        raise NotImplementedError


class DeclarativeReasoner(Reasoner):
    """A reasoner for a :class:`ReasoningFormat` whose end marker is a single token."""

    format: ClassVar[ReasoningFormat] = ReasoningFormat()
    # Text forced before the end marker when a budget runs out: the model's own layout puts
    # the marker on a line of its own.
    force_end_prefix: ClassVar[str] = "\n"

    def __init__(
        self,
        *,
        end_token_id: int,
        start_token_id: int | None = None,
        implicit_end_ids: Sequence[int] = (),
        force_end_token_ids: Sequence[int] | None = None,
        is_blank: Any = None,
        text_ends: TextMarkers | None = None,
    ) -> None:
        self._is_blank = is_blank  # token id -> whitespace only? (for AWAIT_START formats)
        self.end_token_id = end_token_id
        self.start_token_id = start_token_id
        self.implicit_end_ids = frozenset(implicit_end_ids)
        self._text_ends = text_ends  # implicit ends that are several tokens of this tokenizer
        self._force = list(force_end_token_ids) if force_end_token_ids is not None else [end_token_id]
        self._bound: dict[str, Any] = {}

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> DeclarativeReasoner:
        fmt = cls.format
        if tokenizer is None:
            raise MissingMarkerError(
                f"{cls.__name__} works on token ids and needs the model's tokenizer; got None"
            )
        ids = marker_token_ids(tokenizer, fmt.markers)
        if fmt.end not in ids:
            raise MissingMarkerError(
                f"{cls.__name__} needs its end marker {fmt.end!r} to be a single token, but the "
                f"tokenizer {_tokenizer_label(tokenizer)} has no such token. Use a tokenizer of the "
                f"model family this reasoner is for, or a reasoner that matches your model's markers."
            )
        prefix = encode_plain(tokenizer, cls.force_end_prefix) if cls.force_end_prefix else []
        return cls(
            end_token_id=ids[fmt.end],
            start_token_id=ids.get(fmt.start) if fmt.start else None,
            implicit_end_ids=[ids[m] for m in fmt.implicit_ends if m in ids],
            force_end_token_ids=[*prefix, ids[fmt.end]],
            is_blank=blank_token_checker(tokenizer),
            text_ends=text_markers(tokenizer, tuple(fmt.implicit_ends)),
        )

    @property
    def force_end_token_ids(self) -> list[int]:
        return list(self._force)

    def bind(
        self, request: Any = None, *, prompt_token_ids: Sequence[int] | None = None, mode: Mode | str | None = None
    ) -> DeclarativeReasoner:
        """Tell the whole-sequence methods (``is_reasoning_end``, ``extract_content_ids``) which
        request and prompt they serve, as :meth:`start` is told for a tracker.

        Without it they read an output as the format's default mode has it: for a format whose
        thinking is off unless asked for (DeepSeek V3, EXAONE 4) all of it is content. vLLM
        builds one reasoner per request with the request's ``chat_template_kwargs``: pass them
        as ``request={"chat_template_kwargs": ...}``.
        """
        self._bound = {"request": request, "prompt_token_ids": prompt_token_ids, "mode": mode}
        return self

    def _default_mode(self, request: Any = None) -> Mode:
        bound = self._bound
        if request is None and bound:
            return self.resolve_mode(bound["prompt_token_ids"] or (), request=bound["request"], mode=bound["mode"])
        return self.resolve_mode((), request=request)

    def resolve_mode(
        self, prompt_token_ids: Sequence[int] = (), *, request: Any = None, mode: Mode | str | None = None
    ) -> Mode:
        return resolve_mode(
            self.format,
            mode=coerce_mode(mode) if mode is not None else None,
            request=request,
            prompt_token_ids=prompt_token_ids,
            prompt_text=None,
            start_id=self.start_token_id,
            end_ids=frozenset({self.end_token_id}),
        )

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        """Whether reasoning has ended in this output, read from its first token."""
        return self._end_index(input_ids) is not None

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        index = self._end_index(input_ids)
        return [] if index is None else list(input_ids[index:])

    def _end_index(self, input_ids: Sequence[int]) -> int | None:
        return reasoning_end_index(
            input_ids, self._default_mode(), self.start_token_id, self.end_token_id, self.implicit_end_ids,
            self._is_blank, self._text_ends, self.format.leading_end_is_markup,
        )

    def start(
        self, prompt_token_ids: Sequence[int] = (), *, request: Any = None, mode: Mode | str | None = None
    ) -> ReasoningTracker:
        resolved = self.resolve_mode(prompt_token_ids or (), request=request, mode=mode)
        return ReasoningTracker(
            self.start_token_id, self.end_token_id, self.implicit_end_ids, resolved, self._is_blank, self._text_ends,
            self.format.leading_end_is_markup,
        )


def _tokenizer_label(tokenizer: Any) -> str:
    """The tokenizer's class, where it was loaded from and its size, as far as it says."""
    label = type(tokenizer).__name__
    source = getattr(tokenizer, "name_or_path", None)
    if isinstance(source, str) and source:
        label += f" {source!r}"
    try:
        size = len(tokenizer)
    except TypeError:
        return label
    return f"{label} ({size:,} tokens)"
