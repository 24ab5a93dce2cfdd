"""Built-in reasoning parsers. Each is a :class:`ReasoningFormat` declaration."""

from __future__ import annotations

from .deepseek_r1 import DeepSeekR1ReasoningParser, QwQReasoningParser
from .ernie import Ernie45VLReasoningParser, Ernie45VLThinkingReasoningParser, ErnieX1ReasoningParser

__all__ = [
    "DeepSeekR1ReasoningParser",
    "Ernie45VLReasoningParser",
    "Ernie45VLThinkingReasoningParser",
    "ErnieX1ReasoningParser",
    "QwQReasoningParser",
]
