"""Our parsers inside TensorRT-LLM's reasoning-parser registry.

TensorRT-LLM's serving layer builds a parser per request,
``ReasoningParserFactory.create_reasoning_parser(name, chat_template_kwargs)``, and calls
``parse(text)`` for a complete output, or ``parse_delta(delta)`` per streamed piece and
``finish()`` at the end; results are ``ReasoningParserResult(content, reasoning_content)``
with ``""`` for an empty section. :func:`install` registers, with TensorRT-LLM's own
``register_reasoning_parser``, a class for every parser installed through our entry-point
group, running our native stream. The mode comes from ``chat_template_kwargs`` (the request's
thinking switch); for formats with a start marker and a switch the class opts in to
TensorRT-LLM's ``resolves_thinking_from_prompt``, so a template that prefilled the start marker
(or closed the block) decides, as TensorRT-LLM writes that into the same keywords.

Call :func:`install` once in the process that serves (TensorRT-LLM has no plugin hook).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from typing import Any

from .._host import PARSER, current_host
from ..protocol import ChatCompletionRequest
from . import UnsupportedEngineError, engine_version, missing_attributes, offered_parsers, replace_entries
from ._clashes import engine_names, override_set, place, report

__all__ = ["SUPPORTED", "install"]

logger = logging.getLogger(__name__)

DISTRIBUTION = "tensorrt-llm"
_MODULE = "tensorrt_llm.llmapi.reasoning_parser"
SUPPORTED = (
    "TensorRT-LLM releases whose tensorrt_llm.llmapi.reasoning_parser has register_reasoning_parser, "
    "ReasoningParserFactory and BaseReasoningParser.parse/parse_delta/finish (its main-branch source of 2026)"
)
_REQUIRED = {
    "register_reasoning_parser": (),
    "ReasoningParserFactory": ("create_reasoning_parser", "keys", "_parsers"),
    "BaseReasoningParser": ("parse", "parse_delta", "finish"),
    "ReasoningParserResult": (),
}
_TOGGLES = ("enable_thinking", "thinking")

_lock = threading.Lock()
_installed: dict[str, type] = {}
_originals: dict[str, Any] = {}  # TensorRT-LLM's own registry entries we replaced
_classes: dict[tuple[str, type], type] = {}


def install(override: Iterable[str] | str | None = None) -> dict[str, type]:
    """Register a TensorRT-LLM parser class for every offered parser name.

    A name TensorRT-LLM already ships keeps its parser and ours is ``ours:NAME``; names in
    ``override`` (default: ``REASONING_PLUGINS_OVERRIDE``) replace TensorRT-LLM's. Each clash is
    logged once; calling it again changes nothing unless the plugins or the override changed.
    Raises :class:`UnsupportedEngineError`, registering nothing, for an unknown interface.
    """
    module, version = _trtllm_module()
    with _lock:
        registry = module.ReasoningParserFactory._parsers
        ours = set(_installed.values())
        theirs = engine_names([k for k, (cls, _) in registry.items() if cls not in ours] + list(_originals))
        wanted: dict[str, type] = {}
        placements = []
        override_names = override_set(override)
        host = current_host()
        for offered in offered_parsers():
            parser_class = host.resolve(PARSER, offered.name)
            for name in offered.names:
                cls = _classes.get((name, parser_class))
                if cls is None:
                    cls = _classes[(name, parser_class)] = _parser_class(module, name, parser_class)
                placement = place(name, theirs, override_names)
                wanted.update(dict.fromkeys(placement.keys, cls))
                placements.append((placement, offered.provider))
        replace_entries(
            registry, _installed, _originals, wanted,
            lambda key, cls: module.register_reasoning_parser(key)(cls),
            held_class=lambda entry: entry[0] if entry else None,
        )
        for placement, provider in placements:
            report(logger, f"TensorRT-LLM {version}", placement, provider)
        return dict(_installed)


def _trtllm_module() -> tuple[Any, str]:
    try:
        module = __import__(_MODULE, fromlist=["register_reasoning_parser"])
    except ImportError as exc:
        version = engine_version(DISTRIBUTION)
        where = f"TensorRT-LLM {version}" if version else "TensorRT-LLM is not installed or"
        raise UnsupportedEngineError(
            f"{where} has no importable {_MODULE} ({type(exc).__name__}: {exc}); the TensorRT-LLM "
            f"adapter supports {SUPPORTED}."
        ) from exc
    package = sys.modules.get("tensorrt_llm")
    version = engine_version(DISTRIBUTION) or getattr(package, "__version__", None) or "(unknown version)"
    missing = missing_attributes(module, _REQUIRED)
    if not missing and not isinstance(module.ReasoningParserFactory._parsers, dict):
        missing.append("ReasoningParserFactory._parsers as a dict")
    if missing:
        raise UnsupportedEngineError(
            f"TensorRT-LLM {version} has a reasoning-parser interface the adapter does not know (missing: "
            f"{', '.join(missing)}); the TensorRT-LLM adapter supports {SUPPORTED}. Nothing was registered."
        )
    return module, version


def _parser_class(module: Any, name: str, parser_class: type) -> type:
    """A subclass of TensorRT-LLM's parser base running ``parser_class``'s native stream."""
    result_type = module.ReasoningParserResult
    fmt = getattr(parser_class, "format", None)
    from_prompt = bool(fmt is not None and fmt.start and any(s in _TOGGLES for s in fmt.switches))

    class Parser(module.BaseReasoningParser):  # type: ignore[misc, name-defined]
        reasoning_parser_name = name
        reasoning_parser_class = parser_class
        resolves_thinking_from_prompt = from_prompt
        if from_prompt:
            reasoning_start = fmt.start
            reasoning_end = fmt.end

        def __init__(self, *, chat_template_kwargs: dict[str, Any] | None = None, **_: Any) -> None:
            self._parser = parser_class(None)
            self._request = ChatCompletionRequest(chat_template_kwargs=dict(chat_template_kwargs)) if chat_template_kwargs else None
            self._stream: Any = None

        def parse(self, text: str) -> Any:
            reasoning, content = self._parser.parse(text, request=self._request)
            return result_type(content=content or "", reasoning_content=reasoning or "")

        def parse_delta(self, delta_text: str) -> Any:
            return self._result(self._started().feed(delta_text, None))

        def finish(self) -> Any:
            return self._result(self._started().finish())

        def _started(self) -> Any:
            if self._stream is None:
                self._stream = self._parser.start_stream(self._request)
            return self._stream

        @staticmethod
        def _result(delta: Any) -> Any:
            if delta is None:
                return result_type()
            return result_type(content=delta.content or "", reasoning_content=delta.reasoning_content or "")

    Parser.__name__ = Parser.__qualname__ = f"ReasoningPluginsParser[{name}]"
    return Parser
