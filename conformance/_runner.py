"""Running checks against subjects and collecting a report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import _checks_cost, _checks_ids, _checks_modes, _checks_stream, _checks_text  # noqa: F401 - registers checks
from ._drivers import DRIVERS
from ._registry import CHECKS, Check, not_applicable
from ._results import FAIL, PASS, SKIP, CheckFailed, CheckResult, CheckSkipped, Report, Verdict, raised
from ._subject import Settings, Subject

__all__ = ["FAIL", "PASS", "SKIP", "check_names", "run_check", "run_checks", "verdict"]

Progress = Callable[[Subject, Check, CheckResult], None]

ORDER = (
    "markers",
    "stream_whole",
    "stream_per_char",
    "stream_per_token",
    "stream_random_deltas",
    "lossless",
    "no_marker_leak",
    "bounded_holdback",
    "empty_is_none",
    "linear_cost",
    "independence",
    "token_ids_agree",
    "marker_id_without_text",
    "reasoning_end_ids",
    "reasoner_agrees",
    "reasoner_consistency",
    "mode_start_in_prompt",
    "mode_thinking_disabled",
    "mode_no_markers",
    "mode_truncated",
    "mode_end_without_start",
    "mode_empty_block",
    "seed_resync",
    "robust_unicode",
)


def check_names() -> list[str]:
    """Every check, in the order they run."""
    return [name for name in ORDER if name in CHECKS] + sorted(set(CHECKS) - set(ORDER))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _attempt(call: Callable[[], Any]) -> tuple[str, str, str | None, str | None]:
    """(status, reason or detail, capability, driver) of one call of a check function."""
    try:
        detail = call()
    except CheckSkipped as exc:
        return SKIP, exc.reason, exc.capability, None
    except CheckFailed as exc:
        return FAIL, _one_line(str(exc)), None, exc.driver
    except Exception as exc:  # the plugin raised: that is a failure of the plugin
        return FAIL, raised(exc), None, None
    return PASS, str(detail) if detail else "", None, None


def _labelled(driver: str | None, reason: str) -> str:
    return f"[{driver}] {reason}" if driver and not reason.startswith(f"[{driver}]") else reason


def run_check(chk: Check, subject: Subject) -> CheckResult:
    """One check against one subject; never raises for what the plugin does."""
    started = time.perf_counter()
    try:
        skip = not_applicable(chk, subject)
    except Exception as exc:  # a malformed declaration (conformance_markers, capabilities)
        return CheckResult(subject.name, chk.name, FAIL, raised(exc), seconds=time.perf_counter() - started)
    if skip is not None:
        return CheckResult(subject.name, chk.name, SKIP, skip.reason, skip.capability)
    if chk.driven:
        result = _run_driven(chk, subject)
    else:
        status, text, capability, driver = _attempt(lambda: chk.func(subject))
        if status == PASS:
            result = CheckResult(subject.name, chk.name, PASS, detail=text)
        else:
            result = CheckResult(subject.name, chk.name, status, _labelled(driver, text), capability, driver=driver)
    result.seconds = time.perf_counter() - started
    return result


def _run_driven(chk: Check, subject: Subject) -> CheckResult:
    """Run ``chk`` under each selected driver; it fails if it fails under any of them."""
    outcomes: dict[str, str] = {}
    failures: list[tuple[str, str]] = []  # (driver label, reason)
    skips: list[tuple[str, str, str | None]] = []
    details: list[str] = []
    for name in subject.engines:
        if chk.engines and name not in chk.engines:
            continue
        driver = DRIVERS[name]
        why = driver.unavailable(subject)
        if why is not None:
            outcomes[name] = f"skip: {why}"
            skips.append((name, why, f"engine:{name}"))
            continue
        status, text, capability, label = _attempt(lambda: chk.func(subject, driver))
        if status == FAIL:
            label = label or name
            failures.append((label, _labelled(label, text)))
            outcomes[name] = f"fail: {_labelled(label, text)}"
        elif status == SKIP:
            outcomes[name] = f"skip: {text}"
            skips.append((name, text, capability))
        else:
            outcomes[name] = "pass"
            if text:
                details.append(f"[{name}] {text}")
    if failures:
        label, reason = failures[0]
        others = sorted({f[0] for f in failures[1:]} - {label})
        if others:
            reason += f" (also fails under: {', '.join(others)})"
        return CheckResult(subject.name, chk.name, FAIL, reason, driver=label, drivers=outcomes)
    if any(outcome == "pass" for outcome in outcomes.values()):
        return CheckResult(subject.name, chk.name, PASS, detail="; ".join(details), drivers=outcomes)
    if not outcomes:
        wanted = ", ".join(chk.engines) or "any"
        return CheckResult(
            subject.name, chk.name, SKIP, f"runs under the {wanted} driver(s), none of which is selected", "engine"
        )
    name, reason, capability = skips[0]
    return CheckResult(subject.name, chk.name, SKIP, f"[{name}] {reason}", capability, drivers=outcomes)


def verdict(subject: Subject, results: Sequence[CheckResult], selected: Sequence[str]) -> Verdict:
    """Certified when nothing failed, every core check was selected and ran, under every driver."""
    failed = [r.check for r in results if r.status == FAIL]
    if failed:
        return Verdict(False, f"{len(failed)} check(s) failed: {', '.join(failed)}")
    core = [name for name in check_names() if CHECKS[name].core]
    if subject.parser_cls is None:
        core = ["reasoner_consistency"]
    skipped = [f"{r.check} ({r.capability})" for r in results if r.status == SKIP and r.check in core]
    if skipped:
        return Verdict(False, f"core check(s) skipped: {', '.join(skipped)}")
    missing = [name for name in core if name not in selected]
    if missing:
        return Verdict(False, f"partial run: core check(s) not selected: {', '.join(missing)}")
    unselected = [name for name in DRIVERS if name not in subject.engines]
    if unselected:
        return Verdict(False, f"partial run: engine driver(s) not selected: {', '.join(unselected)}")
    not_run: dict[str, str] = {}
    for result in results:
        for name, outcome in result.drivers.items():
            if outcome.startswith("skip: ") and DRIVERS[name].unavailable(subject) is not None:
                not_run.setdefault(name, outcome[len("skip: ") :])
    return Verdict(True, not_run_under=tuple(f"{name}: {why}" for name, why in not_run.items()))


def run_checks(
    subjects: Iterable[Subject | str],
    *,
    checks: Sequence[str] | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> Report:
    """Run ``checks`` (default: all) against each subject (a name or a :class:`Subject`)."""
    started = time.perf_counter()
    selected = list(checks) if checks else check_names()
    unknown = [name for name in selected if name not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)}; available: {', '.join(check_names())}")
    report = Report(checks=selected)
    for item in subjects:
        subject = item if isinstance(item, Subject) else Subject.from_name(item, settings)
        report.subjects.append(subject.name)
        report.tokenizers[subject.name] = subject.tokenizer_name or ""
        report.engines = list(subject.engines)
        mine = []
        for name in selected:
            result = run_check(CHECKS[name], subject)
            report.results.append(result)
            mine.append(result)
            if progress is not None:
                progress(subject, CHECKS[name], result)
        try:
            report.markers[subject.name] = subject.markers_source if subject.parser_cls is not None else ""
        except Exception as exc:
            report.markers[subject.name] = raised(exc)
        report.verdicts[subject.name] = verdict(subject, mine, selected)
    report.seconds = time.perf_counter() - started
    return report
