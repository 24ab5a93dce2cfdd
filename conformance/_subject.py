"""What is under test: a parser (and the reasoner of the same name), its markers and capabilities."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reasoning_plugins import Capability, ReasoningFormat, UnknownPluginError, current_host
from reasoning_plugins._host import PARSER, REASONER

from ._markers import Markers, discover_markers
from .tokenizers import TokenizerUnavailable, load_tokenizer

__all__ = ["Context", "Markers", "Settings", "Subject"]

# The tokenizer of each built-in family (ERNIE's stand-in is explained in conformance.tokenizers).
FAMILY_TOKENIZERS = {
    "deepseek-r1": "deepseek",
    "qwq": "qwen",
    "ernie-45-vl": "ernie",
    "ernie-45-vl-thinking": "ernie",
    "ernie-x1": "ernie",
}
DEFAULT_TOKENIZER = "qwen"
DEFAULT_EXAMPLES = 40


@dataclass(slots=True)
class Settings:
    """How hard to look. ``examples``: hypothesis examples per property; ``seed``: None for a
    derandomized (reproducible) run, or an int to explore other examples; ``cost_bound``: how many
    times dearer a token may be after a long history than after a short one."""

    examples: int = DEFAULT_EXAMPLES
    seed: int | None = None
    tokenizer: str | None = None
    cost_bound: float = 3.0
    cost_history_words: int = 30_000
    cost_timed_words: int = 1_000
    cost_repeats: int = 3
    markers: tuple[str | None, str] | None = None  # the author's (start, end), overriding discovery
    engines: tuple[str, ...] | None = None  # drivers to run (None: all)

    def __post_init__(self) -> None:
        if self.markers is not None:
            self.markers = tuple(self.markers)  # type: ignore[assignment]
            Markers(start=self.markers[0], end=self.markers[1])  # validates
        if self.engines is not None:
            from ._drivers import DRIVERS

            self.engines = tuple(self.engines)
            unknown = [name for name in self.engines if name not in DRIVERS]
            if unknown or not self.engines:
                raise ValueError(
                    f"unknown engine driver(s) {', '.join(unknown) or '(none given)'}; available: {', '.join(DRIVERS)}"
                )
        if self.examples < 1:
            raise ValueError(f"examples must be at least 1, got {self.examples}")
        if self.cost_bound <= 1.0:
            raise ValueError(f"cost_bound must be above 1.0 (a ratio of per-token costs), got {self.cost_bound}")
        if self.cost_history_words < 1000 or self.cost_timed_words < 100 or self.cost_repeats < 1:
            raise ValueError(
                "cost_history_words >= 1000, cost_timed_words >= 100 and cost_repeats >= 1 are needed "
                f"for a meaningful cost measurement; got {self.cost_history_words}, "
                f"{self.cost_timed_words}, {self.cost_repeats}"
            )


@dataclass(frozen=True, slots=True)
class Context:
    """How one request starts: what the parser is told besides the output."""

    label: str
    request: Any = None
    prompt_token_ids: tuple[int, ...] | None = None
    prompt_text: str | None = None
    mode: str | None = None

    def kwargs(self) -> dict[str, Any]:
        found: dict[str, Any] = {"request": self.request}
        if self.prompt_token_ids is not None:
            found["prompt_token_ids"] = list(self.prompt_token_ids)
        if self.prompt_text is not None:
            found["prompt_text"] = self.prompt_text
        if self.mode is not None:
            found["mode"] = self.mode
        return found


@dataclass(slots=True)
class Subject:
    """One name under test, with what the checks need to know about it.

    Build it with :meth:`from_name` (an installed plugin) or :meth:`from_classes` (a class you
    are writing). ``parser_cls``/``reasoner_cls`` may be None when only one of them exists.
    """

    name: str
    parser_cls: Any = None
    reasoner_cls: Any = None
    settings: Settings = field(default_factory=Settings)
    tokenizer_name: str | None = None
    _tokenizer: Any = None
    _tokenizer_error: str | None = None
    _tokenizer_loaded: bool = False
    _markers: Markers | None = None
    _markers_source: str = ""
    _markers_found: bool = False

    @classmethod
    def from_name(cls, name: str, settings: Settings | None = None) -> Subject:
        """The parser and reasoner registered under ``name`` (raises UnknownPluginError if neither).

        ``ENGINE:NAME`` (``vllm:deepseek_r1``) is the engine's own parser, run under that
        engine's drivers; ``module:Class`` or ``file.py:Class`` a class by its path (see
        :mod:`conformance._engine_parsers`; TargetError when such a target cannot be loaded).
        """
        from ._engine_parsers import engine_of, load_target

        if engine_of(name) is None:
            host = current_host()
            parser_cls = reasoner_cls = None
            missing: UnknownPluginError | None = None
            try:
                parser_cls = host.resolve(PARSER, name)
            except UnknownPluginError as exc:
                missing = exc
            try:
                reasoner_cls = host.resolve(REASONER, name)
            except UnknownPluginError:
                pass
            if parser_cls is not None or reasoner_cls is not None:
                return cls.from_classes(name, parser_cls, reasoner_cls, settings)
            if ":" not in name and missing is not None:  # not a module path either
                raise missing from None
        loaded = load_target(name)
        return cls.from_classes(name, loaded.parser_cls, None, loaded.settings_for(settings or Settings()))

    @classmethod
    def from_classes(
        cls, name: str, parser_cls: Any = None, reasoner_cls: Any = None, settings: Settings | None = None
    ) -> Subject:
        if parser_cls is None and reasoner_cls is None:
            raise ValueError(f"subject {name!r} needs a parser class, a reasoner class, or both")
        settings = settings or Settings()
        subject = cls(name=name, parser_cls=parser_cls, reasoner_cls=reasoner_cls, settings=settings)
        subject.tokenizer_name = settings.tokenizer or subject._declared_tokenizer()
        class_for_tokenizer = getattr(parser_cls, "class_for_tokenizer", None)
        if callable(class_for_tokenizer):
            # a parser built from the model's own files (a response_template): check the class it
            # builds for this subject's tokenizer
            if subject.tokenizer is None:
                raise ValueError(f"{name!r} is built from its tokenizer, which could not be loaded: {subject.tokenizer_error}")
            subject.parser_cls = class_for_tokenizer(subject.tokenizer)
        return subject

    def _declared_tokenizer(self) -> str:
        for owner in (self.parser_cls, self.reasoner_cls):
            declared = getattr(owner, "conformance_tokenizer", None)
            if isinstance(declared, str) and declared:
                return declared
        from reasoning_plugins._names import normalize

        return FAMILY_TOKENIZERS.get(normalize(self.name), DEFAULT_TOKENIZER)

    # -- what the parser declares -----------------------------------------------------------

    @property
    def capabilities(self) -> frozenset[str]:
        declared = getattr(self.parser_cls, "capabilities", None) or frozenset()
        return frozenset(declared)

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    @property
    def pass_through(self) -> str | None:
        """For a parser declaring 'pass-through' (no reasoning section), the text it puts in front
        of the output (its ``content_prefix``, "" when it declares none); None otherwise."""
        if not self.has(Capability.PASS_THROUGH):
            return None
        prefix = getattr(self.parser_cls, "content_prefix", "")
        if not isinstance(prefix, str):
            raise TypeError(f"{self.parser_cls.__name__}.content_prefix must be a str, got {prefix!r}")
        return prefix

    @property
    def format(self) -> ReasoningFormat | None:
        for owner in (self.parser_cls, self.reasoner_cls):
            fmt = getattr(owner, "format", None)
            if isinstance(fmt, ReasoningFormat):
                return fmt
        return None

    @property
    def markers(self) -> Markers | None:
        """The parser's markers (see :mod:`conformance._markers` for where they are found)."""
        if not self._markers_found:
            self._markers_found = True
            self._markers, self._markers_source = discover_markers(
                self.parser_cls, self.settings.markers, self.new_parser
            )
        return self._markers

    @property
    def markers_source(self) -> str:
        """Where the markers came from, or why none were found."""
        _ = self.markers
        return self._markers_source

    @property
    def engines(self) -> Sequence[str]:
        """The engine drivers this run replays (all unless the settings choose some)."""
        from ._drivers import DRIVERS

        return self.settings.engines or tuple(DRIVERS)

    @property
    def native(self) -> bool:
        return self.has(Capability.NATIVE_STREAM)

    # -- making instances -------------------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        """The real tokenizer for this subject, or None when it cannot be loaded."""
        if not self._tokenizer_loaded:
            self._tokenizer_loaded = True
            try:
                self._tokenizer = load_tokenizer(self.tokenizer_name or DEFAULT_TOKENIZER)
            except TokenizerUnavailable as exc:
                self._tokenizer_error = str(exc)
        return self._tokenizer

    @property
    def tokenizer_error(self) -> str | None:
        _ = self.tokenizer
        return self._tokenizer_error

    def new_parser(self) -> Any:
        """A fresh parser instance, built the way the host builds one for a request."""
        return self.parser_cls(self.tokenizer)

    def new_reasoner(self) -> Any:
        factory: Callable[[Any], Any] | None = getattr(self.reasoner_cls, "from_tokenizer", None)
        return factory(self.tokenizer) if factory is not None else self.reasoner_cls(self.tokenizer)

    def single_token_ids(self) -> dict[str, int]:
        """Markers that are single tokens of this subject's tokenizer, with their ids."""
        tokenizer, markers = self.tokenizer, self.markers
        if tokenizer is None or markers is None:
            return {}
        found = {}
        for marker in markers.every:
            ids = tokenizer.encode(marker, add_special_tokens=False)
            if len(ids) == 1:
                found[marker] = int(ids[0])
        return found
