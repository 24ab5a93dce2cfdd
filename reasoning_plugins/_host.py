"""The plugin host: finds plugins through entry points, records who provides each name."""

from __future__ import annotations

import contextvars
import difflib
import importlib
import inspect
import importlib.metadata as metadata
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
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
_KIND_OF_HOOK = {hook: kind for kind, hook in _HOOKS.items()}

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
    """One ``register(name, target, aliases=...)`` call and its provider."""

    kind: str
    name: str
    target: Any
    aliases: tuple[str, ...]
    provider: Provider
    resolved: Any = None
    error: str | None = None

    def claim(self, name: str) -> str:
        """How this entry holds ``name``, for duplicate messages."""
        return str(self.provider) if name == self.name else f"{self.provider} (as an alias of {self.name!r})"

    def resolve(self) -> Any:
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
    ``allow``/``deny`` select plugins by entry-point name, distribution name or
    ``distribution:entry-point`` (``REASONING_PLUGINS_ALLOW`` / ``REASONING_PLUGINS_DENY``,
    comma-separated); ``strict`` re-raises the first plugin error instead of reporting it
    (``REASONING_PLUGINS_STRICT=1``).
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
        self._entries: dict[str, list[_Entry]] = {kind: [] for kind in KINDS}
        # Every name and alias -> the entry that claimed it first; a name claimed again is a duplicate.
        self._names: dict[str, dict[str, _Entry]] = {kind: {} for kind in KINDS}
        self._duplicates: dict[str, dict[str, list[_Entry]]] = {kind: {} for kind in KINDS}
        self._manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._manager.add_hookspecs(hookspecs)
        self._build()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        from . import _builtins

        self._add_plugin(_builtins, "builtin", BUILTIN)
        if self.load_plugins:
            entry_points = metadata.entry_points(group=hookspecs.PROJECT_NAME)
            for ep in sorted(entry_points, key=lambda e: (e.name, _distribution_name(e) or "")):
                self._load_entry_point(ep)
        from ._seed import seed_registrations

        for kind, names, target, provider in seed_registrations():
            if provider is not BUILTIN and not self._selected(provider):
                continue
            self._register_seed(kind, names, target, provider)

    def _selected(self, provider: Provider) -> bool:
        keys = {normalize(provider.plugin)}
        if provider.distribution:
            keys |= {normalize(provider.distribution), normalize(f"{provider.distribution}:{provider.plugin}")}
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
        # Entry-point names are only unique within a distribution ("plugin" is common).
        self._add_plugin(module, f"{provider.distribution}:{ep.name}" if dist else ep.name, provider)

    def _add_plugin(self, module: Any, name: str, provider: Provider) -> None:
        manager = self._manager
        if manager.is_registered(module):
            return
        try:
            manager.register(module, name=name)
        except Exception as exc:  # pluggy's PluginValidationError: an argument the hookspec lacks
            if manager.is_registered(module):  # pluggy < 1.6 registers hooks before validating them
                manager.unregister(module)
            self._fail(provider, f"invalid hook implementation: {type(exc).__name__}: {exc}", exc)
            return
        try:
            manager.check_pending()  # a hook implementation that matches no hookspec (a misspelling)
        except pluggy.PluginValidationError as exc:
            unknown = [caller.name for caller in manager.get_hookcallers(module) or () if not caller.has_spec()]
            manager.unregister(module)
            self._fail(provider, _unknown_hooks_message(unknown, exc), exc)
            return
        for caller in manager.get_hookcallers(module) or ():
            for impl in caller.get_hookimpls():
                if impl.plugin is module:
                    self._call_hook(impl, _KIND_OF_HOOK[caller.name], provider)

    def _call_hook(self, impl: pluggy.HookImpl, kind: str, provider: Provider) -> None:
        """Call one plugin's hook implementation by keyword, so ``register`` knows who calls it.

        pluggy's own hook call passes arguments by position, which a keyword-only
        ``def register_reasoning_parsers(*, register)`` cannot take.
        """

        def register(name: str, target: Any, *, aliases: Iterable[str] = ()) -> None:
            self.register(kind, name, target, aliases=aliases, provider=provider)

        arguments = {"register": register}
        try:
            impl.function(**_accepted(impl.function, arguments))
        except Exception as exc:
            self._fail(provider, f"{impl.function.__name__} raised {type(exc).__name__}: {exc}", exc)

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
        """Register ``target`` under ``name`` (and ``aliases``) for ``kind``.

        A name or alias another registration already holds becomes a duplicate: looking it up
        raises :class:`DuplicatePluginError` naming every provider; the other names still work.
        """
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
        names = self._names[kind]
        held = names.get(key)
        if held is not None and held.provider == provider and held.target is target:
            return  # the same registration seen twice (a module imported again)
        entry = _Entry(kind, key, target, alias_keys, provider)
        taken = [claimed for claimed in (key, *alias_keys) if claimed in names]
        if taken and self.strict:
            raise self._duplicate_error(kind, taken[0], [names[taken[0]], entry])
        self._entries[kind].append(entry)
        for claimed in (key, *alias_keys):
            first = names.setdefault(claimed, entry)
            if first is not entry:
                self._duplicates[kind].setdefault(claimed, [first]).append(entry)

    def _duplicate_error(self, kind: str, name: str, claims: list[_Entry] | None = None) -> DuplicatePluginError:
        who = " and ".join(entry.claim(name) for entry in claims or self._duplicates[kind][name])
        return DuplicatePluginError(
            f"{kind} {name!r} is registered by both {who}. Uninstall one, or exclude one with "
            f"{ENV_DENY}=<entry-point, distribution or distribution:entry-point name>."
        )

    # -- looking up -------------------------------------------------------------------------

    def resolve(self, kind: str, name: str) -> Any:
        """The class (or factory) registered under ``name``, imported if lazy."""
        key = normalize(name)
        if key in self._duplicates[kind]:
            raise self._duplicate_error(kind, key)
        entry = self._names[kind].get(key)
        if entry is None:
            close = difflib.get_close_matches(key, list(self._names[kind]), n=3, cutoff=0.6)
            raise UnknownPluginError(kind, name, self.names(kind), close)
        return entry.resolve()

    def names(self, kind: str) -> list[str]:
        return sorted({entry.name for entry in self._entries[kind]})

    def names_in_order(self, kind: str) -> list[str]:
        """The names of ``kind`` (not their aliases) in the order they were registered.

        Built-ins come first, then plugins by entry-point name, then registrations made at
        run time; a name registered twice is listed once, where it was first registered.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown plugin kind {kind!r}; expected one of {', '.join(KINDS)}")
        return list(dict.fromkeys(entry.name for entry in self._entries[kind]))

    def infos(self, kind: str) -> list[PluginInfo]:
        """Every registration of ``kind`` with its provider and status (lazy targets are imported).

        A name registered by two providers has a row for each, both ``"duplicate"``.
        """
        found = []
        for entry in sorted(self._entries[kind], key=lambda e: e.name):
            status, error = "ok", None
            shared = [n for n in (entry.name, *entry.aliases) if n in self._duplicates[kind]]
            if shared:
                status, error = "duplicate", " ".join(str(self._duplicate_error(kind, n)) for n in shared)
            else:
                try:
                    entry.resolve()
                except PluginLoadError as exc:
                    status, error = "failed", str(exc)
            target = entry.target
            if not isinstance(target, str):
                target = f"{target.__module__}:{target.__qualname__}"
            found.append(
                PluginInfo(kind, entry.name, entry.aliases, entry.provider.plugin, entry.provider.distribution,
                           entry.provider.version, target, status, error)
            )
        return found


def _distribution_name(ep: metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return dist.name if dist else None


def _accepted(function: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    """The hook arguments ``function`` declares: an implementation may take fewer than the spec."""
    parameters = inspect.signature(function).parameters
    return {name: value for name, value in arguments.items() if name in parameters}


def _unknown_hooks_message(unknown: list[str], exc: Exception) -> str:
    hooks = sorted(_KIND_OF_HOOK)
    if not unknown:
        return f"invalid hook implementation: {exc}"
    parts = []
    for hook in unknown:
        close = difflib.get_close_matches(hook, hooks, n=1)
        parts.append(f"{hook!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (
        f"unknown hook implementation {', '.join(parts)}: no such hook in the {hookspecs.PROJECT_NAME} "
        f"hookspecs; the hooks are {', '.join(hooks)}"
    )


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
