"""Beam: Harmony-style channel messages; a tool call is a message addressed to the function.

The prompt ends with ``<|start|>assistant``; the model writes::

    <|channel|>analysis<|message|>REASONING<|end|>
    <|start|>assistant<|channel|>final<|message|>ANSWER<|return|>

or, calling tools, ``...REASONING<|end|><|start|>assistant to=get_weather<|channel|>analysis
<|constrain|>xml<|message|><rfl:parameter name="city">\\nParis\\n</rfl:parameter><|call|>`` (more
calls follow as ``<|end|><|start|>assistant to=...``). Facts from SGLang 0.5.23's ``beam``
profile and vLLM 0.33's ``beam`` parser (which reads the same layout from the checkpoint's
``response_template``):

- an ``analysis`` message is reasoning; ``final`` (any other channel) is content; headers and
  the ``<|end|>``/``<|return|>``/``<|call|>`` terminators are markup;
- a message addressed to a function (`` to=NAME`` after the role) is a tool call, although its
  channel says ``analysis``: it goes to the content verbatim, from its role (or, first in the
  output, from `` to=``) to its terminator, for the tool-call parser;
- newlines right after a terminator are markup, and so is whitespace before the next header;
- output that starts without a header continues the message the prompt opened: reasoning
  (both engines require Beam to reason first), content when the request sets
  ``enable_thinking`` false (vLLM's switch; SGLang always expects reasoning).

A header is held back only while it can still become one: up to ``HEADER_LIMIT`` characters, no
newline, no terminator. Markers are matched by text, as the engines read Beam's output through
its template; the token-id methods and the reasoner follow the same messages by id.
"""

from __future__ import annotations

import re
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
from reasoning_plugins._modes import coerce_mode, thinking_switch
from reasoning_plugins._tokens import encode_plain, marker_token_ids
from reasoning_plugins.protocol import ReasoningDelta

from .marker_ids import IdAlignedStream, MarkerIds, proper_prefix

START, CHANNEL, MESSAGE, CONSTRAIN = "<|start|>", "<|channel|>", "<|message|>", "<|constrain|>"
END, RETURN, CALL = "<|end|>", "<|return|>", "<|call|>"
TOKENS = (START, CHANNEL, MESSAGE, CONSTRAIN, END, RETURN, CALL)
TERMINATORS = (END, RETURN, CALL)
ROLE = START + "assistant"
RECIPIENT = " to="
HEADER_LIMIT = 160  # characters: real headers are a few dozen

# The view of Beam the conformance suite and the mode resolution use: reasoning opens with an
# analysis header and ends where the answer opens (the final header: where SGLang starts the
# grammar); a message addressed to a function ends it too and stays in the content. The
# terminators are markup between them.
BEAM = ReasoningFormat(
    start=CHANNEL + "analysis" + MESSAGE, end=CHANNEL + "final" + MESSAGE, start_in_output=True,
    default_mode=Mode.REASONING, switches=("enable_thinking",), implicit_ends=(ROLE + RECIPIENT,),
)

_WORD = r"[A-Za-z0-9_.\-]+"
_HEADER = re.compile(
    rf"(?:{re.escape(ROLE)})?(?: to=[^\s<>|]+)?"
    rf"(?:{re.escape(CHANNEL)}({_WORD})(?:(?: ?{re.escape(CONSTRAIN)}| ){_WORD})*)? ?{re.escape(MESSAGE)}"
)

# where the output is: right after a role (or at the start), inside a message, verbatim in a tool
# call, after a terminator
_ROLE, _REASON, _CONTENT, _TOOL, _OUTSIDE = range(5)
_MODE_STATES = {Mode.REASONING: _REASON, Mode.CONTENT: _CONTENT, Mode.RESPONSE: _CONTENT, Mode.TOOL_CALL: _TOOL}


def _header_verdict(held: str, final: bool) -> tuple[str, int] | None:
    """What the header text ``held`` (starting at ``<|channel|>`` or, right after a role,
    `` to=``) is: ("tool", length of the text before `` to=``), ("analysis" | "content", header
    length), ("text", 0) when it is no header, or None while it may still become one."""
    limit = held[: HEADER_LIMIT + 1]
    end = limit.find(MESSAGE)
    before = limit if end < 0 else limit[:end]
    to = before.find(RECIPIENT)
    if to >= 0 and "\n" not in before[:to] and not any(t in before[1:to] for t in (START, *TERMINATORS)):
        return "tool", to
    if end >= 0:
        match = _HEADER.fullmatch(limit, 0, end + len(MESSAGE))
        if match is None:
            return "text", 0
        return ("analysis" if match.group(1) == "analysis" else "content"), match.end()
    if final or len(limit) > HEADER_LIMIT or "\n" in limit or any(t in limit[1:] for t in (START, *TERMINATORS)):
        return "text", 0
    return None


