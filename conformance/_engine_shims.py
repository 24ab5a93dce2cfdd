"""Engines' own reasoning parsers, called the way each engine's serving layer calls them.

Each shim wraps one engine parser in the interface the suite's drivers replay
(``extract_reasoning_content``, ``extract_reasoning_content_streaming``, ``finish()``) and, behind
it, calls the engine exactly as the engine's own serving code does (read in the installed
packages: vLLM 0.33, SGLang 0.5, LMDeploy 0.12 and 0.18):

- **vLLM** (drivers ``vllm``, ``vllm-multi``): per request, the ``Parser`` that
  ``ParserManager.get_parser(reasoning_parser_name=NAME)`` composes, as ``vllm serve`` does, built
  with vLLM's cached tokenizer and the request's ``chat_template_kwargs``; each delta goes through
  vLLM's ``ChatStreamProcessor.step`` (``parse_delta`` with a marker-free chat prompt's ids);
  ``finish()`` is what ``parse_delta(..., finished=True)`` adds after the last delta. Non-streamed:
  a fresh ``Parser``, ``set_prompt_token_ids``, ``parse(text, request)``. ``is_reasoning_end`` and
  ``extract_content_ids`` are the reasoning parser's, as structured output calls them.
- **SGLang** (driver ``sglang``): per request, ``ReasoningParser(NAME, stream_reasoning,
  force_reasoning, request)`` with ``force_reasoning`` decided as its chat server decides it when
  the chat template gives no reasoning config; ``parse_stream_chunk(text)`` per increment, then
  ``parse_stream_end()``. Non-streamed: ``parse_non_stream`` with ``stream_reasoning=False``.
  Empty sections as its server sends them (content ``""`` in a non-streamed message).
- **LMDeploy up to 0.12** (driver ``lmdeploy``): ONE instance of
  ``ReasoningParserManager.get(NAME)`` for every request, called by keyword; a ``None`` answer
  means the server sends the delta's text as content; the parser is skipped when
  ``enable_thinking`` is false; there is no flush.
- **LMDeploy 0.13 and later** (driver ``lmdeploy``): per request, its ``BaseResponseParser``
  configured with NAME (legacy names map to ``default``): ``stream_chunk(delta_text, delta_ids,
  final=False)``, the last step ``stream_chunk("", [], final=True)``; non-streamed
  ``parse_complete(text)``.

Markers come from the engine parser's own attributes (``start_token``/``end_token``,
``think_start_token``/``think_end_token``, LMDeploy's reasoning tags, SGLang's tool opener as an
implicit end), or from ``KNOWN_MARKERS`` where they do not say it all; the tokenizer is the model
family's. A fresh shim handed a history mid-stream replays it once: no engine does that.
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
import importlib.util
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from reasoning_plugins import Capability
from reasoning_plugins._modes import request_field
from reasoning_plugins._names import normalize

from ._markers import ATTRIBUTE_PAIRS

__all__ = ["ENGINES", "KNOWN_CAPABILITIES", "KNOWN_MARKERS", "EngineParser", "TargetError", "load_engine_parser", "vllm_class_shim"]

_PROMPT = "<|im_start|>user\nWhat is 6 times 7?<|im_end|>\n<|im_start|>assistant\n"
_MESSAGES = [{"role": "user", "content": "What is 6 times 7?"}]


class TargetError(LookupError):
    """A target the suite cannot load; the message says what was wrong and what to do."""


@dataclass(frozen=True, slots=True)
class Engine:
    name: str
    label: str
    drivers: tuple[str, ...]
    distribution: str
    venv: str  # this repository's environment with the engine (scripts/engines/<name>.sh builds it)


ENGINES: dict[str, Engine] = {
    e.name: e
    for e in (
        Engine("vllm", "vLLM", ("vllm", "vllm-multi"), "vllm", ".venv-vllm"),
        Engine("sglang", "SGLang", ("sglang",), "sglang", ".venv-sglang"),
        Engine("lmdeploy", "LMDeploy", ("lmdeploy",), "lmdeploy", ".venv-lmdeploy"),
    )
}

# Markers the parser's attributes do not tell, by (engine, name): content wrappers, implicit ends,
# and a start marker the model never writes (ERNIE's template opens the block; its parser's
# docstring gives the output as "abc\n</think>\n\n<response>\ndef\n</response>\n").
KNOWN_MARKERS: dict[tuple[str, str], dict[str, Any]] = {
    ("vllm", "ernie45"): {"start": None, "end": "</think>", "content_wrapper": ("<response>", "</response>")},
    ("vllm", "qwen3"): {"start": "<think>", "end": "</think>", "implicit_ends": ("<tool_call>",)},
}
# Capabilities the format has by design, by (engine, name): ERNIE's newlines around its markers
# are markup (the parser strips those after </think> and around <response>).
KNOWN_CAPABILITIES: dict[tuple[str, str], frozenset[str]] = {
    ("vllm", "ernie45"): frozenset({Capability.TRIMS}),
}


def _family_tokenizer(name: str) -> str:
    key = normalize(name)
    return "deepseek" if "deepseek" in key else "ernie" if "ernie" in key else "qwen"


# -- shared by every shim -------------------------------------------------------------------


class EngineParser:
    """Base of the shims: one engine parser, called through the interface the drivers replay."""

    engine: ClassVar[str]
    engine_label: ClassVar[str]
    engine_name: ClassVar[str]  # the name in the engine's registry
    engine_version: ClassVar[str]
    conformance_tokenizer: ClassVar[str]
    conformance_markers: ClassVar[Any] = None
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self._seen: str = ""  # current_text of the previous streaming call

    def _resynced(self, previous_text: str, previous_ids: Sequence[int]) -> None:
        """A fresh instance handed a history: no engine does that (each keeps its own stream),
        so the history is replayed once as one delta, the way an engine would have fed it."""
        if previous_text is not self._seen and previous_text != self._seen:
            self._replay(previous_text, list(previous_ids))

    def _replay(self, text: str, ids: list[int]) -> None:
        raise NotImplementedError

    def _copy_markers(self, owner: Any) -> None:
        """Expose the engine parser's marker attributes, where the suite looks for them."""
        for names in ATTRIBUTE_PAIRS:
            for attr in names:
                value = getattr(owner, attr, None)
                if isinstance(value, str) and value:
                    setattr(self, attr, value)


