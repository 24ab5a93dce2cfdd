"""MiniMax M2 "append-think" (vLLM ``minimax_m2_append_think``, SGLang ``minimax-append-think``).

No reasoning section at all: the whole output is content, with the ``<think>`` the chat template
prefilled put back in front, so a client sees ``<think>...</think>answer`` verbatim (and can send
it back in the next turn, as MiniMax M2 wants its thinking kept in the history). Streamed, the
first delta that brings text carries the ``<think>``; an output with no text at all still gives
``<think>`` (from ``finish()``), as the non-streaming result does.

Guided decoding follows the model's thinking even though the text is not split: the grammar
starts after the first ``</think>``, which is where vLLM starts it (its ``is_reasoning_end``
reads the last think marker of prompt and output; once it says True the grammar stays on) and
where SGLang does (its grammar waits for the detector's ``think_end_token``). So
``is_reasoning_end`` and the reasoner of this name read MiniMax M2's ``<think>``/``</think>``
(``<think>`` optional, as the template usually prefills it; a prompt whose tail closed the block
starts the grammar at once); unlike ``minimax-m2`` no tool-call opener ends reasoning, as
neither engine's append-think parser has one. ``extract_content_ids`` returns every id: all of
the output is content.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from reasoning_plugins import Capability, DeclarativeParser, Mode, ReasoningFormat, ReasoningStream
from reasoning_plugins.protocol import ReasoningDelta

# Where the model's thinking ends, for guided decoding (the text is not split by it).
APPEND_THINK = ReasoningFormat(start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING)


class AppendThinkStream:
    """One request: every delta is content, the first one with text behind ``prefix``.

    It also follows where the thinking ends (``reasoning_ended``), which an engine adapter reads
    to hand the rest of the output to its tool-call parser from there on.
    """

    __slots__ = ("_prefix", "_thinking")

    def __init__(self, prefix: str, thinking: ReasoningStream) -> None:
        self._prefix = prefix
        self._thinking = thinking

    @property
    def mode(self) -> Mode:
        return self._thinking.mode

    @property
    def reasoning_ended(self) -> bool:
        return self._thinking.reasoning_ended

    @property
    def in_reasoning(self) -> bool:
        return False

    @property
    def in_plain_content(self) -> bool:
        return not self._prefix and self._thinking.in_plain_content

    def feed(self, delta_text: str | None, delta_token_ids: Sequence[int] | None = None) -> ReasoningDelta | None:
        if not self._thinking.in_plain_content:
            self._thinking.feed(delta_text, delta_token_ids)
        if not delta_text:
            return None
        if self._prefix:
            delta_text, self._prefix = self._prefix + delta_text, ""
        return ReasoningDelta(None, delta_text)

    def finish(self) -> ReasoningDelta | None:
        self._thinking.finish()
        if self._prefix:
            prefix, self._prefix = self._prefix, ""
            return ReasoningDelta(None, prefix)
        return None


class AppendThinkParser(DeclarativeParser):
    """MiniMax M2 append-think: content = ``<think>`` + the output, exactly; no reasoning."""

    format = APPEND_THINK
    content_prefix: ClassVar[str] = "<think>"
    extra_capabilities = frozenset({Capability.PASS_THROUGH})

    def start_stream(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> AppendThinkStream:
        thinking = super().start_stream(request, prompt_token_ids=prompt_token_ids, prompt_text=prompt_text, mode=mode)
        return AppendThinkStream(self.content_prefix, thinking)

    def finish(self, current_text: str | None = None) -> ReasoningDelta | None:
        """Release a request's stream. Called with no request in progress (no delta ever reached
        it: an empty output), it answers the prefix alone, as the non-streaming method does."""
        if not current_text and self._last_stream is None:
            return ReasoningDelta(None, self.content_prefix)
        return super().finish(current_text)

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        """Every id: the whole output is content."""
        return list(input_ids)
