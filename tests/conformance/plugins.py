"""Parsers for the suite's own tests: one correct seed-only parser, and one broken parser per
failure mode the conformance checks exist to catch. None of them is registered globally."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from reasoning_plugins import Capability, DeclarativeParser, DeclarativeReasoner, DeltaMessage, ReasoningParser
from reasoning_plugins.parsers.deepseek_r1 import DEEPSEEK_R1_FORMAT

START, END = "<think>", "</think>"


def _msg(reasoning: str = "", content: str = "") -> DeltaMessage | None:
    if not reasoning and not content:
        return None
    return DeltaMessage(reasoning_content=reasoning or None, content=content or None)


def split_r1(text: str) -> tuple[str | None, str | None]:
    """R1 layout: reasoning open from the start, ``<think>`` dropped, split at ``</think>``."""
    reasoning, sep, content = text.partition(END)
    reasoning = reasoning.replace(START, "")
    return (reasoning or None, content or None)


def _held_suffix(text: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of a marker."""
    for k in range(min(len(text), len(END) - 1), 0, -1):
        tail = text[-k:]
        if END.startswith(tail) or START.startswith(tail):
            return k
    return 0


class GoodSeedParser(ReasoningParser):
    """A correct parser written only against the seed interface (and finish()).

    It keeps per-request state (the text it holds back, whether reasoning ended) and replays
    previous_text once when it joins a stream mid-way.
    """

    conformance_markers = (START, END)

    def __init__(self, tokenizer: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, **kwargs)
        self._held = ""
        self._ended = False
        self._seen = 0

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        return split_r1(model_output)

    def extract_reasoning_content_streaming(
        self,
        previous_text: str,
        current_text: str,
        delta_text: str,
        previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int],
        delta_token_ids: Sequence[int],
    ) -> DeltaMessage | None:
        if self._seen != len(previous_text):  # joined mid-stream: replay the history once
            self._held, self._ended = "", False
            self._step(previous_text)
        self._seen = len(current_text)
        return self._step(delta_text)

    def _step(self, delta_text: str) -> DeltaMessage | None:
        if self._ended:
            return _msg(content=delta_text)
        buf = self._held + delta_text
        self._held = ""
        reasoning, sep, content = buf.partition(END)
        reasoning = reasoning.replace(START, "")
        if sep:
            self._ended = True
            return _msg(reasoning, content)
        # a marker split over deltas: hold the part that could still complete one
        keep = _held_suffix(reasoning)
        if keep:
            self._held = reasoning[len(reasoning) - keep :]
            reasoning = reasoning[: len(reasoning) - keep]
        return _msg(reasoning)

    def finish(self) -> DeltaMessage | None:
        held, self._held = self._held, ""
        return _msg(reasoning=held)


# -- one broken parser per failure mode --------------------------------------------------------


class TextBeforeStartDropped(GoodSeedParser):
    """Stream and non-stream disagree: parse() drops text before ``<think>``, streaming keeps it."""

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        if START in model_output:
            model_output = model_output.split(START, 1)[1]
        return split_r1(model_output)


class SplitMarkerLeak(ReasoningParser):
    """Looks for ``</think>`` in each delta alone, so a marker split across deltas leaks."""

    conformance_markers = (START, END)

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        return split_r1(model_output)

    def extract_reasoning_content_streaming(self, previous_text: str, current_text: str, delta_text: str, *ids: Any) -> DeltaMessage | None:
        if END in previous_text:
            return _msg(content=delta_text)
        if END in delta_text:
            reasoning, _, content = delta_text.partition(END)
            return _msg(reasoning.replace(START, ""), content)
        return _msg(reasoning=delta_text.replace(START, ""))


class _RescanStream:
    def __init__(self) -> None:
        self.text = ""
        self.sent_reasoning = 0
        self.sent_content = 0

    def _emit(self, final: bool) -> DeltaMessage | None:
        text = self.text
        if not final and END not in text:
            keep = _held_suffix(text)
            text = text[: len(text) - keep] if keep else text
        reasoning, content = split_r1(text)  # the whole history, every time
        reasoning, content = reasoning or "", content or ""
        new_r, new_c = reasoning[self.sent_reasoning :], content[self.sent_content :]
        self.sent_reasoning, self.sent_content = len(reasoning), len(content)
        return _msg(new_r, new_c)

    def feed(self, delta_text: str | None, delta_token_ids: Sequence[int] | None = None) -> DeltaMessage | None:
        self.text += delta_text or ""
        return self._emit(final=False)

    def finish(self) -> DeltaMessage | None:
        return self._emit(final=True)


class QuadraticRescan(GoodSeedParser):
    """Correct output, but its native stream re-parses the whole history on every delta."""

    capabilities = frozenset({Capability.NATIVE_STREAM, Capability.FINISH})

    def start_stream(self, request: Any = None, **context: Any) -> _RescanStream:
        return _RescanStream()


