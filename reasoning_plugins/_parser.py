"""The parser base class (the seed interface) and declarative parsers built on the scanner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ._format import Program, ReasoningFormat, compile_format, resolve_mode
from ._modes import Mode, coerce_mode
from ._scanner import ReasoningStream
from ._tokens import marker_token_ids
from .protocol import DeltaMessage

__all__ = ["Capability", "DeclarativeParser", "ReasoningParser", "SeedStream"]


class Capability:
    """Names a parser declares in ``capabilities``; conformance checks skip what does not apply."""

    NATIVE_STREAM = "native-stream"  # start_stream()/feed()/finish() implemented by the parser itself
    FINISH = "finish"  # finish() flushes held-back text
    TOKEN_IDS = "token-ids"  # markers matched by token id when they are single tokens
    START_IN_PROMPT = "start-in-prompt"  # the template may prefill the start marker
    START_IN_OUTPUT = "start-in-output"  # the model may write the start marker itself
    NO_START_MARKER = "no-start-marker"  # the format has only an end marker
    THINKING_SWITCH = "thinking-switch"  # the request can turn thinking off
    IMPLICIT_END = "implicit-end"  # a tool-call opener ends reasoning
    CONTENT_WRAPPER = "content-wrapper"  # content wrapped in markers that are removed
    TRIMS = "trims"  # some newlines next to markers belong to the markup
    MODES = "modes"  # accepts an explicit mode / model_status


class ReasoningParser:
    """Base class for reasoning parsers, compatible with the vLLM/LMDeploy/FastDeploy interface.

    A subclass written against those engines (``extract_reasoning_content`` and
    ``extract_reasoning_content_streaming``) runs unchanged. The host adds a native stream
    (:meth:`start_stream`) and :meth:`parse` on top of those two methods.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, tokenizer: Any = None, *args: Any, **kwargs: Any) -> None:
        self.model_tokenizer = tokenizer
        self._vocab: dict[str, int] | None = None

    @property
    def vocab(self) -> dict[str, int]:
        """The tokenizer's vocabulary (token -> id), loaded on first use."""
        if self._vocab is None:
            get_vocab = getattr(self.model_tokenizer, "get_vocab", None)
            self._vocab = dict(get_vocab()) if get_vocab is not None else {}
        return self._vocab

    # -- seed interface ---------------------------------------------------------------------

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        raise NotImplementedError(f"{type(self).__name__} does not implement extract_reasoning_content")

    def extract_reasoning_content_streaming(
        self,
        previous_text: str,
        current_text: str,
        delta_text: str,
        previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int],
        delta_token_ids: Sequence[int],
    ) -> DeltaMessage | None:
        raise NotImplementedError(f"{type(self).__name__} does not implement extract_reasoning_content_streaming")

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return False

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        return list(input_ids)

    def finish(self) -> DeltaMessage | None:
        """Release text held back by the streaming method at the end of a stream."""
        return None

    # -- native interface -------------------------------------------------------------------

    def start_stream(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> Any:
        """A stream for one request: ``feed(delta_text, delta_token_ids)`` then ``finish()``."""
        return SeedStream(self)

    def parse(
        self,
        text: str,
        *,
        request: Any = None,
        token_ids: Sequence[int] | None = None,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> tuple[str | None, str | None]:
        """Split a complete output into (reasoning, content); ``None`` marks an empty section."""
        result = self.extract_reasoning_content(text or "", request)
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError(
                f"{type(self).__name__}.extract_reasoning_content returned {result!r}; "
                f"it must return a (reasoning, content) tuple (use None for an empty section)"
            )
        reasoning, content = result
        return (reasoning or None, content or None)


class SeedStream:
    """Drives a parser that only implements the seed streaming method.

    It keeps previous/current text and ids as the seed interface expects, which costs a copy
    per delta: parsers that want O(delta) streaming implement :meth:`ReasoningParser.start_stream`.
    """

    def __init__(self, parser: ReasoningParser) -> None:
        self._parser = parser
        self._text = ""
        self._ids: list[int] = []

    def feed(self, delta_text: str | None, delta_token_ids: Sequence[int] | None = None) -> DeltaMessage | None:
        delta_text = delta_text or ""
        delta_ids = list(delta_token_ids or ())
        if not delta_text and not delta_ids:
            return None
        previous_text, previous_ids = self._text, self._ids
        current_text, current_ids = previous_text + delta_text, previous_ids + delta_ids
        message = self._parser.extract_reasoning_content_streaming(
            previous_text, current_text, delta_text, previous_ids, current_ids, delta_ids
        )
        self._text, self._ids = current_text, current_ids
        return message

    def finish(self) -> DeltaMessage | None:
        return self._parser.finish()


class DeclarativeParser(ReasoningParser):
    """A parser defined by a :class:`ReasoningFormat`; subclasses set ``format`` and nothing else.

    Example::

        class MyParser(DeclarativeParser):
            format = ReasoningFormat(start="<reason>", end="</reason>", start_in_output=True,
                                     default_mode=Mode.AWAIT_START)
    """

    format: ClassVar[ReasoningFormat] = ReasoningFormat()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.capabilities = _capabilities(cls.format) | cls.__dict__.get("extra_capabilities", frozenset())

    def __init__(self, tokenizer: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, **kwargs)
        fmt = type(self).format
        self._program: Program = compile_format(fmt, marker_token_ids(tokenizer, fmt.markers))
        self._bound: dict[str, Any] = {}
        self._seed_stream: ReasoningStream | None = None

    # -- mode -------------------------------------------------------------------------------

    def bind(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> DeclarativeParser:
        """Tell the seed-interface methods which request and prompt they serve."""
        self._bound = {
            "request": request,
            "prompt_token_ids": prompt_token_ids,
            "prompt_text": prompt_text,
            "mode": mode,
        }
        self._seed_stream = None
        return self

    def resolve_mode(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> Mode:
        program = self._program
        return resolve_mode(
            program.fmt,
            mode=coerce_mode(mode) if mode is not None else None,
            request=request,
            prompt_token_ids=prompt_token_ids,
            prompt_text=prompt_text,
            start_id=program.start_id,
            end_ids=frozenset({program.end_id}) if program.end_id is not None else frozenset(),
        )

    # -- native interface -------------------------------------------------------------------

    def start_stream(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> ReasoningStream:
        resolved = self.resolve_mode(request, prompt_token_ids=prompt_token_ids, prompt_text=prompt_text, mode=mode)
        return ReasoningStream(self._program, resolved, getattr(self.model_tokenizer, "decode", None))

    def parse(
        self,
        text: str,
        *,
        request: Any = None,
        token_ids: Sequence[int] | None = None,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> tuple[str | None, str | None]:
        stream = self.start_stream(request, prompt_token_ids=prompt_token_ids, prompt_text=prompt_text, mode=mode)
        first = stream.feed(text or "", token_ids or None)
        last = stream.finish()
        reasoning = "".join(m.reasoning_content for m in (first, last) if m and m.reasoning_content)
        content = "".join(m.content for m in (first, last) if m and m.content)
        return (reasoning or None, content or None)

    # -- seed interface ---------------------------------------------------------------------

    def extract_reasoning_content(self, model_output: str, request: Any = None) -> tuple[str | None, str | None]:
        bound = dict(self._bound)
        if request is not None:
            bound["request"] = request
        return self.parse(model_output, **bound)

    def extract_reasoning_content_streaming(
        self,
        previous_text: str,
        current_text: str,
        delta_text: str,
        previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int],
        delta_token_ids: Sequence[int],
    ) -> DeltaMessage | None:
        stream = self._seed_stream
        if stream is None or stream.seen_chars != len(previous_text or ""):
            # A fresh instance joining mid-stream, or a new stream: catch up once.
            stream = self.start_stream(**self._bound)
            if previous_text:
                stream.feed(previous_text, previous_token_ids or None)
            self._seed_stream = stream
        return stream.feed(delta_text, delta_token_ids or None)

    def finish(self) -> DeltaMessage | None:
        stream, self._seed_stream = self._seed_stream, None
        return stream.finish() if stream is not None else None

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        program = self._program
        start_id = program.start_id
        end_ids = program.end_ids
        for token in reversed(input_ids):
            if token in end_ids:
                return True
            if token == start_id:
                return False
        mode = self.resolve_mode(**self._bound)
        # a model that may open reasoning itself and did not, with its first token, answered directly
        return mode is Mode.CONTENT or (mode is Mode.AWAIT_START and start_id is not None and len(input_ids) > 0)

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        program = self._program
        end_id = program.end_id
        implicit = program.end_ids - {end_id} if end_id is not None else program.end_ids
        for index, token in enumerate(input_ids):
            if token == end_id:
                return list(input_ids[index + 1 :])
            if token in implicit:
                return list(input_ids[index:])
        mode = self.resolve_mode(**self._bound)
        answered_directly = mode is Mode.AWAIT_START and bool(input_ids) and input_ids[0] != program.start_id
        return list(input_ids) if mode is Mode.CONTENT or answered_directly else []


def _capabilities(fmt: ReasoningFormat) -> frozenset[str]:
    caps = {Capability.NATIVE_STREAM, Capability.FINISH, Capability.TOKEN_IDS, Capability.MODES}
    if fmt.start is None:
        caps.add(Capability.NO_START_MARKER)
    else:
        caps.add(Capability.START_IN_PROMPT)
        caps.add(Capability.START_IN_OUTPUT)
    if fmt.switches:
        caps.add(Capability.THINKING_SWITCH)
    if fmt.implicit_ends:
        caps.add(Capability.IMPLICIT_END)
    if fmt.content_wrapper:
        caps.add(Capability.CONTENT_WRAPPER)
    if fmt.trim_newline_before_end or fmt.trim_content_leading_newlines or fmt.trim_wrapper_newlines:
        caps.add(Capability.TRIMS)
    return frozenset(caps)


DeclarativeParser.capabilities = _capabilities(DeclarativeParser.format)
