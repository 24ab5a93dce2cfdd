"""Our reasoning parsers inside vLLM: ``vllm serve MODEL --reasoning-parser ernie-x1``.

vLLM calls the ``vllm.general_plugins`` entry point ``reasoning_plugins`` (:func:`register`) in
every process it starts. :func:`register` puts every parser installed through our entry-point
group into vLLM's ``ReasoningParserManager`` under each of its names and aliases, spelled with
``-`` and with ``_``, and under ``ours:NAME``. Registration is lazy: vLLM imports the wrapper class
(built on first access, see :func:`__getattr__`) only when a name is used.

A name vLLM already has keeps vLLM's parser; ours stays reachable as ``ours:NAME``, and
``REASONING_PLUGINS_OVERRIDE=name1,name2`` (``*``: every clash) puts ours under vLLM's name. Both cases are reported in
one warning per process, naming both providers.

Streaming: a declarative parser is marked engine-based, so vLLM hands it each delta alone (text
and ids) instead of rebuilding the previous text and ids for every token, and it tells vLLM that
reasoning has ended only once the rest of the output passes through unchanged; from then on vLLM
(or its tool-call parser) takes the text as content without calling us.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from .._host import PARSER, current_host
from .._modes import Mode, reasoning_end_index
from .._names import normalize
from .._parser import DeclarativeParser
from .._tokens import blank_token_checker, encode_plain, marker_token_ids, text_markers
from . import ENV_OVERRIDE, OURS_PREFIX, OfferedParser, UnsupportedEngineError, engine_version, offered_parsers

__all__ = ["SUPPORTED_VERSIONS", "register"]

# vLLM versions whose ReasoningParser / ReasoningParserManager interface this adapter was written
# and tested against. Another version with the same interface works; one without it is refused.
SUPPORTED_VERSIONS = ("0.33",)

# A child of vLLM's logger, so the message appears in vLLM's own log stream and format.
logger = logging.getLogger("vllm.reasoning_plugins")

_CLASS_PREFIX = "ReasoningPlugins_"
_CONTENT_MODES = frozenset({Mode.CONTENT, Mode.RESPONSE, Mode.TOOL_CALL})
# What the adapter calls on vLLM, checked before anything is registered.
_MANAGER_METHODS = ("register_lazy_module", "get_reasoning_parser", "list_registered")
_MANAGER_TABLES = ("lazy_parsers", "reasoning_parsers")
_PARSER_METHODS = (
    "extract_reasoning",
    "extract_reasoning_streaming",
    "is_reasoning_end",
    "is_reasoning_end_streaming",
    "extract_content_ids",
    "count_reasoning_tokens",
    "set_prompt_token_ids",
    "adjust_initial_state_from_prompt",
    "has_engine_confirmed_reasoning_end",
)

_lock = threading.RLock()
_vllm_own: dict[str, str] | None = None  # vLLM's names before our first register(), and who provides each
_reported = False
_classes: dict[str, type] = {}


# -- registering ------------------------------------------------------------------------------


def register() -> None:
    """Register our parsers in vLLM's ``ReasoningParserManager`` (the ``vllm.general_plugins`` hook).

    Safe to call more than once: later calls register the same names again and report nothing.
    Raises :class:`UnsupportedEngineError`, having registered nothing, when the installed vLLM
    lacks the interface this adapter uses.
    """
    global _vllm_own, _reported
    with _lock:
        manager, vllm_version = _vllm_registry()
        offered = offered_parsers()
        if _vllm_own is None:
            _vllm_own = _foreign_names(manager, vllm_version)
        plan = _Plan(offered, _vllm_own, _override_request())
        for name in plan.replaced:
            manager.reasoning_parsers.pop(name, None)  # a vLLM class resolved (and cached) earlier
        for name, class_name in plan.entries.items():
            manager.register_lazy_module(name, __name__, class_name)
        if not _reported:
            _reported = True
            message = plan.report(vllm_version)
            if message:
                logger.warning(message)


def _vllm_registry() -> tuple[Any, str]:
    """vLLM's ReasoningParserManager and version, once the interface we use is known to be there."""
    version = engine_version("vllm")
    if version is None:
        raise ModuleNotFoundError(
            "reasoning_plugins.adapters.vllm needs vLLM installed: pip install 'vllm==0.33.*'"
        )
    try:
        from vllm.reasoning import ReasoningParser, ReasoningParserManager
    except ImportError as exc:
        raise _unsupported(version, [f"vllm.reasoning does not import ({exc})"]) from exc
    missing = [f"ReasoningParserManager.{name}()" for name in _MANAGER_METHODS
               if not callable(getattr(ReasoningParserManager, name, None))]
    missing += [f"ReasoningParserManager.{name}" for name in _MANAGER_TABLES
                if not isinstance(getattr(ReasoningParserManager, name, None), dict)]
    missing += [f"ReasoningParser.{name}()" for name in _PARSER_METHODS
                if not callable(getattr(ReasoningParser, name, None))]
    if not hasattr(ReasoningParser, "engine_based_streaming"):
        missing.append("ReasoningParser.engine_based_streaming")
    lazy = getattr(ReasoningParserManager, "register_lazy_module", None)
    if callable(lazy) and not {"name", "module_path", "class_name"} <= set(inspect.signature(lazy).parameters):
        missing.append("ReasoningParserManager.register_lazy_module(name, module_path, class_name)")
    if missing:
        raise _unsupported(version, missing)
    return ReasoningParserManager, version


