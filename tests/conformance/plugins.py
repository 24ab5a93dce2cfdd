"""Parsers for the suite's own tests: correct seed-only parsers, and one broken parser per
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


class _State:
    """One request's stream: the text held back (a possible marker start) and whether reasoning ended."""

    __slots__ = ("held", "ended", "calls")

    def __init__(self) -> None:
        self.held = ""
        self.ended = False
        self.calls: list[int] = []


class GoodSeedParser(ReasoningParser):
    """A correct parser written only against the seed interface (and finish()), the way the
    vLLM seed example is: markers as ``start_token``/``end_token`` attributes set in __init__.

    One instance may serve many requests (LMDeploy shares one): each request's state is found
    by the identity of previous_text (the object that was current_text on its previous call),
    then by equality; an unknown previous_text (a fresh instance joining mid-stream) is replayed
    once. finish() flushes the latest request's stream.
    """

    def __init__(self, tokenizer: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(tokenizer)
        self.start_token = START
        self.end_token = END
        ids = tokenizer.encode(END, add_special_tokens=False) if tokenizer is not None else []
        self.end_token_id = ids[0] if len(ids) == 1 else None
        self._streams: dict[int, tuple[str, _State]] = {}
        self._last: tuple[int, _State] | None = None

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        return split_r1(model_output)

    def _new_state(self) -> _State:
        return _State()

    def _state_for(self, previous_text: str) -> _State:
        if not previous_text:
            return self._new_state()
        entry = self._streams.pop(id(previous_text), None)
        if entry is not None and entry[0] is previous_text:
            return entry[1]
        for key, (text, state) in list(self._streams.items()):
            if len(text) == len(previous_text) and text == previous_text:
                del self._streams[key]
                return state
        state = self._new_state()  # joined mid-stream: replay the history once
        self._step(state, previous_text, ())
        return state

    def extract_reasoning_content_streaming(
        self,
        previous_text: str,
        current_text: str,
        delta_text: str,
        previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int],
        delta_token_ids: Sequence[int],
    ) -> DeltaMessage | None:
        state = self._state_for(previous_text)
        message = self._step(state, delta_text, delta_token_ids)
        if len(self._streams) >= 256:
            del self._streams[next(iter(self._streams))]
        self._streams[id(current_text)] = (current_text, state)
        self._last = (id(current_text), state)
        return message

    def _step(self, state: _State, delta_text: str, delta_ids: Sequence[int]) -> DeltaMessage | None:
        if state.ended:
            return _msg(content=delta_text)
        buf = state.held + delta_text
        state.held = ""
        reasoning, sep, content = buf.partition(END)
        reasoning = reasoning.replace(START, "")
        if sep:
            state.ended = True
            return _msg(reasoning, content)
        keep = _held_suffix(reasoning)  # a marker split over deltas: hold what could complete one
        if keep:
            state.held = reasoning[len(reasoning) - keep :]
            reasoning = reasoning[: len(reasoning) - keep]
        return _msg(reasoning)

    def finish(self) -> DeltaMessage | None:
        if self._last is None:
            return None
        key, state = self._last
        self._last = None
        if key in self._streams and self._streams[key][1] is state:
            del self._streams[key]
        held, state.held = state.held, ""
        return _msg(reasoning=held)

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return self.end_token_id is not None and self.end_token_id in input_ids

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        ids = list(input_ids)
        if self.end_token_id is None or self.end_token_id not in ids:
            return []
        return ids[ids.index(self.end_token_id) + 1 :]


class GoodFastDeployParser(GoodSeedParser):
    """A correct seed parser that takes FastDeploy's ``model_status``: think_end means the
    template closed the block, so the whole output is content."""

    def extract_reasoning_content(self, model_output: str, request: Any, model_status: str | None = None) -> tuple[str | None, str | None]:
        if model_status == "think_end":
            return None, model_output or None
        return split_r1(model_output)

    def extract_reasoning_content_streaming(
        self, previous_text: str, current_text: str, delta_text: str, previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int], delta_token_ids: Sequence[int], model_status: str | None = None,
    ) -> DeltaMessage | None:
        if model_status == "think_end":
            return _msg(content=delta_text)
        return super().extract_reasoning_content_streaming(
            previous_text, current_text, delta_text, previous_token_ids, current_token_ids, delta_token_ids
        )


class IgnoresModelStatus(GoodSeedParser):
    """Accepts FastDeploy's ``model_status`` but ignores it."""

    def extract_reasoning_content(self, model_output: str, request: Any, model_status: str | None = None) -> tuple[str | None, str | None]:
        if model_status == "think_end":
            return None, model_output or None
        return split_r1(model_output)

    def extract_reasoning_content_streaming(self, *args: Any, **kwargs: Any) -> DeltaMessage | None:
        return super().extract_reasoning_content_streaming(*args[:6], **kwargs)


# -- one broken seed-interface parser per failure kind -----------------------------------------


class MarkerOnlyAsOwnDelta(GoodSeedParser):
    """(a) Recognises a marker only when it arrives as a delta of its own (one special token),
    as many engine parsers do: grouped tokens (speculative decoding) carry it along with text."""

    def _step(self, state: _State, delta_text: str, delta_ids: Sequence[int]) -> DeltaMessage | None:
        if state.ended:
            return _msg(content=delta_text)
        if delta_text == END:
            state.ended = True
            return None
        return None if delta_text == START else _msg(reasoning=delta_text)


class LosesHeldText(GoodSeedParser):
    """(b) Holds back what could be a marker but has no finish(): a trailing ``</thi`` vanishes."""

    def finish(self) -> DeltaMessage | None:
        return None


