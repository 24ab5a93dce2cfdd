"""Cohere Command 3 and Command 4: reasoning in <|START_THINKING|>...<|END_THINKING|>.

Facts read in vLLM 0.33 (``cohere_command3`` / ``cohere_command4``: the reasoning parser, its
``cohere_melody`` filter presets ``cmd3`` / ``cmd4`` and the Cohere renderer), SGLang 0.5.23
(``cohere_command4``) and Cohere's published chat templates. Every marker is one special token of
Cohere's tokenizer.

Command 3 (Command A Reasoning, Command A, Command R7B): the generation prompt ends with
``<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>``; the model writes
``<|START_THINKING|>R<|END_THINKING|>`` itself when it thinks (the template's ``reasoning``
variable, on by default, off with ``reasoning=false`` or ``reasoning_effort="none"``; vLLM's
renderer reads ``reasoning_type`` / ``thinking.type``), then the answer
``<|START_RESPONSE|>C<|END_RESPONSE|>`` or tool calls ``<|START_ACTION|>[...]<|END_ACTION|>``.
Whether it thinks shows in its first token, so the switch need not be read.

Command 4 (Command-A-Plus, ``cohere2_moe`` and ``cohere2_vision`` in SGLang's words): the template writes
``<|START_THINKING|>`` at the end of the prompt when thinking is on (the default), and
``<|START_THINKING|><|END_THINKING|>`` when ``reasoning`` is false. The model writes
``R<|END_THINKING|>`` then ``<|START_TEXT|>C<|END_TEXT|>`` or the action block. The request switch
read is vLLM's ``reasoning_type`` ("enabled" / "disabled"); the template's own ``reasoning`` is not
declared (``auto`` would then ask it of every template that reads ``message.reasoning``): the
prompt's closed block, or the answer's wrapper, shows it is off anyway.

Both: the answer's wrapper is markup and is removed, and so are newlines right after
``<|END_THINKING|>`` and after the wrapper's close (SGLang keeps only the wrapper's inside;
Cohere's templates write none there); the action block stays in the content,
markers and all, for the tool-call parser (vLLM parses it inside its combined parser; SGLang leaves
it for the tool parser, as every family here does). An answer wrapper or an action opened before
``<|END_THINKING|>`` ends reasoning (melody switches on every marker; SGLang on both for Command 4).

A prompt is read from its last ``<|CHATBOT_TOKEN|>`` on (vLLM's is_reasoning_end stops there too):
an earlier turn's ``<|END_THINKING|>`` never decides where this turn's output starts.

Where the engines differ: vLLM (melody) also accepts ``<|START_RESPONSE|>`` as Command 4's answer
wrapper; SGLang and Cohere's Command 4 template use only ``<|START_TEXT|>``, and so do we (a
``<|START_RESPONSE|>`` there stays in the content). melody trims trailing whitespace and strips
``<co>...</co: ...>`` citation markup into citations; we keep the text exactly. vLLM's
is_reasoning_end reports a Command 3 answer that opens with ``<|START_RESPONSE|>`` as still
reasoning; we read the first token, as its parser does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from reasoning_plugins import DeclarativeParser, DeclarativeReasoner, Mode, ReasoningFormat

START_THINKING = "<|START_THINKING|>"
END_THINKING = "<|END_THINKING|>"
START_ACTION = "<|START_ACTION|>"
CHATBOT_TOKEN = "<|CHATBOT_TOKEN|>"

COMMAND3 = ReasoningFormat(
    start=START_THINKING, end=END_THINKING, start_in_output=True, default_mode=Mode.AWAIT_START,
    implicit_ends=("<|START_RESPONSE|>", START_ACTION),
    content_wrapper=("<|START_RESPONSE|>", "<|END_RESPONSE|>"), trim_content_leading_newlines=True,
)

COMMAND4 = ReasoningFormat(
    start=START_THINKING, end=END_THINKING, start_in_output=True, default_mode=Mode.REASONING,
    switches=("reasoning_type",),
    implicit_ends=("<|START_TEXT|>", START_ACTION),
    content_wrapper=("<|START_TEXT|>", "<|END_TEXT|>"), trim_content_leading_newlines=True,
)

# Cohere's tokenizer is not available offline; Qwen's with these added tokens stands in for it
# (the markers, then the turn tokens its templates write, single tokens of Cohere's too).
STAND_IN_TOKENIZER = "qwen+" + " ".join((
    START_THINKING, END_THINKING, "<|START_RESPONSE|>", "<|END_RESPONSE|>", "<|START_TEXT|>",
    "<|END_TEXT|>", START_ACTION, "<|END_ACTION|>", CHATBOT_TOKEN,
    "<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>", "<|USER_TOKEN|>", "<|SYSTEM_TOKEN|>",
))


def _token_id(tokenizer: Any, token: str) -> int | None:
    """The id of ``token`` when it is a single token of ``tokenizer``."""
    convert = getattr(tokenizer, "convert_tokens_to_ids", None)
    back = getattr(tokenizer, "convert_ids_to_tokens", None)
    if convert is None or back is None:
        return None
    token_id = convert(token)
    if not isinstance(token_id, int) or token_id < 0:
        return None
    return token_id if back(token_id) == token else None  # not the unknown token


def current_turn_ids(prompt_token_ids: Sequence[int] | None, turn_id: int | None) -> Sequence[int] | None:
    """The prompt's ids after its last ``<|CHATBOT_TOKEN|>`` (all of them without one)."""
    if not prompt_token_ids or turn_id is None:
        return prompt_token_ids
    for index in range(len(prompt_token_ids) - 1, -1, -1):
        if prompt_token_ids[index] == turn_id:
            return prompt_token_ids[index + 1:]
    return prompt_token_ids


