"""Running checks against subjects and collecting a report."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Sequence

from . import _checks_cost, _checks_ids, _checks_modes, _checks_stream, _checks_text  # noqa: F401 - registers checks
from ._registry import CHECKS, Check, not_applicable
from ._results import FAIL, PASS, SKIP, CheckFailed, CheckResult, CheckSkipped, Report
from ._subject import Settings, Subject

__all__ = ["FAIL", "PASS", "SKIP", "check_names", "run_check", "run_checks"]

Progress = Callable[[Subject, Check, CheckResult], None]

ORDER = (
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
    "reasoner_agrees",
    "reasoner_consistency",
    "mode_start_in_prompt",
    "mode_thinking_disabled",
    "mode_no_markers",
    "mode_truncated",
    "mode_end_without_start",
    "mode_empty_block",
    "seed_streaming",
    "seed_resync",
    "robust_unicode",
)


def check_names() -> list[str]:
    """Every check, in the order they run."""
    return [name for name in ORDER if name in CHECKS] + sorted(set(CHECKS) - set(ORDER))


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name})"


def run_check(chk: Check, subject: Subject) -> CheckResult:
    """One check against one subject; never raises for what the plugin does."""
    started = time.perf_counter()
    skip = not_applicable(chk, subject)
    if skip is not None:
        return CheckResult(subject.name, chk.name, SKIP, skip.reason, skip.capability)
    try:
        detail = chk.func(subject)
    except CheckSkipped as exc:
        result = CheckResult(subject.name, chk.name, SKIP, exc.reason, exc.capability)
    except CheckFailed as exc:
        result = CheckResult(subject.name, chk.name, FAIL, " ".join(str(exc).split()))
    except Exception as exc:  # the plugin raised: that is a failure of the plugin
        message = " ".join(str(exc).split())
        result = CheckResult(subject.name, chk.name, FAIL, f"raised {type(exc).__name__}: {message}{_where(exc)}")
    else:
        result = CheckResult(subject.name, chk.name, PASS, detail=str(detail) if detail else "")
    result.seconds = time.perf_counter() - started
    return result


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
        for name in selected:
            result = run_check(CHECKS[name], subject)
            report.results.append(result)
            if progress is not None:
                progress(subject, CHECKS[name], result)
    report.seconds = time.perf_counter() - started
    return report