def _shim(base: type, engine: str, name: str, version: str, display: str | None = None, **attrs: Any) -> type:
    key = (engine, name)
    known = KNOWN_MARKERS.get(key)
    namespace = {
        "engine": engine,
        "engine_label": ENGINES[engine].label,
        "engine_name": name,
        "engine_version": version,
        "conformance_tokenizer": _family_tokenizer(name),
        "capabilities": attrs.pop("capabilities", base.capabilities) | KNOWN_CAPABILITIES.get(key, frozenset()),
        "__module__": __name__,
        **({"conformance_markers": known} if known else {}),
        **attrs,
    }
    cls = type(display or f"{engine}:{name}", (base,), namespace)
    cls.__qualname__ = cls.__name__
    return cls


def _pick(name: str, names: Sequence[str], target: str, label: str, version: str) -> str:
    """``name`` as the engine spells it (exact, else case-insensitive with ``_`` = ``-``)."""
    if name in names:
        return name
    matches = [n for n in names if normalize(n) == normalize(name)] if name.strip() else []
    if len(matches) == 1:
        return matches[0]
    raise TargetError(
        f"{target}: {label} {version} has no reasoning parser named {name!r}. Its names: {', '.join(sorted(names))}"
    )


def _not_installed(engine: str, target: str, exc: Exception) -> TargetError:
    info = ENGINES[engine]
    return TargetError(
        f"{target}: {info.label} is not importable in this Python ({sys.executable}: {type(exc).__name__}: "
        f"{exc}). Run the check with the Python that has {info.label} (in this repository: "
        f"{info.venv}/bin/reasoning-plugins check {target}, after scripts/engines/{info.name}.sh), "
        f"or pip install {info.distribution} into this environment"
    )


