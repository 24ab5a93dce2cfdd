"""Running a hypothesis property inside a check, with a fixed seed and a one-line failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter

from ._results import CheckFailed
from ._subject import Settings

__all__ = ["run_property"]


def run_property(
    settings: Settings, strategy: st.SearchStrategy[Any], body: Callable[[Any], None], share: float = 1.0
) -> None:
    """Run ``body`` on examples drawn from ``strategy``; re-raise the shrunk failure as one line.

    Derandomized (the same examples every run) unless ``settings.seed`` is set; no example
    database is written. ``share``: the fraction of ``settings.examples`` to run (at least 5).
    """

    @hypothesis_settings(
        max_examples=max(5, round(settings.examples * share)) if share < 1.0 else settings.examples,
        derandomize=settings.seed is None,
        database=None,
        deadline=None,
        print_blob=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def prop(value: Any) -> None:
        body(value)

    if settings.seed is not None:
        prop = hypothesis_seed(settings.seed)(prop)
    try:
        with with_reporter(lambda _message: None):
            prop()
    except CheckFailed:
        raise  # keeps the driver it was found under
    except Exception as exc:  # hypothesis wraps unreproducible failures (Flaky and friends)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CheckFailed(f"{type(exc).__name__}: {first}") from exc
