"""Our parsers inside LMDeploy's ``ReasoningParserManager``.

LMDeploy has two reasoning-parser interfaces, and :func:`install` registers into whichever the
installed version has:

- **up to 0.12.x** (``lmdeploy.serve.openai.reasoning_parser``): the seed interface. The server
  makes ONE parser at start, ``ReasoningParserManager.get(name)(tokenizer)``, and calls its
  ``extract_reasoning_content_streaming`` for every request, interleaved, and
  ``extract_reasoning_content`` for complete outputs. Our parser classes are registered as they
  are: each request keeps its own stream inside the shared instance (README, "Using a parser in
  any engine"). LMDeploy never calls ``finish()``, so text held back at the very end of a
  stream (an output that stops inside a possible marker, such as ``</thi``) is not sent.
- **from 0.13** (``lmdeploy.serve.parsers.reasoning_parser``): a parser is a declaration (open
  tag, close tag, whether a request starts in reasoning) and LMDeploy's own response parser
  splits the text. Formats that are exactly that (a start and/or end marker) are registered as
  declarations built from our format; formats that need more (a content wrapper such as ERNIE's
  ``<response>``, newline trims, a tool-call opener that ends reasoning) or that are not
  declarative are not offered there, and :func:`install` says which.

Names with a ``.`` are not registered (LMDeploy's registry reads ``a.b`` as scope ``a``).
Call :func:`install` in the server process before it starts (LMDeploy has no plugin hook).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from .._host import PARSER, current_host
from .._modes import Mode
from ..protocol import ChatCompletionRequest
from . import UnsupportedEngineError, engine_version, missing_attributes, offered_parsers, replace_entries
from ._clashes import engine_names, override_set, place, report

__all__ = ["SUPPORTED", "install"]

logger = logging.getLogger(__name__)

DISTRIBUTION = "lmdeploy"
_SEED_MODULE = "lmdeploy.serve.openai.reasoning_parser"  # <= 0.12.x
_TAGS_MODULE = "lmdeploy.serve.parsers.reasoning_parser"  # >= 0.13
SUPPORTED = "lmdeploy 0.12.x and earlier with the seed interface (tested: 0.12.3); lmdeploy 0.13 to 0.18 with tag declarations (tested: 0.18.0)"

_lock = threading.Lock()
_installed: dict[str, type] = {}
_originals: dict[str, Any] = {}
_classes: dict[tuple[str, type], type] = {}
_skipped_reported: set[str] = set()


def install(override: Iterable[str] | str | None = None) -> dict[str, type]:
    """Register every offered parser name in LMDeploy's ``ReasoningParserManager``.

    A name LMDeploy already ships keeps LMDeploy's parser and ours is ``ours:NAME``; names in
    ``override`` (default: ``REASONING_PLUGINS_OVERRIDE``) replace LMDeploy's. Each clash is
    logged once; calling it again changes nothing unless the plugins or the override changed.
    Returns the names registered. Raises :class:`UnsupportedEngineError`, registering nothing,
    when LMDeploy is missing or has neither interface.
    """
    module, version, declarations = _lmdeploy_module()
    with _lock:
        registry = module.ReasoningParserManager.module_dict
        ours = set(_installed.values())
        # LMDeploy >= 0.13 rewrites its legacy names to "default" before the lookup: they are its.
        legacy = list(getattr(module, "LEGACY_REASONING_PARSER_NAMES", ()))
        theirs = engine_names([k for k, v in registry.items() if v not in ours] + list(_originals) + legacy)
        wanted: dict[str, type] = {}
        placements = []
        skipped = []
        host = current_host()
        override_names = override_set(override)
        for offered in offered_parsers():
            parser_class = host.resolve(PARSER, offered.name)
            reason = _not_declarable(parser_class) if declarations else None
            if reason is not None:
                skipped.append(f"{offered.name} ({reason})")
                continue
            for name in offered.names:
                if "." in name:
                    continue
                cls = _classes.get((name, parser_class))
                if cls is None:
                    cls = _declaration(module, parser_class) if declarations else parser_class
                    _classes[(name, parser_class)] = cls
                placement = place(name, theirs, override_names)
                wanted.update(dict.fromkeys(placement.keys, cls))
                placements.append((placement, offered.provider))
        replace_entries(
            registry, _installed, _originals, wanted,
            lambda key, cls: module.ReasoningParserManager.register_module(name=key, force=True, module=cls),
        )
        for placement, provider in placements:
            report(logger, f"LMDeploy {version}", placement, provider)
        new_skips = [s for s in skipped if s not in _skipped_reported]
        if new_skips:
            _skipped_reported.update(new_skips)
            logger.info("LMDeploy %s parses reasoning from tags only; not offered there: %s", version, "; ".join(new_skips))
        return dict(_installed)


def _lmdeploy_module() -> tuple[Any, str, bool]:
    """LMDeploy's reasoning-parser module, its version, and whether it takes declarations."""
    version = engine_version(DISTRIBUTION)
    if version is None:
        raise UnsupportedEngineError(f"LMDeploy is not installed; the LMDeploy adapter supports {SUPPORTED}.")
    errors = []
    for module_name, declarations in ((_TAGS_MODULE, True), (_SEED_MODULE, False)):
        try:
            module = __import__(module_name, fromlist=["ReasoningParserManager"])
        except ImportError as exc:
            errors.append(f"{module_name}: {type(exc).__name__}: {exc}")
            continue
        missing = _missing(module, declarations)
        if not missing:
            return module, version, declarations
        errors.append(f"{module_name} lacks {', '.join(missing)}")
    raise UnsupportedEngineError(
        f"LMDeploy {version} has a reasoning-parser interface the adapter does not know ({'; '.join(errors)}); "
        f"the LMDeploy adapter supports {SUPPORTED}. Nothing was registered."
    )


