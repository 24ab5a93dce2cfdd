"""Outcomes of checks: pass, fail with a one-line reason, or skip with the capability behind it."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CheckFailed", "CheckResult", "CheckSkipped", "Report", "Verdict", "raised", "short"]

PASS = "pass"
FAIL = "fail"
SKIP = "skip"
STATUSES = (PASS, FAIL, SKIP)


class CheckFailed(AssertionError):
    """Raised by a check when the plugin breaks the contract; the message is one line.
    ``driver``: the engine driver (or variant, ``vllm lag=3``) it was found under."""

    def __init__(self, message: str, driver: str | None = None) -> None:
        super().__init__(message)
        self.driver = driver


class CheckSkipped(Exception):
    """Raised by a check that does not apply; ``capability`` names what makes it not apply."""

    def __init__(self, capability: str, reason: str) -> None:
        super().__init__(reason)
        self.capability = capability
        self.reason = reason


def raised(exc: BaseException) -> str:
    """One line saying what a plugin raised and where: ``raised ValueError: ... (at f.py:3 in g)``."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"raised {type(exc).__name__}: {' '.join(str(exc).split())}{where}"


def short(value: Any, limit: int = 80) -> str:
    """``repr`` of ``value``, cut in the middle so a reason stays on one readable line."""
    text = repr(value)
    if len(text) <= limit:
        return text
    keep = (limit - 5) // 2
    return f"{text[:keep]} ... {text[-keep:]}"


@dataclass(slots=True)
class CheckResult:
    """One check run against one subject (a parser or reasoner name)."""

    subject: str
    check: str
    status: str
    reason: str = ""
    capability: str | None = None  # for skips: the capability (or missing part) behind the skip
    detail: str = ""  # measured figures, for passes too
    seconds: float = 0.0
    driver: str | None = None  # for failures: the engine driver (variant) that exposed it
    drivers: dict[str, str] = field(default_factory=dict)  # driver -> "pass" | "fail: ..." | "skip: ..."

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "check": self.check,
            "status": self.status,
            "reason": self.reason,
            "capability": self.capability,
            "detail": self.detail,
            "seconds": round(self.seconds, 4),
            "driver": self.driver,
            "drivers": dict(self.drivers),
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a name is certified: every core check ran and nothing failed."""

    certified: bool
    reason: str = ""
    not_run_under: tuple[str, ...] = ()  # "engine (why)" for drivers that could not run the parser

    def __str__(self) -> str:
        if not self.certified:
            return f"not certified: {self.reason}"
        if self.not_run_under:
            return f"certified (not run under {'; '.join(self.not_run_under)})"
        return "certified"

    def to_dict(self) -> dict[str, Any]:
        return {"certified": self.certified, "reason": self.reason, "not_run_under": list(self.not_run_under)}


@dataclass(slots=True)
class Report:
    """Every result of one run, in the order the checks ran."""

    results: list[CheckResult] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    tokenizers: dict[str, str] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)  # name -> where its markers came from
    engines: list[str] = field(default_factory=list)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed

    def get(self, subject: str, check: str) -> CheckResult | None:
        for result in self.results:
            if result.subject == subject and result.check == check:
                return result
        return None

    def counts(self) -> dict[str, int]:
        found = {status: 0 for status in STATUSES}
        for result in self.results:
            found[result.status] += 1
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "reasoning-plugins-conformance/1",
            "ok": self.ok,
            "subjects": list(self.subjects),
            "checks": list(self.checks),
            "tokenizers": dict(self.tokenizers),
            "markers": dict(self.markers),
            "engines": list(self.engines),
            "verdicts": {name: verdict.to_dict() for name, verdict in self.verdicts.items()},
            "counts": self.counts(),
            "seconds": round(self.seconds, 3),
            "results": [r.to_dict() for r in self.results],
        }
