"""Inkling: typed content blocks, each opened by its kind, instead of a start/end pair.

Every marker is one special token of Inkling's tokenizer. The model samples its own message
header, so an output reads::

    <|message_model|><|content_thinking|>REASONING<|end_message|>
    <|message_model|><|content_text|>ANSWER<|end_message|>

or, calling a tool, ``<|message_model|>NAME<|content_invoke_tool_json|>{"name": ..., "args":
{...}}<|end_message|>``. ``<|content_model_end_sampling|>`` may close a block instead of
``<|end_message|>``. Read as both engines read it (vLLM's and SGLang's ``inkling``):

- a ``<|content_thinking|>`` block is reasoning; ``<|content_text|>`` and
  ``<|content_tool_error|>`` blocks are content; the block markers, the closers and the header
  (the text between ``<|message_model|>`` and the block's kind) are markup;
- a tool block (``<|content_invoke_tool_json|>``, ``<|content_invoke_tool_text|>``) goes to the
  content verbatim, header and closer included, for the tool-call parser (as SGLang hands it on);
- a block kind written inside an open block starts that block (SGLang), and so does a new
  ``<|message_model|>`` header (vLLM): a tool call opened inside a thinking block ends the
  reasoning and reaches the tool-call parser;
- blocks may repeat in any order, and every thinking block is reasoning (both engines);
- text between blocks is content; whitespace between blocks is markup.

Where the output starts: after the prompt's last Inkling marker (a prompt ending inside a
thinking block continues the reasoning, inside a text block the answer, after
``<|message_model|>`` in a header, as vLLM prefills it); otherwise the first word decides, as for
hybrid formats: an Inkling marker opens the blocks, while output that begins with plain text
(a model that wrote no framing) is content, verbatim. Both engines would still read markers
later in such an output; we do not guess framing the model did not start with.

Markers are matched by their text, as both engines match them (they decode Inkling's special
tokens), so a marker is held back only while the text could still grow into one; given the ids,
a marker an engine left out of the text is put back where its id was. The token-id methods and
the reasoner follow the same blocks by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reasoning_plugins import (
    Capability,
    DeclarativeParser,
    MissingMarkerError,
    Mode,
    Reasoner,
    ReasoningFormat,
    request_field,
)
from reasoning_plugins._modes import coerce_mode
from reasoning_plugins._reasoner import _tokenizer_label
from reasoning_plugins._tokens import blank_token_checker, marker_token_ids
from reasoning_plugins.protocol import ReasoningDelta

from .marker_ids import IdAlignedStream, MarkerIds, proper_prefix

MESSAGE_MODEL = "<|message_model|>"
CONTENT_TEXT = "<|content_text|>"
CONTENT_THINKING = "<|content_thinking|>"
INVOKE_TOOL_JSON = "<|content_invoke_tool_json|>"
INVOKE_TOOL_TEXT = "<|content_invoke_tool_text|>"
TOOL_ERROR = "<|content_tool_error|>"
END_MESSAGE = "<|end_message|>"
END_SAMPLING = "<|content_model_end_sampling|>"
MARKERS = (MESSAGE_MODEL, CONTENT_TEXT, CONTENT_THINKING, INVOKE_TOOL_JSON, INVOKE_TOOL_TEXT, TOOL_ERROR,
           END_MESSAGE, END_SAMPLING)
CLOSERS = (END_MESSAGE, END_SAMPLING)
TOOL_KINDS = (INVOKE_TOOL_JSON, INVOKE_TOOL_TEXT)
HEADER_LIMIT = 256  # characters: a header is a function name

# The view of Inkling the conformance suite and the mode resolution use: reasoning opens with a
# thinking block and ends where a text block opens; a tool block opened inside it ends it and
# stays in the content. Output with no prompt to go by waits for its first word.
INKLING = ReasoningFormat(
    start=CONTENT_THINKING, end=CONTENT_TEXT, start_in_output=True, default_mode=Mode.AWAIT_START,
    implicit_ends=TOOL_KINDS,
)

# where the output is: before its first word, between blocks, in a header, inside a block, or in
# output that began without framing
_AWAIT, _BETWEEN, _HEADER, _REASON, _TEXT, _TOOL, _PLAIN = range(7)
_OPENS = {CONTENT_THINKING: _REASON, CONTENT_TEXT: _TEXT, TOOL_ERROR: _TEXT, INVOKE_TOOL_JSON: _TOOL,
          INVOKE_TOOL_TEXT: _TOOL}
_MODE_STATES = {Mode.REASONING: _REASON, Mode.AWAIT_START: _AWAIT, Mode.CONTENT: _BETWEEN,
                Mode.RESPONSE: _TEXT, Mode.TOOL_CALL: _TOOL}
# the state the prompt's last Inkling marker leaves the output in
_AFTER_PROMPT_MARKER = {CONTENT_THINKING: _REASON, CONTENT_TEXT: _TEXT, TOOL_ERROR: _TEXT, MESSAGE_MODEL: _HEADER,
                        INVOKE_TOOL_JSON: _TOOL, INVOKE_TOOL_TEXT: _TOOL}


def _marker_at(buf: str, at: int) -> str | None:
    if not buf.startswith("<|", at):
        return None
    return next((m for m in MARKERS if buf.startswith(m, at)), None)


def _state_after_prompt_text(prompt_text: str) -> int | None:
    last, found = -1, None
    for marker in MARKERS:
        at = prompt_text.rfind(marker)
        if at > last:
            last, found = at, marker
    if found is None:
        return None
    return _AFTER_PROMPT_MARKER.get(found, _AWAIT)


def _state_after_prompt_ids(prompt_ids: Sequence[int], by_id: dict[int, str]) -> int | None:
    for token in reversed(prompt_ids):
        marker = by_id.get(token)
        if marker is not None:
            return _AFTER_PROMPT_MARKER.get(marker, _AWAIT)
    return None


def initial_state(mode: Any, prompt_token_ids: Sequence[int] | None, prompt_text: str | None,
                  by_id: dict[int, str]) -> int:
    """Explicit mode (or FastDeploy ``model_status``), then the prompt's last marker, then the
    first word."""
    if mode is not None:
        return _MODE_STATES[coerce_mode(mode)]
    found = None
    if prompt_token_ids and by_id:
        found = _state_after_prompt_ids(prompt_token_ids, by_id)
    elif prompt_text:
        found = _state_after_prompt_text(prompt_text)
    return _AWAIT if found is None else found


_STATE_MODES = {_REASON: Mode.REASONING, _TEXT: Mode.RESPONSE, _TOOL: Mode.TOOL_CALL, _BETWEEN: Mode.CONTENT}


class InklingStream(IdAlignedStream):
    """One request's Inkling output, fed delta by delta (see the module docstring).

    Held back: text that may still grow into a marker (under 32 characters), the header until its
    block's kind arrives (at most ``HEADER_LIMIT`` characters), whitespace between blocks until
    what follows it decides.
    """

    __slots__ = ("_state", "_held", "_header", "_blank", "_quiet", "_finished", "_ids")

    def __init__(self, state: int, marker_ids: MarkerIds | None = None) -> None:
        self._state = state
        self._ids = marker_ids  # with the tokenizer: markers whose text an engine left out
        self._held = ""
        self._header = ""
        self._blank = ""  # whitespace held while it may be markup
        self._quiet = False  # between blocks with only whitespace since the closer
        self._finished = False

    @property
    def reasoning_ended(self) -> bool:
        """Whether a block other than thinking has opened (a later thinking block is still
        reasoning: engines that stop calling the parser here must not)."""
        return self._state in (_TEXT, _TOOL, _PLAIN) or (self._state == _BETWEEN and not self._quiet)

    def _scan(self, delta: str, final: bool) -> ReasoningDelta | None:
        buf = self._held + delta if self._held else delta
        self._held = ""
        reasoning: list[str] = []
        content: list[str] = []
        n = len(buf)
        i = 0
        while i < n:
            state = self._state
            if state == _PLAIN:
                content.append(buf[i:])
                break
            if state == _TOOL:
                i = self._tool(buf, i, final, content)
                if i < 0:
                    break
                continue
            at = buf.find("<", i)
            stop = n if at < 0 else at
            if stop > i:
                self._text(buf[i:stop], reasoning, content)
                if self._state == _PLAIN:
                    i = stop
                    continue
            if at < 0:
                break
            marker = _marker_at(buf, at)
            if marker is None:
                if not final and proper_prefix(buf[at:], MARKERS):
                    self._held = buf[at:]
                    break
                self._text("<", reasoning, content)
                i = at + 1
                continue
            self._marker(marker, reasoning, content)
            i = at + len(marker)
        if final:
            if self._state == _AWAIT and self._blank:
                content.append(self._blank)  # whitespace only: what the model wrote
            self._header = self._blank = ""  # a header without its block, whitespace after the last
        r, c = "".join(reasoning), "".join(content)
        if r or c:
            return ReasoningDelta(r or None, c or None)
        return None

    def _tool(self, buf: str, i: int, final: bool, content: list[str]) -> int:
        """Verbatim to the block's closer (included); the index after it, or -1 at the end."""
        ends = [(p, m) for p, m in ((buf.find(m, i), m) for m in CLOSERS) if p >= 0]
        if ends:
            at, marker = min(ends)
            content.append(buf[i : at + len(marker)])
            self._close()
            return at + len(marker)
        keep = 0
        if not final:
            longest = max(map(len, CLOSERS)) - 1
            for k in range(min(longest, len(buf) - i), 0, -1):
                if proper_prefix(buf[len(buf) - k :], CLOSERS):
                    keep = k
                    break
        content.append(buf[i : len(buf) - keep])
        self._held = buf[len(buf) - keep :]
        return -1

    def _text(self, text: str, reasoning: list[str], content: list[str]) -> None:
        state = self._state
        if state == _REASON:
            reasoning.append(text)
        elif state == _TEXT:
            content.append(text)
        elif state == _HEADER:
            self._header += text
            if len(self._header) > HEADER_LIMIT:  # not a header: the model is writing text
                content.append(MESSAGE_MODEL + self._header)
                self._header = ""
                self._state = _BETWEEN
        elif state == _BETWEEN and not self._quiet:
            content.append(text)
        elif text.strip():  # the first words, or the first after a closer: whitespace before them is text
            content.append(self._blank + text)
            self._blank = ""
            self._quiet = False
            if state == _AWAIT:
                self._state = _PLAIN
        else:
            self._blank += text

    def _marker(self, marker: str, reasoning: list[str], content: list[str]) -> None:
        state = self._state
        if state in (_AWAIT, _BETWEEN, _HEADER):
            if state == _AWAIT and marker in CLOSERS:  # the first word closes nothing: no framing
                content.append(self._blank + marker)
                self._blank = ""
                self._state = _PLAIN
                return
            self._blank = ""
            if marker == MESSAGE_MODEL:
                self._header = ""
                self._state = _HEADER
            elif marker in CLOSERS:  # a closer with no block open, or after a bare header
                self._close()
            else:
                self._open(marker, content)
            return
        # inside a thinking or text block
        if marker in CLOSERS:
            self._close()
        elif marker == MESSAGE_MODEL:  # a new message: the open block ends without its closer
            self._header = ""
            self._state = _HEADER
        elif _OPENS[marker] != state:
            self._open(marker, content)
        # the kind of the open block again: markup

    def _close(self) -> None:
        self._state = _BETWEEN
        self._header = self._blank = ""
        self._quiet = True

    def _open(self, kind: str, content: list[str]) -> None:
        if _OPENS[kind] == _TOOL:  # verbatim, with the header that names the function
            content.append((MESSAGE_MODEL + self._header if self._state == _HEADER else "") + kind)
        self._state = _OPENS[kind]
        self._header = ""


