"""Parsers that declare 'pass-through' (no reasoning section: content is a fixed prefix and the
output) are held to that promise by the checks that otherwise assume a reasoning section; a
check that cannot apply is a skip naming the capability, never a pass."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import CHECKS, Settings, Subject, run_check, run_checks
from reasoning_plugins import Capability, DeclarativeParser
from reasoning_plugins.parsers.deepseek_r1 import DEEPSEEK_R1_FORMAT
from reasoning_plugins.protocol import ReasoningDelta

PREFIX = "<think>"


class _PrefixStream:
    def __init__(self, prefix: str) -> None:
        self._prefix = prefix

    def feed(self, text: str | None, ids: Any = None) -> ReasoningDelta | None:
        if not text:
            return None
        text, self._prefix = self._prefix + text, ""
        return ReasoningDelta(None, text)

    def finish(self) -> ReasoningDelta | None:
        prefix, self._prefix = self._prefix, ""
        return ReasoningDelta(None, prefix) if prefix else None


class PassThrough(DeclarativeParser):
    """Correct: every delta is content, the first one with text behind the prefix."""

    format = DEEPSEEK_R1_FORMAT
    content_prefix = PREFIX
    extra_capabilities = frozenset({Capability.PASS_THROUGH})

    def start_stream(self, request: Any = None, **_: Any) -> _PrefixStream:
        return _PrefixStream(self.content_prefix)

    def finish(self, current_text: str | None = None) -> ReasoningDelta | None:
        if not current_text and self._last_stream is None:
            return ReasoningDelta(None, self.content_prefix)  # no call reached it: an empty output
        return super().finish(current_text)

    def extract_content_ids(self, input_ids: Any) -> list[int]:
        return list(input_ids)


class ForgetsPrefixWhenStreaming(PassThrough):
    """Broken: the streamed content lacks the prefix the non-streamed one has."""

    extra_capabilities = frozenset({Capability.PASS_THROUGH})

    def start_stream(self, request: Any = None, **_: Any) -> _PrefixStream:
        return _PrefixStream("")


class SplitsReasoning(DeclarativeParser):
    """Broken: declares pass-through but splits a reasoning section like DeepSeek-R1."""

    format = DEEPSEEK_R1_FORMAT
    content_prefix = PREFIX
    extra_capabilities = frozenset({Capability.PASS_THROUGH})


def _subject(parser: type, engines: tuple[str, ...] | None = None) -> Subject:
    return Subject.from_classes(parser.__name__, parser, None, Settings(examples=10, tokenizer="qwen", engines=engines))


def test_a_correct_pass_through_parser_is_certified():
    """Every core check ran and passed under every driver; the marker-id check is a named skip."""
    subject = _subject(PassThrough)
    report = run_checks([subject])
    verdict = report.verdicts[subject.name]
    assert verdict.certified, verdict
    results = {r.check: r for r in report.results}
    assert results["marker_id_without_text"].status == "skip"
    assert results["marker_id_without_text"].capability == Capability.PASS_THROUGH
    for name in ("lossless", "no_marker_leak", "mode_no_markers", "mode_truncated", "mode_empty_block",
                 "mode_end_without_start", "reasoning_end_ids"):
        assert results[name].status == "pass", (name, results[name].reason)


@pytest.mark.parametrize(("parser", "check", "words"), [
    (ForgetsPrefixWhenStreaming, "lossless", "pass-through parser promises"),
    (ForgetsPrefixWhenStreaming, "no_marker_leak", "pass-through parser promises"),
    (SplitsReasoning, "lossless", "pass-through parser promises"),
    (SplitsReasoning, "no_marker_leak", "carried reasoning"),
    (SplitsReasoning, "mode_no_markers", "pass-through"),
    (SplitsReasoning, "reasoning_end_ids", "every id"),
])
def test_a_broken_pass_through_parser_is_rejected(parser, check, words):
    """The replaced checks fail a parser that breaks the pass-through promise, naming the driver."""
    result = run_check(CHECKS[check], _subject(parser))
    assert result.status == "fail", result.reason or result.detail
    assert words in result.reason


def test_a_non_string_prefix_is_a_clear_error():
    """A malformed declaration fails the checks that read it, saying what was expected."""
    bad = type("BadPrefix", (PassThrough,), {"content_prefix": 3, "extra_capabilities": PassThrough.extra_capabilities})
    result = run_check(CHECKS["lossless"], _subject(bad, engines=("ours",)))
    assert result.status == "fail" and "content_prefix must be a str" in result.reason
