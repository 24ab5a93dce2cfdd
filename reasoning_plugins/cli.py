"""``reasoning-plugins``: list plugins, certify them (check), serve a model (serve), export a
parser's format as a transformers ``response_template`` (export)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from ._host import KINDS, current_host

# Subcommands that live with the code they drive; each module exposes add_arguments(parser)
# and run(args) -> int, and is imported only when its command runs.
_SUBCOMMANDS = {
    "check": ("conformance.cli", "certify parsers and reasoners against the conformance suite"),
    "serve": ("reasoning_plugins._cli_serve", "serve a model over an OpenAI-compatible HTTP API"),
}


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = "  ".join("{:<%d}" % w for w in widths)
    out = [line.format(*headers), line.format(*("-" * w for w in widths))]
    out += [line.format(*row) for row in rows]
    return "\n".join(out)


def plugin_listing() -> dict[str, list[dict[str, object]]]:
    """What ``list --json`` prints (and the server's ``GET /v1/parsers`` returns): every
    registered name with its kind, provider, version and status, and the plugins that failed."""
    host = current_host()
    return {
        "plugins": [info.to_dict() for kind in KINDS for info in host.infos(kind)],
        "failures": [failure.to_dict() for failure in host.failures],
    }


def _cmd_list(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(plugin_listing(), indent=2))
        return 0
    host = current_host()
    infos = [info for kind in KINDS for info in host.infos(kind)]
    rows = []
    for info in infos:
        status = info.status if info.status == "ok" else f"{info.status}: {info.error}"
        dist = f"{info.distribution} {info.version}" if info.distribution else f"({info.plugin})"
        rows.append([info.kind, info.name, ", ".join(info.aliases) or "-", dist, status])
    print(_table(rows, ["kind", "name", "aliases", "provided by", "status"]))
    for failure in host.failures:
        where = f"{failure.distribution} {failure.version}" if failure.distribution else failure.plugin
        print(f"\nplugin {failure.plugin!r} ({where}) failed to load: {failure.error}", file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from ._auto import response_template_from_format, unexported_features
    from ._errors import ReasoningPluginsError
    from ._format import ReasoningFormat
    from ._host import PARSER

    try:
        cls = current_host().resolve(PARSER, args.name)
    except ReasoningPluginsError as exc:
        print(f"reasoning-plugins export: {exc}", file=sys.stderr)
        return 2
    fmt = getattr(cls, "format", None)
    if not isinstance(fmt, ReasoningFormat):
        print(f"reasoning-plugins export: parser {args.name!r} is code, not a ReasoningFormat "
              "declaration, so it has no response_template to export", file=sys.stderr)
        return 2
    try:
        template = response_template_from_format(fmt, start_anchor=args.start_anchor)
    except ValueError as exc:
        print(f"reasoning-plugins export: parser {args.name!r}: {exc}", file=sys.stderr)
        return 2
    for lost in unexported_features(fmt):
        print(f"note: a response_template cannot express {lost}", file=sys.stderr)
    body = {"response_template": template} if args.wrap else template
    print(json.dumps(body, indent=2, ensure_ascii=False))
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(prog="reasoning-plugins", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    listing = sub.add_parser("list", help="show installed parsers, reasoners and tool parsers")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=_cmd_list)
    export = sub.add_parser(
        "export", help="print a parser's format as a response_template for tokenizer_config.json")
    export.add_argument("name", help="an installed parser, e.g. deepseek-r1")
    export.add_argument("--start-anchor", metavar="TEXT", default=None,
                        help="the text that opens the assistant's turn in the prompt, e.g. "
                             "'<|im_start|>assistant\\n' (default: a pattern that suits any chat template)")
    export.add_argument("--wrap", action="store_true",
                        help='print {"response_template": ...}, ready to merge into tokenizer_config.json')
    export.set_defaults(handler=_cmd_export)
    lazy = {}
    for name, (_module, help_text) in _SUBCOMMANDS.items():
        lazy[name] = sub.add_parser(name, help=help_text, add_help=False)
    return parser, lazy


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, lazy = build_parser()
    if argv and argv[0] in lazy:
        module_name, help_text = _SUBCOMMANDS[argv[0]]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            print(
                f"reasoning-plugins {argv[0]}: not available ({exc}). "
                f"Install the extras it needs: pip install 'reasoning-plugins[engine]'",
                file=sys.stderr,
            )
            return 2
        command = argparse.ArgumentParser(prog=f"reasoning-plugins {argv[0]}", description=help_text)
        module.add_arguments(command)
        return int(module.run(command.parse_args(argv[1:])) or 0)
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
