"""A base class for a plugin's own test suite: every conformance check, plus your own cases.

    # tests/test_my_parser.py
    from conformance.testing import ParserConformance

    class TestMyParser(ParserConformance):
        parser = "my-parser"            # a registered name, or the parser class itself
        tokenizer = "qwen"              # optional: qwen, ernie, deepseek, tiny, gemma4 or a local path

        def test_answer_after_tool_call(self):
            self.assert_split("R</think>C", reasoning="R", content="C")

pytest then runs ``test_conformance[<check>]`` for every check (skips show the capability
behind them) and your own tests. ``assert_split`` checks parse() and several streamed
chunkings (per character, per token, in random groups) against the expected split.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

import pytest

from ._drive import Split, cut, per_char, per_token, regroup, run_parse, run_stream
from ._registry import CHECKS
from ._results import FAIL, SKIP
from ._runner import check_names, run_check
from ._subject import DEFAULT_EXAMPLES, Context, Settings, Subject

__all__ = ["ParserConformance", "assert_check", "subject_for"]


def subject_for(
    parser: Any,
    *,
    reasoner: Any = None,
    tokenizer: str | None = None,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    name: str | None = None,
    markers: tuple[str | None, str] | None = None,
    engines: tuple[str, ...] | None = None,
) -> Subject:
    """A :class:`Subject` for a registered name or for parser (and reasoner) classes."""
    settings = Settings(examples=examples, seed=seed, tokenizer=tokenizer, markers=markers, engines=engines)
    if isinstance(parser, str):
        return Subject.from_name(parser, settings)
    label = name or getattr(parser, "__name__", None) or getattr(reasoner, "__name__", "plugin")
    return Subject.from_classes(label, parser, reasoner, settings)


def assert_check(check_name: str, subject: Subject) -> None:
    """Run one check under pytest: a failure fails the test, a skip skips it with its reason."""
    if check_name not in CHECKS:
        raise ValueError(f"unknown check {check_name!r}; available: {', '.join(check_names())}")
    result = run_check(CHECKS[check_name], subject)
    if result.status == SKIP:
        pytest.skip(f"{check_name}: {result.reason}")
    if result.status == FAIL:
        pytest.fail(f"{check_name} [{subject.name}]: {result.reason}", pytrace=False)


class ParserConformance:
    """Subclass it (name starting with ``Test``) and set ``parser``; see the module docstring."""

    parser: ClassVar[Any] = None
    reasoner: ClassVar[Any] = None
    tokenizer: ClassVar[str | None] = None
    examples: ClassVar[int] = DEFAULT_EXAMPLES
    seed: ClassVar[int | None] = None
    markers: ClassVar[tuple[str | None, str] | None] = None  # (start, end) when the parser does not declare them
    engines: ClassVar[tuple[str, ...] | None] = None  # engine drivers to replay (default: all)
    skip_checks: ClassVar[tuple[str, ...]] = ()

    _subjects: ClassVar[dict[type, Subject]] = {}

    @classmethod
    def conformance_subject(cls) -> Subject:
        """The subject under test, built once per test class."""
        subject = ParserConformance._subjects.get(cls)
        if subject is None:
            if cls.parser is None and cls.reasoner is None:
                raise TypeError(f"{cls.__name__} must set `parser` (a registered name or a parser class)")
            subject = subject_for(
                cls.parser, reasoner=cls.reasoner, tokenizer=cls.tokenizer, examples=cls.examples, seed=cls.seed,
                markers=cls.markers, engines=cls.engines,
            )
            ParserConformance._subjects[cls] = subject
        return subject

    @pytest.mark.parametrize("check_name", check_names())
    def test_conformance(self, check_name: str) -> None:
        """The plugin passes this conformance check (or it does not apply)."""
        if check_name in self.skip_checks:
            pytest.skip(f"{check_name}: listed in {type(self).__name__}.skip_checks")
        assert_check(check_name, self.conformance_subject())

    # -- helpers for your own cases -------------------------------------------------------

    def parse(self, text: str, **context: Any) -> Split:
        """parse() of ``text`` by a fresh instance; ``context``: request, prompt_token_ids, prompt_text, mode."""
        return run_parse(self.conformance_subject().new_parser(), Context("test", **_context(context)), text)

    def stream(self, text: str, deltas: list[str] | None = None, **context: Any) -> Split:
        """Stream ``text`` (per character, or the given deltas) through a fresh instance, with finish()."""
        chunks = [(d, None) for d in deltas] if deltas is not None else per_char(text)
        return run_stream(self.conformance_subject().new_parser(), Context("test", **_context(context)), chunks).split

    def assert_split(self, text: str, reasoning: str | None, content: str | None, **context: Any) -> None:
        """parse() and streams (per character, per token, random cuts) all give (reasoning, content)."""
        subject = self.conformance_subject()
        ctx = Context("test", **_context(context))
        want = Split(reasoning, content)
        got = run_parse(subject.new_parser(), ctx, text)
        assert got == want, f"parse({text!r}) gave {got}, expected {want}"
        runs = {"per character": per_char(text)}
        rng = random.Random(len(text))
        for attempt in range(3):
            runs[f"random cuts #{attempt}"] = cut(text, [rng.randint(1, max(1, len(text))) for _ in range(6)])
        if subject.tokenizer is not None:
            decoded, deltas = per_token(subject.tokenizer, text)
            if decoded == text:
                runs["per token"] = deltas
                runs["3-token deltas"] = regroup(deltas, [3])
        for how, chunks in runs.items():
            streamed = run_stream(subject.new_parser(), ctx, chunks).split
            assert streamed == want, f"streaming {text!r} {how} gave {streamed}, expected {want}"


def _context(values: dict[str, Any]) -> dict[str, Any]:
    allowed = {"request", "prompt_token_ids", "prompt_text", "mode"}
    unknown = set(values) - allowed
    if unknown:
        raise TypeError(f"unknown context argument(s) {sorted(unknown)}; expected some of {sorted(allowed)}")
    if values.get("prompt_token_ids") is not None:
        values = {**values, "prompt_token_ids": tuple(values["prompt_token_ids"])}
    return values
