"""Every built-in parser and reasoner passes every conformance check that applies to it."""

from __future__ import annotations

import pytest

from conformance import CHECKS, Settings, Subject, check_names, run_check

BUILTINS = ("deepseek-r1", "qwq", "ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1")

# Known defects of the built-ins, found by this suite: (name, check) -> precise description.
# Each becomes a strict xfail, which turns into a failure the day the defect is fixed, so the
# entry must then be removed. None today.
KNOWN_DEFECTS: dict[tuple[str, str], str] = {}

_subjects: dict[tuple[str, str | None], Subject] = {}


def subject(name: str, tokenizer: str | None = None) -> Subject:
    key = (name, tokenizer)
    if key not in _subjects:
        _subjects[key] = Subject.from_name(name, Settings(examples=25, tokenizer=tokenizer))
    return _subjects[key]


def _cases() -> list[object]:
    cases = []
    for name in BUILTINS:
        for check in check_names():
            reason = KNOWN_DEFECTS.get((name, check))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(name, check, marks=marks, id=f"{name}-{check}"))
    return cases


@pytest.mark.parametrize(("name", "check"), _cases())
def test_builtin_passes_check(name: str, check: str) -> None:
    """The built-in passes the check, or the check is skipped with the capability behind it."""
    result = run_check(CHECKS[check], subject(name))
    assert result.status != "fail", result.reason
    if result.status == "skip":
        assert result.capability and result.reason


@pytest.mark.parametrize(
    "check",
    [
        "stream_per_token",
        "token_ids_agree",
        "reasoner_agrees",
        "reasoner_consistency",
        "bounded_holdback",
    ],
)
def test_deepseek_r1_with_the_bundled_models_tokenizer(check: str) -> None:
    """deepseek-r1 (the bundled tiny model's parser) passes token-level checks with that model's tokenizer."""
    result = run_check(CHECKS[check], subject("deepseek-r1", "tiny"))
    assert result.status == "pass", result.reason


def test_builtins_skip_what_does_not_apply_with_the_capability() -> None:
    """Checks that do not apply are skipped naming the capability, never passed silently."""
    ernie = run_check(CHECKS["mode_start_in_prompt"], subject("ernie-x1"))
    assert (ernie.status, ernie.capability) == ("skip", "no-start-marker")
    qwq = run_check(CHECKS["mode_thinking_disabled"], subject("qwq"))
    assert (qwq.status, qwq.capability) == ("skip", "thinking-switch")
    assert "thinking-switch" in qwq.reason


def test_linear_cost_reports_its_figures() -> None:
    """linear_cost passes for a built-in and reports per-token costs for short and long histories."""
    result = run_check(CHECKS["linear_cost"], subject("ernie-45-vl"))
    assert result.status == "pass", result.reason
    assert "ours/reasoning" in result.detail and "vllm/content" in result.detail