class BeamStream(IdAlignedStream):
    """One request's Beam output, fed delta by delta (see the module docstring)."""

    __slots__ = ("_state", "_fallback", "_role", "_held", "_blank", "_finished", "_ids")

    def __init__(self, state: int, fallback: int = _CONTENT, marker_ids: MarkerIds | None = None) -> None:
        self._state = state
        self._ids = marker_ids  # with the tokenizer: tokens whose text an engine left out
        self._fallback = fallback  # the section of text right after the prompt's role, headerless
        self._role = ""  # a role written in the output, markup unless a tool call follows it
        self._held = ""
        self._blank = ""  # whitespace after a terminator or a role, until what follows decides
        self._finished = False

    @property
    def reasoning_ended(self) -> bool:
        """Whether an answer or a tool call has opened (a later analysis message is still
        reasoning: engines that stop calling the parser here must not)."""
        return self._state in (_CONTENT, _TOOL)

    def _scan(self, delta: str, final: bool) -> ReasoningDelta | None:
        buf = self._held + delta if self._held else delta
        self._held = ""
        out: dict[int, list[str]] = {_REASON: [], _CONTENT: []}
        n = len(buf)
        i = 0
        while i < n:
            state = self._state
            if state == _TOOL:
                i = self._tool(buf, i, final, out[_CONTENT])
                if i < 0:
                    break
                continue
            if state == _ROLE and not self._blank:
                if buf.startswith(RECIPIENT, i):
                    i = self._header(buf, i, final, out)
                    if i < 0:
                        break
                    continue
                if not final and proper_prefix(buf[i:], (RECIPIENT,)):
                    self._held = buf[i:]
                    break
            at = buf.find("<", i)
            stop = n if at < 0 else at
            if stop > i:
                self._text(buf[i:stop], out)
            if at < 0:
                break
            i = self._marker(buf, at, final, out)
            if i < 0:
                break
        if final:
            if self._state == _OUTSIDE:
                out[_CONTENT].append(self._blank.lstrip("\n"))
            elif self._state == _ROLE and not self._role:
                out[self._fallback].append(self._blank)  # whitespace only: what the model wrote
            self._blank = self._role = ""
        r, c = "".join(out[_REASON]), "".join(out[_CONTENT])
        if r or c:
            return ReasoningDelta(r or None, c or None)
        return None

    def _text(self, text: str, out: dict[int, list[str]]) -> None:
        state = self._state
        if state in (_REASON, _CONTENT):
            out[state].append(text)
        elif not text.strip():
            self._blank += text
        else:  # words after a role or a terminator: the role and the newlines before them are markup
            section = self._fallback if state == _ROLE and not self._role else _CONTENT
            text = self._blank + text
            out[section].append(text.lstrip("\n") if state == _OUTSIDE else text)
            self._blank = self._role = ""
            self._state = section

    def _marker(self, buf: str, at: int, final: bool, out: dict[int, list[str]]) -> int:
        """Handle what starts at ``buf[at]`` (a ``<``); the index to go on from, or -1 when the
        rest is held."""
        if buf.startswith(CHANNEL, at):
            return self._header(buf, at, final, out)
        if buf.startswith(ROLE, at):
            self._state, self._role, self._blank = _ROLE, ROLE, ""
            return at + len(ROLE)
        token = next((t for t in TERMINATORS if buf.startswith(t, at)), None)
        if token is not None:
            self._state, self._role, self._blank = _OUTSIDE, "", ""
            return at + len(token)
        if not final and proper_prefix(buf[at:], (*TOKENS, ROLE)):
            self._held = buf[at:]
            return -1
        piece = next((t for t in TOKENS if buf.startswith(t, at)), "<")  # text, not markup
        self._text(piece, out)
        return at + len(piece)

    def _header(self, buf: str, at: int, final: bool, out: dict[int, list[str]]) -> int:
        verdict = _header_verdict(buf[at:], final)
        if verdict is None:
            self._held = buf[at:]
            return -1
        kind, length = verdict
        if kind == "text":
            piece = CHANNEL if buf.startswith(CHANNEL, at) else buf[at]
            self._text(piece, out)
            return at + len(piece)
        if kind == "tool":  # verbatim from its role (or from " to=" right after the prompt's role)
            out[_CONTENT].append(self._role + buf[at : at + length + len(RECIPIENT)])
            self._state, self._role, self._blank = _TOOL, "", ""
            return at + length + len(RECIPIENT)
        self._state = _REASON if kind == "analysis" else _CONTENT
        self._role = self._blank = ""
        return at + length

    def _tool(self, buf: str, i: int, final: bool, content: list[str]) -> int:
        """Verbatim to the call's terminator (included); the index after it, or -1 at the end."""
        ends = [(p, t) for p, t in ((buf.find(t, i), t) for t in TERMINATORS) if p >= 0]
        if ends:
            at, token = min(ends)
            content.append(buf[i : at + len(token)])
            self._state = _OUTSIDE
            return at + len(token)
        keep = 0
        if not final:
            for k in range(min(len(RETURN) - 1, len(buf) - i), 0, -1):
                if proper_prefix(buf[len(buf) - k :], TERMINATORS):
                    keep = k
                    break
        content.append(buf[i : len(buf) - keep])
        self._held = buf[len(buf) - keep :]
        return -1


