"""gpt-oss Harmony: reasoning and content are channels of messages, not a start/end pair.

The prompt ends with ``<|start|>assistant``; the model writes one or more messages::

    <|channel|>analysis<|message|>REASONING<|end|>
    <|start|>assistant<|channel|>final<|message|>ANSWER<|return|>

or, calling a tool, ``...<|end|><|start|>assistant<|channel|>commentary to=functions.NAME
<|constrain|>json<|message|>{ARGS}<|call|>`` (the recipient may also follow the role:
``<|start|>assistant to=functions.NAME<|channel|>commentary json<|message|>``).

Read here as both engines read it (vLLM's Harmony parser, SGLang's ``gpt-oss`` detector): the
``analysis`` channel is reasoning; ``final``, and ``commentary`` without a recipient (a preamble
to the user), are content; a message with a recipient (``to=...``: a function, or a built-in
tool such as ``browser.search``) is a tool call and goes to the content verbatim, header and
``<|call|>`` included, where a tool-call parser reads it (SGLang keeps it so; vLLM hands it to its
tool parser). Headers and the ``<|end|>``/``<|return|>`` terminators are markup. Text outside any
message is content, except at the very start: output with no header before it continues the
message the prompt opened, which is the analysis channel unless the prompt says otherwise.

A header is held back only while it can still become one (known channel names, known
attributes, at most ``HEADER_LIMIT`` characters); anything else is text of the section it
interrupted, so nothing is lost. Each delta costs O(len(delta) + held text).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from typing import Any

from reasoning_plugins import Capability, DeclarativeParser, MissingMarkerError, Mode, ReasoningFormat, ReasoningParser
from reasoning_plugins.protocol import ReasoningDelta

START, CHANNEL, MESSAGE, CONSTRAIN = "<|start|>", "<|channel|>", "<|message|>", "<|constrain|>"
END, CALL, RETURN = "<|end|>", "<|call|>", "<|return|>"
TOKENS = (START, CHANNEL, MESSAGE, CONSTRAIN, END, CALL, RETURN)
TERMINATORS = (END, CALL, RETURN)
HEADER_LIMIT = 160  # characters: real headers are a few dozen
PROMPT_TAIL_CHARS = 2 * HEADER_LIMIT  # the prompt's end read for where the output starts

FINAL_HEADER = START + "assistant" + CHANNEL + "final" + MESSAGE

# The view of Harmony the conformance suite and the id methods use: reasoning opens with an
# analysis header and ends where the answer's message opens (its header is the end marker; the
# analysis message's own <|end|> is markup before it); a final message wraps the answer; a
# header naming a recipient opens a tool call, which stays in the content.
HARMONY = ReasoningFormat(
    start=CHANNEL + "analysis" + MESSAGE, end=FINAL_HEADER, start_in_output=True, default_mode=Mode.REASONING,
    implicit_ends=(CHANNEL + "commentary to=", START + "assistant to="),
    content_wrapper=(CHANNEL + "final" + MESSAGE, RETURN),
)


# -- header grammar: each piece gives a regex for its strings and one for their prefixes -----------


class _Piece:
    def __init__(self, full: str, prefix: str) -> None:
        self.full, self.prefix = full, prefix


def _lit(text: str) -> _Piece:
    prefixes = "|".join(re.escape(text[:k]) for k in range(len(text), -1, -1))
    return _Piece(re.escape(text), f"(?:{prefixes})")


def _chars(cls: str) -> _Piece:  # one or more of a character class
    return _Piece(f"{cls}+", f"{cls}*")


def _seq(*pieces: _Piece) -> _Piece:
    options = []
    for index, piece in enumerate(pieces):
        options.append("".join(p.full for p in pieces[:index]) + piece.prefix)
    return _Piece("".join(p.full for p in pieces), f"(?:{'|'.join(options)})")


def _alt(*pieces: _Piece) -> _Piece:
    return _Piece(f"(?:{'|'.join(p.full for p in pieces)})", f"(?:{'|'.join(p.prefix for p in pieces)})")


def _opt(piece: _Piece) -> _Piece:
    return _Piece(f"(?:{piece.full})?", piece.prefix)


def _star(piece: _Piece) -> _Piece:
    return _Piece(f"(?:{piece.full})*", f"(?:{piece.full})*{piece.prefix}")


_RECIPIENT = _chars(r"[^\s<>|]")
_WORD = _chars(r"[A-Za-z0-9_.\-]")
_ATTR = _alt(
    _seq(_lit(" to="), _RECIPIENT),
    _seq(_lit(" "), _WORD),
    _seq(_opt(_lit(" ")), _lit(CONSTRAIN), _WORD),
)
_CHANNEL_PART = _seq(_lit(CHANNEL), _alt(_lit("analysis"), _lit("commentary"), _lit("final")), _star(_ATTR))
_ROLE_PART = _seq(_lit(START), _lit("assistant"), _opt(_seq(_lit(" to="), _RECIPIENT)))
_HEADER = _seq(_alt(_seq(_ROLE_PART, _opt(_CHANNEL_PART)), _CHANNEL_PART), _opt(_lit(" ")), _lit(MESSAGE))
_HEADER_FULL = re.compile(_HEADER.full)
_HEADER_PREFIX = re.compile(_HEADER.prefix)
_CHANNEL_NAME = re.compile(re.escape(CHANNEL) + r"(analysis|commentary|final)")

# states
_REASON, _CONTENT, _OUTSIDE, _RAW, _HEADER_STATE = range(5)


def _partial_token(text: str) -> bool:
    """``text`` (starting with ``<``) is a proper prefix of a Harmony token."""
    return any(len(text) < len(token) and token.startswith(text) for token in TOKENS)


class HarmonyStream:
    """One request's Harmony output, fed delta by delta (see the module docstring)."""

    __slots__ = ("_state", "_before", "_held", "_finished")

    def __init__(self, mode: Mode) -> None:
        self._state = {
            Mode.REASONING: _REASON, Mode.RESPONSE: _CONTENT, Mode.TOOL_CALL: _RAW,
        }.get(mode, _OUTSIDE)
        self._before = self._state  # the state a header interrupted
        self._held = ""
        self._finished = False

    @property
    def reasoning_ended(self) -> bool:
        return self._state != _REASON and not (self._state == _HEADER_STATE and self._before == _REASON)

    def feed(self, delta_text: str | None, delta_token_ids: Sequence[int] | None = None) -> ReasoningDelta | None:
        if self._finished:
            raise RuntimeError("this stream has finished; start a new stream for a new request")
        if not delta_text:
            return None
        return self._scan(delta_text, final=False)

    def finish(self) -> ReasoningDelta | None:
        if self._finished:
            return None
        result = self._scan("", final=True)
        self._finished = True
        return result

    def _scan(self, delta: str, final: bool) -> ReasoningDelta | None:
        buf = self._held + delta if self._held else delta
        self._held = ""
        reasoning: list[str] = []
        content: list[str] = []
        n = len(buf)
        i = 0
        while i < n:
            state = self._state
            if state == _HEADER_STATE:
                step = self._header(buf, i, final, content)
                if step is None:
                    self._held = buf[i:]
                    break
                if step < 0:
                    # its "<" is text of the section it interrupted; scanning goes on after it
                    self._state = self._before
                    (reasoning if self._before == _REASON else content).append("<")
                    step = i + 1
                i = step
                continue
            out = reasoning if state == _REASON else content
            if state == _RAW:
                found = [(buf.find(t, i), t) for t in TERMINATORS]
                found = [(p, t) for p, t in found if p >= 0]
                if found:
                    at, token = min(found)
                    out.append(buf[i : at + len(token)])
                    i = at + len(token)
                    self._state = _OUTSIDE
                    continue
                keep = 0 if final else _trailing_partial(buf, i, TERMINATORS)
                out.append(buf[i : n - keep])
                self._held = buf[n - keep :]
                break
            at = buf.find("<", i)
            if at < 0:
                out.append(buf[i:])
                break
            out.append(buf[i:at])
            i = at
            token = next((t for t in TOKENS if buf.startswith(t, at)), None)
            if token is None:
                if not final and _partial_token(buf[at:]):
                    self._held = buf[at:]
                    break
                out.append("<")
                i = at + 1
            elif token in (START, CHANNEL):
                self._before = state
                self._state = _HEADER_STATE
            elif token in TERMINATORS:
                i = at + len(token)  # markup: the message ends
                self._state = _OUTSIDE
            else:  # <|message|> or <|constrain|> outside a header: text
                out.append(token)
                i = at + len(token)
        r, c = "".join(reasoning), "".join(content)
        if r or c:
            return ReasoningDelta(r or None, c or None)
        return None

    def _header(self, buf: str, i: int, final: bool, content: list[str]) -> int | None:
        """Decide the header starting at ``buf[i]``: the index after it (or after the part
        decided), None to hold the rest, -1 when it is not a header."""
        rest = buf[i : i + HEADER_LIMIT + 1]
        kind, size = read_header(rest, final)
        if kind is Header.RECIPIENT:
            # a tool call, verbatim in the content from its header on
            content.append(rest[:size])
            self._state = _RAW
            return i + size
        if kind is Header.ANALYSIS or kind is Header.ANSWER:
            self._state = _REASON if kind is Header.ANALYSIS else _CONTENT
            return i + size
        return None if kind is Header.OPEN else -1