def _unsupported(version: str, missing: list[str]) -> UnsupportedEngineError:
    supported = ", ".join(f"{v}.x" for v in SUPPORTED_VERSIONS)
    return UnsupportedEngineError(
        f"reasoning-plugins cannot register its reasoning parsers in vLLM {version}: this vLLM "
        f"lacks {'; '.join(missing)}. Supported vLLM versions: {supported}. Install one "
        f"(pip install 'vllm=={SUPPORTED_VERSIONS[-1]}.*') or a reasoning-plugins release that "
        f"supports vLLM {version}; to start vLLM without our parsers, set VLLM_PLUGINS to the "
        f"plugins you want, leaving out 'reasoning_plugins'. Nothing was registered."
    )


def _foreign_names(manager: Any, vllm_version: str) -> dict[str, str]:
    """Every name in vLLM's registry not registered by this module, with its provider."""
    found = {}
    for name, (module_path, _class_name) in manager.lazy_parsers.items():
        if module_path != __name__:
            found[name] = _provider_of(module_path, vllm_version)
    for name, cls in manager.reasoning_parsers.items():
        if cls.__module__ != __name__:
            found.setdefault(name, _provider_of(cls.__module__, vllm_version))
    return found


def _provider_of(module_path: str, vllm_version: str) -> str:
    return f"vLLM {vllm_version}" if module_path.split(".")[0] == "vllm" else f"module {module_path}"


def _override_request() -> set[str]:
    raw = os.environ.get(ENV_OVERRIDE, "")
    return {normalize(part) for part in raw.split(",") if part.strip()}


def _spellings(name: str) -> tuple[str, ...]:
    """Our names are normalised with ``-``; vLLM's use ``_``. Register both spellings."""
    return tuple(dict.fromkeys((name, name.replace("-", "_"))))


def _class_names(offered: list[OfferedParser]) -> dict[str, OfferedParser]:
    """A class name in this module for each offered parser (deterministic, so every vLLM
    process that imports the module finds the same classes)."""
    found: dict[str, OfferedParser] = {}
    for parser in offered:
        base = _CLASS_PREFIX + re.sub(r"[^0-9A-Za-z]", "_", parser.name)
        class_name, suffix = base, 2
        while class_name in found:
            class_name, suffix = f"{base}_{suffix}", suffix + 1
        found[class_name] = parser
    return found


