"""Kimi K3 (XTML channels), Muse and Muse Glimmer (recipient channels), and StepFun Step 5.

Kimi K3 writes every section as an XTML element made of special tokens around a plain word::

    <|open|>think<|sep|>REASONING<|close|>think<|sep|>
    <|open|>response<|sep|>ANSWER<|close|>response<|sep|><|close|>message<|sep|>

and tool calls as ``<|open|>tools<|sep|><|open|>call tool="NAME" ...<|close|>tools<|sep|>``. Each
marker is three tokens (``<|open|>``, ``think``, ``<|sep|>``), so no single token id says where
reasoning ends: the parser matches the markers' text, and the reasoner (guided decoding) their
token-id sequences. The template prefills the think element when thinking is on (the default;
``thinking`` or ``enable_thinking`` false turns it off); a think element the model opens itself is
removed. Reasoning ends at its close marker, or where the model opens the response or tools
channel without closing it (SGLang's reading; vLLM leaves such output in the reasoning). The
response wrapper and the message close around the answer are markup; a tools channel goes to the
content verbatim, where the tool-call parser reads it.

Muse (Spark) writes messages addressed to a recipient, after the prompt's ``<|start|>assistant``::

     to=self<|message|>REASONING<|eom|><|start|>assistant to=user<|message|>ANSWER<|eot|>

See :class:`MuseStream` for how recipients map to sections; Muse Glimmer differs in two ways
(:data:`GLIMMER`). Step 5 is DeepSeek R1's layout (see :data:`STEP5`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from reasoning_plugins import (
    Capability,
    DeclarativeParser,
    MissingMarkerError,
    Mode,
    Reasoner,
    ReasoningFormat,
    ReasoningParser,
)
from reasoning_plugins.protocol import ReasoningDelta

# -- StepFun Step 5 ----------------------------------------------------------------------------

# Step 5: vLLM registers `step5` as its DeepSeek-R1 parser: <think> prefilled by the template (a
# written one is removed), output without </think> is reasoning, no switch. Its tool calls use
# the Qwen grammar (<tool_call>), and, as for Step-3.5, a <tool_call> opened inside reasoning ends
# it (R1's parser would keep the call in the reasoning).
STEP5 = ReasoningFormat(start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING,
                        implicit_ends=("<tool_call>",))

# -- Kimi K3 ------------------------------------------------------------------------------------

THINK_OPEN = "<|open|>think<|sep|>"
THINK_CLOSE = "<|close|>think<|sep|>"
RESPONSE_OPEN = "<|open|>response<|sep|>"
RESPONSE_CLOSE = "<|close|>response<|sep|>"
TOOLS_OPEN = "<|open|>tools<|sep|>"
MESSAGE_CLOSE = "<|close|>message<|sep|>"
KIMI_K3_TOKENS = ("<|open|>", "<|close|>", "<|sep|>")

# The format as the conformance suite and the mode resolution read it.
KIMI_K3 = ReasoningFormat(
    start=THINK_OPEN, end=THINK_CLOSE, start_in_output=True, default_mode=Mode.REASONING,
    switches=("thinking", "enable_thinking"), implicit_ends=(TOOLS_OPEN,),
    content_wrapper=(RESPONSE_OPEN, RESPONSE_CLOSE),
)
# What the scanner runs: the response channel opened inside reasoning ends it too; the content
# filter of KimiK3Stream then removes the wrapper.
_KIMI_K3_SCAN = replace(KIMI_K3, implicit_ends=(TOOLS_OPEN, RESPONSE_OPEN), content_wrapper=None)


class _K3Scan(DeclarativeParser):
    format = _KIMI_K3_SCAN


# markup removed from the content up to a tools channel, which the tool-call parser reads verbatim
_CONTENT_MARKUP = (RESPONSE_OPEN, RESPONSE_CLOSE, MESSAGE_CLOSE)


def _partial_suffix(text: str, start: int, marker: str) -> int:
    """Length of the longest suffix of ``text[start:]`` that is a proper prefix of ``marker``."""
    for k in range(min(len(marker) - 1, len(text) - start), 0, -1):
        if marker.startswith(text[len(text) - k :]):
            return k
    return 0


class KimiK3Stream:
    """One request's Kimi K3 output: the scanner splits reasoning from content, then the content
    loses its response wrapper and message close, up to a tools channel (kept verbatim from its
    opener on, as SGLang hands it to the tool-call parser)."""

    __slots__ = ("_inner", "_raw", "_held")

    def __init__(self, inner: Any, mode: Mode) -> None:
        self._inner = inner
        self._raw = mode is Mode.TOOL_CALL  # inside a tools channel: verbatim
        self._held = ""

    @property
    def mode(self) -> Mode:
        return self._inner.mode

    @property
    def reasoning_ended(self) -> bool:
        return self._inner.reasoning_ended

    @property
    def in_reasoning(self) -> bool:
        return self._inner.in_reasoning

    def feed(self, delta_text: str | None, delta_token_ids: Sequence[int] | None = None) -> ReasoningDelta | None:
        return self._out(self._inner.feed(delta_text, delta_token_ids), final=False)

    def finish(self) -> ReasoningDelta | None:
        return self._out(self._inner.finish(), final=True)

    def _out(self, delta: ReasoningDelta | None, final: bool) -> ReasoningDelta | None:
        reasoning = delta.reasoning_content if delta is not None else None
        text = delta.content if delta is not None else None
        content = self._clean(text or "", final) if text or self._held else ""
        if reasoning or content:
            return ReasoningDelta(reasoning or None, content or None)
        return None

    def _clean(self, text: str, final: bool) -> str:
        if self._raw or (not self._held and "<" not in text):
            return text
        buf = self._held + text if self._held else text
        self._held = ""
        out: list[str] = []
        i = 0
        while True:
            found = [(buf.find(m, i), m) for m in (*_CONTENT_MARKUP, TOOLS_OPEN)]
            found = [(at, m) for at, m in found if at >= 0]
            if not found:
                keep = 0 if final else max(_partial_suffix(buf, i, m) for m in (*_CONTENT_MARKUP, TOOLS_OPEN))
                out.append(buf[i : len(buf) - keep])
                self._held = buf[len(buf) - keep :]
                return "".join(out)
            at, marker = min(found)
            out.append(buf[i:at])
            if marker == TOOLS_OPEN:
                self._raw = True
                out.append(buf[at:])
                return "".join(out)
            i = at + len(marker)


@dataclass(frozen=True, slots=True)
class _K3Ids:
    """Kimi K3's markers as token-id sequences of one tokenizer."""

    think_open: tuple[int, ...]
    think_close: tuple[int, ...]
    response_open: tuple[int, ...]
    tools_open: tuple[int, ...]

    @staticmethod
    def encode(tokenizer: Any, marker: str) -> tuple[int, ...]:
        try:
            return tuple(tokenizer.encode(marker, add_special_tokens=False))
        except TypeError:
            return tuple(tokenizer.encode(marker))

    @classmethod
    def of(cls, tokenizer: Any) -> _K3Ids:
        return cls(*(cls.encode(tokenizer, m) for m in (THINK_OPEN, THINK_CLOSE, RESPONSE_OPEN, TOOLS_OPEN)))


