"""The suite's own parts: the format oracle, the lossless relation, strategies, the public API."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import find, settings

import conformance
from conformance import CHECKS, Markers, Settings, Subject, check_names, strategies
from conformance._drive import Split
from conformance._oracle import expected_split
from conformance._relations import may_end_inside_marker, rebuild_problem
from reasoning_plugins import Mode
from reasoning_plugins.parsers.ernie import ERNIE_X1_FORMAT
from tests.conformance.plugins import GoodSeedParser

THINK = Markers(start="<think>", end="</think>")


def test_oracle_follows_the_documented_ernie_x1_layout() -> None:
    """The oracle gives ERNIE-X1's documented splits (the examples in its parser's docstring)."""
    x1 = ERNIE_X1_FORMAT
    assert expected_split(x1, Mode.REASONING, "R\n</think>\n\n<response>\nC\n</response>\n") == Split("R", "C")
    assert expected_split(x1, Mode.REASONING, "R\n</think>\nC") == Split("R", "C")
    assert expected_split(x1, Mode.REASONING, "R\n<tool_call>\n{}") == Split("R\n", "<tool_call>\n{}")
    assert expected_split(x1, Mode.REASONING, "R only") == Split("R only", None)


def test_lossless_relation_allows_only_declared_trims() -> None:
    """Dropping markers passes; dropping a word, or a newline the format does not trim, fails."""
    plain = Subject.from_classes("seed", GoodSeedParser)
    assert rebuild_problem("R\n</think>\n\nC", Split("R\n", "\n\nC"), plain) is None
    assert rebuild_problem("R\n</think>\n\nC", Split("R", "C"), plain) is not None
    assert rebuild_problem("R word</think>C", Split("R", "C"), plain) is not None
    x1 = Subject.from_name("ernie-x1")
    assert rebuild_problem("R\n</think>\n\n<response>\nC\n</response>\n", Split("R", "C"), x1) is None
    assert rebuild_problem("R\n\n</think>C", Split("R", "C"), x1) is not None  # only one newline is markup


def test_may_end_inside_marker() -> None:
    """Text ending in a marker prefix (or whitespace) may be held back; other text may not."""
    assert may_end_inside_marker("thinking </thi", THINK)
    assert may_end_inside_marker("thinking\n", THINK)
    assert not may_end_inside_marker("thinking done.", THINK)
    assert not may_end_inside_marker("</think>", THINK)


def test_strategies_produce_markers_and_fragments() -> None:
    """marker_soup draws whole markers and split fragments; well_formed keeps markers in place."""
    quick = settings(database=None, derandomize=True, max_examples=2000)
    assert "</think>" in find(strategies.marker_soup(THINK), lambda t: "</think>" in t, settings=quick)
    fragment = find(strategies.marker_soup(THINK), lambda t: t.endswith("</thi"), settings=quick)
    assert fragment.endswith("</thi")
    closed = find(strategies.well_formed(THINK), lambda t: "</think>" in t and t.startswith("<think>"), settings=quick)
    body = closed[len("<think>") :].replace("</think>", "")
    assert "<" not in body and ">" not in body


def test_declared_markers_are_validated() -> None:
    """A malformed conformance_markers declaration is an error saying what is expected."""
    with pytest.raises(ValueError, match=r"\(start, end\)"):
        Markers.from_declaration("</think>", "MyParser")
    with pytest.raises(ValueError, match="keys start, end"):
        Markers.from_declaration({"finish": "</think>"}, "MyParser")
    assert Markers.from_declaration((None, "</think>"), "P") == Markers(end="</think>")


def test_settings_are_validated() -> None:
    """Nonsensical settings are refused with the accepted range."""
    with pytest.raises(ValueError, match="examples"):
        Settings(examples=0)
    with pytest.raises(ValueError, match="cost_bound"):
        Settings(cost_bound=1.0)


def test_every_check_documents_what_users_rely_on() -> None:
    """Every check is a named function with a docstring; all are listed in run order."""
    assert sorted(check_names()) == sorted(CHECKS)
    for name, chk in CHECKS.items():
        assert chk.func.__name__ == name
        assert len(chk.summary) > 40, name


def test_public_api_matches_all() -> None:
    """conformance.__all__ lists exactly the public names the package exposes."""
    public = {n for n, v in vars(conformance).items() if not n.startswith("_") and not inspect.ismodule(v)}
    public.discard("annotations")
    assert set(conformance.__all__) == public | {"ParserConformance"}
    assert conformance.ParserConformance.__name__ == "ParserConformance"