class _Plan:
    """Which vLLM names point at which of our classes, and which names clash with vLLM's."""

    def __init__(self, offered: list[OfferedParser], vllm_own: dict[str, str], override: set[str]) -> None:
        self.entries: dict[str, str] = {}
        self.replaced: list[str] = []
        self.kept: list[tuple[str, str, OfferedParser]] = []  # (name, its vLLM provider, ours)
        self.overridden: list[tuple[str, str, OfferedParser]] = []
        ours_names: set[str] = set()
        for class_name, parser in _class_names(offered).items():
            wanted = "*" in override or bool(override & set(parser.names))
            ours_names |= set(parser.names)
            for name in parser.names:
                for spelling in _spellings(name):
                    self.entries.setdefault(OURS_PREFIX + spelling, class_name)
                    if spelling in self.entries:
                        continue
                    if spelling not in vllm_own:
                        self.entries[spelling] = class_name
                    elif wanted:
                        self.entries[spelling] = class_name
                        self.replaced.append(spelling)
                        self.overridden.append((spelling, vllm_own[spelling], parser))
                    else:
                        self.kept.append((spelling, vllm_own[spelling], parser))
        self.unknown_overrides = sorted(override - ours_names - {"*"})
        self.ours_names = sorted(ours_names)

    def report(self, vllm_version: str) -> str:
        parts = []
        if self.kept:
            listing = ", ".join(f"{name} ({provider}; ours: {parser.name} from {parser.provider})"
                                for name, provider, parser in self.kept)
            parts.append(
                f"reasoning-plugins: these --reasoning-parser names are taken in vLLM {vllm_version} "
                f"and keep their parser: {listing}. Use ours as ours:NAME (for example "
                f"--reasoning-parser {OURS_PREFIX}{self.kept[0][2].name}), or set "
                f"{ENV_OVERRIDE}=NAME[,NAME...] to put ours under the taken name."
            )
        if self.overridden:
            listing = ", ".join(f"{name} (ours: {parser.name} from {parser.provider}, instead of {provider})"
                                for name, provider, parser in self.overridden)
            parts.append(f"reasoning-plugins: {ENV_OVERRIDE} replaces vLLM's parser under: {listing}.")
        if self.unknown_overrides:
            parts.append(
                f"reasoning-plugins: {ENV_OVERRIDE} names {', '.join(self.unknown_overrides)}, which no "
                f"installed parser of ours provides; ours are: {', '.join(self.ours_names)}."
            )
        return " ".join(parts)


# -- the classes vLLM imports -------------------------------------------------------------------


def __getattr__(attribute: str) -> Any:
    """The wrapper class vLLM's lazy registration names, built on first access."""
    if not attribute.startswith(_CLASS_PREFIX):
        raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")
    with _lock:
        cls = _classes.get(attribute)
        if cls is None:
            parser = _class_names(offered_parsers()).get(attribute)
            if parser is None:
                raise AttributeError(
                    f"module {__name__!r} has no parser class {attribute!r}: no installed parser of "
                    f"reasoning-plugins maps to it (was a plugin uninstalled?)"
                )
            cls = _classes[attribute] = _wrapper_class(attribute, parser)
    return cls


def _wrapper_class(class_name: str, parser: OfferedParser) -> type:
    from vllm.reasoning import ReasoningParser as VllmReasoningParser

    ours = current_host().resolve(PARSER, parser.name)
    # a parser built from the tokenizer's own files (a response_template) is declarative per instance
    declarative = isinstance(ours, type) and (issubclass(ours, DeclarativeParser) or hasattr(ours, "class_for_tokenizer"))
    mixin = _DeltaParser if declarative else _SeedParser
    return type(class_name, (mixin, VllmReasoningParser), {
        "__module__": __name__,
        "__qualname__": class_name,
        "__doc__": f"reasoning-plugins parser {parser.name!r} ({parser.provider}) in vLLM's interface.",
        "parser_class": ours,
        "parser_name": parser.name,
    })