class KimiK3Tracker:
    """Follows one Kimi K3 request token by token (see :class:`reasoning_plugins.ReasoningTracker`).

    ``feed`` is True for tokens no grammar may see: reasoning, the close marker and a response
    opener that ends reasoning (markup), whitespace before a think element the model may still
    open. A tools channel opened inside reasoning ends it on the token that completes its opener,
    which is content (as for every tool-call opener spelled by several tokens).
    """

    __slots__ = ("_ids", "_recent", "_pending", "_awaiting", "_is_blank", "in_reasoning")

    def __init__(self, ids: _K3Ids, mode: Mode, is_blank: Any = None) -> None:
        self._ids = ids
        self._recent: list[int] = []
        self._pending: list[int] = []  # tokens that may still spell the think opener (await)
        self._awaiting = mode is Mode.AWAIT_START
        self._is_blank = is_blank
        self.in_reasoning = mode is Mode.REASONING or mode is Mode.AWAIT_START

    @property
    def awaiting_start(self) -> bool:
        return self._awaiting

    def feed(self, token_id: int) -> bool:
        if self._awaiting:
            return self._await(token_id)
        if not self.in_reasoning:
            return False
        recent = self._recent
        recent.append(token_id)
        if len(recent) > 8:
            del recent[:-8]
        ids = self._ids
        if _ends_with(recent, ids.think_close) or _ends_with(recent, ids.response_open):
            self.in_reasoning = False
            return True
        if _ends_with(recent, ids.tools_open):
            self.in_reasoning = False
            return False
        return True

    def _await(self, token_id: int) -> bool:
        pending = self._pending
        if not pending and self._is_blank is not None and self._is_blank(token_id):
            return True
        pending.append(token_id)
        opener = self._ids.think_open
        if tuple(pending) == opener:
            self._awaiting = False
            return True
        if opener[: len(pending)] == tuple(pending):
            return True  # may still be the opener
        self._awaiting = False
        self.in_reasoning = False
        return False


