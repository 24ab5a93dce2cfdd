"""Our plugins inside other engines' registries: one module per engine.

No engine is imported when this package is imported; each engine module imports its engine
only inside the functions that install into it. Shared here: which of our parsers to offer,
and the error for an engine version an adapter does not know.
"""

from __future__ import annotations

import importlib.metadata as metadata
from dataclasses import dataclass

from .._errors import ReasoningPluginsError
from .._host import PARSER, current_host

__all__ = ["OfferedParser", "UnsupportedEngineError", "engine_version", "offered_parsers"]

# A user who wants our parser under a name the engine already ships asks for it with this prefix
# (``--reasoning-parser ours:qwen3``) or lists the names in this variable.
OURS_PREFIX = "ours:"
ENV_OVERRIDE = "REASONING_PLUGINS_OVERRIDE"


class UnsupportedEngineError(ReasoningPluginsError):
    """The installed engine's version has an interface this adapter does not know."""


@dataclass(frozen=True, slots=True)
class OfferedParser:
    """One of our parsers, as an adapter registers it: every name it answers to."""

    name: str
    aliases: tuple[str, ...]
    provider: str  # "distribution version" for messages

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def offered_parsers() -> list[OfferedParser]:
    """Every reasoning parser installed through our entry-point group that loads cleanly."""
    found = []
    for info in current_host().infos(PARSER):
        if info.status != "ok":
            continue
        provider = f"{info.distribution or info.plugin} {info.version or ''}".strip()
        found.append(OfferedParser(info.name, tuple(info.aliases), provider))
    return found


def engine_version(distribution: str) -> str | None:
    """The installed version of an engine's distribution, or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
