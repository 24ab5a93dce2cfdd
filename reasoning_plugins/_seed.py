"""``ReasoningParserManager``: the registration decorator used in the engines' documentation.

    @ReasoningParserManager.register_module(["example"])
    class ExampleParser(ReasoningParser): ...

works as written there. Names registered this way join the plugin host with their provenance:
the distribution whose entry-point module was being imported, or the defining module.
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
import sys
import threading
from collections.abc import Callable
from typing import Any

from . import _host
from ._names import normalize

__all__ = ["ReasoningParserManager", "seed_registrations"]

_lock = threading.Lock()
_registrations: list[tuple[str, list[str], Any, _host.Provider]] = []


def seed_registrations() -> list[tuple[str, list[str], Any, _host.Provider]]:
    with _lock:
        return list(_registrations)


@functools.lru_cache(maxsize=1)
def _package_distributions() -> dict[str, list[str]]:
    try:
        return dict(metadata.packages_distributions())
    except Exception:
        return {}


def _provider_for(cls: Any) -> _host.Provider:
    loading = _host._loading.get()
    if loading is not None:
        return loading
    module = getattr(cls, "__module__", "__main__") or "__main__"
    top = module.split(".")[0]
    dists = _package_distributions().get(top) if top in sys.modules else None
    if dists:
        try:
            return _host.Provider(module, dists[0], metadata.version(dists[0]))
        except metadata.PackageNotFoundError:
            pass
    return _host.Provider(module)


def _register(kind: str, names: list[str], cls: Any) -> None:
    provider = _provider_for(cls)
    with _lock:
        _registrations.append((kind, names, cls, provider))
    host = _host.peek_host()
    if host is not None and (provider.distribution is None or host._selected(provider)):
        host._register_seed(kind, names, cls, provider)


class ReasoningParserManager:
    """Seed-compatible registry facade over the plugin host."""

    @classmethod
    def register_module(
        cls, name: str | list[str] | None = None, force: bool = True, module: Any = None
    ) -> Callable[[Any], Any] | Any:
        """Register a parser class under ``name`` (a string or a list; default: the class name).

        Usable as ``@register_module(["a", "b"])`` or ``register_module("a", module=Cls)``.
        """
        if name is not None and not isinstance(name, str | list | tuple):
            raise TypeError(f"register_module name must be a str or a list of str, got {type(name).__name__}")

        def decorate(parser_cls: Any) -> Any:
            names = [name] if isinstance(name, str) else list(name or [parser_cls.__name__])
            if not names:
                raise ValueError("register_module needs at least one name")
            _register(_host.PARSER, names, parser_cls)
            return parser_cls

        if module is not None:
            return decorate(module)
        return decorate

    @classmethod
    def get_reasoning_parser(cls, name: str) -> Any:
        """The parser class registered under ``name`` (raises UnknownPluginError)."""
        return _host.current_host().resolve(_host.PARSER, name)

    @classmethod
    def list_registered(cls) -> list[str]:
        return _host.current_host().names(_host.PARSER)

    @classmethod
    def contains(cls, name: str) -> bool:
        return normalize(name) in cls.list_registered()
