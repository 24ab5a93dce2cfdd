"""DeepSeek-R1 (and distills) and QwQ: ``<think>`` prefilled by the template, ``</think>`` written.

Output: ``reasoning\\n</think>\\n\\nanswer``. R1-0528 writes ``<think>`` itself; it is removed.
Whitespace is kept exactly: the content of ``R\\n</think>\\n\\nA`` is ``\\n\\nA``.
"""

from __future__ import annotations

from .._format import ReasoningFormat
from .._modes import Mode
from .._parser import DeclarativeParser

DEEPSEEK_R1_FORMAT = ReasoningFormat(
    start="<think>",
    end="</think>",
    default_mode=Mode.REASONING,
    # R1 templates ignore these, but DeepSeek-V3.1-style templates and the bundled model honour
    # them; the prompt's tail, when given, decides first.
    switches=("enable_thinking", "thinking"),
)

QWQ_FORMAT = ReasoningFormat(start="<think>", end="</think>", default_mode=Mode.REASONING)


class DeepSeekR1ReasoningParser(DeclarativeParser):
    """deepseek-r1: output starts in reasoning unless the prompt or request closed it."""

    format = DEEPSEEK_R1_FORMAT


class QwQReasoningParser(DeclarativeParser):
    """qwq: the R1 layout; QwQ-32B cannot switch thinking off."""

    format = QWQ_FORMAT