_delta_message: Any = None


def _delta_message_class() -> Any:
    """vLLM's DeltaMessage; its reasoning field is ``reasoning``."""
    global _delta_message
    if _delta_message is None:
        from vllm.entrypoints.generate.base.protocol import DeltaMessage

        if "reasoning" not in DeltaMessage.model_fields:
            version = engine_version("vllm") or "?"
            raise _unsupported(version, ["a 'reasoning' field on DeltaMessage"])
        _delta_message = DeltaMessage
    return _delta_message


def _to_vllm(message: Any, delta_message: Any) -> Any:
    if message is None:
        return None
    reasoning = getattr(message, "reasoning_content", None) or getattr(message, "reasoning", None)
    content = message.content
    if reasoning is None and content is None:
        return None
    # Only the sections present, as vLLM's own parsers build it (chunks are sent exclude_unset).
    # pydantic's model_construct() is no shortcut: it inspects the default factories per call.
    if content is None:
        return delta_message(reasoning=reasoning)
    if reasoning is None:
        return delta_message(content=content)
    return delta_message(reasoning=reasoning, content=content)


class _DeltaParser:
    """One of our declarative parsers behind vLLM's ReasoningParser, fed one delta at a time.

    vLLM makes one instance per request (and choice) with the request's effective
    ``chat_template_kwargs``, and hands it the prompt's ids through the prompt hooks, so the
    mode comes from the prompt as in our own engine. Marked engine-based, it gets delta-only
    text and ids; it says reasoning has ended (``has_engine_confirmed_reasoning_end``) only
    once the rest of the output is plain content, which vLLM then passes on without calling us.
    """

    engine_based_streaming = True
    parser_class: ClassVar[type[DeclarativeParser]]
    parser_name: ClassVar[str]

    def __init__(self, tokenizer: Any = None, *args: Any, chat_template_kwargs: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, **kwargs)  # type: ignore[call-arg]  # vLLM's ReasoningParser
        self._parser = self.parser_class(tokenizer, chat_template_kwargs=chat_template_kwargs)
        fmt = self._parser.format  # the instance's: a response_template parser's comes from the tokenizer
        # The constructor's kwargs are vLLM's effective ones (request, reasoning_effort, server
        # defaults): they decide over the request object passed to extract_reasoning.
        self._settings = {"chat_template_kwargs": dict(chat_template_kwargs)} if chat_template_kwargs is not None else None
        # A parser whose markers depend on the request (reasoning_effort) names this request's
        # format; one whose sections no marker token delimits (channels) names none: then no id
        # says where reasoning ends, and the text decides (count_reasoning_tokens).
        id_format = getattr(self._parser, "id_format", fmt)
        self._tokenizer = tokenizer
        self._by_text_only = id_format is None
        ids = marker_token_ids(tokenizer, id_format.markers) if id_format is not None else {}
        self._start_id = ids.get(id_format.start) if id_format is not None and id_format.start else None
        self._end_id = ids.get(id_format.end) if id_format is not None else None
        ends = tuple(id_format.implicit_ends) if id_format is not None else ()
        self._implicit_ids = frozenset(ids[m] for m in ends if m in ids)
        self._end_ids = self._implicit_ids | ({self._end_id} if self._end_id is not None else frozenset())
        self._text_ends = text_markers(tokenizer, ends)  # several tokens each
        self._is_blank = blank_token_checker(tokenizer) if tokenizer is not None else None
        self._special_markers = _skipped_as_special(tokenizer, ids)
        # Without a content wrapper or trims, everything after reasoning is content as written;
        # a parser with a stream of its own (blocks, channels) may say it still removes markup.
        self._verbatim_content = not (fmt.content_wrapper or fmt.trim_content_leading_newlines) and getattr(
            self._parser, "content_verbatim", True)
        self._prompt_ids: Sequence[int] | None = None
        self._stream: Any = None
        self._message = _delta_message_class()

    @property
    def reasoning_start_str(self) -> str | None:
        return self._parser.format.start

    @property
    def reasoning_end_str(self) -> str | None:
        return self._parser.format.end

    def _request(self, request: Any = None) -> Any:
        return self._settings if self._settings is not None else request

    def _mode(self, prompt_token_ids: Sequence[int] | None, request: Any = None) -> Mode:
        return self._parser.resolve_mode(self._request(request), prompt_token_ids=prompt_token_ids)

    def adjust_request(self, request: Any) -> Any:
        """Keep the markers in the text when they are special tokens of this tokenizer.

        vLLM drops special tokens from the text by default; the non-streaming split reads text
        only, and a streamed marker whose text never comes is placed where its id was, which a
        stop string's text lag would shift. vLLM's own engine-based parsers do the same.
        """
        if self._special_markers and hasattr(request, "skip_special_tokens"):
            request.skip_special_tokens = False
        return request

    # -- prompt hooks -----------------------------------------------------------------------

    def set_prompt_token_ids(self, prompt_token_ids: Sequence[int]) -> None:
        self._prompt_ids = prompt_token_ids

    def adjust_initial_state_from_prompt(self, prompt_token_ids: Sequence[int]) -> None:
        if self._stream is None:
            self._prompt_ids = prompt_token_ids

    # -- token ids --------------------------------------------------------------------------

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        """vLLM 0.33 asks this of the prompt: does the output start after reasoning?

        True only when the output is content from its first token and passes through unchanged:
        vLLM then skips the parser. Content that still has markup to remove (ERNIE-X1's
        ``<response>``) answers False, so the parser keeps removing it.
        """
        return self._verbatim_content and self._mode(input_ids) in _CONTENT_MODES

    def is_reasoning_end_streaming(self, input_ids: Sequence[int], delta_ids: Sequence[int]) -> bool:
        if not self._end_ids.isdisjoint(delta_ids):
            return True
        text_ends = self._text_ends
        if text_ends is None or not delta_ids:
            return False
        # a tool-call opener spelled by several tokens, completed by this delta
        tail = list(input_ids[-(len(delta_ids) + text_ends.window):])
        return text_ends.first_end(tail, 0, len(tail)) is not None and not text_ends.found_in(
            text_ends.text(tail[: len(tail) - len(delta_ids)]))

    def extract_content_ids(self, input_ids: list[int]) -> list[int]:
        start = stop = None  # where the content starts; the marker token ending reasoning
        for position, token in enumerate(input_ids):
            if token == self._end_id:
                start, stop = position + 1, position
                break
            if token in self._implicit_ids:
                start = stop = position  # a tool-call opener stays in the content
                break
        if self._text_ends is not None:
            by_text = self._text_ends.first_end(input_ids, 0, len(input_ids) if stop is None else stop)
            if by_text is not None:
                return list(input_ids[by_text:])  # from the token completing a tool-call opener
        if start is not None:
            return list(input_ids[start:])
        return list(input_ids) if self._mode(self._prompt_ids) in _CONTENT_MODES else []

    def count_reasoning_tokens(self, token_ids: Sequence[int]) -> int:
        """Output tokens before the content starts (the end marker counts as reasoning)."""
        if self._by_text_only:
            # the tokens of the reasoning text, as the parser splits the decoded output
            text = self._tokenizer.decode(list(token_ids)) if self._tokenizer is not None and token_ids else ""
            reasoning, _ = self._parser.parse(text, prompt_token_ids=self._prompt_ids)
            return len(encode_plain(self._tokenizer, reasoning)) if reasoning else 0
        mode = self._mode(self._prompt_ids)
        end = reasoning_end_index(token_ids, mode, self._start_id, self._end_id, self._implicit_ids, self._is_blank,
                                  self._text_ends)
        if end is None:
            return 0 if mode in _CONTENT_MODES else len(token_ids)
        return end

    # -- text -------------------------------------------------------------------------------

    def extract_reasoning(self, model_output: str, request: Any = None) -> tuple[str | None, str | None]:
        return self._parser.parse(model_output, request=self._request(request), prompt_token_ids=self._prompt_ids)

    def extract_reasoning_streaming(
        self,
        previous_text: str,
        current_text: str,
        delta_text: str,
        previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int],
        delta_token_ids: Sequence[int],
    ) -> Any:
        """Only the delta is read: O(len(delta)) whichever way vLLM builds the other arguments."""
        stream = self._stream
        if stream is None:
            stream = self._stream = self._parser.start_stream(self._request(), prompt_token_ids=self._prompt_ids)
        return _to_vllm(stream.feed(delta_text, delta_token_ids), self._message)

    def has_engine_confirmed_reasoning_end(self) -> bool:
        stream = self._stream
        if stream is None or not stream.reasoning_ended:
            return False
        return self._verbatim_content or _past_content_markup(stream)

    def finish_streaming(self) -> Any:
        """Release what the stream holds back (vLLM calls this at the end of reasoning or output)."""
        stream = self._stream
        return None if stream is None else _to_vllm(stream.finish(), self._message)

    # The names vLLM used before 0.11, kept by the seeds' examples.
    extract_reasoning_content = extract_reasoning
    extract_reasoning_content_streaming = extract_reasoning_streaming