def _state_after_prompt(prompt_text: str) -> int | None:
    """The state the prompt's last Beam markup leaves the output in, if it has any."""
    tail = prompt_text[-4 * HEADER_LIMIT :]
    found = [(tail.rfind(t), t) for t in (ROLE, MESSAGE, *TERMINATORS)]
    at, token = max(found)
    if at < 0:
        return None
    if token == ROLE:
        return _ROLE
    if token in TERMINATORS:
        return _OUTSIDE
    header_at = tail.rfind(CHANNEL, 0, at)
    match = _HEADER.fullmatch(tail, header_at, at + len(MESSAGE)) if header_at >= 0 else None
    if match is None:
        return None
    return _REASON if match.group(1) == "analysis" else _CONTENT


def _initial(mode: Any, request: Any, prompt_text: str | None) -> tuple[int, int]:
    """(state, section of headerless text after the prompt's role): explicit mode (or FastDeploy
    ``model_status``), then the prompt's last markup, then ``enable_thinking``, then reasoning."""
    if mode is None:
        mode = request_field(request, "model_status")
    if mode is not None:
        mode = coerce_mode(mode)
        # the output starts after the prompt's role: a header (or a call) may still come; text
        # without one is the section the mode names (SGLang's force_reasoning, FastDeploy's status)
        if mode is Mode.AWAIT_START:
            return _ROLE, _CONTENT
        if mode is Mode.REASONING:
            return _ROLE, _REASON
        return _MODE_STATES[mode], _CONTENT
    fallback = _CONTENT if thinking_switch(request, BEAM.switches) is False else _REASON
    state = _state_after_prompt(prompt_text) if prompt_text else None
    return (_ROLE if state is None else state), fallback


_STATE_MODES = {_REASON: Mode.REASONING, _CONTENT: Mode.CONTENT, _TOOL: Mode.TOOL_CALL, _OUTSIDE: Mode.CONTENT}


class BeamTracker:
    """Follows one request's tokens: ``feed(token_id)`` is True for a token no grammar may see
    (reasoning, headers, terminators, whitespace before the next header), False for content.

    It reads the tokens' text with the parser's own stream, so reasoning ends exactly where the
    parser's content begins: at a final header, a tool call, or words after a terminator.
    """

    __slots__ = ("_decode", "_stream", "_done")

    def __init__(self, decode: Any, state: int, fallback: int) -> None:
        self._decode = decode
        self._stream = BeamStream(state, fallback)
        self._done = state in (_CONTENT, _TOOL, _OUTSIDE)

    @property
    def in_reasoning(self) -> bool:
        return not self._done

    def feed(self, token_id: int) -> bool:
        if self._done:
            return False
        delta = self._stream.feed(self._decode(token_id))
        if delta is not None and delta.content:
            self._done = True
            return False
        if self._stream._state in (_CONTENT, _TOOL):
            self._done = True
        return True