class SharedClassState(GoodSeedParser):
    """Keeps "reasoning has ended" at class level (reset by each new instance): requests
    served at the same time see each other's state."""

    shared: dict[str, bool] = {"ended": False}

    @property
    def _ended(self) -> bool:  # type: ignore[override]
        return SharedClassState.shared["ended"]

    @_ended.setter
    def _ended(self, value: bool) -> None:
        SharedClassState.shared["ended"] = value


class LosesHeldText(GoodSeedParser):
    """Holds back what could be a marker but has no finish(): a trailing ``</thi`` vanishes."""

    def finish(self) -> DeltaMessage | None:
        return None


class CrashesOnOddUnicode(GoodSeedParser):
    """Logs the name of every character it sees; unnamed characters (NUL, private use) crash it."""

    def extract_reasoning_content_streaming(self, previous_text: str, current_text: str, delta_text: str, *ids: Any) -> DeltaMessage | None:
        for ch in delta_text:
            unicodedata.name(ch)
        return super().extract_reasoning_content_streaming(previous_text, current_text, delta_text, *ids)

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        for ch in model_output:
            unicodedata.name(ch)
        return split_r1(model_output)


class StripsWhitespace(GoodSeedParser):
    """Strips both sections (and every streamed delta) without declaring any trim."""

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        reasoning, content = split_r1(model_output)
        return ((reasoning or "").strip() or None, (content or "").strip() or None)

    def extract_reasoning_content_streaming(self, *args: Any) -> DeltaMessage | None:
        message = super().extract_reasoning_content_streaming(*args)
        if message is None:
            return None
        return _msg((message.reasoning_content or "").strip(), (message.content or "").strip())

    def finish(self) -> DeltaMessage | None:
        message = super().finish()
        return _msg((message.reasoning_content or "").strip()) if message else None


class HoldsEverything(GoodSeedParser):
    """Correct in the end, but releases nothing until finish()."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._text = ""

    def extract_reasoning_content_streaming(self, previous_text: str, current_text: str, delta_text: str, *ids: Any) -> DeltaMessage | None:
        self._text = current_text
        return None

    def finish(self) -> DeltaMessage | None:
        reasoning, content = split_r1(self._text)
        return _msg(reasoning or "", content or "")


class EmptyStrings(GoodSeedParser):
    """Returns "" instead of None for an empty section."""

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        reasoning, content = split_r1(model_output)
        return (reasoning or "", content or "")


class ForgetfulOnResync(GoodSeedParser):
    """Trusts its own state only: a fresh instance joining mid-stream starts in reasoning."""

    def extract_reasoning_content_streaming(self, previous_text: str, current_text: str, *rest: Any) -> DeltaMessage | None:
        self._seen = len(previous_text)  # never resynchronises
        return super().extract_reasoning_content_streaming(previous_text, current_text, *rest)


class IgnoresPrompt(DeclarativeParser):
    """Declares that the prompt may prefill ``<think>`` (start-in-prompt) but never looks at it."""

    format = DEEPSEEK_R1_FORMAT

    def resolve_mode(self, request: Any = None, **context: Any) -> Any:
        return super().resolve_mode(request, mode=context.get("mode"))


class IgnoresSwitch(DeclarativeParser):
    """Declares a thinking switch but ignores the request."""

    format = DEEPSEEK_R1_FORMAT

    def resolve_mode(self, request: Any = None, **context: Any) -> Any:
        return super().resolve_mode(None, **context)


class TruncatedAsContent(HoldsEverything):
    """Treats reasoning that never closed (a max_tokens stop) as the answer."""

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        if END not in model_output:
            return None, model_output.replace(START, "") or None
        return split_r1(model_output)

    def finish(self) -> DeltaMessage | None:
        reasoning, content = self.extract_reasoning_content(self._text, None)
        return _msg(reasoning or "", content or "")


class IdsWithoutText(DeclarativeParser):
    """Declares token-ids but splits at the start of any delta that holds the end marker id."""

    format = DEEPSEEK_R1_FORMAT

    def start_stream(self, request: Any = None, **context: Any) -> Any:
        inner = super().start_stream(request, **context)
        end_id = self._program.end_id

        class Stream:
            def feed(self, delta_text: str | None, delta_token_ids: Sequence[int] | None = None) -> DeltaMessage | None:
                if delta_token_ids and end_id in delta_token_ids and len(delta_token_ids) > 1:
                    return inner.feed(END + (delta_text or "").replace(END, ""), None)
                return inner.feed(delta_text, delta_token_ids)

            def finish(self) -> DeltaMessage | None:
                return inner.finish()

            @property
            def seen_chars(self) -> int:
                return inner.seen_chars

        return Stream()


class OffByOneReasoner(DeclarativeReasoner):
    """is_reasoning_end says True one token late (it ignores the last id)."""

    format = DEEPSEEK_R1_FORMAT

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return super().is_reasoning_end(list(input_ids)[:-1])


class R1Parser(DeclarativeParser):
    """A correct declarative parser, to pair with the off-by-one reasoner."""

    format = DEEPSEEK_R1_FORMAT