def _version(distribution: str, module: Any = None) -> str:
    found = getattr(module, "__version__", None)
    if isinstance(found, str):
        return found
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "(version unknown)"


_CACHE: dict[tuple[str, int], tuple[Any, Any]] = {}


def _per_tokenizer(kind: str, tokenizer: Any, make: Callable[[Any], Any]) -> Any:
    """``make(tokenizer)``, once per tokenizer object (engines build such things once per server)."""
    key = (kind, id(tokenizer))
    hit = _CACHE.get(key)
    if hit is None or hit[0] is not tokenizer:
        hit = (tokenizer, make(tokenizer))
        _CACHE[key] = hit
    return hit[1]


def _prompt_ids(tokenizer: Any) -> list[int]:
    """A chat prompt without markers, as an engine always has one."""
    return _per_tokenizer("prompt", tokenizer, lambda t: list(t.encode(_PROMPT, add_special_tokens=False)))


def _vocab_cached(tokenizer: Any) -> Any:
    """The tokenizer with ``get_vocab()`` computed once, as an engine's long-lived tokenizer is
    (transformers rebuilds the 150k-entry dict on every call)."""

    def make(tok: Any) -> Any:
        vocab = tok.get_vocab()
        cached = type(f"VocabCached{type(tok).__name__}", (type(tok),), {"get_vocab": lambda self: vocab})
        clone = object.__new__(cached)
        clone.__dict__.update(tok.__dict__)
        return clone

    return _per_tokenizer("vocab", tokenizer, make)


def _kwargs_of(request: Any) -> dict[str, Any]:
    return dict(request_field(request, "chat_template_kwargs") or {})


# -- vLLM -----------------------------------------------------------------------------------