class Header(enum.Enum):
    """What the text from a ``<|start|>`` or ``<|channel|>`` on turned out to be."""

    ANALYSIS = "analysis"  # a complete header of a reasoning message
    ANSWER = "answer"  # a complete header of a final message, or commentary without recipient
    RECIPIENT = "recipient"  # a header naming a recipient (``to=``), up to the ``=``: a tool call
    OPEN = "open"  # may still become a header
    TEXT = "text"  # not a header: text of the section it interrupted


def read_header(rest: str, final: bool = False) -> tuple[Header, int]:
    """What the header at the start of ``rest`` is, and how many characters of it decide that
    (0 unless complete or a recipient). ``final``: no more text will come."""
    end = rest.find(MESSAGE)
    to = rest.find(" to=", 0, end if end >= 0 else len(rest))
    if to >= 0 and _HEADER_PREFIX.fullmatch(rest, 0, to + 4):
        return Header.RECIPIENT, to + 4
    if end >= 0 and _HEADER_FULL.fullmatch(rest, 0, end + len(MESSAGE)):
        name = _CHANNEL_NAME.search(rest, 0, end)
        kind = Header.ANALYSIS if name is not None and name.group(1) == "analysis" else Header.ANSWER
        return kind, end + len(MESSAGE)
    if not final and len(rest) <= HEADER_LIMIT and _HEADER_PREFIX.fullmatch(rest):
        return Header.OPEN, 0
    return Header.TEXT, 0


