"""The reasoner checks catch a reasoner that misses a tool-call opener spelled by several tokens,
and one whose whole-sequence methods ignore the request they are bound to; the correct ones pass."""

from __future__ import annotations

from typing import Any

from conformance import CHECKS, Settings, Subject, run_check
from reasoning_plugins import DeclarativeParser, DeclarativeReasoner, Mode, ReasoningFormat

# <tool_calls> is several tokens of Qwen's tokenizer, </think> one
MULTI_TOKEN_OPENER = ReasoningFormat(start="<think>", end="</think>", start_in_output=True,
                                     default_mode=Mode.REASONING, implicit_ends=("<tool_calls>",))
# thinking off unless the request asks
OFF_BY_DEFAULT = ReasoningFormat(start="<think>", end="</think>", default_mode=Mode.CONTENT,
                                 switches=("enable_thinking",))


class OpenerParser(DeclarativeParser):
    format = MULTI_TOKEN_OPENER


class OpenerReasoner(DeclarativeReasoner):
    format = MULTI_TOKEN_OPENER


class OpenerByIdOnlyReasoner(DeclarativeReasoner):
    """Broken: looks for the opener by id only, so it never sees it on this tokenizer."""

    format = MULTI_TOKEN_OPENER

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> DeclarativeReasoner:
        reasoner = super().from_tokenizer(tokenizer)
        reasoner._text_ends = None
        return reasoner


class OffParser(DeclarativeParser):
    format = OFF_BY_DEFAULT


class OffReasoner(DeclarativeReasoner):
    format = OFF_BY_DEFAULT


class OffUnboundReasoner(DeclarativeReasoner):
    """Broken: its whole-sequence methods ignore what they are bound to."""

    format = OFF_BY_DEFAULT

    def bind(self, request: Any = None, **_: Any) -> DeclarativeReasoner:
        return self


def _result(check: str, parser: type, reasoner: type):
    subject = Subject.from_classes(parser.__name__, parser, reasoner, Settings(examples=10))
    return run_check(CHECKS[check], subject)


def test_multi_token_opener_reasoner_passes():
    assert _result("reasoner_agrees", OpenerParser, OpenerReasoner).status == "pass"


def test_reasoner_blind_to_a_multi_token_opener_is_rejected():
    result = _result("reasoner_agrees", OpenerParser, OpenerByIdOnlyReasoner)
    assert result.status == "fail"
    assert "<tool_calls>" in result.reason or "content" in result.reason


def test_off_by_default_reasoner_passes_both_checks():
    for check in ("reasoner_agrees", "reasoner_consistency"):
        assert _result(check, OffParser, OffReasoner).status == "pass", check


def test_whole_sequence_methods_that_ignore_the_request_are_rejected():
    # the forced end of a budget must end reasoning for a request that thinks
    assert _result("reasoner_consistency", OffParser, OffUnboundReasoner).status == "fail"
    # and with thinking switched on, is_reasoning_end must flip where the tracker does
    assert _result("reasoner_agrees", OffParser, OffUnboundReasoner).status == "fail"
