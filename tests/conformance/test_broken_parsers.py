"""Each deliberately broken parser is rejected by the check written for its failure mode."""

from __future__ import annotations

import pytest

from conformance import CHECKS, Settings, Subject, check_names, run_check
from tests.conformance import plugins as broken

SETTINGS = Settings(examples=30)


def _subject(parser: type, reasoner: type | None = None) -> Subject:
    return Subject.from_classes(parser.__name__, parser, reasoner, SETTINGS)


@pytest.mark.parametrize(
    ("parser", "check", "words"),
    [
        (broken.TextBeforeStartDropped, "stream_whole", "parse() gave"),
        (broken.SplitMarkerLeak, "no_marker_leak", "holds marker text"),
        (broken.SplitMarkerLeak, "stream_per_char", "stream gave"),
        (broken.QuadraticRescan, "linear_cost", "work grows with the history"),
        (broken.SharedClassState, "independence", "interleaved"),
        (broken.LosesHeldText, "stream_per_char", "parse() gave"),
        (broken.CrashesOnOddUnicode, "robust_unicode", "raised ValueError"),
        (broken.StripsWhitespace, "lossless", "minus its markers"),
        (broken.HoldsEverything, "bounded_holdback", "already decided"),
        (broken.EmptyStrings, "empty_is_none", "must be None"),
        (broken.ForgetfulOnResync, "seed_resync", "fresh instance"),
        (broken.IgnoresPrompt, "mode_start_in_prompt", "prompt"),
        (broken.IgnoresSwitch, "mode_thinking_disabled", "thinking is off"),
        (broken.TruncatedAsContent, "mode_truncated", "all reasoning"),
        (broken.IdsWithoutText, "token_ids_agree", "without ids"),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_broken_parser_is_rejected(parser: type, check: str, words: str) -> None:
    """The check meant for this failure mode fails it, with a one-line reason saying why."""
    result = run_check(CHECKS[check], _subject(parser))
    assert result.status == "fail"
    assert words in result.reason
    assert "\n" not in result.reason


def test_off_by_one_reasoner_is_rejected() -> None:
    """A reasoner whose is_reasoning_end flips a token late disagrees with the parser and its tracker."""
    subject = _subject(broken.R1Parser, broken.OffByOneReasoner)
    agrees = run_check(CHECKS["reasoner_agrees"], subject)
    assert agrees.status == "fail" and "is_reasoning_end" in agrees.reason
    consistent = run_check(CHECKS["reasoner_consistency"], subject)
    assert consistent.status == "fail" and "force_end_token_ids" in consistent.reason


@pytest.mark.parametrize(
    ("parser", "passing"),
    [
        (broken.QuadraticRescan, ["stream_per_char", "stream_per_token", "lossless", "no_marker_leak", "bounded_holdback"]),
        (broken.HoldsEverything, ["stream_per_char", "stream_whole", "lossless", "independence"]),
        (broken.SharedClassState, ["stream_per_char", "lossless", "no_marker_leak"]),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_checks_are_specific(parser: type, passing: list[str]) -> None:
    """A parser broken in one way still passes the checks about other properties."""
    subject = _subject(parser)
    for name in passing:
        result = run_check(CHECKS[name], subject)
        assert result.status == "pass", f"{name}: {result.reason}"


def test_a_correct_seed_only_parser_passes_everything_that_applies() -> None:
    """A parser written only against the seed interface passes; capability checks skip with reasons."""
    subject = _subject(broken.GoodSeedParser)
    results = {name: run_check(CHECKS[name], subject) for name in check_names()}
    failed = {name: r.reason for name, r in results.items() if r.status == "fail"}
    assert not failed
    skipped = {name: r.capability for name, r in results.items() if r.status == "skip"}
    assert skipped == {
        "token_ids_agree": "token-ids",
        "marker_id_without_text": "token-ids",
        "reasoner_agrees": "reasoner",
        "reasoner_consistency": "reasoner",
        "mode_start_in_prompt": "start-in-prompt",
        "mode_thinking_disabled": "thinking-switch",
    }


def test_seed_parser_without_markers_skips_marker_checks() -> None:
    """A seed-only parser that declares no markers gets marker checks skipped, saying how to declare them."""

    class NoMarkers(broken.GoodSeedParser):
        conformance_markers = None

    result = run_check(CHECKS["no_marker_leak"], _subject(NoMarkers))
    assert result.status == "skip" and result.capability == "markers"
    assert "conformance_markers" in result.reason
    assert run_check(CHECKS["stream_per_char"], _subject(NoMarkers)).status == "pass"
