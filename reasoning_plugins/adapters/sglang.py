"""Our parsers inside SGLang: detectors in ``ReasoningParser.DetectorMap``, and a launcher.

SGLang looks a ``--reasoning-parser`` name up in ``ReasoningParser.DetectorMap`` and builds the
argument's choices from that map (or from a list of its own names when the map was never
imported). :func:`install` adds a detector for every parser installed through our entry-point
group; the launcher calls it before SGLang parses its arguments, then runs SGLang's own launcher::

    python -m reasoning_plugins.adapters.sglang --model-path M --reasoning-parser seed-oss

SGLang hands a detector text only, and one boolean about the request: ``force_reasoning``,
which SGLang resolves from the chat template and ``chat_template_kwargs``. It is mapped to our
inputs as follows (see docs/adapters-sglang.md):

- ``True``: the output starts inside reasoning (:attr:`Mode.REASONING`); a start marker the
  model writes anyway is removed.
- ``False``: thinking is not on. Where the model may still open reasoning itself (a format with
  its start marker in the output: Qwen3, Seed-OSS, Granite...) the output starts waiting for
  that marker (:attr:`Mode.AWAIT_START`), so no marker ever reaches the content; otherwise our
  parser sees a request whose thinking switches are off, as if ``chat_template_kwargs`` said
  so: a parser with a switch returns content, one whose model cannot turn thinking off keeps
  its default.
- not given: the parser's own default.
"""

from __future__ import annotations

import logging
import runpy
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._host import PARSER, current_host
from .._modes import Mode
from ..protocol import ChatCompletionRequest
from . import UnsupportedEngineError, engine_version, missing_attributes, offered_parsers
from ._clashes import Placement, engine_names, override_set, place, report

__all__ = ["SUPPORTED_VERSIONS", "install", "main"]

logger = logging.getLogger(__name__)

DISTRIBUTION = "sglang"
SUPPORTED_VERSIONS = ("0.5.23",)
_MODULE = "sglang.srt.parser.reasoning_parser"
_NAMES_MODULE = "sglang.srt.parser.reasoning_parser_names"
_LAUNCHER = "sglang.launch_server"

# What the adapter relies on, checked before anything is registered.
_REQUIRED = {
    "ReasoningParser": ("DetectorMap", "parse_non_stream", "parse_stream_chunk", "parse_stream_end"),
    "BaseReasoningFormatDetector": ("detect_and_parse", "parse_streaming_increment", "finish"),
    "StreamingParseResult": (),
}

_SWITCHES_ON = {"enable_thinking": True, "thinking": True, "options": {"thinking_mode": "open"}}
_SWITCHES_OFF = {"enable_thinking": False, "thinking": False, "options": {"thinking_mode": "close"}}
_THINKING_ON = ChatCompletionRequest(chat_template_kwargs=_SWITCHES_ON)
_THINKING_OFF = ChatCompletionRequest(chat_template_kwargs=_SWITCHES_OFF)

# SGLang's fallback when the chat template shows no thinking switch: detector.reasoning_default.
_SGLANG_TOGGLES = ("enable_thinking", "thinking")


@dataclass(frozen=True, slots=True)
class _Plan:
    """What install() puts into SGLang: key -> detector class, and SGLang's entries it replaces."""

    detectors: dict[str, type]
    replaced: dict[str, Any]
    placements: tuple[tuple[Placement, str], ...]  # with the provider, for clash reports


_lock = threading.Lock()
_installed: dict[str, type] = {}  # key -> our detector class, as now in DetectorMap
_originals: dict[str, Any] = {}  # SGLang's own entries we replaced, to restore on a new plan
_added_names: list[str] = []  # names we appended to SGLang's name list
_classes: dict[tuple[str, type], type] = {}  # one detector class per (name, parser class)


def install(override: Iterable[str] | str | None = None) -> dict[str, type]:
    """Register a detector for every offered parser name in SGLang's ``DetectorMap``.

    A name SGLang already ships keeps SGLang's detector and ours is ``ours:NAME``; names in
    ``override`` (default: ``REASONING_PLUGINS_OVERRIDE``, comma-separated, ``*`` for all)
    replace SGLang's. Each clash is logged once. Calling it again changes nothing unless the
    installed plugins or the override changed. Returns the keys registered, with their classes.

    Raises :class:`UnsupportedEngineError` (registering nothing) when SGLang is missing or its
    reasoning-parser interface is not the one this adapter knows.
    """
    module = _sglang_module()
    with _lock:
        plan = _plan(module, override_set(override))
        detector_map = module.ReasoningParser.DetectorMap
        unchanged = plan.detectors == _installed and all(detector_map.get(k) is v for k, v in _installed.items())
        if not unchanged:
            _uninstall(module)
            _originals.update(plan.replaced)
            detector_map.update(plan.detectors)
            _installed.update(plan.detectors)
            names = _sglang_name_list()
            if names is not None:
                for key in plan.detectors:
                    if key not in names:
                        names.append(key)
                        _added_names.append(key)
        version = engine_version(DISTRIBUTION)
        for placement, provider in plan.placements:
            report(logger, f"SGLang {version}", placement, provider)
        return dict(_installed)