class VllmParser(EngineParser):
    """vLLM's parser for NAME inside vLLM's own per-request ``Parser`` (``parse_delta``/``parse``)."""

    capabilities = frozenset({Capability.FINISH})  # and token-ids for legacy parsers (they match ids)
    reasoning_parser_cls: ClassVar[Any]  # the class vLLM registered under NAME
    registered: ClassVar[bool] = True  # False: a class from a module path, composed as vLLM composes one

    def __init__(self, tokenizer: Any, *args: Any, chat_template_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__()
        self._tokenizer = _per_tokenizer("vllm", tokenizer, _vllm_cached_tokenizer)
        self._kwargs = dict(chat_template_kwargs or {})
        self._request = _vllm_request(self._kwargs)
        self._prompt = _prompt_ids(tokenizer)
        self._parser = self._new(self._kwargs)
        self._copy_markers(self._parser.reasoning_parser)
        from vllm.entrypoints.openai.chat_completion.stream_processor import ChatStreamProcessor

        # vLLM's chat stream: one step per engine output, parse_delta behind it
        self._steps = ChatStreamProcessor(self._request, self._parser, enable_auto_tools=False, parser_cls=self._composed())

    def _composed(self) -> Any:
        return _per_tokenizer(f"vllm:{self.engine_name}:{id(type(self))}", self._tokenizer, self._compose)

    def _new(self, kwargs: dict[str, Any]) -> Any:
        return self._composed()(self._tokenizer, None, chat_template_kwargs=kwargs, model_config=None)

    def _compose(self, tokenizer: Any) -> Any:
        from vllm.parser.parser_manager import ParserManager

        if self.registered:
            return ParserManager.get_parser(reasoning_parser_name=self.engine_name, tokenizer=tokenizer)
        from vllm.parser.abstract_parser import DelegatingParser

        return type("_Parser", (DelegatingParser,), {"reasoning_parser_cls": self.reasoning_parser_cls, "tool_parser_cls": None})

    def extract_reasoning_content(self, model_output: str, request: Any = None) -> tuple[str | None, str | None]:
        kwargs = _kwargs_of(request) if request is not None else self._kwargs
        parser = self._new(kwargs)  # as vLLM's non-streaming path: a fresh Parser, the prompt, parse()
        parser.set_prompt_token_ids(self._prompt)
        reasoning, content, _ = parser.parse(model_output, _vllm_request(kwargs), enable_auto_tools=False)
        return reasoning, content

    def extract_reasoning_content_streaming(
        self, previous_text: str, current_text: str, delta_text: str,
        previous_token_ids: Sequence[int], current_token_ids: Sequence[int], delta_token_ids: Sequence[int],
    ) -> Any:
        self._resynced(previous_text, previous_token_ids)
        self._seen = current_text
        ids = delta_token_ids if isinstance(delta_token_ids, list) else list(delta_token_ids)
        return self._steps.step(delta_text, ids, None, self._prompt).delta

    def _replay(self, text: str, ids: list[int]) -> None:
        self._steps.step(text, ids, None, self._prompt)

    def finish(self) -> Any:
        """What ``parse_delta(..., finished=True)`` adds after the last delta: the parser's
        fallback content for an unfinished block and the flush of an engine-based parser."""
        parser = self._parser
        if not hasattr(parser, "_flush_engine_parsers"):  # a composition with its own parse_delta
            return parser.parse_delta("", [], self._request, self._prompt, finished=True)
        message = parser.finalize_generation(None, self._request, parser._stream_state)
        return parser._flush_engine_parsers(message)

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return bool(self._parser.reasoning_parser.is_reasoning_end(list(input_ids)))

    def extract_content_ids(self, input_ids: Sequence[int]) -> list[int]:
        return list(self._parser.reasoning_parser.extract_content_ids(list(input_ids)))


def _vllm_cached_tokenizer(tokenizer: Any) -> Any:
    from vllm.tokenizers.hf import get_cached_tokenizer

    return get_cached_tokenizer(tokenizer)


def _vllm_request(kwargs: dict[str, Any]) -> Any:
    from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest

    return ChatCompletionRequest(model="m", messages=_MESSAGES, stream=True, chat_template_kwargs=kwargs or None)


def _vllm(name: str, target: str) -> type:
    try:
        import vllm
        from vllm.reasoning import ReasoningParserManager
    except ImportError as exc:
        raise _not_installed("vllm", target, exc) from exc
    version = _version("vllm", vllm)
    name = _pick(name, ReasoningParserManager.list_registered(), target, "vLLM", version)
    return _vllm_shim(ReasoningParserManager.get_reasoning_parser(name), name, version)


def _vllm_shim(cls: type, name: str, version: str, **attrs: Any) -> type:
    capabilities = VllmParser.capabilities
    if not getattr(cls, "engine_based_streaming", False):  # a legacy parser: markers found by their ids
        capabilities = capabilities | {Capability.TOKEN_IDS}
    return _shim(VllmParser, "vllm", name, version, reasoning_parser_cls=cls, capabilities=capabilities, **attrs)


def vllm_class_shim(cls: type, target: str) -> type:
    """A class written to vLLM's interface, outside vLLM's registry, in vLLM's ``Parser``."""
    import vllm

    return _vllm_shim(cls, target, _version("vllm", vllm), display=cls.__name__, registered=False,
                      conformance_tokenizer=getattr(cls, "conformance_tokenizer", "qwen"))


# -- SGLang ---------------------------------------------------------------------------------


class SglangParser(EngineParser):
    """SGLang's detector for NAME inside SGLang's ``ReasoningParser``, as its chat server uses it."""

    capabilities = frozenset({Capability.FINISH})

    def __init__(self, tokenizer: Any, *args: Any, chat_template_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__()
        self._tokenizer = tokenizer
        self._request = _sglang_request(dict(chat_template_kwargs or {}))
        self._stream = self._new(self._request, stream_reasoning=True)
        self._copy_markers(self._stream.detector)

    def _new(self, request: Any, stream_reasoning: bool) -> Any:
        from sglang.srt.parser.reasoning_parser import ReasoningParser

        force = _sglang_force_reasoning(self.engine_name, request)
        return ReasoningParser(self.engine_name, stream_reasoning, force, request, tokenizer=self._tokenizer)

    def extract_reasoning_content(self, model_output: str, request: Any = None) -> tuple[str | None, str | None]:
        request = _sglang_request(_kwargs_of(request)) if request is not None else self._request
        reasoning, content = self._new(request, stream_reasoning=False).parse_non_stream(model_output)
        # As its chat server answers: reasoning_content None when empty, content "" (on purpose).
        return reasoning or None, content or ""

    def extract_reasoning_content_streaming(
        self, previous_text: str, current_text: str, delta_text: str,
        previous_token_ids: Sequence[int], current_token_ids: Sequence[int], delta_token_ids: Sequence[int],
    ) -> Any:
        self._resynced(previous_text, previous_token_ids)
        self._seen = current_text
        return _sglang_message(*self._stream.parse_stream_chunk(delta_text))

    def _replay(self, text: str, ids: list[int]) -> None:
        self._stream.parse_stream_chunk(text)

    def finish(self) -> Any:
        return _sglang_message(*self._stream.parse_stream_end())


def _sglang_request(kwargs: dict[str, Any]) -> Any:
    from sglang.srt.entrypoints.openai.protocol import ChatCompletionRequest

    return ChatCompletionRequest(model="m", messages=_MESSAGES, stream=True, chat_template_kwargs=kwargs or None)


def _sglang_message(reasoning: str | None, content: str | None) -> Any:
    """A stream chunk as SGLang's chat server sends it: only the non-empty sections."""
    if not reasoning and not content:
        return None
    from sglang.srt.entrypoints.openai.protocol import DeltaMessage

    return DeltaMessage(reasoning_content=reasoning or None, content=content or None)


def _sglang_force_reasoning(name: str, request: Any) -> bool:
    """``force_reasoning`` as SGLang 0.5's chat server decides it when the chat template gives no
    reasoning config (``OpenAIServingChat._get_reasoning_from_request``, parser-level defaults):
    from the detector's ``reasoning_default`` and the request's ``chat_template_kwargs``."""
    mode = _sglang_reasoning_default(name)
    kwargs = request.chat_template_kwargs
    effort = getattr(request, "reasoning_effort", None)
    if mode == "always":
        return True
    if mode == "mistral":
        return effort is not None and effort != "none"
    if mode in ("thinking", "enable_thinking"):
        return not kwargs or kwargs.get(mode) is not False
    if mode in ("explicit_thinking", "explicit_enable_thinking"):
        return kwargs is not None and kwargs.get(mode.replace("explicit_", "")) is True
    return False


@functools.lru_cache(maxsize=None)
def _sglang_reasoning_default(name: str) -> str | None:
    """The detector's ``reasoning_default``, read from the one the server builds at start."""
    from sglang.srt.parser.reasoning_parser import ReasoningParser

    return getattr(ReasoningParser(name, stream_reasoning=True).detector, "reasoning_default", None)


def _sglang(name: str, target: str) -> type:
    try:
        from sglang.srt.parser.reasoning_parser import ReasoningParser
    except ImportError as exc:
        raise _not_installed("sglang", target, exc) from exc
    version = _version("sglang")
    name = _pick(name, list(ReasoningParser.DetectorMap), target, "SGLang", version)
    detector = ReasoningParser(name).detector
    markers = None
    start, end = getattr(detector, "think_start_token", None), getattr(detector, "think_end_token", None)
    tool = getattr(detector, "tool_start_token", None)
    if isinstance(end, str) and end and tool:  # a tool-call opener that ends reasoning, kept in the content
        markers = {"start": start or None, "end": end, "implicit_ends": (tool,)}
    return _shim(SglangParser, "sglang", name, version, **({"conformance_markers": markers} if markers else {}))


# -- LMDeploy -------------------------------------------------------------------------------


class LmdeploySeedParser(EngineParser):
    """LMDeploy (up to 0.12): its parser class for NAME, one instance shared by every request,
    called by keyword as its ``api_server`` does."""

    parser_cls: ClassVar[Any]

    def __init__(self, tokenizer: Any, *args: Any, **kwargs: Any):
        super().__init__()
        self._parser = self.parser_cls(_vocab_cached(tokenizer))
        self._copy_markers(self._parser)

    def extract_reasoning_content(self, model_output: str, request: Any = None) -> tuple[str | None, str | None]:
        kwargs = _kwargs_of(request)
        if kwargs.get("enable_thinking") is False:  # the server skips the parser
            return None, model_output
        return self._parser.extract_reasoning_content(model_output, _lmdeploy_request(kwargs))

    def extract_reasoning_content_streaming(
        self, previous_text: str, current_text: str, delta_text: str,
        previous_token_ids: Sequence[int], current_token_ids: Sequence[int], delta_token_ids: Sequence[int],
    ) -> Any:
        from lmdeploy.serve.openai.protocol import DeltaMessage

        found = self._parser.extract_reasoning_content_streaming(
            previous_text=previous_text, current_text=current_text, delta_text=delta_text,
            previous_token_ids=previous_token_ids, current_token_ids=current_token_ids, delta_token_ids=delta_token_ids,
        )
        if found is None:  # the server sends the delta it built before asking the parser: text as content
            return DeltaMessage(role="assistant", content=delta_text)
        return DeltaMessage(role="assistant", reasoning_content=found.reasoning_content, content=found.content)


class LmdeployResponseParser(EngineParser):
    """LMDeploy (0.13 and later): its per-request ``BaseResponseParser`` configured with NAME.
    One shim instance stands for the server: each request (found by the continuity of its
    ``previous_text``) gets its own response parser, as each request gets its own runner."""

    def __init__(self, tokenizer: Any, *args: Any, chat_template_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__()
        self._configured = _per_tokenizer(f"lmdeploy:{self.engine_name}", tokenizer, self._configure)
        self._kwargs = dict(chat_template_kwargs or {})
        self._streams: dict[int, list[tuple[str, Any]]] = {}
        self._last: Any = None
        reasoning_cls = self._configured.reasoning_parser_cls
        self.start_token = reasoning_cls.get_reasoning_open_tag() or None
        self.end_token = reasoning_cls.get_reasoning_close_tag()

    def _configure(self, tokenizer: Any) -> Any:
        from lmdeploy.serve.parsers.response_parser import BaseResponseParser, validate_parser_names

        # the server maps a legacy name to 'default' (with a warning on stdout, left out here)
        name, _ = validate_parser_names(self.engine_name, None, warn_legacy=False)
        configured = type("ResponseParser", (BaseResponseParser,), {})
        configured.set_parsers(reasoning_parser_name=name, tool_parser_name=None, tokenizer=_vocab_cached(tokenizer))
        return configured

    def _new(self, kwargs: dict[str, Any]) -> Any:
        return self._configured(_lmdeploy_request(kwargs))

    def extract_reasoning_content(self, model_output: str, request: Any = None) -> tuple[str | None, str | None]:
        kwargs = _kwargs_of(request) if request is not None else self._kwargs
        content, _, reasoning = self._new(kwargs).parse_complete(model_output, None)
        return reasoning, content

    def extract_reasoning_content_streaming(
        self, previous_text: str, current_text: str, delta_text: str,
        previous_token_ids: Sequence[int], current_token_ids: Sequence[int], delta_token_ids: Sequence[int],
    ) -> Any:
        stream = self._stream_for(previous_text, previous_token_ids)
        self._streams.setdefault(id(current_text), []).append((current_text, stream))
        self._last = stream
        return _merged(stream.stream_chunk(delta_text, list(delta_token_ids), final=False))

    def _stream_for(self, previous_text: str, previous_ids: Sequence[int]) -> Any:
        queue = self._streams.get(id(previous_text)) if previous_text else None
        while queue:
            text, stream = queue.pop(0)
            if not queue:
                del self._streams[id(previous_text)]
            if text is previous_text:
                return stream
        stream = self._new(self._kwargs)
        if previous_text:  # an unknown history: replayed once, as the server would have fed it
            stream.stream_chunk(previous_text, list(previous_ids), final=False)
        return stream

    def finish(self) -> Any:
        """The request's last engine step (the end-of-sequence token brings no text): ``final``."""
        stream, self._last = self._last, None
        return _merged(stream.stream_chunk("", [], final=True)) if stream is not None else None


def _merged(deltas: Sequence[tuple[Any, bool]]) -> Any:
    """The messages one engine step produced, as one (sections concatenated in order)."""
    if not deltas:
        return None
    from lmdeploy.serve.openai.protocol import DeltaMessage

    parts: dict[str, list[str]] = {"reasoning_content": [], "content": []}
    for message, _ in deltas:
        for field in parts:
            value = getattr(message, field, None)
            if value is not None:
                parts[field].append(value)
    joined = {field: "".join(values) if values else None for field, values in parts.items()}
    return DeltaMessage(role="assistant", **joined)


def _lmdeploy_request(kwargs: dict[str, Any]) -> Any:
    from lmdeploy.serve.openai.protocol import ChatCompletionRequest

    return ChatCompletionRequest(model="m", messages=_MESSAGES, chat_template_kwargs=kwargs or None)


def _lmdeploy(name: str, target: str) -> type:
    try:
        import lmdeploy
    except ImportError as exc:
        raise _not_installed("lmdeploy", target, exc) from exc
    version = _version("lmdeploy", lmdeploy)
    try:
        has_response_parser = importlib.util.find_spec("lmdeploy.serve.parsers.response_parser") is not None
    except ModuleNotFoundError:  # up to 0.12: no lmdeploy.serve.parsers at all
        has_response_parser = False
    if has_response_parser:
        from lmdeploy.serve.parsers.reasoning_parser import LEGACY_REASONING_PARSER_NAMES, ReasoningParserManager

        names = sorted({*ReasoningParserManager.module_dict, *LEGACY_REASONING_PARSER_NAMES})
        return _shim(LmdeployResponseParser, "lmdeploy", _pick(name, names, target, "LMDeploy", version), version)
    from lmdeploy.serve.openai.reasoning_parser import ReasoningParserManager as LegacyManager

    name = _pick(name, list(LegacyManager.module_dict), target, "LMDeploy", version)
    capabilities = LmdeploySeedParser.capabilities
    if name == "deepseek-r1":  # its parser matches the think tokens' ids (qwen-qwq's matches text)
        capabilities = capabilities | {Capability.TOKEN_IDS}
    return _shim(LmdeploySeedParser, "lmdeploy", name, version, parser_cls=LegacyManager.get(name), capabilities=capabilities)


_LOADERS: dict[str, Callable[[str, str], type]] = {"vllm": _vllm, "sglang": _sglang, "lmdeploy": _lmdeploy}


def load_engine_parser(engine: str, name: str, target: str) -> type:
    """The shim class for ENGINE's parser NAME (TargetError: engine missing or no such name)."""
    return _LOADERS[engine](name, target)