def _ends_with(recent: list[int], marker: tuple[int, ...]) -> bool:
    n = len(marker)
    return n > 0 and len(recent) >= n and tuple(recent[-n:]) == marker


def _blank_checker(tokenizer: Any) -> Any:
    decode = getattr(tokenizer, "decode", None)
    if decode is None:
        return None
    cache: dict[int, bool] = {}

    def is_blank(token_id: int) -> bool:
        blank = cache.get(token_id)
        if blank is None:
            text = decode([token_id])
            blank = cache[token_id] = bool(text) and not text.strip()
        return blank

    return is_blank


class KimiK3Parser(DeclarativeParser):
    """Kimi K3 (vLLM and SGLang ``kimi_k3``): XTML think, response and tools channels."""

    format = KIMI_K3
    conformance_tokenizer = "qwen+" + " ".join(KIMI_K3_TOKENS)

    def __init__(self, tokenizer: Any = None, *args: Any, chat_template_kwargs: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, chat_template_kwargs=chat_template_kwargs, **kwargs)
        self._scan = _K3Scan(tokenizer)
        self._tokenizer = tokenizer
        self._ids = _K3Ids.of(tokenizer) if tokenizer is not None else None
        self._blank = _blank_checker(tokenizer) if tokenizer is not None else None

    def resolve_mode(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> Mode:
        if prompt_token_ids and prompt_text is None and self._tokenizer is not None:
            # the markers are several tokens: the prompt's tail is read as text
            prompt_text = _decode(self._tokenizer, list(prompt_token_ids)[-16:])
        return super().resolve_mode(request, prompt_token_ids=None, prompt_text=prompt_text, mode=mode)

    def start_stream(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> KimiK3Stream:
        resolved = self.resolve_mode(request, prompt_token_ids=prompt_token_ids, prompt_text=prompt_text, mode=mode)
        return KimiK3Stream(self._scan.start_stream(request, mode=resolved), resolved)

    # Engine adapters gate grammars on single marker tokens: none of K3's markers is one, so they
    # read the text (vLLM's adapter counts reasoning tokens from it) and gate nothing by id. Our
    # engine gates through KimiK3Reasoner, which follows the markers' token-id sequences.
    id_format = None

    def tracker(self) -> KimiK3Tracker:
        """A tracker for the request this instance is bound to (see ``bind``)."""
        if self._ids is None:
            raise ValueError("KimiK3Parser's token-id methods need the model's tokenizer; got None")
        return KimiK3Tracker(self._ids, self.resolve_mode(**self._bound), self._blank)

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        tracker = self.tracker()
        for token in input_ids:
            tracker.feed(token)
        return not tracker.in_reasoning

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        tracker = self.tracker()
        content = [token for token in input_ids if not tracker.feed(token)]
        return content if not tracker.in_reasoning else []


def _decode(tokenizer: Any, ids: list[int]) -> str:
    try:
        return tokenizer.decode(ids, skip_special_tokens=False)
    except TypeError:
        return tokenizer.decode(ids)


def _label(tokenizer: Any) -> str:
    label = type(tokenizer).__name__
    source = getattr(tokenizer, "name_or_path", None)
    if isinstance(source, str) and source:
        label += f" {source!r}"
    try:
        return f"{label} ({len(tokenizer):,} tokens)"
    except TypeError:
        return label


class KimiK3Reasoner(Reasoner):
    """Where Kimi K3's reasoning ends, in token ids: the close marker's three tokens (or a
    response or tools channel opened inside reasoning). A budget forces the close marker."""

    format: ClassVar[ReasoningFormat] = KIMI_K3
    conformance_tokenizer = KimiK3Parser.conformance_tokenizer

    def __init__(self, tokenizer: Any) -> None:
        self._parser = KimiK3Parser(tokenizer)
        ids = self._parser._ids
        assert ids is not None
        self._force = list(ids.think_close)

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> KimiK3Reasoner:
        if tokenizer is None:
            raise MissingMarkerError("KimiK3Reasoner works on token ids and needs the model's tokenizer; got None")
        for token in KIMI_K3_TOKENS:
            if len(_K3Ids.encode(tokenizer, token)) != 1:
                # spelled by ordinary tokens, a marker's ids change with the text around it
                raise MissingMarkerError(
                    f"KimiK3Reasoner needs {token!r} to be a single token (Kimi K3's markers are "
                    f"{', '.join(KIMI_K3_TOKENS)} around a word), but the tokenizer {_label(tokenizer)} "
                    f"has no such token. Use Kimi K3's tokenizer."
                )
        return cls(tokenizer)

    @property
    def force_end_token_ids(self) -> list[int]:
        return list(self._force)

    def bind(self, request: Any = None, *, prompt_token_ids: Sequence[int] | None = None,
             mode: Mode | str | None = None) -> KimiK3Reasoner:
        """Tell the whole-sequence methods which request and prompt they serve."""
        self._parser.bind(request, prompt_token_ids=prompt_token_ids, mode=mode)
        return self

    def resolve_mode(self, prompt_token_ids: Sequence[int] = (), *, request: Any = None,
                     mode: Mode | str | None = None) -> Mode:
        return self._parser.resolve_mode(request, prompt_token_ids=prompt_token_ids or None, mode=mode)

    def start(self, prompt_token_ids: Sequence[int] = (), *, request: Any = None,
              mode: Mode | str | None = None) -> KimiK3Tracker:
        parser = self._parser
        assert parser._ids is not None
        return KimiK3Tracker(parser._ids, self.resolve_mode(prompt_token_ids, request=request, mode=mode), parser._blank)

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return self._parser.is_reasoning_end(input_ids)

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        return self._parser.extract_content_ids(input_ids)


# -- Muse and Muse Glimmer ------------------------------------------------------------------------

START, MESSAGE, EOM, EOT = "<|start|>", "<|message|>", "<|eom|>", "<|eot|>"
MUSE_TOKENS = (START, MESSAGE, EOM, EOT)
HEADER_LIMIT = 160  # characters a header may take before it is read as text: real ones are short
_ASSISTANT = START + "assistant"
_MESSAGE_PREFIX = "(?:" + "|".join(re.escape(MESSAGE[:k]) for k in range(len(MESSAGE) - 1, -1, -1)) + ")"
_START_HEADER = re.compile(re.escape(_ASSISTANT) + r"\s*(?:to=([^\s<]+))?" + re.escape(MESSAGE))
_START_HEADER_PREFIX = re.compile(
    re.escape(_ASSISTANT) + r"\s*(?:t|to|to=[^\s<]*" + _MESSAGE_PREFIX + "|" + _MESSAGE_PREFIX + ")"
)
_TO_HEADER = re.compile(r" ?to=([^\s<]+)" + re.escape(MESSAGE))
_TO_HEADER_PREFIX = re.compile(r" ?to=[^\s<]*" + _MESSAGE_PREFIX)
_PROMPT_HEADER = re.compile(r"(?:to=([^\s<]+))?" + re.escape(MESSAGE) + r"\Z")


@dataclass(frozen=True, slots=True)
class MuseProfile:
    """How a Muse checkpoint's recipients map to sections.

    bare_header_reasons: a header without recipient (``<|message|>`` alone) opens a reasoning
        message; otherwise it is not a header at all.
    content_recipients: recipients whose messages are the answer (the body goes to the content).
    """

    bare_header_reasons: bool
    content_recipients: frozenset[str]


# Muse Spark (vLLM `muse` and `musespark1x`).
SPARK = MuseProfile(bare_header_reasons=True, content_recipients=frozenset({"user", "commentary"}))
# Muse Glimmer (vLLM `muse_glimmer`): only `to=` headers open messages, and a message to
# `commentary` is a tool channel. (Both engines also join Glimmer's reasoning messages with a
# newline the model did not write; we keep the text as written.)
GLIMMER = MuseProfile(bare_header_reasons=False, content_recipients=frozenset({"user"}))

# The view of Muse the conformance suite and the mode resolution use: reasoning is a message to
# `self`, closed by <|eom|>; the answer is a message to `user`, closed by <|eot|>.
MUSE = ReasoningFormat(
    start="to=self" + MESSAGE, end=EOM, start_in_output=True, default_mode=Mode.AWAIT_START,
    content_wrapper=(_ASSISTANT + " to=user" + MESSAGE, EOT),
)


class _Section(enum.Enum):
    OUTSIDE = 0  # between messages: text here is content
    REASON = 1
    CONTENT = 2
    TOOL = 3  # a message to a tool: header, body and terminator go to the content verbatim


class MuseStream:
    """One request's Muse output, fed delta by delta.

    A header (``<|start|>assistant to=RECIPIENT<|message|>``, or `` to=RECIPIENT<|message|>`` at
    the start of output, after whitespace or after another marker) opens a message, which ends
    at ``<|eom|>`` or ``<|eot|>`` (markup) or at the next header. ``self`` (and, for Spark, a
    header without recipient) is reasoning; ``user`` (and for Spark ``commentary``) is the
    answer, body only; any other recipient is a tool call, kept verbatim in the content for the
    tool-call parser. Text outside messages is content, terminators there included. A candidate
    header is held back while it can still become one (at most ``HEADER_LIMIT`` characters).
    """

    __slots__ = ("_profile", "_section", "_held", "_boundary", "_finished")

    def __init__(self, profile: MuseProfile, mode: Mode) -> None:
        self._profile = profile
        self._section = {
            Mode.REASONING: _Section.REASON, Mode.RESPONSE: _Section.CONTENT, Mode.TOOL_CALL: _Section.TOOL,
        }.get(mode, _Section.OUTSIDE)
        self._held = ""
        self._boundary = True  # the character before the unread text is a word boundary
        self._finished = False

    @property
    def reasoning_ended(self) -> bool:
        return self._section is not _Section.REASON

    @property
    def in_reasoning(self) -> bool:
        return self._section is _Section.REASON

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

    # -- scanning ---------------------------------------------------------------------------

    def _at_boundary(self, buf: str, j: int) -> bool:
        if j == 0:
            return self._boundary
        before = buf[j - 1]
        return before.isspace() or before == ">"

    def _next_to(self, buf: str, i: int) -> int:
        """Start of the next `to=` header candidate (its leading space included), or -1."""
        j = buf.find("to=", i)
        while j >= 0 and not self._at_boundary(buf, j):
            j = buf.find("to=", j + 1)
        if j > i and buf[j - 1] == " ":
            return j - 1
        return j

    def _scan(self, delta: str, final: bool) -> ReasoningDelta | None:
        buf = self._held + delta if self._held else delta
        self._held = ""
        reasoning: list[str] = []
        content: list[str] = []
        n = len(buf)
        i = 0
        held_from = n
        while i < n:
            out = reasoning if self._section is _Section.REASON else content
            token_at = buf.find("<|", i)
            to_at = self._next_to(buf, i)
            found = [p for p in (token_at, to_at) if p >= 0]
            if not found:
                held_from = n if final else self._tail_hold(buf, i)
                out.append(buf[i:held_from])
                break
            p = min(found)
            out.append(buf[i:p])
            step = self._header_or_token(buf, p, p == to_at, final, reasoning, content)
            if step is None:
                held_from = p
                break
            i = step
        self._held = buf[held_from:]
        if held_from:
            last = buf[held_from - 1]
            self._boundary = last.isspace() or last == ">"
        r, c = "".join(reasoning), "".join(content)
        if r or c:
            return ReasoningDelta(r or None, c or None)
        return None

    def _header_or_token(self, buf: str, p: int, is_to: bool, final: bool,
                         reasoning: list[str], content: list[str]) -> int | None:
        """Act on the header or token candidate at ``p``: the index to go on from, or None to
        hold ``buf[p:]`` until more text comes."""
        profile = self._profile
        out = reasoning if self._section is _Section.REASON else content
        can_wait = not final and len(buf) - p <= HEADER_LIMIT
        if is_to:
            match = _TO_HEADER.match(buf, p)
            if match:
                self._open(match.group(1), match.group(0), content)
                return match.end()
            if can_wait and _TO_HEADER_PREFIX.fullmatch(buf, p):
                return None
            after = buf.index("to=", p) + 3
            out.append(buf[p:after])
            return after
        rest = buf[p : p + len(_ASSISTANT) + 1]
        token = next((t for t in MUSE_TOKENS if rest.startswith(t)), None)
        if token is None:
            if can_wait and any(t.startswith(rest) for t in MUSE_TOKENS):
                return None
            out.append("<|")
            return p + 2
        if token == START:
            match = _START_HEADER.match(buf, p)
            if match and (match.group(1) or profile.bare_header_reasons):
                self._open(match.group(1), match.group(0), content)
                return match.end()
            if can_wait and (_ASSISTANT.startswith(buf[p:]) or _START_HEADER_PREFIX.fullmatch(buf, p)):
                return None
        elif token == MESSAGE and profile.bare_header_reasons:
            self._open(None, MESSAGE, content)
            return p + len(MESSAGE)
        elif token in (EOM, EOT) and self._section is not _Section.OUTSIDE:
            if self._section is _Section.TOOL:
                content.append(token)
            self._section = _Section.OUTSIDE
            return p + len(token)
        out.append(token)  # not markup here: text of the section it is in
        return p + len(token)

    def _open(self, recipient: str | None, header: str, content: list[str]) -> None:
        profile = self._profile
        if recipient is None or recipient == "self":
            self._section = _Section.REASON
        elif recipient in profile.content_recipients:
            self._section = _Section.CONTENT
        else:
            content.append(header)
            self._section = _Section.TOOL

    def _tail_hold(self, buf: str, i: int) -> int:
        """Where the unread end of ``buf`` that could still grow into a header or token begins."""
        n = len(buf)
        if buf.endswith("<") and n - 1 >= i:
            return n - 1
        for tail in (" to", " t", " ", "to", "t"):
            start = n - len(tail)
            if start >= i and buf.endswith(tail) and (tail[0] == " " or self._at_boundary(buf, start)):
                return start
        return n


class MuseParser(DeclarativeParser):
    """Muse Spark (vLLM ``muse``, ``musespark1x``; SGLang ``muse``): recipient channels."""

    format = MUSE
    profile: ClassVar[MuseProfile] = SPARK
    conformance_tokenizer = "qwen+" + " ".join(MUSE_TOKENS)

    def resolve_mode(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> Mode:
        """An explicit mode, else a header the prompt ends with (the template opened a message:
        its recipient says which), else the format's rules (the output waits for a header)."""
        if mode is None and prompt_text is None and prompt_token_ids and self.model_tokenizer is not None:
            prompt_text = _decode(self.model_tokenizer, list(prompt_token_ids)[-16:])  # headers are text
        if mode is None and prompt_text:
            opened = _PROMPT_HEADER.search(prompt_text.rstrip(" \n"))
            if opened is not None and (opened.group(1) or self.profile.bare_header_reasons):
                recipient = opened.group(1)
                if recipient is None or recipient == "self":
                    return Mode.REASONING
                return Mode.RESPONSE if recipient in self.profile.content_recipients else Mode.TOOL_CALL
        return super().resolve_mode(request, prompt_text=prompt_text, mode=mode)

    def start_stream(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> MuseStream:
        resolved = self.resolve_mode(request, prompt_token_ids=prompt_token_ids, prompt_text=prompt_text, mode=mode)
        return MuseStream(self.profile, resolved)

    # Matched by text only: no single token says where reasoning ends (a later `to=self` message
    # may reason again), so the id methods of the base class do not apply and no grammar is gated.
    is_reasoning_end = ReasoningParser.is_reasoning_end
    extract_content_ids = ReasoningParser.extract_content_ids
    id_format = None


class MuseGlimmerParser(MuseParser):
    """Muse Glimmer (vLLM ``muse_glimmer``): see :data:`GLIMMER`."""

    profile = GLIMMER


_MUSE_CAPABILITIES = frozenset({
    Capability.NATIVE_STREAM, Capability.FINISH, Capability.START_IN_PROMPT, Capability.START_IN_OUTPUT,
    Capability.CONTENT_WRAPPER, Capability.MODES,
})
MuseParser.capabilities = _MUSE_CAPABILITIES
MuseGlimmerParser.capabilities = _MUSE_CAPABILITIES