def _uninstall(module: Any) -> None:
    """Undo a previous install (a new plan replaces it whole)."""
    detector_map = module.ReasoningParser.DetectorMap
    for key, cls in _installed.items():
        if detector_map.get(key) is cls:
            del detector_map[key]
    detector_map.update(_originals)
    _installed.clear()
    _originals.clear()
    names = _sglang_name_list()
    if names is not None:
        for key in _added_names:
            if key in names:
                names.remove(key)
    _added_names.clear()


def _sglang_module() -> Any:
    version = engine_version(DISTRIBUTION)
    supported = ", ".join(SUPPORTED_VERSIONS)
    if version is None:
        raise UnsupportedEngineError(
            f"SGLang is not installed; the SGLang adapter supports sglang {supported}. "
            f"Install it with `pip install sglang=={SUPPORTED_VERSIONS[-1]}`."
        )
    try:
        module = __import__(_MODULE, fromlist=["ReasoningParser"])
    except ImportError as exc:
        raise UnsupportedEngineError(
            f"SGLang {version} has no importable {_MODULE} ({type(exc).__name__}: {exc}); "
            f"the SGLang adapter supports sglang {supported}."
        ) from exc
    missing = missing_attributes(module, _REQUIRED)
    if not missing and not isinstance(module.ReasoningParser.DetectorMap, dict):
        missing.append("ReasoningParser.DetectorMap as a dict")
    if missing:
        raise UnsupportedEngineError(
            f"SGLang {version} has a reasoning-parser interface the adapter does not know "
            f"(missing: {', '.join(missing)}); the SGLang adapter supports sglang {supported}. "
            f"Nothing was registered."
        )
    return module


def _sglang_name_list() -> list[str] | None:
    """SGLang's own list of names, read for --reasoning-parser when DetectorMap is not imported."""
    names_module = sys.modules.get(_NAMES_MODULE)
    if names_module is None:
        try:
            names_module = __import__(_NAMES_MODULE, fromlist=["REASONING_PARSER_NAMES"])
        except ImportError:
            return None
    names = getattr(names_module, "REASONING_PARSER_NAMES", None)
    return names if isinstance(names, list) else None


def _plan(module: Any, override: frozenset[str]) -> _Plan:
    detector_map = module.ReasoningParser.DetectorMap
    ours = set(_installed.values())
    theirs = engine_names([k for k, v in detector_map.items() if v not in ours] + list(_originals))
    host = current_host()
    detectors: dict[str, type] = {}
    replaced: dict[str, Any] = {}
    placements = []
    for offered in offered_parsers():
        parser_class = host.resolve(PARSER, offered.name)
        for name in offered.names:
            detector = _classes.get((name, parser_class))
            if detector is None:
                detector = _classes[(name, parser_class)] = _detector_class(module, name, parser_class)
            placement = place(name, theirs, override)
            for key in placement.keys:
                detectors[key] = detector
                if key in _originals or (key in detector_map and detector_map[key] not in ours):
                    replaced[key] = _originals.get(key, detector_map.get(key))
            placements.append((placement, offered.provider))
    return _Plan(detectors, replaced, tuple(placements))


# -- the detector -------------------------------------------------------------------------------


def _reasoning_default(fmt: Any) -> str | None:
    """SGLang's ``reasoning_default`` for a format: how thinking is switched when the chat
    template shows SGLang no switch of its own."""
    if fmt is None:
        return "always"
    thinks = fmt.default_mode is Mode.REASONING
    # SGLang reads one top-level chat_template_kwargs toggle (not options.thinking_mode)
    toggle = next((s for s in fmt.switches if s in _SGLANG_TOGGLES), None)
    if toggle is not None:
        return toggle if thinks else f"explicit_{toggle}"
    return "always" if thinks else None


