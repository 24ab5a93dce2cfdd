"""The parser base class (the seed interface) and declarative parsers built on the scanner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ._format import Program, ReasoningFormat, compile_format, resolve_mode
from ._modes import Mode, coerce_mode, reasoning_end_index, request_field
from ._scanner import ReasoningStream
from ._tokens import blank_token_checker, marker_token_ids, text_markers
from .protocol import DeltaMessage, ReasoningDelta

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
    # no reasoning section: the content is the class's ``content_prefix`` followed by the output,
    # exactly, in every context (MiniMax M2 append-think re-inserts ``<think>``); is_reasoning_end
    # still says where guided decoding may start, and extract_content_ids returns every id
    PASS_THROUGH = "pass-through"


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


# How many requests' streams one instance remembers (LMDeploy shares one instance between all
# its requests); a forgotten request catches up once from previous_text if it comes back.
_REMEMBERED_REQUESTS = 1024
_NOTHING = object()


class DeclarativeParser(ReasoningParser):
    """A parser defined by a :class:`ReasoningFormat`; subclasses set ``format`` and nothing else.

    Example::

        class MyParser(DeclarativeParser):
            format = ReasoningFormat(start="<reason>", end="</reason>", start_in_output=True,
                                     default_mode=Mode.AWAIT_START)

    One instance may serve many requests through the seed interface (LMDeploy shares one
    between all of them): each request's stream is kept apart. Engines hand the streaming method
    no request id, but vLLM and LMDeploy both pass as ``previous_text`` the very object they
    passed as ``current_text`` on that request's previous call, so a request's stream is found
    by that object's identity in O(1) (the object is held, so its id cannot be reused); an equal
    string (an engine that copies) is found by comparison. ``chat_template_kwargs`` given to the
    constructor (as vLLM does) act as the request's when a call brings no request.
    """

    format: ClassVar[ReasoningFormat] = ReasoningFormat()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.capabilities = _capabilities(cls.format) | cls.__dict__.get("extra_capabilities", frozenset())

    def __init__(self, tokenizer: Any = None, *args: Any, chat_template_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, **kwargs)
        fmt = type(self).format
        self._program: Program = compile_format(fmt, marker_token_ids(tokenizer, fmt.markers))
        self._default_request: Any = {"chat_template_kwargs": dict(chat_template_kwargs)} if chat_template_kwargs else None
        self._bound: dict[str, Any] = {}
        self._streams: dict[int, tuple[str, ReasoningStream]] = {}  # id(current_text) -> stream
        self._last_text: Any = _NOTHING  # current_text of the latest call, and its stream
        self._last_stream: ReasoningStream | None = None
        self._decode = getattr(tokenizer, "decode", None)
        self._is_blank = blank_token_checker(tokenizer) if tokenizer is not None else None
        # implicit ends that are several tokens of this tokenizer: the id methods read their text
        self._text_ends = text_markers(tokenizer, tuple(fmt.implicit_ends))

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
        self._streams = {}
        self._last_text, self._last_stream = _NOTHING, None
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
        if request is None:
            request = self._default_request
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

    def _context(self, request: Any = None, model_status: Mode | str | None = None) -> dict[str, Any]:
        """The bound request and prompt, with what this call brings on top."""
        context = dict(self._bound)
        if request is not None:
            context["request"] = request
        if model_status is not None:
            context["mode"] = model_status
        return context

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
        return ReasoningStream(self._program, resolved, self._decode)

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
        first = stream.feed(text or "", token_ids)
        last = stream.finish()
        reasoning = "".join(m.reasoning_content for m in (first, last) if m and m.reasoning_content)
        content = "".join(m.content for m in (first, last) if m and m.content)
        return (reasoning or None, content or None)

    # -- seed interface ---------------------------------------------------------------------

    def extract_reasoning_content(
        self, model_output: str, request: Any = None, model_status: Mode | str | None = None, **_: Any
    ) -> tuple[str | None, str | None]:
        """The seed method; ``model_status`` as FastDeploy passes it (or a request field)."""
        return self.parse(model_output, **self._context(request, model_status))

    def extract_reasoning_content_streaming(
        self,
        previous_text: str,
        current_text: str,
        delta_text: str,
        previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int],
        delta_token_ids: Sequence[int],
        model_status: Mode | str | None = None,
        request: Any = None,
    ) -> ReasoningDelta | None:
        """The seed method: O(len(delta)) per call, whichever request the call belongs to."""
        if previous_text is self._last_text and (previous_text or previous_token_ids):
            stream = self._last_stream  # the same request as the call before: no lookup
        else:
            # another request (or a new one: "" is one shared object, so a call with nothing
            # before it starts a new request): park the last one, find this one
            if self._last_stream is not None:
                self._streams[id(self._last_text)] = (self._last_text, self._last_stream)
            entry = self._streams.pop(id(previous_text), None) if previous_text or previous_token_ids else None
            stream = entry[1] if entry is not None else self._join(previous_text or "", previous_token_ids, model_status, request)
            self._last_stream = stream
        message = stream.feed(delta_text, delta_token_ids)
        self._last_text = current_text
        return message

    def _join(self, previous_text: str, previous_token_ids: Sequence[int], model_status: Any, request: Any) -> ReasoningStream:
        """The stream of a call whose previous_text is not an object this instance returned."""
        streams = self._streams
        # A request is new when nothing came before; text may still be empty while ids arrive
        # (text held back behind the ids), and then the request continues.
        if previous_text or previous_token_ids:
            for key, (text, stream) in streams.items():
                if len(text) == len(previous_text) and text == previous_text:
                    del streams[key]
                    return stream
        if len(streams) >= _REMEMBERED_REQUESTS:
            del streams[next(iter(streams))]
        # A new request, or a fresh instance joining mid-stream: catch up once.
        stream = self.start_stream(**self._context(request, model_status))
        if previous_text or previous_token_ids:
            stream.feed(previous_text, previous_token_ids)
        return stream

    def finish(self, current_text: str | None = None) -> ReasoningDelta | None:
        """Release what a request's stream holds back: the request whose last call returned
        ``current_text``, by default the request of the latest call."""
        stream = None
        if current_text is None or current_text is self._last_text:
            stream, self._last_stream, self._last_text = self._last_stream, None, _NOTHING
        else:
            entry = self._streams.pop(id(current_text), None)
            if entry is None:
                entry = next((e for e in self._streams.values() if e[0] == current_text), None)
                if entry is not None:
                    del self._streams[id(entry[0])]
            stream = entry[1] if entry is not None else None
        return stream.finish() if stream is not None else None

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        """Whether reasoning has ended in this output, read from its first token (see README)."""
        return self._end_index(input_ids) is not None

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        index = self._end_index(input_ids)
        return [] if index is None else list(input_ids[index:])

    def _end_index(self, input_ids: Sequence[int]) -> int | None:
        program = self._program
        end_id = program.end_id
        implicit = program.end_ids - {end_id} if end_id is not None else program.end_ids
        mode = self.resolve_mode(**self._bound)
        return reasoning_end_index(input_ids, mode, program.start_id, end_id, implicit, self._is_blank, self._text_ends,
                                   program.fmt.leading_end_is_markup)


def _capabilities(fmt: ReasoningFormat) -> frozenset[str]:
    caps = {Capability.NATIVE_STREAM, Capability.FINISH, Capability.TOKEN_IDS, Capability.MODES}
    if fmt.start is None:
        caps.add(Capability.NO_START_MARKER)
    else:
        caps.add(Capability.START_IN_PROMPT)
        caps.add(Capability.START_IN_OUTPUT)
    if fmt.switches or fmt.thinking_off_values:
        caps.add(Capability.THINKING_SWITCH)
    if fmt.implicit_ends:
        caps.add(Capability.IMPLICIT_END)
    if fmt.content_wrapper:
        caps.add(Capability.CONTENT_WRAPPER)
    if fmt.trim_newline_before_end or fmt.trim_content_leading_newlines or fmt.trim_wrapper_newlines:
        caps.add(Capability.TRIMS)
    return frozenset(caps)


DeclarativeParser.capabilities = _capabilities(DeclarativeParser.format)