# -- the same blocks by token id (guided decoding) -----------------------------------------------

# tracker states: undecided (before the first word, between blocks after reasoning, in a header),
# in a thinking block, reasoning over
_T_WAIT, _T_BETWEEN, _T_HEADER, _T_REASON, _T_DONE = range(5)
_TRACKER_START = {_AWAIT: _T_WAIT, _HEADER: _T_HEADER, _REASON: _T_REASON}


class InklingTracker:
    """Follows one request's tokens: ``feed(token_id)`` is True for a token no grammar may see
    (reasoning, markup, whitespace before the block kind is known), False for content.

    Reasoning ends where the first block that is not thinking opens: a text block (its marker is
    markup), a tool block (its marker is the first content token), or plain text.
    """

    __slots__ = ("_ids", "_is_blank", "_state")

    def __init__(self, ids: dict[str, int], is_blank: Any, state: int) -> None:
        self._ids = ids
        self._is_blank = is_blank
        self._state = _TRACKER_START.get(state, _T_DONE)

    @property
    def in_reasoning(self) -> bool:
        return self._state != _T_DONE

    def feed(self, token_id: int) -> bool:
        state = self._state
        if state == _T_DONE:
            return False
        ids = self._ids
        if token_id == ids[CONTENT_THINKING]:
            self._state = _T_REASON
            return True
        if token_id == ids[CONTENT_TEXT] or token_id == ids[TOOL_ERROR]:
            self._state = _T_DONE
            return True
        if token_id == ids[INVOKE_TOOL_JSON] or token_id == ids[INVOKE_TOOL_TEXT]:
            self._state = _T_DONE
            return False
        if token_id == ids[MESSAGE_MODEL]:
            self._state = _T_HEADER
            return True
        if state == _T_REASON or state == _T_HEADER:
            if token_id == ids[END_MESSAGE] or token_id == ids[END_SAMPLING]:
                self._state = _T_BETWEEN
            return True
        # before the first word, or between blocks
        if token_id == ids[END_MESSAGE] or token_id == ids[END_SAMPLING]:
            if state == _T_WAIT:  # the first word closes nothing: unframed content
                self._state = _T_DONE
                return False
            return True
        if self._is_blank is not None and self._is_blank(token_id):
            return True
        self._state = _T_DONE
        return False


