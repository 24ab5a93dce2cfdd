"""The plugin host: finds plugins through entry points, records who provides each name."""

from __future__ import annotations

import contextvars
import difflib
import importlib
import importlib.metadata as metadata
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from ._errors import DuplicatePluginError, PluginLoadError, UnknownPluginError
from ._names import normalize

__all__ = ["PluginHost", "PluginInfo", "Provider", "current_host", "reload_plugins"]

PARSER = "reasoning parser"
REASONER = "reasoner"
TOOL_PARSER = "tool parser"
KINDS = (PARSER, REASONER, TOOL_PARSER)
_HOOKS = {
    PARSER: "register_reasoning_parsers",
    REASONER: "register_reasoners",
    TOOL_PARSER: "register_tool_parsers",
}

ENV_DISABLE = "REASONING_PLUGINS_DISABLE"
ENV_ALLOW = "REASONING_PLUGINS_ALLOW"
ENV_DENY = "REASONING_PLUGINS_DENY"
ENV_STRICT = "REASONING_PLUGINS_STRICT"


@dataclass(frozen=True, slots=True)
class Provider:
    """Who registered a name: the plugin (entry-point name or module) and its distribution."""

    plugin: str
    distribution: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        if self.distribution:
            return f"{self.distribution} {self.version or '?'} (plugin {self.plugin!r})"
        return f"module {self.plugin!r}"


def _own_version() -> str:
    try:
        return metadata.version("reasoning-plugins")
    except metadata.PackageNotFoundError:
        return "0+unknown"


BUILTIN = Provider("builtin", "reasoning-plugins", _own_version())

# Set while an entry-point module is imported, so seed decorators that run at import time
# know which distribution they belong to.
_loading: contextvars.ContextVar[Provider | None] = contextvars.ContextVar("reasoning_plugins_loading", default=None)


