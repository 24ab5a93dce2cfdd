"""Opt-in pytest plugin: run the conformance checks inside a plugin's own test run.

Not loaded automatically. Enable it with ``-p conformance.pytest_plugin`` on the command line,
or ``pytest_plugins = ["conformance.pytest_plugin"]`` in your top-level ``conftest.py``. Then:

    pytest -p conformance.pytest_plugin --conformance-parser my-parser

adds one test per check and name (``conformance[my-parser]::stream_whole`` ...). Your own tests
can ask for the ``conformance_subject`` fixture, naming the parser with
``@pytest.mark.conformance("my-parser")`` or ``--conformance-parser``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ._drivers import DRIVERS
from ._markers import parse_markers_option
from ._registry import CHECKS
from ._results import FAIL, SKIP
from ._runner import check_names, run_check
from ._subject import DEFAULT_EXAMPLES, Settings, Subject

__all__ = ["ConformanceItem"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "reasoning-plugins conformance suite")
    group.addoption(
        "--conformance-parser", action="append", default=[], metavar="NAME",
        help="check this installed parser/reasoner name (repeatable)",
    )
    group.addoption(
        "--conformance-checks", default=None, metavar="NAMES",
        help="comma-separated subset of checks (default: all)",
    )
    group.addoption(
        "--conformance-tokenizer", default=None, metavar="NAME|PATH",
        help="tokenizer for token-level checks (qwen, ernie, deepseek, tiny, gemma4 or a local path)",
    )
    group.addoption(
        "--conformance-examples", type=int, default=DEFAULT_EXAMPLES, metavar="N",
        help=f"hypothesis examples per property (default {DEFAULT_EXAMPLES})",
    )
    group.addoption(
        "--conformance-markers", default=None, metavar="START,END",
        help="the parser's start and end markers, for a parser that does not declare them",
    )
    group.addoption(
        "--conformance-engine", action="append", default=[], metavar="NAMES",
        help=f"replay only these engines' calling patterns (repeatable or comma-separated): {', '.join(DRIVERS)}",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "conformance(name): the parser/reasoner name the conformance_subject fixture builds"
    )


def _settings(config: pytest.Config) -> Settings:
    raw_markers = config.getoption("--conformance-markers")
    engines = [e.strip() for value in config.getoption("--conformance-engine") for e in value.split(",") if e.strip()]
    try:
        markers = parse_markers_option(raw_markers, "--conformance-markers") if raw_markers is not None else None
        unknown = [e for e in engines if e not in DRIVERS]
        if unknown:
            raise ValueError(f"--conformance-engine: unknown engine(s) {', '.join(unknown)}; available: {', '.join(DRIVERS)}")
        return Settings(
            examples=config.getoption("--conformance-examples"),
            tokenizer=config.getoption("--conformance-tokenizer"),
            markers=markers,
            engines=tuple(dict.fromkeys(engines)) or None,
        )
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc


def _selected_checks(config: pytest.Config) -> list[str]:
    raw = config.getoption("--conformance-checks")
    if not raw:
        return check_names()
    chosen = [c.strip() for c in raw.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in CHECKS]
    if unknown:
        raise pytest.UsageError(f"--conformance-checks: unknown {', '.join(unknown)}; available: {', '.join(check_names())}")
    return chosen


class ConformanceItem(pytest.Item):
    """One check against one name."""

    def __init__(self, *, subject: Subject, check_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subject = subject
        self.check_name = check_name

    def runtest(self) -> None:
        result = run_check(CHECKS[self.check_name], self.subject)
        if result.status == SKIP:
            pytest.skip(f"{self.check_name}: {result.reason}")
        if result.status == FAIL:
            raise _CheckFailure(f"{self.check_name} [{self.subject.name}]: {result.reason}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, _CheckFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return f"conformance[{self.subject.name}]", None, f"{self.subject.name}::{self.check_name}"


class _CheckFailure(Exception):
    pass


class ConformanceCollector(pytest.Collector):
    """The checks for one name, as collected items."""

    def __init__(self, *, subject: Subject, checks: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subject = subject
        self.checks = checks

    def collect(self) -> Iterator[pytest.Item]:
        for name in self.checks:
            yield ConformanceItem.from_parent(self, name=name, subject=self.subject, check_name=name)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    names = config.getoption("--conformance-parser")
    if not names:
        return
    settings = _settings(config)
    checks = _selected_checks(config)
    for name in names:
        try:
            subject = Subject.from_name(name, settings)
        except LookupError as exc:
            raise pytest.UsageError(f"--conformance-parser: {exc}") from exc
        collector = ConformanceCollector.from_parent(session, name=f"conformance[{name}]", subject=subject, checks=checks)
        items.extend(collector.collect())


@pytest.fixture
def conformance_subject(request: pytest.FixtureRequest) -> Subject:
    """The :class:`conformance.Subject` named by ``@pytest.mark.conformance(NAME)`` or the first
    ``--conformance-parser``."""
    marker = request.node.get_closest_marker("conformance")
    if marker is not None and marker.args:
        name = marker.args[0]
    else:
        names = request.config.getoption("--conformance-parser")
        if not names:
            raise pytest.UsageError(
                "conformance_subject needs @pytest.mark.conformance('NAME') on the test or --conformance-parser NAME"
            )
        name = names[0]
    return Subject.from_name(name, _settings(request.config))