def _detector_class(module: Any, name: str, parser_class: type) -> type:
    """A subclass of SGLang's detector base that runs ``parser_class``'s native stream."""
    base = module.BaseReasoningFormatDetector
    result_type = module.StreamingParseResult
    fmt = getattr(parser_class, "format", None)
    start = (fmt.start or "") if fmt is not None else ""
    end = fmt.end if fmt is not None else ""

    class Detector(base):  # type: ignore[misc, valid-type]
        reasoning_parser_name = name
        reasoning_parser_class = parser_class

        def __init__(
            self,
            stream_reasoning: bool = True,
            force_reasoning: bool | None = None,
            continue_final_message: bool = False,
            previous_content: str = "",
            force_nonempty_content: bool = False,
            tokenizer: Any = None,
            **_: Any,
        ) -> None:
            self._parser = parser_class(tokenizer)
            # a parser built from the tokenizer's own files (a response_template) has its format per instance
            own = getattr(self._parser, "format", fmt)
            super().__init__(
                (own.start or "") if own is not None else start,
                own.end if own is not None else end,
                force_reasoning=bool(force_reasoning),
                stream_reasoning=stream_reasoning,
                continue_final_message=continue_final_message,
                previous_content=previous_content,
                force_nonempty_content=force_nonempty_content,
            )
            self.reasoning_default = _reasoning_default(own)
            self._inputs = _stream_inputs(own, force_reasoning, previous_content if continue_final_message else "")
            self._stream: Any = None
            self._held_reasoning: list[str] = []  # stream_reasoning=False: released with the content
            self._reasoning_seen: list[str] = []  # force_nonempty_content: all reasoning so far
            self._content_seen = False

        def detect_and_parse(self, text: str) -> Any:
            reasoning, content = self._parser.parse(text, **self._inputs)
            if self._force_nonempty_content and not content:
                reasoning, content = None, reasoning
            return result_type(normal_text=content, reasoning_text=reasoning)

        def parse_streaming_increment(self, new_text: str) -> Any:
            if self._stream is None:
                self._stream = self._parser.start_stream(**self._inputs)
            return self._emit(self._stream.feed(new_text, None), final=False)

        def finish(self) -> Any:
            if self._stream is None:
                self._stream = self._parser.start_stream(**self._inputs)
            result = self._emit(self._stream.finish(), final=True)
            if self._force_nonempty_content and not self._content_seen:
                reasoning = "".join(self._reasoning_seen)
                self._reasoning_seen.clear()
                return result_type(normal_text=reasoning) if reasoning else result_type()
            return result

        def _emit(self, delta: Any, *, final: bool) -> Any:
            reasoning = delta.reasoning_content if delta is not None else None
            content = delta.content if delta is not None else None
            if reasoning and self._force_nonempty_content:
                self._reasoning_seen.append(reasoning)
            if content:
                self._content_seen = True
            if not self.stream_reasoning:
                if reasoning:
                    self._held_reasoning.append(reasoning)
                # released when reasoning ends (streams that cannot tell: with the content)
                ended = content or final or getattr(self._stream, "reasoning_ended", False)
                if ended and self._held_reasoning:
                    reasoning = "".join(self._held_reasoning)
                    self._held_reasoning.clear()
                else:
                    reasoning = None
            return result_type(normal_text=content, reasoning_text=reasoning)

    Detector.__name__ = Detector.__qualname__ = f"ReasoningPluginsDetector[{name}]"
    return Detector


def _stream_inputs(fmt: Any, force_reasoning: bool | None, previous_content: str) -> dict[str, Any]:
    """Our parser's request/prompt/mode inputs for SGLang's ``force_reasoning``.

    With ``continue_final_message`` the assistant text so far is the prompt's tail: it decides
    first (reasoning still open, or closed), before the thinking switch.
    """
    inputs: dict[str, Any] = {}
    if previous_content:
        inputs["prompt_text"] = previous_content
    if force_reasoning is True:
        inputs["request"] = _THINKING_ON
        if not previous_content:
            inputs["mode"] = Mode.REASONING
    elif force_reasoning is False:
        inputs["request"] = _THINKING_OFF
        if not previous_content and fmt is not None and fmt.start and fmt.start_in_output:
            inputs["mode"] = Mode.AWAIT_START
    return inputs


# -- the launcher -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Install our detectors, then run ``python -m sglang.launch_server`` with ``argv``."""
    if argv is not None:
        sys.argv[1:] = argv
    install()
    # alter_sys=False keeps this module as __main__: SGLang starts its scheduler processes with
    # the "spawn" method, which re-runs __main__'s module in each child as __mp_main__, and the
    # block at the end of this file installs there too.
    runpy.run_module(_LAUNCHER, run_name="__main__", alter_sys=False)


if __name__ == "__main__":
    main()
elif __name__ == "__mp_main__":
    install()
