"""The engine's view of the plugin host: the reasoner that goes with a reasoning parser.

A parser name usually has a reasoner of the same name. A parser registered without one (a class
written to the seed interface, registered with ``ReasoningParserManager.register_module``) gets
a reasoner derived from its markers when they can be found (a ``format``, a
``conformance_markers`` declaration, or the ``start_token``/``end_token`` attributes engines'
parsers carry) and its end marker is a single token. Otherwise the engine runs without one:
reasoning is still split by the parser, but nothing can gate a grammar or enforce a budget.
"""

from __future__ import annotations

from typing import Any

# The bundled tiny model writes <think> ... </think> like DeepSeek-R1.
BUNDLED_REASONING_PARSER = "deepseek-r1"


def load_reasoner(name: str, tokenizer: Any) -> Any:
    """The guided-decoding reasoner registered under ``name`` (UnknownPluginError lists the names)."""
    from reasoning_plugins import get_reasoner

    return get_reasoner(name, tokenizer)


def reasoner_for_parser(name: str, tokenizer: Any) -> tuple[Any | None, str]:
    """(reasoner or None, how it was found or why there is none) for the reasoning parser ``name``.

    UnknownPluginError when ``name`` is neither a reasoner nor a parser.
    """
    from reasoning_plugins import current_host
    from reasoning_plugins._host import PARSER, REASONER

    host = current_host()
    auto = name.strip().lower() == "auto"
    if auto or name_registered(host, REASONER, name):
        return load_reasoner(name, tokenizer), f"reasoner '{name}'"
    parser_cls = host.resolve(PARSER, name)   # UnknownPluginError lists the installed names
    return derived_reasoner(name, parser_cls, tokenizer)


def name_registered(host: Any, kind: str, name: str) -> bool:
    """Whether ``name`` is registered for ``kind``, as a name or an alias."""
    from reasoning_plugins._names import normalize

    return normalize(name) in {normalize(n) for info in host.infos(kind) for n in (info.name, *info.aliases)}


def derived_reasoner(name: str, parser_cls: Any, tokenizer: Any) -> tuple[Any | None, str]:
    """A reasoner built from ``parser_cls``'s markers, or None and the reason."""
    from reasoning_plugins import DeclarativeReasoner, MissingMarkerError, ReasoningFormat
    from reasoning_plugins._markers import discover_markers

    owner = getattr(parser_cls, "__name__", name)
    fmt = getattr(parser_cls, "format", None)
    if isinstance(fmt, ReasoningFormat):
        where = f"{owner}.format"
    else:
        markers, where = discover_markers(parser_cls, None, lambda: parser_cls(tokenizer))
        if markers is None:
            return None, (f"none: the parser '{name}' registers no reasoner and its markers cannot be found "
                          f"({where}); grammars and reasoning budgets are refused")
        try:
            fmt = ReasoningFormat(start=markers.start, end=markers.end, implicit_ends=markers.implicit_ends)
        except ValueError as exc:
            return None, f"none: the markers of '{name}' ({where}) are not usable: {exc}"
    reasoner_cls = type(f"{owner}Reasoner", (DeclarativeReasoner,), {"format": fmt})
    try:
        reasoner = reasoner_cls.from_tokenizer(tokenizer)
    except MissingMarkerError:
        return None, (f"none: the end marker {fmt.end!r} of '{name}' ({where}) is not a single token of this "
                      "model; grammars and reasoning budgets are refused")
    start = "" if fmt.start is None else f"{fmt.start!r} ... "
    return reasoner, f"derived from the parser's markers {start}{fmt.end!r} ({where})"


def load_parser(name: str, tokenizer: Any) -> Any:
    """A fresh reasoning parser registered under ``name``."""
    from reasoning_plugins import get_parser

    return get_parser(name, tokenizer)