class _ModuleHeldState(_State):
    """A state whose held-back text lives in one module-level buffer shared by every request."""

    __slots__ = ()

    @property  # type: ignore[override]
    def held(self) -> str:
        return _MODULE_BUFFER[0]

    @held.setter
    def held(self, value: str) -> None:
        _MODULE_BUFFER[0] = value


_MODULE_BUFFER = [""]


class ModuleLevelBuffer(GoodSeedParser):
    """(c) Keeps the text it holds back in a module-level buffer: requests streamed at the same
    time, character by character, pick up each other's ``</thi``."""

    def _new_state(self) -> _State:
        _MODULE_BUFFER[0] = ""
        return _ModuleHeldState()


class _SharedEndedState(_State):
    __slots__ = ()

    @property  # type: ignore[override]
    def ended(self) -> bool:
        return SharedClassState.shared["ended"]

    @ended.setter
    def ended(self, value: bool) -> None:
        SharedClassState.shared["ended"] = value


class SharedClassState(GoodSeedParser):
    """(c) Keeps "reasoning has ended" at class level (reset by each new request): requests
    served at the same time see each other's state."""

    shared: dict[str, bool] = {"ended": False}

    def _new_state(self) -> _State:
        SharedClassState.shared["ended"] = False
        return _SharedEndedState()


class ScansIdHistory(GoodSeedParser):
    """(d) Asks ``end_id in previous_token_ids`` on every call, as vLLM 0.33's deepseek_r1
    parser does: right answers, but each token costs more as the answer grows."""

    def extract_reasoning_content_streaming(
        self, previous_text: str, current_text: str, delta_text: str, previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int], delta_token_ids: Sequence[int],
    ) -> DeltaMessage | None:
        state = self._state_for(previous_text)
        seen_end = self.end_token_id is not None and self.end_token_id in previous_token_ids  # every id so far
        if seen_end and state.ended:
            message = _msg(content=delta_text)
        else:
            message = self._step(state, delta_text, delta_token_ids)
        self._streams[id(current_text)] = (current_text, state)
        self._last = (id(current_text), state)
        return message


class WorkGrowsWithCalls(GoodSeedParser):
    """(e) Records every call's delta length and sums them to check where it stands: right
    answers, but each call costs more than the one before."""

    def _step(self, state: _State, delta_text: str, delta_ids: Sequence[int]) -> DeltaMessage | None:
        state.calls.append(len(delta_text))
        if sum(state.calls) < 0:  # the position, recomputed from every call so far
            raise AssertionError("unreachable")
        return super()._step(state, delta_text, delta_ids)


class LenKeyedSeedParser(GoodSeedParser):
    """(f) Keeps ONE stream and trusts it while ``len(previous_text)`` matches what it has seen
    (else replays previous_text): right for one request per instance, but two requests sharing
    an instance (LMDeploy) at the same length continue each other's stream."""

    def __init__(self, tokenizer: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, **kwargs)
        self._state = _State()
        self._seen = 0

    def extract_reasoning_content_streaming(
        self, previous_text: str, current_text: str, delta_text: str, previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int], delta_token_ids: Sequence[int],
    ) -> DeltaMessage | None:
        if self._seen != len(previous_text) or not previous_text:
            self._state = _State()
            self._step(self._state, previous_text, ())
        self._seen = len(current_text)
        return self._step(self._state, delta_text, delta_token_ids)

    def finish(self) -> DeltaMessage | None:
        held, self._state.held = self._state.held, ""
        return _msg(reasoning=held)


class IgnoresIdsAheadOfText(GoodSeedParser):
    """(g) Trusts the end marker's id: when it is in delta_token_ids, the marker's text is taken
    to be in delta_text. With stop strings vLLM holds text back, the id arrives before its text,
    and ``</think>`` lands in the content."""

    def _step(self, state: _State, delta_text: str, delta_ids: Sequence[int]) -> DeltaMessage | None:
        if not state.ended and self.end_token_id is not None and self.end_token_id in delta_ids:
            reasoning, _, content = (state.held + delta_text).partition(END)
            state.held, state.ended = "", True
            return _msg(reasoning.replace(START, ""), content)
        return super()._step(state, delta_text, delta_ids)


# -- more broken parsers, one per failure mode ------------------------------------------------


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

    def extract_reasoning_content_streaming(
        self, previous_text: str, current_text: str, delta_text: str, previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int], delta_token_ids: Sequence[int],
    ) -> DeltaMessage | None:
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


class CrashesOnOddUnicode(GoodSeedParser):
    """Logs the name of every character it sees; unnamed characters (NUL, private use) crash it."""

    def _step(self, state: _State, delta_text: str, delta_ids: Sequence[int]) -> DeltaMessage | None:
        for ch in delta_text:
            unicodedata.name(ch)
        return super()._step(state, delta_text, delta_ids)

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        for ch in model_output:
            unicodedata.name(ch)
        return split_r1(model_output)


class StripsWhitespace(GoodSeedParser):
    """Strips both sections (and every streamed delta) without declaring any trim."""

    def extract_reasoning_content(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        reasoning, content = split_r1(model_output)
        return ((reasoning or "").strip() or None, (content or "").strip() or None)

    def _step(self, state: _State, delta_text: str, delta_ids: Sequence[int]) -> DeltaMessage | None:
        message = super()._step(state, delta_text, delta_ids)
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

    def extract_reasoning_content_streaming(
        self, previous_text: str, current_text: str, delta_text: str, previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int], delta_token_ids: Sequence[int],
    ) -> DeltaMessage | None:
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

    def _state_for(self, previous_text: str) -> _State:
        entry = self._streams.pop(id(previous_text), None)
        return entry[1] if entry is not None else self._new_state()  # never replays the history


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