@dataclass(slots=True)
class _Entry:
    kind: str
    name: str
    target: Any
    aliases: tuple[str, ...]
    provider: Provider
    conflicts: list[Provider] = field(default_factory=list)
    resolved: Any = None
    error: str | None = None

    def resolve(self) -> Any:
        if self.conflicts:
            providers = " and ".join(str(p) for p in [self.provider, *self.conflicts])
            raise DuplicatePluginError(
                f"{self.kind} {self.name!r} is registered by both {providers}. Uninstall one, or "
                f"exclude one with {ENV_DENY}=<plugin or distribution name>."
            )
        if self.resolved is not None:
            return self.resolved
        if self.error is not None:
            raise PluginLoadError(self.error)
        if not isinstance(self.target, str):
            self.resolved = self.target
            return self.resolved
        module_name, _, attr = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split(".") if attr else ():
                obj = getattr(obj, part)
        except Exception as exc:
            self.error = (
                f"{self.kind} {self.name!r} from {self.provider} failed to load "
                f"{self.target!r}: {type(exc).__name__}: {exc}"
            )
            raise PluginLoadError(self.error) from exc
        self.resolved = obj
        return obj


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One registered name, for listings."""

    kind: str
    name: str
    aliases: tuple[str, ...]
    plugin: str
    distribution: str | None
    version: str | None
    target: str
    status: str  # "ok", "failed" or "duplicate"
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "aliases": list(self.aliases),
            "plugin": self.plugin,
            "distribution": self.distribution,
            "version": self.version,
            "target": self.target,
            "status": self.status,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class LoadFailure:
    """A plugin that could not be loaded; the others keep working."""

    plugin: str
    distribution: str | None
    version: str | None
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "distribution": self.distribution, "version": self.version, "error": self.error}


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    return {normalize(part) for part in raw.split(",") if part.strip()}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


class PluginHost:
    """Registry of parsers, reasoners and tool parsers from the built-ins and installed plugins.

    ``load_plugins=False`` loads no third-party plugins (also ``REASONING_PLUGINS_DISABLE=1``);
    ``allow``/``deny`` select plugins by entry-point or distribution name
    (``REASONING_PLUGINS_ALLOW`` / ``REASONING_PLUGINS_DENY``, comma-separated); ``strict``
    re-raises the first plugin error instead of reporting it (``REASONING_PLUGINS_STRICT=1``).
    """

    def __init__(
        self,
        *,
        load_plugins: bool | None = None,
        allow: Iterable[str] | None = None,
        deny: Iterable[str] | None = None,
        strict: bool | None = None,
    ) -> None:
        self.load_plugins = (not _env_flag(ENV_DISABLE)) if load_plugins is None else load_plugins
        self.allow = {normalize(a) for a in allow} if allow is not None else _env_list(ENV_ALLOW)
        self.deny = {normalize(d) for d in deny} if deny is not None else (_env_list(ENV_DENY) or set())
        self.strict = _env_flag(ENV_STRICT) if strict is None else strict
        self.failures: list[LoadFailure] = []
        self._entries: dict[str, dict[str, _Entry]] = {kind: {} for kind in KINDS}
        self._aliases: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        self._manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._manager.add_hookspecs(hookspecs)
        self._providers: dict[str, Provider] = {}
        self._build()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        from . import _builtins

        self._add_plugin(_builtins, "builtin", BUILTIN)
        if self.load_plugins:
            for ep in sorted(metadata.entry_points(group=hookspecs.PROJECT_NAME), key=lambda e: e.name):
                self._load_entry_point(ep)
        from ._seed import seed_registrations

        for kind, names, target, provider in seed_registrations():
            if provider is not BUILTIN and not self._selected(provider):
                continue
            self._register_seed(kind, names, target, provider)

    def _selected(self, provider: Provider) -> bool:
        keys = {normalize(provider.plugin)}
        if provider.distribution:
            keys.add(normalize(provider.distribution))
        if keys & self.deny:
            return False
        if provider.distribution is None and provider.plugin != "builtin":
            return True  # registered at runtime by the user's own code, not by a plugin
        return self.allow is None or bool(keys & self.allow)

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        dist = getattr(ep, "dist", None)
        provider = Provider(ep.name, dist.name if dist else None, dist.version if dist else None)
        if not self.load_plugins or not self._selected(provider):
            return
        token = _loading.set(provider)
        try:
            module = ep.load()
        except Exception as exc:
            self._fail(provider, f"failed to import {ep.value!r}: {type(exc).__name__}: {exc}", exc)
            return
        finally:
            _loading.reset(token)
        self._add_plugin(module, ep.name, provider)

    def _add_plugin(self, module: Any, name: str, provider: Provider) -> None:
        if self._manager.is_registered(module):
            return
        try:
            self._manager.register(module, name=name)
        except Exception as exc:
            self._fail(provider, f"invalid hook implementation: {type(exc).__name__}: {exc}", exc)
            return
        self._providers[name] = provider
        for kind, hook_name in _HOOKS.items():
            for impl in getattr(self._manager.hook, hook_name).get_hookimpls():
                if impl.plugin_name != name:
                    continue

                def register(reg_name: str, target: Any, *, aliases: Iterable[str] = (), _kind: str = kind) -> None:
                    self.register(_kind, reg_name, target, aliases=aliases, provider=provider)

                try:
                    impl.function(*[register for _ in impl.argnames])
                except Exception as exc:
                    self._fail(provider, f"{hook_name} raised {type(exc).__name__}: {exc}", exc)

    def _register_seed(self, kind: str, names: list[str], target: Any, provider: Provider) -> None:
        try:
            self.register(kind, names[0], target, aliases=names[1:], provider=provider)
        except Exception as exc:
            self._fail(provider, f"{type(exc).__name__}: {exc}", exc)

    def _fail(self, provider: Provider, message: str, exc: Exception) -> None:
        if self.strict:
            if isinstance(exc, PluginLoadError | DuplicatePluginError):
                raise exc
            raise PluginLoadError(f"plugin {provider}: {message}") from exc
        self.failures.append(LoadFailure(provider.plugin, provider.distribution, provider.version, message))

    # -- registering ------------------------------------------------------------------------

    def register(
        self, kind: str, name: str, target: Any, *, aliases: Iterable[str] = (), provider: Provider = BUILTIN
    ) -> None:
        """Register ``target`` under ``name`` (and ``aliases``) for ``kind``."""
        if kind not in KINDS:
            raise ValueError(f"unknown plugin kind {kind!r}; expected one of {', '.join(KINDS)}")
        if isinstance(aliases, str):
            aliases = [aliases]
        if not (isinstance(target, str) and ":" in target) and not callable(target):
            raise TypeError(
                f"cannot register {kind} {name!r}: the target must be a class or a 'module:Class' string, "
                f"got {target!r}"
            )
        key = normalize(name)
        alias_keys = tuple(dict.fromkeys(normalize(a) for a in aliases if normalize(a) != key))
        entries, alias_map = self._entries[kind], self._aliases[kind]
        for candidate in (key, *alias_keys):
            owner = entries.get(candidate) or entries.get(alias_map.get(candidate, ""))
            if owner is None:
                continue
            if owner.provider == provider and owner.target is target:
                return  # the same registration seen twice (a module imported again)
            owner.conflicts.append(provider)
            if self.strict:
                owner.resolve()  # raises DuplicatePluginError naming both providers
            return
        entries[key] = _Entry(kind, key, target, alias_keys, provider)
        for alias in alias_keys:
            alias_map[alias] = key

    # -- looking up -------------------------------------------------------------------------

    def _entry(self, kind: str, name: str) -> _Entry:
        key = normalize(name)
        entries = self._entries[kind]
        entry = entries.get(key) or entries.get(self._aliases[kind].get(key, ""))
        if entry is None:
            names = self.names(kind)
            every = names + list(self._aliases[kind])
            close = difflib.get_close_matches(key, every, n=3, cutoff=0.6)
            raise UnknownPluginError(kind, name, names, close)
        return entry

    def resolve(self, kind: str, name: str) -> Any:
        """The class (or factory) registered under ``name``, imported if lazy."""
        return self._entry(kind, name).resolve()

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[kind])

    def infos(self, kind: str) -> list[PluginInfo]:
        """Every name of ``kind`` with its provider and status (lazy targets are imported)."""
        found = []
        for key in self.names(kind):
            entry = self._entries[kind][key]
            status, error = "ok", None
            try:
                entry.resolve()
            except DuplicatePluginError as exc:
                status, error = "duplicate", str(exc)
            except PluginLoadError as exc:
                status, error = "failed", str(exc)
            target = entry.target
            if not isinstance(target, str):
                target = f"{target.__module__}:{target.__qualname__}"
            found.append(
                PluginInfo(kind, key, entry.aliases, entry.provider.plugin, entry.provider.distribution,
                           entry.provider.version, target, status, error)
            )
        return found


_host: PluginHost | None = None
_host_lock = threading.RLock()


def current_host() -> PluginHost:
    """The process-wide host, built on first use."""
    global _host
    host = _host
    if host is None:
        with _host_lock:
            if _host is None:
                _host = PluginHost()
            host = _host
    return host


def reload_plugins(**options: Any) -> PluginHost:
    """Rebuild the process-wide host (after installing plugins or changing the environment)."""
    global _host
    with _host_lock:
        _host = PluginHost(**options)
        return _host


def peek_host() -> PluginHost | None:
    return _host
