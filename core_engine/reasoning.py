"""The engine's view of the plugin host: a reasoner chosen by parser name."""

from __future__ import annotations

from typing import Any

# The bundled tiny model writes <think> ... </think> like DeepSeek-R1.
BUNDLED_REASONING_PARSER = "deepseek-r1"


def load_reasoner(name: str, tokenizer: Any) -> Any:
    """The guided-decoding reasoner registered under ``name`` (UnknownPluginError lists the names)."""
    from reasoning_plugins import get_reasoner

    return get_reasoner(name, tokenizer)


def load_parser(name: str, tokenizer: Any) -> Any:
    """A fresh reasoning parser registered under ``name``."""
    from reasoning_plugins import get_parser

    return get_parser(name, tokenizer)
