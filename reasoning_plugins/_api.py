"""The functions most users need: look up a parser, reasoner or tool parser by name."""

from __future__ import annotations

import weakref
from typing import Any

from ._host import PARSER, REASONER, TOOL_PARSER, PluginInfo, current_host


def get_parser(name: str, tokenizer: Any = None) -> Any:
    """A fresh parser instance for one request (``--reasoning-parser NAME``).

    ``"auto"`` chooses from ``tokenizer``'s own files; the instance's ``auto_choice`` says which
    parser and why (see :func:`reasoning_plugins.choose_parser`).
    """
    if _is_auto(name):
        choice = _choose(tokenizer)
        parser = choice.parser_class(tokenizer)
        parser.auto_choice = choice
        return parser
    cls = current_host().resolve(PARSER, name)
    return cls(tokenizer)


def get_reasoner(name: str, tokenizer: Any) -> Any:
    """The guided-decoding reasoner registered under ``name``, built for ``tokenizer``.

    ``"auto"`` uses the reasoner of the parser ``get_parser("auto", tokenizer)`` chooses.
    """
    if _is_auto(name):
        choice = _choose(tokenizer)
        if choice.name is None:
            from ._reasoner import DeclarativeReasoner

            cls = type("ResponseTemplateReasoner", (DeclarativeReasoner,), {"format": choice.parser_class.format})
            return cls.from_tokenizer(tokenizer)
        name = choice.name
    cls = current_host().resolve(REASONER, name)
    from_tokenizer = getattr(cls, "from_tokenizer", None)
    return from_tokenizer(tokenizer) if from_tokenizer is not None else cls(tokenizer)


def _is_auto(name: str) -> bool:
    return isinstance(name, str) and name.strip().lower() == "auto"


# A server makes a parser per request: the choice is made once per tokenizer.
_CHOICES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _choose(tokenizer: Any) -> Any:
    from ._auto import AutoParserError, choose_parser

    if tokenizer is None:
        raise AutoParserError("reasoning parser 'auto' needs the model's tokenizer: get_parser('auto', tokenizer)")
    try:
        return _CHOICES[tokenizer]
    except (KeyError, TypeError):  # not chosen yet, or a tokenizer that cannot be weakly referenced
        pass
    choice = choose_parser(tokenizer)
    try:
        _CHOICES[tokenizer] = choice
    except TypeError:
        pass
    return choice


def get_tool_parser(name: str, tokenizer: Any = None) -> Any:
    """A fresh tool-call parser instance for one request (``--tool-call-parser NAME``)."""
    cls = current_host().resolve(TOOL_PARSER, name)
    return cls(tokenizer)


def list_parsers() -> list[PluginInfo]:
    """Every registered reasoning parser with its provider and load status."""
    return current_host().infos(PARSER)


def list_reasoners() -> list[PluginInfo]:
    """Every registered reasoner with its provider and load status."""
    return current_host().infos(REASONER)


def list_tool_parsers() -> list[PluginInfo]:
    """Every registered tool-call parser with its provider and load status."""
    return current_host().infos(TOOL_PARSER)
