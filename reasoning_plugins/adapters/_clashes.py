"""Where each of our parser names goes in an engine's registry, and the one warning per clash.

A name the engine already ships (compared as our names are: case-insensitive, ``_`` and ``-``
equivalent) keeps the engine's parser, and ours is registered as ``ours:NAME``. A name listed in
``REASONING_PLUGINS_OVERRIDE`` (comma-separated; ``*`` for every clash) or passed as
``override`` replaces the engine's under the engine's own spelling as well.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass

from .._names import normalize
from . import ENV_OVERRIDE, OURS_PREFIX

__all__ = ["Placement", "engine_names", "override_set", "place", "report"]

_reported: set[tuple[str, str, str, bool]] = set()


@dataclass(frozen=True, slots=True)
class Placement:
    """The registry keys one of our names takes, and the engine's name it clashes with."""

    name: str
    keys: tuple[str, ...]
    clashes_with: str | None = None
    overridden: bool = False


def override_set(override: Iterable[str] | str | None) -> frozenset[str]:
    """The names to override: ``override``, or the environment variable when it is None."""
    if override is None:
        override = os.environ.get(ENV_OVERRIDE, "")
    if isinstance(override, str):
        override = override.split(",")
    return frozenset("*" if n.strip() == "*" else normalize(n) for n in override if n.strip())


def engine_names(names: Iterable[str]) -> dict[str, list[str]]:
    """The engine's own names, grouped by their normalised form."""
    grouped: dict[str, list[str]] = {}
    for name in names:
        if name.startswith(OURS_PREFIX):
            continue
        spellings = grouped.setdefault(normalize(name), [])
        if name not in spellings:
            spellings.append(name)
    return grouped


def place(name: str, theirs: dict[str, list[str]], override: frozenset[str]) -> Placement:
    """Where our ``name`` goes, given the engine's own names (see :func:`engine_names`)."""
    clashing = theirs.get(normalize(name))
    if not clashing:
        return Placement(name, (name,))
    if "*" in override or normalize(name) in override:
        keys = tuple(dict.fromkeys((OURS_PREFIX + name, name, *clashing)))
        return Placement(name, keys, clashing[0], True)
    return Placement(name, (OURS_PREFIX + name,), clashing[0], False)


def report(logger: logging.Logger, engine: str, placement: Placement, provider: str) -> None:
    """Log a clash once per process, naming both providers and how to choose."""
    if placement.clashes_with is None:
        return
    key = (engine, placement.name, provider, placement.overridden)
    if key in _reported:
        return
    _reported.add(key)
    name, theirs = placement.name, placement.clashes_with
    if placement.overridden:
        logger.warning(
            "reasoning parser %r: %s ships its own %r; %s replaces it (%s). %s's is back when "
            "the name is removed from %s.",
            name, engine, theirs, provider, ENV_OVERRIDE, engine, ENV_OVERRIDE,
        )
    else:
        logger.warning(
            "reasoning parser %r is provided by both %s (%r, kept) and %s (registered as %r). "
            "Use --reasoning-parser %s%s, or set %s=%s to use ours under %r.",
            name, engine, theirs, provider, OURS_PREFIX + name, OURS_PREFIX, name, ENV_OVERRIDE, name, name,
        )