def _marker_ids(tokenizer: Any, owner: str) -> dict[str, int]:
    if tokenizer is None:
        raise MissingMarkerError(f"{owner} works on token ids and needs the model's tokenizer; got None")
    ids = marker_token_ids(tokenizer, MARKERS)
    missing = [m for m in MARKERS if m not in ids]
    if missing:
        raise MissingMarkerError(
            f"{owner} needs Inkling's block markers as single tokens, but the tokenizer "
            f"{_tokenizer_label(tokenizer)} has no token for {', '.join(missing)}. Use Inkling's own "
            f"tokenizer (or one that adds these markers as tokens)."
        )
    return ids


def _first_content_index(tracker: InklingTracker, input_ids: Sequence[int]) -> int | None:
    for index, token in enumerate(input_ids):
        grammar_free = tracker.feed(token)
        if not tracker.in_reasoning:
            return index + 1 if grammar_free else index
    return None


class InklingReasoner(Reasoner):
    """Guided decoding for Inkling: the grammar starts at the first block that is not thinking;
    a reasoning budget closes the thinking block and opens a text block."""

    format = INKLING
    conformance_tokenizer = "qwen+" + " ".join(MARKERS)

    def __init__(self, ids: dict[str, int], is_blank: Any = None) -> None:
        self._ids = ids
        self._by_id = {token: marker for marker, token in ids.items()}
        self._is_blank = is_blank
        self._bound: dict[str, Any] = {}

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> InklingReasoner:
        return cls(_marker_ids(tokenizer, cls.__name__), blank_token_checker(tokenizer))

    @property
    def force_end_token_ids(self) -> list[int]:
        ids = self._ids
        return [ids[END_MESSAGE], ids[MESSAGE_MODEL], ids[CONTENT_TEXT]]

    def bind(self, request: Any = None, *, prompt_token_ids: Sequence[int] | None = None,
             mode: Mode | str | None = None) -> InklingReasoner:
        """Tell ``is_reasoning_end``/``extract_content_ids`` which request and prompt they serve."""
        self._bound = {"request": request, "prompt_token_ids": prompt_token_ids, "mode": mode}
        return self

    def _state(self, prompt_token_ids: Sequence[int] | None, request: Any, mode: Any) -> int:
        if mode is None:
            mode = request_field(request, "model_status")
        return initial_state(mode, prompt_token_ids, None, self._by_id)

    def start(self, prompt_token_ids: Sequence[int] = (), *, request: Any = None,
              mode: Mode | str | None = None) -> InklingTracker:
        return InklingTracker(self._ids, self._is_blank, self._state(prompt_token_ids, request, mode))

    def _end_index(self, input_ids: Sequence[int]) -> int | None:
        bound = self._bound
        tracker = self.start(bound.get("prompt_token_ids") or (), request=bound.get("request"), mode=bound.get("mode"))
        if not tracker.in_reasoning:
            return 0
        return _first_content_index(tracker, input_ids)

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return self._end_index(input_ids) is not None

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        index = self._end_index(input_ids)
        return [] if index is None else list(input_ids[index:])