def current_turn_text(prompt_text: str | None) -> str | None:
    """The prompt's text after its last ``<|CHATBOT_TOKEN|>`` (all of it without one)."""
    if not prompt_text:
        return prompt_text
    at = prompt_text.rfind(CHATBOT_TOKEN)
    return prompt_text if at < 0 else prompt_text[at + len(CHATBOT_TOKEN):]


class _CohereParser(DeclarativeParser):
    """Reads only the assistant's current turn of a prompt."""

    conformance_tokenizer: ClassVar[str] = STAND_IN_TOKENIZER

    _turn_id: int | None | bool = False  # <|CHATBOT_TOKEN|>'s id, looked up on first use

    @property
    def turn_id(self) -> int | None:
        if self._turn_id is False:
            self._turn_id = _token_id(self.model_tokenizer, CHATBOT_TOKEN) if self.model_tokenizer is not None else None
        return self._turn_id  # type: ignore[return-value]

    def resolve_mode(
        self,
        request: Any = None,
        *,
        prompt_token_ids: Sequence[int] | None = None,
        prompt_text: str | None = None,
        mode: Mode | str | None = None,
    ) -> Mode:
        return super().resolve_mode(
            request, prompt_token_ids=current_turn_ids(prompt_token_ids, self.turn_id if prompt_token_ids else None),
            prompt_text=current_turn_text(prompt_text), mode=mode,
        )


class _CohereReasoner(DeclarativeReasoner):
    """Reads only the assistant's current turn of a prompt."""

    conformance_tokenizer: ClassVar[str] = STAND_IN_TOKENIZER
    force_end_prefix: ClassVar[str] = ""  # the template writes <|END_THINKING|> right after the reasoning
    _turn_id: int | None = None

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> DeclarativeReasoner:
        reasoner = super().from_tokenizer(tokenizer)
        reasoner._turn_id = _token_id(tokenizer, CHATBOT_TOKEN)
        return reasoner

    def resolve_mode(
        self, prompt_token_ids: Sequence[int] = (), *, request: Any = None, mode: Mode | str | None = None
    ) -> Mode:
        turn = current_turn_ids(prompt_token_ids, self._turn_id) or ()
        return super().resolve_mode(turn, request=request, mode=mode)


class CohereCommand3ReasoningParser(_CohereParser):
    """cohere-command3: the model opens <|START_THINKING|> itself; <|START_RESPONSE|> answers."""

    format = COMMAND3


class CohereCommand4ReasoningParser(_CohereParser):
    """cohere-command4: the template opens <|START_THINKING|>; <|START_TEXT|> answers."""

    format = COMMAND4


class CohereCommand3Reasoner(_CohereReasoner):
    format = COMMAND3


class CohereCommand4Reasoner(_CohereReasoner):
    format = COMMAND4


# name -> (parser, reasoner, aliases); vLLM's and SGLang's names resolve by normalisation
COHERE = {
    "cohere-command3": (CohereCommand3ReasoningParser, CohereCommand3Reasoner, ()),
    "cohere-command4": (CohereCommand4ReasoningParser, CohereCommand4Reasoner, ()),
}
