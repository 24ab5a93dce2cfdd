"""Built-in guided-decoding reasoners, one per parser family, sharing the parsers' formats."""

from __future__ import annotations

from .._reasoner import DeclarativeReasoner
from ..parsers.deepseek_r1 import DEEPSEEK_R1_FORMAT, QWQ_FORMAT
from ..parsers.ernie import ERNIE_45_VL_FORMAT, ERNIE_45_VL_THINKING_FORMAT, ERNIE_X1_FORMAT

__all__ = [
    "DeepSeekR1Reasoner",
    "Ernie45VLReasoner",
    "Ernie45VLThinkingReasoner",
    "ErnieX1Reasoner",
    "QwQReasoner",
]


class DeepSeekR1Reasoner(DeclarativeReasoner):
    """Reasoning ends at the ``</think>`` token."""

    format = DEEPSEEK_R1_FORMAT


class QwQReasoner(DeclarativeReasoner):
    format = QWQ_FORMAT


class Ernie45VLReasoner(DeclarativeReasoner):
    format = ERNIE_45_VL_FORMAT


class Ernie45VLThinkingReasoner(DeclarativeReasoner):
    """Reasoning ends at ``</think>`` or at a ``<tool_call>`` token."""

    format = ERNIE_45_VL_THINKING_FORMAT


class ErnieX1Reasoner(DeclarativeReasoner):
    """Reasoning ends at ``</think>`` or at a ``<tool_call>`` token."""

    format = ERNIE_X1_FORMAT
