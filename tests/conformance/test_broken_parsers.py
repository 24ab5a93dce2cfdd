"""Each deliberately broken parser is rejected by the check written for its failure mode, under
the engine driver that exposes it; correct seed-only parsers are certified."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import CHECKS, Settings, Subject, check_names, run_check, run_checks
from tests.conformance import plugins as broken

SETTINGS = Settings(examples=30)


def _subject(parser: type, reasoner: type | None = None, engines: tuple[str, ...] | None = None) -> Subject:
    settings = Settings(examples=SETTINGS.examples, engines=engines)
    return Subject.from_classes(parser.__name__, parser, reasoner, settings)


@pytest.mark.parametrize(
    ("parser", "check", "engines", "words"),
    [
        # seed-interface parsers, one per failure kind, each under the driver that exposes it
        (broken.MarkerOnlyAsOwnDelta, "stream_per_token", ("vllm-multi",), "[vllm-multi] [default] per token"),
        (broken.LosesHeldText, "stream_per_char", ("sglang",), "[sglang] [default] per character"),
        (broken.ModuleLevelBuffer, "independence", None, "interleaved character by character"),
        (broken.SharedClassState, "independence", None, "interleaved token by token"),
        (broken.ScansIdHistory, "linear_cost", ("vllm",), "[vllm] extract_reasoning_content_streaming() in"),
        (broken.WorkGrowsWithCalls, "linear_cost", ("vllm",), "work grows with the history"),
        (broken.LenKeyedSeedParser, "stream_per_char", ("lmdeploy",), "[lmdeploy] [default]"),
        (broken.LenKeyedSeedParser, "independence", ("lmdeploy",), "[lmdeploy] one instance shared by 4"),
        (broken.IgnoresIdsAheadOfText, "stream_per_token", ("vllm",), "[vllm lag="),
        (broken.IgnoresModelStatus, "stream_per_char", ("fastdeploy",), "[fastdeploy think_end]"),
        # more failure modes, under every driver
        (broken.TextBeforeStartDropped, "stream_whole", None, "parse() gave"),
        (broken.SplitMarkerLeak, "no_marker_leak", None, "holds marker text"),
        (broken.SplitMarkerLeak, "stream_per_char", None, "stream gave"),
        (broken.QuadraticRescan, "linear_cost", None, "[ours] stream in reasoning"),
        (broken.CrashesOnOddUnicode, "robust_unicode", None, "raised ValueError"),
        (broken.StripsWhitespace, "lossless", None, "minus its markers"),
        (broken.HoldsEverything, "bounded_holdback", None, "already decided"),
        (broken.EmptyStrings, "empty_is_none", None, "must be None"),
        (broken.ForgetfulOnResync, "seed_resync", None, "fresh instance"),
        (broken.IgnoresPrompt, "mode_start_in_prompt", None, "prompt"),
        (broken.IgnoresSwitch, "mode_thinking_disabled", None, "thinking is off"),
        (broken.TruncatedAsContent, "mode_truncated", None, "all reasoning"),
        (broken.IdsWithoutText, "token_ids_agree", None, "without ids"),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_broken_parser_is_rejected(parser: type, check: str, engines: tuple[str, ...] | None, words: str) -> None:
    """The check meant for this failure mode fails it, with a one-line reason naming the driver."""
    result = run_check(CHECKS[check], _subject(parser, engines=engines))
    assert result.status == "fail", result.reason or result.detail
    assert words in result.reason
    assert "\n" not in result.reason
    assert result.driver and result.reason.startswith(f"[{result.driver}]")


@pytest.mark.parametrize(
    ("parser", "check", "exposing", "passing"),
    [
        (broken.LenKeyedSeedParser, "stream_per_char", "lmdeploy", ("ours", "vllm", "vllm-multi", "sglang", "trtllm")),
        (broken.IgnoresIdsAheadOfText, "stream_per_token", "vllm", ("ours", "vllm-multi", "sglang", "lmdeploy", "trtllm")),
        (broken.MarkerOnlyAsOwnDelta, "stream_per_token", "vllm-multi", ("trtllm",)),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_only_the_exposing_driver_fails(parser: type, check: str, exposing: str, passing: tuple[str, ...]) -> None:
    """The report records each driver's outcome: the calling pattern that breaks the parser
    fails, the ones it survives pass."""
    result = run_check(CHECKS[check], _subject(parser))
    assert result.status == "fail"
    assert result.drivers[exposing].startswith("fail: ")
    assert {name: result.drivers[name] for name in passing} == dict.fromkeys(passing, "pass")


def test_off_by_one_reasoner_is_rejected() -> None:
    """A reasoner whose is_reasoning_end flips a token late disagrees with the parser and its tracker."""
    subject = _subject(broken.R1Parser, broken.OffByOneReasoner)
    agrees = run_check(CHECKS["reasoner_agrees"], subject)
    assert agrees.status == "fail" and "is_reasoning_end" in agrees.reason
    consistent = run_check(CHECKS["reasoner_consistency"], subject)
    assert consistent.status == "fail" and "force_end_token_ids" in consistent.reason


@pytest.mark.parametrize(
    ("parser", "engines", "passing"),
    [
        (broken.QuadraticRescan, None, ["stream_per_char", "stream_per_token", "lossless", "no_marker_leak", "bounded_holdback"]),
        (broken.HoldsEverything, None, ["stream_per_char", "stream_whole", "lossless", "independence"]),
        # one request per instance: a shared instance (lmdeploy) would expose the class-level state
        (broken.SharedClassState, ("ours", "vllm"), ["stream_per_char", "lossless", "no_marker_leak"]),
        (broken.ScansIdHistory, None, ["stream_per_token", "independence", "bounded_holdback"]),
        (broken.WorkGrowsWithCalls, None, ["stream_per_char", "independence"]),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_checks_are_specific(parser: type, engines: tuple[str, ...] | None, passing: list[str]) -> None:
    """A parser broken in one way still passes the checks about other properties."""
    subject = _subject(parser, engines=engines)
    for name in passing:
        result = run_check(CHECKS[name], subject)
        assert result.status == "pass", f"{name}: {result.reason}"


CAPABILITY_SKIPS = {
    "token_ids_agree": "token-ids",
    "marker_id_without_text": "token-ids",
    "reasoner_agrees": "reasoner",
    "reasoner_consistency": "reasoner",
    "mode_start_in_prompt": "start-in-prompt",
    "mode_thinking_disabled": "thinking-switch",
}


def test_a_correct_seed_only_parser_is_certified() -> None:
    """A parser written like the vLLM seed example (markers as start_token/end_token attributes)
    is certified: every core check runs and passes under every driver that can call it."""
    report = run_checks([_subject(broken.GoodSeedParser)])
    failed = {r.check: r.reason for r in report.results if r.status == "fail"}
    assert not failed
    skipped = {r.check: r.capability for r in report.results if r.status == "skip"}
    assert skipped == CAPABILITY_SKIPS
    core = [name for name in check_names() if CHECKS[name].core]
    assert {r.check for r in report.results if r.status == "pass"} >= set(core)
    verdict = report.verdicts["GoodSeedParser"]
    assert verdict.certified
    assert [entry.split(":")[0] for entry in verdict.not_run_under] == ["fastdeploy"]
    assert "model_status" in verdict.not_run_under[0]
    assert report.markers["GoodSeedParser"] == "GoodSeedParser instance attributes start_token/end_token"
    streamed = report.get("GoodSeedParser", "stream_per_token")
    assert streamed is not None
    assert [d for d, outcome in streamed.drivers.items() if outcome == "pass"] == [
        "ours", "vllm", "vllm-multi", "sglang", "lmdeploy", "trtllm"
    ]


class ForeignSeedParser:
    """Written for an engine, with no base class of ours: the seed methods, finish() and the
    id helpers, markers as start_token/end_token."""

    def __init__(self, tokenizer: Any, *args: Any, **kwargs: Any) -> None:
        self._inner = broken.GoodSeedParser(tokenizer)
        self.start_token, self.end_token = "<think>", "</think>"

    def extract_reasoning_content(self, model_output: str, request: Any) -> Any:
        return broken.split_r1(model_output)

    def extract_reasoning_content_streaming(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.extract_reasoning_content_streaming(*args, **kwargs)

    def finish(self) -> Any:
        return self._inner.finish()

    def is_reasoning_end(self, input_ids: Any) -> bool:
        return self._inner.is_reasoning_end(input_ids)

    def extract_content_ids(self, input_ids: Any) -> list[int]:
        return self._inner.extract_content_ids(input_ids)


def test_an_engine_parser_without_our_base_class_is_certified() -> None:
    """A class that never imported reasoning_plugins is certified through the seed drivers;
    the verdict names the drivers that cannot call it (no native stream, no model_status)."""
    checks = ["markers", "stream_per_char", "lossless", "independence", "linear_cost", "mode_truncated"]
    report = run_checks([_subject(ForeignSeedParser)], checks=checks)
    assert report.ok, [r.reason for r in report.failed]
    assert [r.drivers.get("ours") for r in report.results if r.check == "stream_per_char"] == [
        "skip: the parser has no start_stream() (native stream)"
    ]
    assert report.verdicts["ForeignSeedParser"].reason.startswith("partial run")


def test_a_fastdeploy_style_seed_parser_runs_under_fastdeploy() -> None:
    """A seed parser that takes model_status runs under the fastdeploy driver, with think_start
    and think_end requests."""
    result = run_check(CHECKS["stream_per_char"], _subject(broken.GoodFastDeployParser, engines=("fastdeploy",)))
    assert (result.status, result.drivers) == ("pass", {"fastdeploy": "pass"})


def test_seed_parser_without_markers_cannot_be_certified() -> None:
    """A seed-only parser whose markers cannot be found fails 'markers' saying how to declare
    them; the marker checks are skipped and the verdict is not certified, never an all-pass."""

    class NoMarkers(broken.GoodSeedParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            del self.start_token, self.end_token

    subject = _subject(NoMarkers)
    found = run_check(CHECKS["markers"], subject)
    assert found.status == "fail"
    assert found.reason.startswith("cannot certify: ")
    assert "conformance_markers = (start, end)" in found.reason and "--markers START,END" in found.reason
    leak = run_check(CHECKS["no_marker_leak"], subject)
    assert (leak.status, leak.capability) == ("skip", "markers")
    report = run_checks([subject], checks=["markers", "stream_whole", "no_marker_leak", "lossless"])
    assert not report.verdicts["NoMarkers"].certified
    assert "markers" in report.verdicts["NoMarkers"].reason


def test_markers_given_at_run_time_certify_an_undeclared_parser() -> None:
    """--markers (Settings.markers) supplies what the parser does not declare; every marker check then runs."""

    class NoMarkers(broken.GoodSeedParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            del self.start_token, self.end_token

    subject = Subject.from_classes("NoMarkers", NoMarkers, None, Settings(examples=10, markers=("<think>", "</think>")))
    for name in ("markers", "no_marker_leak", "lossless", "mode_truncated"):
        result = run_check(CHECKS[name], subject)
        assert result.status == "pass", f"{name}: {result.reason}"


class RaisesUnderKeywords(broken.GoodSeedParser):
    """Takes the streaming arguments positionally only: LMDeploy's keyword call raises TypeError."""

    def extract_reasoning_content_streaming(self, *args: Any) -> Any:  # type: ignore[override]
        return super().extract_reasoning_content_streaming(*args)


def test_a_parser_that_raises_inside_a_driver_fails_that_check() -> None:
    """An exception inside a driver is a failed check naming the driver and the exception; the
    run goes on and the other drivers still report."""
    report = run_checks([_subject(RaisesUnderKeywords)], checks=["stream_whole", "stream_per_char", "mode_truncated"])
    for result in report.results:
        assert result.status == "fail"
        assert result.reason.startswith("[lmdeploy] raised TypeError: ")
        assert result.drivers["vllm"] == "pass" and result.drivers["sglang"] == "pass"
    assert not report.verdicts["RaisesUnderKeywords"].certified
