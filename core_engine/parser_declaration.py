"""The parsers a model directory names for itself, in ``reasoning_plugins.json``.

A model directory may carry a small file saying which reasoning parser and which tool-call parser
read its output, so that serving it needs no flags::

    {"reasoning_parser": "deepseek-r1", "tool_call_parser": "hermes"}

Either key may be left out or null. Flags given on the command line override the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PARSERS_FILE", "DeclaredParsers", "declared_parsers"]

PARSERS_FILE = "reasoning_plugins.json"
_KEYS = ("reasoning_parser", "tool_call_parser")


@dataclass(frozen=True, slots=True)
class DeclaredParsers:
    """What ``reasoning_plugins.json`` in a model directory names, and where it was read."""

    path: Path
    reasoning_parser: str | None = None
    tool_call_parser: str | None = None


def declared_parsers(model_dir: str | Path) -> DeclaredParsers | None:
    """The model directory's declaration, None when it has no ``reasoning_plugins.json``.

    ValueError names the file and what is wrong with it.
    """
    path = Path(model_dir) / PARSERS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); expected e.g. "
                         '{"reasoning_parser": "deepseek-r1", "tool_call_parser": "hermes"}') from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object with {' and/or '.join(_KEYS)}, got {type(data).__name__}")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; the file may name {' and '.join(_KEYS)}")
    for key in _KEYS:
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{path}: {key} must be a parser name (a non-empty string) or null, got {value!r}")
    return DeclaredParsers(path=path, reasoning_parser=data.get("reasoning_parser"),
                           tool_call_parser=data.get("tool_call_parser"))
