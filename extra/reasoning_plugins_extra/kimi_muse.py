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

See :class:`MuseStream` for how recipients map to sections; Muse Glimmer differs in three ways
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


class _Wrap(enum.Enum):
    START = 0  # content has not begun: it may open with the response wrapper
    WRAPPED = 1  # inside the response wrapper
    AFTER = 2  # right after the wrapper's close: the message close may follow
    PLAIN = 3  # verbatim from here on


def _partial_suffix(text: str, start: int, marker: str) -> int:
    """Length of the longest suffix of ``text[start:]`` that is a proper prefix of ``marker``."""
    for k in range(min(len(marker) - 1, len(text) - start), 0, -1):
        if marker.startswith(text[len(text) - k :]):
            return k
    return 0


class KimiK3Stream:
    """One request's Kimi K3 output: the scanner splits reasoning from content, then the response
    wrapper that opens the content (and the message close after it) are removed."""

    __slots__ = ("_inner", "_state", "_held")

    def __init__(self, inner: Any, mode: Mode) -> None:
        self._inner = inner
        self._state = {Mode.RESPONSE: _Wrap.WRAPPED, Mode.TOOL_CALL: _Wrap.PLAIN}.get(mode, _Wrap.START)
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
        content = self._unwrap(text or "", final) if text or final or self._held else ""
        if reasoning or content:
            return ReasoningDelta(reasoning or None, content or None)
        return None

    def _unwrap(self, text: str, final: bool) -> str:
        buf = self._held + text if self._held else text
        self._held = ""
        out: list[str] = []
        i = 0
        while True:
            state = self._state
            if state is _Wrap.PLAIN:
                out.append(buf[i:])
                break
            if state is _Wrap.WRAPPED:
                at = buf.find(RESPONSE_CLOSE, i)
                if at >= 0:
                    out.append(buf[i:at])
                    i = at + len(RESPONSE_CLOSE)
                    self._state = _Wrap.AFTER
                    continue
                keep = 0 if final else _partial_suffix(buf, i, RESPONSE_CLOSE)
                out.append(buf[i : len(buf) - keep])
                self._held = buf[len(buf) - keep :]
                break
            marker = RESPONSE_OPEN if state is _Wrap.START else MESSAGE_CLOSE
            if buf.startswith(marker, i):
                i += len(marker)
                self._state = _Wrap.WRAPPED if state is _Wrap.START else _Wrap.PLAIN
                continue
            if not final and marker.startswith(buf[i:]):
                self._held = buf[i:]  # may still become the marker
                break
            self._state = _Wrap.PLAIN
        return "".join(out)


@dataclass(frozen=True, slots=True)
class _K3Ids:
    """Kimi K3's markers as token-id sequences of one tokenizer."""

    think_open: tuple[int, ...]
    think_close: tuple[int, ...]
    response_open: tuple[int, ...]
    tools_open: tuple[int, ...]

    @classmethod
    def of(cls, tokenizer: Any) -> _K3Ids:
        def encode(marker: str) -> tuple[int, ...]:
            try:
                return tuple(tokenizer.encode(marker, add_special_tokens=False))
            except TypeError:
                return tuple(tokenizer.encode(marker))

        return cls(encode(THINK_OPEN), encode(THINK_CLOSE), encode(RESPONSE_OPEN), encode(TOOLS_OPEN))


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


_BlankChecker = Any


def _blank_checker(tokenizer: Any) -> _BlankChecker:
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


class KimiK3Reasoner(Reasoner):
    """Where Kimi K3's reasoning ends, in token ids: the close marker's three tokens (or a
    response or tools channel opened inside reasoning). A budget forces the close marker."""

    format: ClassVar[ReasoningFormat] = KIMI_K3
    conformance_tokenizer = KimiK3Parser.conformance_tokenizer

    def __init__(self, tokenizer: Any) -> None:
        self._parser = KimiK3Parser(tokenizer)
        ids = self._parser._ids
        assert ids is not None
        if len(ids.think_close) < 1:
            raise ValueError("the tokenizer encodes Kimi K3's close marker to no tokens")
        self._force = list(ids.think_close)

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> KimiK3Reasoner:
        if tokenizer is None:
            raise ValueError("KimiK3Reasoner works on token ids and needs the model's tokenizer; got None")
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