def _missing(module: Any, declarations: bool) -> list[str]:
    if declarations:
        wanted = ("get_reasoning_open_tag", "get_reasoning_close_tag", "starts_in_reasoning_mode", "validate_tokenizer")
    else:
        wanted = ("extract_reasoning_content", "extract_reasoning_content_streaming")
    return missing_attributes(module, {"ReasoningParserManager": ("register_module", "module_dict", "get"), "ReasoningParser": wanted})


# -- LMDeploy >= 0.13: declarations ------------------------------------------------------------


def _not_declarable(parser_class: type) -> str | None:
    """Why a parser cannot be handed to LMDeploy as an open/close tag pair, or None."""
    fmt = getattr(parser_class, "format", None)
    if fmt is None:
        return "not a declarative format"
    needs = [
        what
        for what, present in (
            ("a content wrapper", fmt.content_wrapper),
            ("markers that end reasoning implicitly", fmt.implicit_ends),
            ("newline trims", fmt.trim_newline_before_end or fmt.trim_content_leading_newlines or fmt.trim_wrapper_newlines),
        )
        if present
    ]
    return f"needs {' and '.join(needs)}" if needs else None


def _declaration(module: Any, parser_class: type) -> type:
    """LMDeploy's declaration of ``parser_class``'s format; LMDeploy's response parser splits."""
    fmt = parser_class.format
    probe = parser_class(None)  # resolves a request's mode; holds no per-request state

    class Declaration(module.ReasoningParser):  # type: ignore[misc, name-defined]
        reasoning_parser_class = parser_class

        def __init__(self, **chat_template_kwargs: Any) -> None:
            self._request = ChatCompletionRequest(chat_template_kwargs=chat_template_kwargs) if chat_template_kwargs else None

        @classmethod
        def get_reasoning_open_tag(cls) -> str | None:
            return fmt.start

        @classmethod
        def get_reasoning_close_tag(cls) -> str:
            return fmt.end

        @classmethod
        def validate_tokenizer(cls, tokenizer: Any) -> None:
            # LMDeploy counts reasoning tokens by the tags' ids: they must be single tokens.
            vocab = tokenizer.get_vocab()
            missing = [tag for tag in (fmt.start, fmt.end) if tag and tag not in vocab]
            if missing:
                raise RuntimeError(
                    f"reasoning parser {parser_class.__name__}: LMDeploy needs its tags {missing!r} to be "
                    f"single tokens of the model's tokenizer, and they are not."
                )

        def starts_in_reasoning_mode(self) -> bool:
            return probe.resolve_mode(self._request) is Mode.REASONING

    Declaration.__name__ = Declaration.__qualname__ = f"ReasoningPluginsDeclaration[{parser_class.__name__}]"
    return Declaration