class BeamReasoner(Reasoner):
    """Guided decoding for Beam: the grammar starts after the final channel's header (or at a
    tool call); a reasoning budget ends the analysis message and opens the final one."""

    format = BEAM
    conformance_tokenizer = "qwen+" + " ".join(TOKENS)

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._pieces: dict[int, str] = {}
        self._bound: dict[str, Any] = {}
        self._force = encode_plain(tokenizer, END + ROLE + CHANNEL + "final" + MESSAGE)

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> BeamReasoner:
        if tokenizer is None or getattr(tokenizer, "decode", None) is None:
            raise MissingMarkerError(
                f"{cls.__name__} reads Beam's headers from token ids and needs the model's tokenizer "
                f"(with decode); got {type(tokenizer).__name__}"
            )
        return cls(tokenizer)

    def _piece(self, token_id: int) -> str:
        piece = self._pieces.get(token_id)
        if piece is None:
            piece = self._pieces[token_id] = self._tokenizer.decode(
                [token_id], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        return piece

    @property
    def force_end_token_ids(self) -> list[int]:
        return list(self._force)

    def bind(self, request: Any = None, *, prompt_token_ids: Sequence[int] | None = None,
             mode: Mode | str | None = None) -> BeamReasoner:
        """Tell ``is_reasoning_end``/``extract_content_ids`` which request and prompt they serve."""
        self._bound = {"request": request, "prompt_token_ids": prompt_token_ids, "mode": mode}
        return self

    def start(self, prompt_token_ids: Sequence[int] = (), *, request: Any = None,
              mode: Mode | str | None = None) -> BeamTracker:
        prompt_text = self._tokenizer.decode(list(prompt_token_ids[-64:]), skip_special_tokens=False) \
            if prompt_token_ids else None
        state, fallback = _initial(mode, request, prompt_text)
        return BeamTracker(self._piece, state, fallback)

    def _end_index(self, input_ids: Sequence[int]) -> int | None:
        bound = self._bound
        tracker = self.start(bound.get("prompt_token_ids") or (), request=bound.get("request"), mode=bound.get("mode"))
        if not tracker.in_reasoning:
            return 0
        for index, token in enumerate(input_ids):
            grammar_free = tracker.feed(token)
            if not tracker.in_reasoning:
                return index + 1 if grammar_free else index
        return None

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return self._end_index(input_ids) is not None

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        index = self._end_index(input_ids)
        return [] if index is None else list(input_ids[index:])


class BeamParser(DeclarativeParser):
    """Beam (vLLM and SGLang ``beam``): channel messages, tool calls addressed by ``to=``."""

    format = BEAM
    conformance_tokenizer = BeamReasoner.conformance_tokenizer
    # terminators and headers follow the answer: an engine adapter never passes content through unparsed
    content_verbatim = False
    # no single token ends reasoning (the final header is several): engine adapters count reasoning
    # tokens from the text and gate no grammar by id; our reasoner reads the headers' text
    id_format = None

    def __init__(self, tokenizer: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, **kwargs)
        self._reasoner: BeamReasoner | None = None
        self._by_id = {token: marker for marker, token in marker_token_ids(tokenizer, TOKENS).items()}

    def _initial(self, request: Any, prompt_token_ids: Sequence[int] | None, prompt_text: str | None,
                 mode: Any) -> tuple[int, int]:
        if request is None:
            request = self._default_request
        if prompt_text is None and prompt_token_ids and self._decode is not None:
            prompt_text = self._decode(list(prompt_token_ids[-64:]))
        return _initial(mode, request, prompt_text)

    def resolve_mode(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> Mode:
        state, fallback = self._initial(request, prompt_token_ids, prompt_text, mode)
        if state == _ROLE:
            return Mode.REASONING if fallback == _REASON else Mode.AWAIT_START
        return _STATE_MODES[state]

    def start_stream(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> BeamStream:
        aligner = MarkerIds(self._decode, self._by_id) if self._decode is not None and self._by_id else None
        return BeamStream(*self._initial(request, prompt_token_ids, prompt_text, mode), aligner)

    def _bound_reasoner(self) -> BeamReasoner:
        if self._reasoner is None:
            self._reasoner = BeamReasoner.from_tokenizer(self.model_tokenizer)
        bound = self._bound
        request = bound.get("request")
        if request is None:
            request = self._default_request
        return self._reasoner.bind(request, prompt_token_ids=bound.get("prompt_token_ids"), mode=bound.get("mode"))

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        """Whether reasoning has ended in this output (a final header, a tool call, or words
        after a terminator)."""
        return self._bound_reasoner().is_reasoning_end(input_ids)

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        return self._bound_reasoner().extract_content_ids(input_ids)


# Markers are matched by text (with ids, a token the engine left out of the text is put back); the
# id methods and the reasoner read the same headers from ids.
BeamParser.capabilities = frozenset({
    Capability.NATIVE_STREAM, Capability.FINISH, Capability.TOKEN_IDS, Capability.START_IN_PROMPT,
    Capability.START_IN_OUTPUT, Capability.THINKING_SWITCH, Capability.IMPLICIT_END, Capability.MODES,
})

__all__ = ["BEAM", "BeamParser", "BeamReasoner", "BeamStream", "BeamTracker"]
