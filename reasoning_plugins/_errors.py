"""Exceptions raised by the plugin host.

    ReasoningPluginsError
     ├── UnknownPluginError (also LookupError)   no parser/reasoner/tool parser of that name
     ├── DuplicatePluginError                     two providers registered the same name or alias
     ├── PluginLoadError                          a plugin module or lazy target failed to import
     └── MissingMarkerError (also ValueError)     a tokenizer lacks a marker a reasoner needs
"""

from __future__ import annotations

__all__ = [
    "DuplicatePluginError",
    "MissingMarkerError",
    "PluginLoadError",
    "ReasoningPluginsError",
    "UnknownPluginError",
]


class ReasoningPluginsError(Exception):
    """Base class of every error raised by reasoning_plugins."""


class UnknownPluginError(ReasoningPluginsError, LookupError):
    """No plugin of the requested kind is registered under that name."""

    def __init__(self, kind: str, name: str, installed: list[str], close: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.installed = installed
        self.close_matches = close
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        listing = ", ".join(installed) if installed else "(none)"
        super().__init__(
            f"unknown {kind} {name!r}.{hint} Installed {kind}s: {listing}. "
            f"Run `reasoning-plugins list` to see every plugin and its status."
        )

    def __str__(self) -> str:  # LookupError would repr() a single argument
        return self.args[0]


class DuplicatePluginError(ReasoningPluginsError):
    """Two providers registered the same (normalised) name or alias."""


class PluginLoadError(ReasoningPluginsError):
    """A plugin failed to import or to register."""


class MissingMarkerError(ReasoningPluginsError, ValueError):
    """The tokenizer has no single token for a marker that token-level code needs."""