class InklingParser(DeclarativeParser):
    """Inkling (vLLM and SGLang ``inkling``): typed content blocks."""

    format = INKLING
    conformance_tokenizer = InklingReasoner.conformance_tokenizer
    # closers and headers follow the answer: an engine adapter never passes content through unparsed
    content_verbatim = False

    def __init__(self, tokenizer: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, **kwargs)
        self._by_id = {token: marker for marker, token in marker_token_ids(tokenizer, MARKERS).items()}
        self._reasoner: InklingReasoner | None = None

    def _initial_state(self, request: Any, prompt_token_ids: Sequence[int] | None, prompt_text: str | None,
                       mode: Any) -> int:
        if request is None:
            request = self._default_request
        if mode is None:
            mode = request_field(request, "model_status")
        return initial_state(mode, prompt_token_ids, prompt_text, self._by_id)

    def resolve_mode(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> Mode:
        state = self._initial_state(request, prompt_token_ids, prompt_text, mode)
        return _STATE_MODES.get(state, Mode.AWAIT_START)

    def start_stream(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> InklingStream:
        aligner = MarkerIds(self._decode, self._by_id) if self._decode is not None and self._by_id else None
        return InklingStream(self._initial_state(request, prompt_token_ids, prompt_text, mode), aligner)

    def _bound_reasoner(self) -> InklingReasoner:
        if self._reasoner is None:
            self._reasoner = InklingReasoner.from_tokenizer(self.model_tokenizer)
        bound = self._bound
        request = bound.get("request")
        if request is None:
            request = self._default_request
        return self._reasoner.bind(request, prompt_token_ids=bound.get("prompt_token_ids"), mode=bound.get("mode"))

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        """Whether reasoning has ended in this output (a block other than thinking opened)."""
        return self._bound_reasoner().is_reasoning_end(input_ids)

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        return self._bound_reasoner().extract_content_ids(input_ids)


# Markers are matched by text (both engines decode Inkling's special tokens to read them); with
# ids, a marker the engine left out of the text is put back; the id methods and the reasoner work
# on ids.
InklingParser.capabilities = frozenset({
    Capability.NATIVE_STREAM, Capability.FINISH, Capability.TOKEN_IDS, Capability.START_IN_PROMPT,
    Capability.START_IN_OUTPUT, Capability.IMPLICIT_END, Capability.MODES,
})

__all__ = ["INKLING", "InklingParser", "InklingReasoner", "InklingStream", "InklingTracker"]
