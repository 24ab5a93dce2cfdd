"""Our plugins inside other engines' registries: one module per engine.

No engine is imported when this package is imported; each engine module imports its engine
only inside the functions that install into it. Shared here: which of our parsers to offer,
and the error for an engine version an adapter does not know.
"""

from __future__ import annotations

import importlib.metadata as metadata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import ReasoningPluginsError
from .._host import PARSER, current_host

__all__ = [
    "OfferedParser",
    "UnsupportedEngineError",
    "engine_version",
    "missing_attributes",
    "offered_parsers",
    "replace_entries",
]

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


def missing_attributes(module: Any, required: Mapping[str, Iterable[str]]) -> list[str]:
    """What of ``required`` (object name -> attribute names) ``module`` lacks, as dotted names."""
    missing: list[str] = []
    for name, attributes in required.items():
        obj = getattr(module, name, None)
        if obj is None:
            missing.append(name)
            continue
        missing += [f"{name}.{attr}" for attr in attributes if not hasattr(obj, attr)]
    return missing


def replace_entries(
    registry: dict[str, Any],
    installed: dict[str, type],
    originals: dict[str, Any],
    wanted: dict[str, type],
    register: Callable[[str, type], None],
    held_class: Callable[[Any], Any] = lambda entry: entry,
) -> None:
    """Make ``wanted`` (key -> our class) what an engine's ``registry`` holds of ours.

    ``installed`` is what a previous call put there and ``originals`` the engine's entries it
    replaced (both updated here). Nothing changes when ``wanted`` is already in place; otherwise
    the previous entries are taken out, the engine's restored, and ``wanted`` registered through
    the engine's own ``register(key, cls)``. ``held_class`` reads the class out of a registry
    entry (for registries that store more than the class).
    """
    if wanted == installed and all(held_class(registry.get(k)) is v for k, v in installed.items()):
        return
    for key, cls in installed.items():
        if key in registry and held_class(registry[key]) is cls:
            del registry[key]
    registry.update(originals)
    installed.clear()
    originals.clear()
    for key, cls in wanted.items():
        if key in registry:
            originals[key] = registry[key]
        register(key, cls)
    installed.update(wanted)
