"""Your own behaviour tests; the conformance suite is added by pyproject.toml's addopts."""

from __future__ import annotations

from reasoning_plugins import get_parser


def test_splits_reasoning_from_the_answer():
    """<reason>R</reason>A gives reasoning R and content A."""
    assert get_parser("my-reasoner").parse("<reason>R</reason>A") == ("R", "A")


def test_no_reasoning_is_all_content():
    """An answer without <reason> is content."""
    assert get_parser("my-reasoner").parse("Just the answer.") == (None, "Just the answer.")
