"""Targets outside our registry: ``ENGINE:NAME`` and ``module.path:Class``.

    reasoning-plugins check vllm:deepseek_r1 sglang:qwen3 lmdeploy:qwen-qwq
    reasoning-plugins check my_pkg.parsers:ExampleParser      # or path/to/parser.py:ExampleParser

``ENGINE:NAME`` (engines: vllm, sglang, lmdeploy) loads the parser the engine ships under NAME
from its installed package, wrapped in a shim that calls it as the engine's serving layer does
(:mod:`conformance._engine_shims`). It runs under that engine's drivers only, because that is the
only way the parser is ever called.

``module.path:ClassName`` (or ``path/to/file.py:ClassName``, the file form vLLM's
``--reasoning-parser-plugin`` takes) imports the module as an engine would, so its
``register_module`` decorators run, and registers the class in our registry under the target. A
class with the seed interface (``extract_reasoning_content`` and
``extract_reasoning_content_streaming``) is certified like any plugin, under every driver; a
subclass of vLLM's ``ReasoningParser`` implementing vLLM 0.33's ``extract_reasoning`` /
``extract_reasoning_streaming`` runs inside vLLM's own ``Parser``, as vLLM's parsers do.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._engine_shims import ENGINES, TargetError, load_engine_parser, vllm_class_shim

__all__ = ["ENGINES", "Loaded", "TargetError", "engine_of", "load_target"]


@dataclass(frozen=True, slots=True)
class Loaded:
    """A loaded target: the class the suite checks, and the drivers it runs under (None: all)."""

    parser_cls: Any
    drivers: tuple[str, ...] | None = None

    def settings_for(self, settings: Any) -> Any:
        """``settings`` restricted to this target's drivers (an engine's parser runs only as its
        engine calls it); TargetError when ``--engine`` left none of them."""
        if self.drivers is None:
            return settings
        chosen = [d for d in self.drivers if settings.engines is None or d in settings.engines]
        if not chosen:
            raise TargetError(
                f"{self.parser_cls.__name__} is called only as {self.parser_cls.engine_label} calls it, under the "
                f"{', '.join(self.drivers)} driver(s); --engine selected {', '.join(settings.engines)}"
            )
        return dataclasses.replace(settings, engines=tuple(chosen))


def engine_of(target: str) -> str | None:
    """The engine an ``ENGINE:NAME`` target names (None for anything else)."""
    prefix, sep, _ = target.partition(":")
    return prefix.strip().lower() if sep and prefix.strip().lower() in ENGINES else None


def load_target(target: str) -> Loaded:
    """``ENGINE:NAME`` or ``module:Class`` / ``file.py:Class`` (TargetError when it cannot be loaded)."""
    engine = engine_of(target)
    if engine is not None:
        name = target.partition(":")[2].strip()
        return Loaded(load_engine_parser(engine, name, target), ENGINES[engine].drivers)
    return _load_class_target(target)


# -- module:Class ---------------------------------------------------------------------------

_FORMS = (
    "a target is a registered NAME (reasoning-plugins list), ENGINE:NAME (engines: "
    f"{', '.join(ENGINES)}), module.path:ClassName or path/to/file.py:ClassName"
)


def _import_module(spec: str, target: str) -> Any:
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # as `python -m` would: modules under the current directory import
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        path = Path(spec).resolve()
        if not path.is_file():
            raise TargetError(f"{target}: no such file {str(path)!r}; {_FORMS}")
        module_name = f"_reasoning_plugins_target_{path.stem}_{abs(hash(str(path))):x}"
        if module_name in sys.modules:
            return sys.modules[module_name]
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader_spec)  # type: ignore[arg-type]
        sys.modules[module_name] = module
        try:
            loader_spec.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException:
            del sys.modules[module_name]
            raise
        return module
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name and spec.startswith(exc.name):
            raise TargetError(f"{target}: no module named {exc.name!r}; {_FORMS}") from exc
        raise


def _overrides(cls: type, method: str, base: type) -> bool:
    return getattr(cls, method, None) is not None and getattr(cls, method) is not getattr(base, method, None)


def _load_class_target(target: str) -> Loaded:
    spec, _, attr = target.rpartition(":")
    if not spec or not attr:
        raise TargetError(f"{target!r} is not a known name; {_FORMS}")
    module = _import_module(spec, target)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            found = sorted(
                n for n, v in vars(module).items()
                if (_seed_shaped(v) or _vllm_shaped(v)) and getattr(v, "__module__", None) == module.__name__
            )
            raise TargetError(f"{target}: {spec} has no {attr!r}; parser classes there: {', '.join(found) or 'none'}")
    if not inspect.isclass(obj):
        raise TargetError(f"{target}: {attr} is a {type(obj).__name__}, not a parser class")
    if _vllm_shaped(obj):
        return Loaded(vllm_class_shim(obj, target), ENGINES["vllm"].drivers)
    if not _seed_shaped(obj):
        raise TargetError(
            f"{target}: {obj.__name__} has neither the seed interface (extract_reasoning_content and "
            "extract_reasoning_content_streaming) nor vLLM's (extract_reasoning and extract_reasoning_streaming)"
        )
    from reasoning_plugins import ReasoningParserManager

    ReasoningParserManager.register_module([target], module=obj)  # our registry knows it by its path
    return Loaded(obj)


def _seed_shaped(cls: Any) -> bool:
    return inspect.isclass(cls) and all(
        callable(getattr(cls, m, None)) for m in ("extract_reasoning_content", "extract_reasoning_content_streaming")
    )


def _vllm_shaped(cls: Any) -> bool:
    """A subclass of vLLM's ReasoningParser that implements vLLM 0.33's extraction methods."""
    if not inspect.isclass(cls) or "vllm" not in sys.modules:
        return False
    try:
        from vllm.reasoning import ReasoningParser
    except ImportError:
        return False
    return issubclass(cls, ReasoningParser) and cls is not ReasoningParser and all(
        _overrides(cls, m, ReasoningParser) for m in ("extract_reasoning", "extract_reasoning_streaming")
    )
