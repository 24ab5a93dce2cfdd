"""The functions most users need: look up a parser, reasoner or tool parser by name."""

from __future__ import annotations

from typing import Any

from ._host import PARSER, REASONER, TOOL_PARSER, PluginInfo, current_host


def get_parser(name: str, tokenizer: Any = None) -> Any:
    """A fresh parser instance for one request (``--reasoning-parser NAME``)."""
    cls = current_host().resolve(PARSER, name)
    return cls(tokenizer)


def get_reasoner(name: str, tokenizer: Any) -> Any:
    """The guided-decoding reasoner registered under ``name``, built for ``tokenizer``."""
    cls = current_host().resolve(REASONER, name)
    from_tokenizer = getattr(cls, "from_tokenizer", None)
    return from_tokenizer(tokenizer) if from_tokenizer is not None else cls(tokenizer)


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
