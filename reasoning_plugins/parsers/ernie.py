"""ERNIE 4.5 families: only ``</think>`` appears in the output.

- ernie-45-vl: ``R</think>C``, kept exactly; ``chat_template_kwargs.enable_thinking`` (default on).
- ernie-45-vl-thinking: ``chat_template_kwargs.options.thinking_mode`` "open"/"close"; a
  ``<tool_call>`` ends reasoning; whitespace kept exactly (FastDeploy's non-streaming result).
- ernie-x1: thinking cannot be turned off; ``R\\n</think>\\n\\n<response>\\nC\\n</response>\\n``
  gives reasoning ``R\\n`` and content ``\\nC\\n`` (FastDeploy's current parser: newlines between
  ``</think>`` and ``<response>`` and after ``</response>`` are markup, the rest is kept);
  ``R\\n</think>\\nC`` gives ``C``; a ``<tool_call>`` ends reasoning and stays in the content for
  the tool-call parser.
"""

from __future__ import annotations

from .._format import ReasoningFormat
from .._modes import Mode
from .._parser import DeclarativeParser

ERNIE_45_VL_FORMAT = ReasoningFormat(
    start=None, end="</think>", default_mode=Mode.REASONING, switches=("enable_thinking",)
)

ERNIE_45_VL_THINKING_FORMAT = ReasoningFormat(
    start=None,
    end="</think>",
    default_mode=Mode.REASONING,
    switches=("thinking_mode", "enable_thinking"),
    implicit_ends=("<tool_call>",),
)

ERNIE_X1_FORMAT = ReasoningFormat(
    start=None,
    end="</think>",
    default_mode=Mode.REASONING,
    implicit_ends=("<tool_call>",),
    content_wrapper=("<response>", "</response>"),
    trim_content_leading_newlines=True,
)


class Ernie45VLReasoningParser(DeclarativeParser):
    """ernie-45-vl: ERNIE-4.5-VL with ``enable_thinking``."""

    format = ERNIE_45_VL_FORMAT


class Ernie45VLThinkingReasoningParser(DeclarativeParser):
    """ernie-45-vl-thinking: ERNIE-4.5-VL-Thinking with ``options.thinking_mode``."""

    format = ERNIE_45_VL_THINKING_FORMAT


class ErnieX1ReasoningParser(DeclarativeParser):
    """ernie-x1: ERNIE-4.5-21B-A3B-Thinking, ``<response>`` wrapper, tool calls."""

    format = ERNIE_X1_FORMAT
