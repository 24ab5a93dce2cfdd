"""The conformance suite: certify reasoning parsers and reasoners against the contract.

    reasoning-plugins check my-parser          # a table, non-zero exit on any failure
    pytest -p conformance.pytest_plugin --conformance-parser my-parser

or in Python::

    from conformance import run_checks
    report = run_checks(["deepseek-r1"])
    assert report.ok, [r.reason for r in report.failed]
    print(report.verdicts["deepseek-r1"])   # certified, or why not
"""

from __future__ import annotations

from ._drivers import DRIVERS, Driver
from ._registry import CHECKS, Check
from ._results import CheckFailed, CheckResult, CheckSkipped, Report, Verdict
from ._runner import check_names, run_check, run_checks
from ._subject import Context, Markers, Settings, Subject

__all__ = [
    "CHECKS",
    "DRIVERS",
    "Check",
    "CheckFailed",
    "CheckResult",
    "CheckSkipped",
    "Context",
    "Driver",
    "Markers",
    "ParserConformance",
    "Report",
    "Settings",
    "Subject",
    "Verdict",
    "check_names",
    "run_check",
    "run_checks",
]


def __getattr__(name: str) -> object:
    # The pytest base class imports pytest: load it only when asked for.
    if name == "ParserConformance":
        from .testing import ParserConformance

        return ParserConformance
    raise AttributeError(f"module 'conformance' has no attribute {name!r}")
