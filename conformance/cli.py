"""``reasoning-plugins check``: certify installed parsers and reasoners against the contract.

    reasoning-plugins check deepseek-r1 my-parser
    reasoning-plugins check --all --json > conformance.json
    reasoning-plugins check vllm:deepseek_r1 sglang:qwen3     # an engine's own parser, as it calls it
    reasoning-plugins check my_pkg.parsers:ExampleParser      # a class by its module path

Exit status: 0 when nothing failed, 1 when a check failed (or a plugin failed to load),
2 for a usage error (unknown name, check or engine, unusable --markers, an engine that is not
installed or has no such parser, a module path that does not import).
"""

from __future__ import annotations

import argparse
import json
import sys

from reasoning_plugins import UnknownPluginError, current_host
from reasoning_plugins._host import PARSER, REASONER

from ._drivers import DRIVERS
from ._engine_parsers import ENGINES, TargetError
from ._markers import parse_markers_option
from ._registry import CHECKS
from ._render import Progress, render_table
from ._results import FAIL, CheckResult, Report
from ._runner import check_names, run_checks
from ._subject import DEFAULT_EXAMPLES, Settings, Subject
from .tokenizers import TOKENIZER_NAMES

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``check`` options to ``parser``."""
    parser.add_argument(
        "names", nargs="*", metavar="NAME",
        help="parser or reasoner names to check; ENGINE:NAME for an engine's own parser "
        f"({', '.join(ENGINES)}: vllm:deepseek_r1), module.path:Class or file.py:Class for a class by its path",
    )
    parser.add_argument("--all", action="store_true", help="check every installed parser and reasoner")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    parser.add_argument(
        "--checks", metavar="NAMES", help="comma-separated checks to run (default: all; see --list-checks)"
    )
    parser.add_argument("--list-checks", action="store_true", help="list the checks and what each one means")
    parser.add_argument(
        "--tokenizer",
        metavar="NAME|PATH",
        help=f"tokenizer for token-level checks: {', '.join(TOKENIZER_NAMES)}, "
        "'qwen+MARKER MARKER ...' (qwen plus those added tokens) or a local tokenizer directory "
        "(default: the model family's, else qwen)",
    )
    parser.add_argument(
        "--examples", type=int, default=DEFAULT_EXAMPLES, metavar="N",
        help=f"hypothesis examples per property (default {DEFAULT_EXAMPLES})",
    )
    parser.add_argument(
        "--seed", type=int, default=None, metavar="N",
        help="explore other random examples with this seed (default: derandomized, the same every run)",
    )
    parser.add_argument(
        "--engine", action="append", default=[], metavar="NAMES",
        help=f"replay only these engines' calling patterns (repeatable or comma-separated): {', '.join(DRIVERS)} "
        "(default: all; a run with fewer is not a certification)",
    )
    parser.add_argument(
        "--markers", metavar="START,END",
        help="the parser's start and end markers, for a parser that does not declare them "
        "(conformance_markers, format, start_token/end_token attributes)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list skip reasons and measured figures")


def _list_checks() -> int:
    for name in check_names():
        chk = CHECKS[name]
        needs = [c for c in chk.requires] + [n for n in chk.needs if n != "parser"]
        notes = [f"needs: {', '.join(needs)}"] if needs else []
        if chk.driven:
            notes.append(f"under engines: {', '.join(chk.engines) if chk.engines else 'all'}")
        if chk.core:
            notes.append("core")
        suffix = f"  ({'; '.join(notes)})" if notes else ""
        print(f"{name}{suffix}\n    {chk.summary}")
    print("\nEngine drivers (--engine):")
    for driver in DRIVERS.values():
        print(f"{driver.name}\n    {driver.summary}")
    return 0


def _usage(message: str) -> int:
    print(f"reasoning-plugins check: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run the checks ``args`` select; print a table or JSON; return the exit status."""
    if args.list_checks:
        return _list_checks()
    if not args.names and not args.all:
        return _usage("name at least one parser or reasoner, or pass --all (reasoning-plugins list shows them)")
    checks = [c.strip() for c in args.checks.split(",") if c.strip()] if args.checks else None
    if checks:
        unknown = [c for c in checks if c not in CHECKS]
        if unknown:
            return _usage(f"unknown check(s): {', '.join(unknown)}. Available: {', '.join(check_names())}")
    engines = [e.strip() for value in args.engine for e in value.split(",") if e.strip()] or None
    if engines:
        unknown = [e for e in engines if e not in DRIVERS]
        if unknown:
            return _usage(f"--engine: unknown engine(s) {', '.join(unknown)}. Available: {', '.join(DRIVERS)}")
    markers = None
    if args.markers is not None:
        try:
            markers = parse_markers_option(args.markers, "--markers")
        except ValueError as exc:
            return _usage(str(exc))
    try:
        settings = Settings(
            examples=args.examples, seed=args.seed, tokenizer=args.tokenizer, markers=markers,
            engines=tuple(dict.fromkeys(engines)) if engines else None,
        )
    except ValueError as exc:
        return _usage(str(exc))
    host = current_host()
    names = list(args.names)
    if args.all:
        names += [n for n in sorted(set(host.names(PARSER)) | set(host.names(REASONER))) if n not in names]
    subjects: list[Subject] = []
    broken: list[CheckResult] = []
    for name in names:
        try:
            subjects.append(Subject.from_name(name, settings))
        except (UnknownPluginError, TargetError) as exc:
            return _usage(str(exc))
        except Exception as exc:  # a duplicate or a plugin that fails to import
            broken.append(CheckResult(name, "load", FAIL, f"{type(exc).__name__}: {' '.join(str(exc).split())}"))
    progress = None if args.quiet else Progress(sys.stderr, len(checks or check_names()))
    report = run_checks(subjects, checks=checks, settings=settings, progress=progress)
    if progress is not None:
        progress.close()
    _add_load_problems(report, broken)
    if args.json:
        payload = report.to_dict()
        payload["plugin_load_failures"] = [f.to_dict() for f in host.failures]
        print(json.dumps(payload, indent=2))
    else:
        print(render_table(report, verbose=args.verbose))
        for failure in host.failures:
            print(f"plugin {failure.plugin!r} failed to load: {failure.error}", file=sys.stderr)
    return 0 if report.ok and not host.failures else 1


def _add_load_problems(report: Report, broken: list[CheckResult]) -> None:
    """Names that could not be loaded (a duplicate, an import error) appear as a failed 'load' row."""
    if broken:
        if "load" not in report.checks:
            report.checks.insert(0, "load")
        for result in broken:
            report.subjects.append(result.subject)
            report.results.append(result)