def _skipped_as_special(tokenizer: Any, marker_ids: dict[str, int]) -> tuple[str, ...]:
    """The markers this tokenizer drops from text when it skips special tokens."""
    decode = getattr(tokenizer, "decode", None)
    if decode is None:
        return ()
    skipped = []
    for marker, token_id in marker_ids.items():
        try:
            if not decode([token_id], skip_special_tokens=True) and decode([token_id]):
                skipped.append(marker)
        except Exception:  # a tokenizer without the keyword: nothing to adjust
            return ()
    return tuple(skipped)


def _past_content_markup(stream: Any) -> bool:
    """Whether a stream of a format with content markup has reached plain content (a stream
    that cannot say answers False, which keeps vLLM feeding the parser)."""
    return bool(getattr(stream, "in_plain_content", False))


class _SeedParser:
    """A parser written only against the seed (vLLM-style) interface, forwarded as it is.

    vLLM drives it as it drives its own legacy parsers: previous and current text and ids
    every token, and ``is_reasoning_end_streaming`` on the output ids.
    """

    engine_based_streaming = False
    parser_class: ClassVar[type]
    parser_name: ClassVar[str]

    def __init__(self, tokenizer: Any = None, *args: Any, chat_template_kwargs: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, **kwargs)  # type: ignore[call-arg]
        extra = {"chat_template_kwargs": chat_template_kwargs} if chat_template_kwargs is not None else {}
        self._parser = self.parser_class(tokenizer, **extra)
        self._message = _delta_message_class()

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return bool(self._parser.is_reasoning_end(input_ids))

    def extract_content_ids(self, input_ids: list[int]) -> list[int]:
        return list(self._parser.extract_content_ids(input_ids))

    def extract_reasoning(self, model_output: str, request: Any = None) -> tuple[str | None, str | None]:
        return self._parser.parse(model_output, request=request)

    def extract_reasoning_streaming(
        self,
        previous_text: str,
        current_text: str,
        delta_text: str,
        previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int],
        delta_token_ids: Sequence[int],
    ) -> Any:
        message = self._parser.extract_reasoning_content_streaming(
            previous_text, current_text, delta_text, previous_token_ids, current_token_ids, delta_token_ids
        )
        return _to_vllm(message, self._message)

    extract_reasoning_content = extract_reasoning
    extract_reasoning_content_streaming = extract_reasoning_streaming
