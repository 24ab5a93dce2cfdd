"""``response-template`` (vLLM's ``hf``, SGLang's ``response_template``): the model's own declaration.

A model may ship its output format as a ``response_template`` in ``tokenizer_config.json`` (what
transformers' ``tokenizer.parse_response`` reads). This parser, built with the model's tokenizer,
reads it and behaves exactly as that declaration (:func:`reasoning_plugins.parser_from_response_template`):
the instance is of the declarative parser class built for the template, one class per distinct
template. Its reasoner does the same for guided decoding. Without a tokenizer, or with one that
has no ``response_template``, construction fails saying what is missing and what to use instead.
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

from .._auto import _response_template, format_from_response_template, parser_from_response_template
from .._errors import MissingMarkerError
from .._parser import DeclarativeParser, ReasoningParser
from .._reasoner import DeclarativeReasoner, Reasoner

__all__ = ["ResponseTemplateParser", "ResponseTemplateReasoner", "response_template_of"]

NAME = "response-template"
# The conformance suite's stand-in: the bundled model's tokenizer with a response_template added.
CONFORMANCE_TOKENIZER = "tiny+response_template"

_lock = threading.Lock()
_parser_classes: dict[str, type[DeclarativeParser]] = {}
_reasoner_classes: dict[str, type[DeclarativeReasoner]] = {}


def response_template_of(tokenizer: Any, what: str) -> dict[str, Any]:
    """The tokenizer's ``response_template``; MissingMarkerError saying what is missing when there
    is no tokenizer or no template. ``what`` names the caller in the message."""
    alternatives = ("use --reasoning-parser auto (it also reads the chat template) or name the model's "
                    "parser (`reasoning-plugins list`)")
    if tokenizer is None:
        raise MissingMarkerError(
            f"{what} '{NAME}' (vLLM 'hf') is built from the model tokenizer's response_template, and no "
            f"tokenizer was given: pass the model's tokenizer (get_parser('{NAME}', tokenizer)), or {alternatives}"
        )
    template = _response_template(tokenizer)
    if template is None:
        source = getattr(tokenizer, "name_or_path", None) or type(tokenizer).__name__
        raise MissingMarkerError(
            f"{what} '{NAME}' (vLLM 'hf') needs a response_template in the model's tokenizer_config.json, "
            f"and the tokenizer {source!r} has none; {alternatives}. A model author can write one with "
            f"`reasoning-plugins export NAME`."
        )
    return template


def _key(template: dict[str, Any]) -> str:
    return json.dumps(template, sort_keys=True, default=str)


def _parser_class(template: dict[str, Any]) -> type[DeclarativeParser]:
    key = _key(template)
    with _lock:
        cls = _parser_classes.get(key)
        if cls is None:
            cls = _parser_classes[key] = parser_from_response_template(template, NAME)
    return cls


class ResponseTemplateParser(ReasoningParser):
    """The parser the tokenizer's ``response_template`` declares; ``ResponseTemplateParser(tokenizer)``
    is an instance of the declarative parser class built for that template."""

    conformance_tokenizer: ClassVar[str] = CONFORMANCE_TOKENIZER

    def __new__(cls, tokenizer: Any = None, *args: Any, **kwargs: Any) -> Any:
        return cls.class_for_tokenizer(tokenizer)(tokenizer, *args, **kwargs)

    @staticmethod
    def class_for_tokenizer(tokenizer: Any) -> type[DeclarativeParser]:
        """The declarative parser class for ``tokenizer``'s response_template."""
        template = response_template_of(tokenizer, "the reasoning parser")
        try:
            return _parser_class(template)
        except ValueError as exc:
            raise MissingMarkerError(f"the response_template of this tokenizer cannot be used by '{NAME}': {exc}") from exc


class ResponseTemplateReasoner(Reasoner):
    """The reasoner for the format the tokenizer's ``response_template`` declares."""

    conformance_tokenizer: ClassVar[str] = CONFORMANCE_TOKENIZER

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> DeclarativeReasoner:
        template = response_template_of(tokenizer, "the reasoner")
        key = _key(template)
        with _lock:
            built = _reasoner_classes.get(key)
        if built is None:
            try:
                fmt = format_from_response_template(template)
            except ValueError as exc:
                raise MissingMarkerError(f"the response_template of this tokenizer cannot be used by '{NAME}': {exc}") from exc
            built = type("ResponseTemplateReasoner", (DeclarativeReasoner,), {"format": fmt, "__module__": __name__})
            with _lock:
                built = _reasoner_classes.setdefault(key, built)
        return built.from_tokenizer(tokenizer)
