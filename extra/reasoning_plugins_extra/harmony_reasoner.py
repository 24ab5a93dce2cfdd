"""Guided decoding for gpt-oss Harmony: reasoning ends where the answer's message opens.

A grammar (a JSON schema, a regex) is for the answer: the ``final`` message. A
:class:`HarmonyTracker` follows one request token by token, reading headers by their text as the
parser does (:func:`~reasoning_plugins_extra.harmony.read_header`), and says reasoning has
ended:

- on the ``<|message|>`` that completes a ``final`` header (or ``commentary`` without a
  recipient, which the parser also makes content): that token is markup, the next one is the
  grammar's first;
- on the token that completes a header's `` to=``: a tool call, content from that token on;
- on a token after a message's terminator that opens no header (text there is content).

An ``analysis`` header keeps reasoning on, and so does a message's ``<|end|>``: the model may
write another analysis message. Once ended, reasoning stays ended for the tracker.

A reasoning budget forces the tokens that close the analysis and open the answer, from where the
request stands (the tracker's ``force_end_token_ids``): ``<|end|><|start|>assistant<|channel|>
final<|message|>`` inside an analysis message, ``<|channel|>final<|message|>`` when the prompt
ended with ``<|start|>assistant`` and nothing was written yet, the rest of a header being
written. Only the text of analysis messages counts as reasoning tokens (``last_counted``):
headers and terminators are markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from reasoning_plugins import MissingMarkerError, Mode, Reasoner

from .harmony import (
    CHANNEL, END, FINAL_HEADER, HARMONY, MESSAGE, START, TERMINATORS, TOKENS, Header, HarmonyParser, prompt_tail_text,
    read_header,
)

__all__ = ["HarmonyReasoner", "HarmonyTracker"]

# tracker states
_ANALYSIS, _BETWEEN, _HEADER, _ENDED = "analysis", "between", "header", "ended"
_STATE_OF_MODE = {Mode.REASONING: _ANALYSIS, Mode.AWAIT_START: _BETWEEN}


class HarmonyTracker:
    """One request's Harmony output, token by token (see the module docstring).

    ``feed(token_id)`` returns True for a token that is not for the grammar (reasoning and
    markup), False for content; ``in_reasoning`` is True until the answer's header is complete.
    """

    __slots__ = ("_reasoner", "_state", "_before", "_header", "_role_open", "in_reasoning", "last_counted")

    def __init__(self, reasoner: HarmonyReasoner, mode: Mode, role_open: bool = False) -> None:
        self._reasoner = reasoner
        self._state = _STATE_OF_MODE.get(mode, _ENDED)
        self._before = self._state  # the state a header interrupted
        self._header: list[int] = []
        self._role_open = role_open and self._state == _ANALYSIS  # the prompt ended in "<|start|>assistant"
        self.in_reasoning = self._state != _ENDED
        self.last_counted = False  # the token fed last is reasoning text (counts against a budget)

    def feed(self, token_id: int) -> bool:
        self._role_open = False
        self.last_counted = False
        state = self._state
        if state == _ENDED:
            return False
        if state == _HEADER:
            return self._header_token(token_id)
        reasoner = self._reasoner
        if token_id in reasoner.opener_ids:
            self._before, self._state, self._header = state, _HEADER, [token_id]
            return True
        if token_id in reasoner.terminator_ids:
            self._state = _BETWEEN
            return True
        if state == _BETWEEN:
            return self._end(content=True)  # text outside any message: content
        self.last_counted = True
        return True

    def _header_token(self, token_id: int) -> bool:
        ids = self._header
        ids.append(token_id)
        kind, _ = read_header(self._reasoner.decode(ids))
        if kind is Header.OPEN:
            return True
        if kind is Header.ANALYSIS:
            self._state = _ANALYSIS
            return True
        if kind is Header.ANSWER:
            return self._end(content=False)  # <|message|> of the answer's header: markup
        if kind is Header.RECIPIENT:
            return self._end(content=True)  # a tool call: content from the token completing " to="
        # not a header after all: its text belongs to the section it interrupted
        if self._before == _BETWEEN:
            return self._end(content=True)
        self._state = _ANALYSIS
        result = True
        for token in ids[1:]:  # the parser reads on after the opener: so does the tracker
            result = self.feed(token)
        return result

    def _end(self, *, content: bool) -> bool:
        self._state = _ENDED
        self.in_reasoning = False
        return not content

    @property
    def force_end_token_ids(self) -> list[int]:
        """The tokens that end reasoning from where this request stands (a reasoning budget)."""
        reasoner = self._reasoner
        state = self._state
        if state == _ENDED:
            return []
        if state == _BETWEEN:
            return list(reasoner.final_header_ids)
        if state == _HEADER:
            ids = self._header
            for full in (reasoner.final_header_ids, reasoner.final_channel_ids):
                if full[: len(ids)] == ids:
                    return full[len(ids) :]  # the answer's header is being written: finish it
            if read_header(reasoner.decode(ids) + MESSAGE)[0] is Header.ANALYSIS:
                # another analysis message: open it empty, close it, open the answer
                return [reasoner.message_id, *reasoner.force_end_token_ids]
            return reasoner.force_end_token_ids
        if self._role_open:
            return list(reasoner.final_channel_ids)
        return reasoner.force_end_token_ids


class HarmonyReasoner(Reasoner):
    """gpt-oss Harmony's reasoner (see the module docstring): it needs ``<|start|>``,
    ``<|channel|>``, ``<|message|>``, ``<|end|>``, ``<|call|>``, ``<|return|>`` and
    ``<|constrain|>`` as single tokens, as in gpt-oss's ``o200k_harmony`` tokenizer."""

    format: ClassVar = HARMONY
    # o200k_harmony is not available offline: Qwen's tokenizer with Harmony's tokens added
    conformance_tokenizer: ClassVar[str] = "qwen+" + " ".join(TOKENS)

    def __init__(self, *, token_ids: dict[str, int], final_header_ids: Sequence[int], decode: Any,
                 tokenizer: Any = None) -> None:
        self.token_ids = dict(token_ids)
        self.opener_ids = frozenset({token_ids[START], token_ids[CHANNEL]})
        self.terminator_ids = frozenset(token_ids[t] for t in TERMINATORS)
        self.message_id = token_ids[MESSAGE]
        self.end_id = token_ids[END]
        self.final_header_ids = list(final_header_ids)  # <|start|>assistant<|channel|>final<|message|>
        self.final_channel_ids = self.final_header_ids[self.final_header_ids.index(token_ids[CHANNEL]) :]
        self.decode = decode
        self._tokenizer = tokenizer
        self._parser = HarmonyParser(tokenizer)  # one reading of prompts and modes for both
        self._bound: dict[str, Any] = {}

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> HarmonyReasoner:
        if tokenizer is None:
            raise MissingMarkerError(f"{cls.__name__} works on token ids and needs the model's tokenizer; got None")
        ids = {}
        for token in TOKENS:
            found = _single_id(tokenizer, token)
            if found is None:
                raise MissingMarkerError(
                    f"{cls.__name__} needs the Harmony token {token!r} to be a single token, but the tokenizer "
                    f"{_label(tokenizer)} has no such token. Use gpt-oss's tokenizer (o200k_harmony)."
                )
            ids[token] = found
        final_header_ids = _encode(tokenizer, FINAL_HEADER)
        if final_header_ids[0] != ids[START] or final_header_ids[-1] != ids[MESSAGE]:
            raise MissingMarkerError(f"the tokenizer {_label(tokenizer)} does not encode {FINAL_HEADER!r} with its Harmony tokens")

        def decode(token_ids: list[int]) -> str:
            try:
                return tokenizer.decode(token_ids, skip_special_tokens=False)
            except TypeError:
                return tokenizer.decode(token_ids)

        return cls(token_ids=ids, final_header_ids=final_header_ids, decode=decode, tokenizer=tokenizer)

    @property
    def force_end_token_ids(self) -> list[int]:
        """Close an analysis message and open the answer: ``<|end|><|start|>assistant<|channel|>
        final<|message|>`` (a tracker gives the tokens for where its request stands)."""
        return [self.end_id, *self.final_header_ids]

    def bind(self, request: Any = None, *, prompt_token_ids: Sequence[int] | None = None,
             mode: Mode | str | None = None) -> HarmonyReasoner:
        """Tell the whole-sequence methods which request and prompt they serve (as :meth:`start`)."""
        self._bound = {"request": request, "prompt_token_ids": prompt_token_ids, "mode": mode}
        return self

    def resolve_mode(self, prompt_token_ids: Sequence[int] = (), *, request: Any = None,
                     mode: Mode | str | None = None) -> Mode:
        """As the parser resolves it: an explicit mode, else the header the prompt ends in."""
        return self._parser.resolve_mode(request, prompt_token_ids=prompt_token_ids or None, mode=mode)

    def start(self, prompt_token_ids: Sequence[int] = (), *, request: Any = None,
              mode: Mode | str | None = None) -> HarmonyTracker:
        resolved = self.resolve_mode(prompt_token_ids, request=request, mode=mode)
        role_open = bool(prompt_token_ids) and mode is None and self._role_open(prompt_token_ids)
        return HarmonyTracker(self, resolved, role_open)

    def _role_open(self, prompt_token_ids: Sequence[int]) -> bool:
        """The prompt ends with an assistant header waiting for its channel (``<|start|>assistant``)."""
        if self._tokenizer is None:
            return False
        tail = prompt_tail_text(self._tokenizer, prompt_token_ids).rstrip()
        at = tail.rfind(START)
        return at >= 0 and read_header(tail[at:])[0] is Header.OPEN and CHANNEL not in tail[at:]

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        tracker = self._whole()
        for token in input_ids:
            tracker.feed(token)
            if not tracker.in_reasoning:
                return True
        return not tracker.in_reasoning

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        tracker = self._whole()
        return [token for token in input_ids if not tracker.feed(token)]

    def _whole(self) -> HarmonyTracker:
        bound = self._bound
        return self.start(bound.get("prompt_token_ids") or (), request=bound.get("request"), mode=bound.get("mode"))


def _single_id(tokenizer: Any, token: str) -> int | None:
    ids = _encode(tokenizer, token)
    return ids[0] if len(ids) == 1 else None


def _encode(tokenizer: Any, text: str) -> list[int]:
    try:
        return list(tokenizer.encode(text, add_special_tokens=False))
    except TypeError:
        return list(tokenizer.encode(text))


def _label(tokenizer: Any) -> str:
    label = type(tokenizer).__name__
    source = getattr(tokenizer, "name_or_path", None)
    if isinstance(source, str) and source:
        label += f" {source!r}"
    try:
        return f"{label} ({len(tokenizer):,} tokens)"
    except TypeError:
        return label
