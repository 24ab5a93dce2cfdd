"""The list of checks, what each needs, and when one does not apply."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._results import CheckSkipped
from ._subject import Subject

__all__ = ["CHECKS", "Check", "check", "not_applicable"]

PARSER = "parser"
REASONER = "reasoner"
MARKERS = "markers"
TOKENIZER = "tokenizer"
NEEDS = (PARSER, REASONER, MARKERS, TOKENIZER)


@dataclass(frozen=True, slots=True)
class Check:
    """A named contract. ``func(subject)`` returns measured figures (or None), raises
    :class:`CheckFailed` when the plugin breaks the contract, :class:`CheckSkipped` when it
    discovers the check does not apply."""

    name: str
    func: Callable[..., Any]
    requires: tuple[str, ...]  # capabilities the parser must declare
    excluded_by: tuple[str, ...]  # capabilities that make the check meaningless
    needs: tuple[str, ...]  # parts of the subject: parser, reasoner, markers, tokenizer
    driven: bool = False  # runs once per engine driver: func(subject, driver)
    core: bool = False  # a parser is certified only when this check ran (and passed)
    engines: tuple[str, ...] = ()  # the drivers it runs under when driven (empty: every driver)

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.func) or ""
        return doc.split("\n\n")[0].replace("\n", " ")

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.func) or ""


CHECKS: dict[str, Check] = {}


def check(
    *,
    requires: tuple[str, ...] = (),
    excluded_by: tuple[str, ...] = (),
    needs: tuple[str, ...] = (PARSER,),
    driven: bool = False,
    core: bool = False,
    engines: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a check function under its own name.

    ``driven``: the function takes ``(subject, driver)`` and runs once per selected engine driver;
    ``core``: a parser is only certified when this check ran; ``engines``: restrict a driven check
    to these drivers."""
    for need in needs:
        if need not in NEEDS:
            raise ValueError(f"unknown need {need!r}; expected one of {', '.join(NEEDS)}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if not inspect.getdoc(func):
            raise ValueError(f"check {func.__name__} needs a docstring saying what a user relies on")
        CHECKS[func.__name__] = Check(
            func.__name__, func, tuple(requires), tuple(excluded_by), tuple(needs), driven, core, tuple(engines)
        )
        return func

    return register


def not_applicable(chk: Check, subject: Subject) -> CheckSkipped | None:
    """Why ``chk`` does not apply to ``subject``, or None when it does."""
    if PARSER in chk.needs and subject.parser_cls is None:
        return CheckSkipped("parser", f"no reasoning parser is registered as {subject.name!r} (only a reasoner)")
    if REASONER in chk.needs and subject.reasoner_cls is None:
        return CheckSkipped("reasoner", f"no reasoner is registered as {subject.name!r}")
    for capability in chk.excluded_by:
        if subject.has(capability):
            return CheckSkipped(capability, f"the parser declares {capability!r}, so this does not apply")
    for capability in chk.requires:
        if not subject.has(capability):
            return CheckSkipped(capability, f"the parser does not declare the {capability!r} capability")
    if MARKERS in chk.needs and subject.markers is None:
        return CheckSkipped(
            "markers",
            "the parser's markers are unknown (see the 'markers' check): declare them with "
            "`conformance_markers = (start, end)` or --markers START,END",
        )
    if TOKENIZER in chk.needs and subject.tokenizer is None:
        return CheckSkipped("tokenizer", f"no tokenizer: {subject.tokenizer_error}")
    return None
