"""The check x plugin table, and the progress line shown while checks run."""

from __future__ import annotations

import sys
from typing import TextIO

from ._registry import Check
from ._results import FAIL, PASS, SKIP, CheckResult, Report
from ._subject import Subject

__all__ = ["Progress", "render_table", "summary_line"]

_MARK = {PASS: ".", FAIL: "F", SKIP: "s"}


class Progress:
    """One line per subject on ``out``: a character per check as it finishes (. pass, F fail, s skip)."""

    def __init__(self, out: TextIO | None = None, total_checks: int = 0) -> None:
        self.out = out or sys.stderr
        self.total = total_checks
        self.current: str | None = None
        self.seconds = 0.0

    def __call__(self, subject: Subject, check: Check, result: CheckResult) -> None:
        if subject.name != self.current:
            self.close()
            self.current = subject.name
            self.seconds = 0.0
            tokenizer = subject.tokenizer_name or "-"
            self.out.write(f"{subject.name} (tokenizer {tokenizer}) ")
        self.seconds += result.seconds
        self.out.write(_MARK[result.status])
        self.out.flush()

    def close(self) -> None:
        if self.current is not None:
            self.out.write(f" {self.seconds:.1f}s\n")
            self.out.flush()
            self.current = None


def _cell(result: CheckResult | None, footnote: int | None) -> str:
    if result is None:
        return "-"
    if result.status == PASS:
        return "pass"
    if result.status == FAIL:
        return f"FAIL [{footnote}]"
    return f"skip: {result.capability}" if result.capability else "skip"


def render_table(report: Report, verbose: bool = False) -> str:
    """Checks down, subjects across; failures (naming the engine driver), verdicts and the
    summary under it; with ``verbose`` also skips, per-driver outcomes and measured figures."""
    notes: list[str] = []
    numbers: dict[tuple[str, str], int] = {}
    for result in report.results:
        if result.status == FAIL:
            numbers[(result.subject, result.check)] = len(numbers) + 1
            notes.append(f"[{len(numbers)}] {result.subject} / {result.check}: {result.reason}")
    headers = ["check", *report.subjects]
    rows = []
    for name in report.checks:
        row = [name]
        for subject in report.subjects:
            result = report.get(subject, name)
            row.append(_cell(result, numbers.get((subject, name))))
        rows.append(row)
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    if notes:
        lines += ["", "Failures:", *notes]
    if verbose:
        skips = [r for r in report.results if r.status == SKIP]
        if skips:
            lines += ["", "Skipped:"] + [f"- {r.subject} / {r.check}: {r.reason}" for r in skips]
        partial: dict[tuple[str, str, str], list[str]] = {}
        for r in report.results:
            for driver, outcome in r.drivers.items():
                if outcome != "pass":
                    partial.setdefault((r.subject, driver, outcome), []).append(r.check)
        if partial:
            lines += ["", "Engine drivers that did not pass every check:"] + [
                f"- {subject} / {driver} in {', '.join(checks)}: {outcome}"
                for (subject, driver, outcome), checks in partial.items()
            ]
        measured = [r for r in report.results if r.detail]
        if measured:
            lines += ["", "Measured:"] + [f"- {r.subject} / {r.check}: {r.detail}" for r in measured]
        if report.markers:
            lines += ["", "Markers:"] + [f"- {name}: {where}" for name, where in report.markers.items() if where]
    if report.verdicts:
        lines += ["", "Verdict:"] + [f"- {name}: {verdict}" for name, verdict in report.verdicts.items()]
    lines += ["", summary_line(report)]
    return "\n".join(lines)


def summary_line(report: Report) -> str:
    """``N plugin(s), M check(s) under E engine driver(s): R ran (P pass, F FAIL), S skipped in Xs``."""
    counts = report.counts()
    ran = counts[PASS] + counts[FAIL]
    engines = f" under {len(report.engines)} engine driver(s)" if report.engines else ""
    return (
        f"{len(report.subjects)} plugin(s), {len(report.checks)} check(s){engines}: {ran} ran "
        f"({counts[PASS]} pass, {counts[FAIL]} FAIL), {counts[SKIP]} skipped in {report.seconds:.1f}s"
    )