def mode_from_prompt(prompt_text: str) -> Mode | None:
    """Where the output starts, from the last Harmony token of the prompt, or None when the
    prompt does not say (it ends in an unfinished header such as ``<|start|>assistant``, the
    chat template's generation prompt: the model writes the channel).

    A complete header opens its message: analysis is reasoning, a recipient a tool call, final
    and commentary the answer; after a terminator the output starts outside any message.
    """
    tail = prompt_text[-PROMPT_TAIL_CHARS:]
    last, token = max((tail.rfind(t), t) for t in TOKENS)
    if last < 0:
        return None
    if token in TERMINATORS:
        return Mode.CONTENT
    if token != MESSAGE:
        return None
    # the header from its role (a recipient may follow the role), else from its channel
    for opener in (START, CHANNEL):
        opened = tail.rfind(opener, 0, last)
        if opened >= 0:
            kind, _ = read_header(tail[opened : last + len(MESSAGE)], final=True)
            if kind is not Header.TEXT:
                return _MODE_OF_HEADER[kind]
    return None


_MODE_OF_HEADER = {Header.ANALYSIS: Mode.REASONING, Header.ANSWER: Mode.RESPONSE, Header.RECIPIENT: Mode.TOOL_CALL}


def prompt_tail_text(tokenizer: Any, prompt_token_ids: Sequence[int]) -> str:
    """The text of the prompt's last tokens, enough for :func:`mode_from_prompt`."""
    tail = list(prompt_token_ids[-PROMPT_TAIL_CHARS // 4 :])
    try:
        return tokenizer.decode(tail, skip_special_tokens=False)
    except TypeError:
        return tokenizer.decode(tail)


def _trailing_partial(buf: str, start: int, tokens: tuple[str, ...]) -> int:
    """Length of the longest suffix of ``buf[start:]`` that is a proper prefix of a token."""
    longest = max(len(t) for t in tokens) - 1
    for k in range(min(longest, len(buf) - start), 0, -1):
        tail = buf[len(buf) - k :]
        if any(t.startswith(tail) for t in tokens):
            return k
    return 0


class HarmonyParser(DeclarativeParser):
    """gpt-oss Harmony (vLLM ``openai_gptoss``, SGLang ``gpt-oss``)."""

    format = HARMONY

    def resolve_mode(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> Mode:
        """An explicit mode, else the header the prompt ends in (see :func:`mode_from_prompt`),
        else reasoning: gpt-oss always writes its analysis first (there is no thinking switch)."""
        if mode is not None:
            return super().resolve_mode(request, mode=mode)
        if prompt_text is None and prompt_token_ids and self.model_tokenizer is not None:
            prompt_text = prompt_tail_text(self.model_tokenizer, prompt_token_ids)
        from_prompt = mode_from_prompt(prompt_text) if prompt_text else None
        return from_prompt if from_prompt is not None else self.format.default_mode

    def start_stream(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> HarmonyStream:
        return HarmonyStream(self.resolve_mode(request, prompt_token_ids=prompt_token_ids, prompt_text=prompt_text, mode=mode))

    # The id methods read the output as the reasoner does (reasoning ends where the answer's
    # header is complete); without a tokenizer they cannot read ids and answer as the base class.
    # No single token says where reasoning ends: an engine adapter gates nothing by id.
    id_format = None

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        reasoner = self._reasoner()
        return ReasoningParser.is_reasoning_end(self, input_ids) if reasoner is None else reasoner.is_reasoning_end(input_ids)

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        reasoner = self._reasoner()
        if reasoner is None:
            return ReasoningParser.extract_content_ids(self, input_ids)
        return reasoner.extract_content_ids(input_ids)

    def _reasoner(self) -> Any:
        """The reasoner for this parser's tokenizer, bound to its request; None when the
        tokenizer has no Harmony tokens (then no id says where reasoning ends)."""
        reasoner = self.__dict__.get("_harmony_reasoner", _UNSET)
        if reasoner is _UNSET:
            from .harmony_reasoner import HarmonyReasoner

            reasoner = None
            if self.model_tokenizer is not None:
                try:
                    reasoner = HarmonyReasoner.from_tokenizer(self.model_tokenizer)
                except MissingMarkerError:
                    reasoner = None
            self._harmony_reasoner = reasoner
        return None if reasoner is None else reasoner.bind(mode=self.resolve_mode(**self._bound))


_UNSET = object()


HarmonyParser.capabilities = frozenset({
    Capability.NATIVE_STREAM, Capability.FINISH, Capability.START_IN_PROMPT, Capability.START_IN_OUTPUT,
    Capability.IMPLICIT_END, Capability.CONTENT_WRAPPER, Capability.MODES,
})
