"""The suite's own parts: the format oracle, the lossless relation, strategies, the public API."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import find, settings

import conformance
from conformance import CHECKS, Markers, Settings, Subject, check_names, strategies
from conformance._drive import Split
from conformance._drivers import DRIVERS, lag_text, model_status
from conformance._markers import discover_markers, parse_markers_option
from conformance._oracle import expected_split
from conformance._relations import may_end_inside_marker, rebuild_problem
from reasoning_plugins import Mode
from reasoning_plugins.parsers.ernie import ERNIE_X1_FORMAT
from tests.conformance.plugins import GoodSeedParser

THINK = Markers(start="<think>", end="</think>")


def test_oracle_follows_the_documented_ernie_x1_layout() -> None:
    """The oracle gives ERNIE-X1's documented splits (the examples in its parser's docstring)."""
    x1 = ERNIE_X1_FORMAT
    assert expected_split(x1, Mode.REASONING, "R\n</think>\n\n<response>\nC\n</response>\n") == Split("R\n", "\nC\n")
    assert expected_split(x1, Mode.REASONING, "R\n</think>\nC") == Split("R\n", "C")
    assert expected_split(x1, Mode.REASONING, "R\n<tool_call>\n{}") == Split("R\n", "<tool_call>\n{}")
    assert expected_split(x1, Mode.REASONING, "R only") == Split("R only", None)


def test_lossless_relation_allows_only_declared_trims() -> None:
    """Dropping markers passes; dropping a word, or a newline the format does not trim, fails."""
    plain = Subject.from_classes("seed", GoodSeedParser)
    assert rebuild_problem("R\n</think>\n\nC", Split("R\n", "\n\nC"), plain) is None
    assert rebuild_problem("R\n</think>\n\nC", Split("R", "C"), plain) is not None
    assert rebuild_problem("R word</think>C", Split("R", "C"), plain) is not None
    x1 = Subject.from_name("ernie-x1")
    assert rebuild_problem("R\n</think>\n\n<response>\nC\n</response>\n", Split("R\n", "\nC\n"), x1) is None
    assert rebuild_problem("R\n\n</think>C", Split("R", "C"), x1) is not None  # newlines before </think> are kept


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


class _ClassAttributes:
    think_start_token = "<think>"
    think_end_token = "</think>"


class _EndOnly:
    reasoning_end_str = "</think>"


class _Declared:
    conformance_markers = ("<a>", "</a>")
    start_token = "<think>"
    end_token = "</think>"


def _never() -> object:
    raise AssertionError("the class attributes are enough: no instance is needed")


def test_markers_are_found_where_engines_keep_them() -> None:
    """Markers come from --markers, conformance_markers, our format, then the attribute pairs
    engines use (on the class, or on an instance built with the tokenizer)."""
    assert discover_markers(_ClassAttributes, None, _never) == (
        Markers(start="<think>", end="</think>"), "_ClassAttributes class attributes think_start_token/think_end_token"
    )
    assert discover_markers(_EndOnly, None, _never)[0] == Markers(end="</think>")
    assert discover_markers(_Declared, None, _never) == (Markers(start="<a>", end="</a>"), "_Declared.conformance_markers")
    assert discover_markers(_Declared, ("[T]", "[/T]"), _never) == (Markers(start="[T]", end="[/T]"), "given with --markers")
    found, where = discover_markers(GoodSeedParser, None, GoodSeedParser)
    assert found == THINK and where == "GoodSeedParser instance attributes start_token/end_token"
    assert discover_markers(object, None, object) == (None, "no marker attributes")


@pytest.mark.parametrize(
    ("value", "words"),
    [("", "expects START,END"), ("<think>", "expects START,END"), (",</think>", "non-empty"),
     ("<think>,", "non-empty"), ("<b>,<b>", "must differ"), ("a,b,c", "expects START,END")],
)
def test_markers_option_is_validated(value: str, words: str) -> None:
    """A --markers value must be two different, non-empty markers; the error names the flag."""
    with pytest.raises(ValueError, match=words) as caught:
        parse_markers_option(value, "--markers")
    assert str(caught.value).startswith("--markers")
    assert parse_markers_option("<think>,</think>", "--markers") == ("<think>", "</think>")


def test_lag_holds_text_back_behind_the_ids() -> None:
    """vLLM with stop strings: the ids arrive on time, the text k characters late, the rest at the end."""
    deltas = [("ab", [1]), ("cd", [2]), ("ef", [3])]
    assert lag_text(deltas, 3) == [("", [1]), ("a", [2]), ("bcdef", [3])]
    assert lag_text(deltas, 0) == deltas


def test_model_status_follows_the_prompt() -> None:
    """FastDeploy's model_status: a prompt ending with the start marker is think_start, a closed block think_end."""
    from conformance import Context

    opened = Context("o", prompt_text="<|im_start|>assistant\n<think>\n")
    closed = Context("c", prompt_text="<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert model_status(opened, "<think>", "</think>") == "think_start"
    assert model_status(closed, "<think>", "</think>") == "think_end"
    assert model_status(Context("m", mode="content"), "<think>", "</think>") == "think_end"
    assert model_status(Context("d"), "<think>", "</think>") is None


def test_every_driver_is_listed_with_what_it_replays() -> None:
    """Each engine driver has a name and a one-line account of the calling pattern it replays."""
    assert list(DRIVERS) == ["ours", "vllm", "vllm-multi", "sglang", "lmdeploy", "fastdeploy", "trtllm"]
    for name, driver in DRIVERS.items():
        assert driver.name == name and len(driver.summary) > 30
