"""my-reasoner: the model writes ``<reason>...</reason>`` before its answer, when it reasons."""

from __future__ import annotations

from reasoning_plugins import DeclarativeParser, Mode, ReasoningFormat

__all__ = ["MY_FORMAT", "MyReasoningParser"]

# What the model writes. The conformance suite checks the parser and reasoner built from it under
# every engine's calling pattern; see ReasoningFormat's docstring for every field.
MY_FORMAT = ReasoningFormat(
    start="<reason>",
    end="</reason>",
    start_in_output=True,  # the model writes <reason> itself (the chat template does not prefill it)
    default_mode=Mode.AWAIT_START,  # no <reason> at the start of the output: it is all content
    switches=("enable_thinking",),  # chat_template_kwargs.enable_thinking turns reasoning on/off
)


class MyReasoningParser(DeclarativeParser):
    """my-reasoner: splits ``<reason>R</reason>A`` into reasoning ``R`` and content ``A``."""

    format = MY_FORMAT

