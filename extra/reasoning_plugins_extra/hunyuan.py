"""Tencent Hunyuan HY v3 (Hy3) and HY v4: markers spelled with the checkpoint's token suffix.

A Hy tokenizer spells each structural token with one suffix shared by the checkpoint:
``<think:opensource>`` / ``</think:opensource>`` / ``<tool_calls:opensource>`` in Hy3's release,
``<think:6124c78e>`` ... in HY v4's; a preview tokenizer has the bare ``<think>``. The suffix is
read from the tokenizer when a parser or reasoner is built (so one class serves every
checkpoint): the ``token_suffix`` its config declares (``init_kwargs``, as vLLM's ``hy_v3``
reads it), else the ``<think…>`` / ``</think…>`` pair of its vocabulary (vLLM's ``hy_v4``,
SGLang's ``hunyuan``), a suffixed spelling before the bare one. A tokenizer with neither is a
:class:`~reasoning_plugins.MissingMarkerError`. Without a tokenizer the family's released
spelling is used.

The chat template ends the prompt with ``<think:S>`` when the request thinks and with the closed
``<think:S></think:S>`` when it does not; the model writes ``</think:S>`` (a ``<think:S>`` it
writes itself is removed). Thinking follows ``reasoning_effort`` (``chat_template_kwargs``, else
the request's field): ``none`` / ``no_think`` off, any other level on; when the request names
none, the template's default: ``no_think`` for Hy3, ``high`` for HY v4. A tool-call section
opened before ``</think:S>`` ends reasoning and stays in the content (SGLang; vLLM keeps it in
the reasoning). Whitespace is kept exactly.
"""

from __future__ import annotations

import re
import weakref
from typing import Any, ClassVar

from reasoning_plugins import DeclarativeParser, DeclarativeReasoner, MissingMarkerError, Mode, ReasoningFormat

__all__ = [
    "HyV3ReasoningParser",
    "HyV3Reasoner",
    "HyV4ReasoningParser",
    "HyV4Reasoner",
    "hunyuan_format",
    "token_suffix",
]

HY_V3_SUFFIX = ":opensource"
HY_V4_SUFFIX = ":6124c78e"
# the structural tokens a suffix is read from; vLLM's pattern (SGLang's also allows spaces)
_THINK_TOKEN = re.compile(r"<think(:[^\s>]+)?>")


def hunyuan_format(suffix: str, default_mode: Mode) -> ReasoningFormat:
    """The Hunyuan format for one token suffix (``""``, ``":opensource"``, ...)."""
    return ReasoningFormat(
        start=f"<think{suffix}>", end=f"</think{suffix}>", start_in_output=True, default_mode=default_mode,
        switches=("reasoning_effort",), implicit_ends=(f"<tool_calls{suffix}>",),
    )


_SUFFIXES: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def token_suffix(tokenizer: Any, family: str = "hunyuan") -> str:
    """The suffix of ``tokenizer``'s Hunyuan markers (``""`` for bare ``<think>``).

    MissingMarkerError (naming ``family``, the markers and the tokenizer) when the tokenizer has
    no ``<think…>`` / ``</think…>`` pair of single tokens, or not the one its config declares;
    ValueError when it has several suffixed pairs and declares none.
    """
    try:
        return _SUFFIXES[tokenizer]
    except (KeyError, TypeError):  # not seen yet, or not weakly referable
        pass
    suffix = _read_suffix(tokenizer, family)
    try:
        _SUFFIXES[tokenizer] = suffix
    except TypeError:
        pass
    return suffix


def _read_suffix(tokenizer: Any, family: str) -> str:
    try:
        vocab = tokenizer.get_vocab()
    except Exception:  # no vocabulary to read: reported below as missing markers
        vocab = {}
    declared = (getattr(tokenizer, "init_kwargs", None) or {}).get("token_suffix")
    if isinstance(declared, str) and declared:
        if f"<think{declared}>" in vocab and f"</think{declared}>" in vocab:
            return declared
        raise MissingMarkerError(
            f"{family} reads its markers' suffix {declared!r} from the tokenizer's config (token_suffix), "
            f"but the tokenizer {_label(tokenizer)} has no tokens <think{declared}> and </think{declared}>. "
            f"Fix token_suffix in tokenizer_config.json or use the model's own tokenizer."
        )
    found = set()
    for token in vocab:
        if not isinstance(token, str) or not token.startswith("<think"):
            continue
        match = _THINK_TOKEN.fullmatch(token)
        if match is not None and f"</think{match.group(1) or ''}>" in vocab:
            found.add(match.group(1) or "")
    suffixed = sorted(s for s in found if s)
    if len(suffixed) == 1:
        return suffixed[0]
    if len(suffixed) > 1:
        raise ValueError(
            f"{family}: the tokenizer {_label(tokenizer)} has several spellings of the reasoning markers "
            f"({', '.join(f'<think{s}>' for s in suffixed)}); declare the model's own as token_suffix in "
            f"tokenizer_config.json"
        )
    if "" in found:
        return ""
    raise MissingMarkerError(
        f"{family} needs its reasoning markers as single tokens: <think> and </think>, or a suffixed "
        f"spelling such as <think{HY_V3_SUFFIX}> and </think{HY_V3_SUFFIX}>; the tokenizer {_label(tokenizer)} "
        f"has none of them. Use the model's own tokenizer, or a parser that matches your model's markers."
    )


def _label(tokenizer: Any) -> str:
    label = type(tokenizer).__name__
    source = getattr(tokenizer, "name_or_path", None)
    if isinstance(source, str) and source:
        label += f" {source!r}"
    try:
        return f"{label} ({len(tokenizer):,} tokens)"
    except TypeError:
        return label


_SPELLED: dict[tuple[type, str], type] = {}


def _spelled(family: type, suffix: str) -> type:
    """``family``'s class for markers spelled with ``suffix`` (``family`` itself for its own)."""
    if suffix == family.suffix:
        return family
    found = _SPELLED.get((family, suffix))
    if found is None:
        attributes = {
            "format": hunyuan_format(suffix, family.format.default_mode),
            "suffix": suffix,
            "_family": family,
            "__module__": family.__module__,
        }
        found = _SPELLED[(family, suffix)] = type(f"{family.__name__}[{suffix or 'unsuffixed'}]", (family,), attributes)
    return found


def _family_of(cls: type) -> type:
    return cls.__dict__.get("_family", cls)


class _HunyuanParser(DeclarativeParser):
    """A Hunyuan parser: an instance's class is the one spelled with its tokenizer's suffix."""

    family: ClassVar[str]
    suffix: ClassVar[str]

    def __new__(cls, tokenizer: Any = None, *args: Any, **kwargs: Any) -> _HunyuanParser:
        family = _family_of(cls)
        spelled = family if tokenizer is None else _spelled(family, token_suffix(tokenizer, family.family))
        instance = super().__new__(spelled)
        if not isinstance(instance, cls):  # a class spelled for another tokenizer: Python skips __init__
            instance.__init__(tokenizer, *args, **kwargs)
        return instance

    @property
    def id_format(self) -> ReasoningFormat:
        """The format of this instance's tokenizer (engine adapters' id methods)."""
        return type(self).format


class _HunyuanReasoner(DeclarativeReasoner):
    """A Hunyuan reasoner, built for the markers its tokenizer spells."""

    family: ClassVar[str]
    suffix: ClassVar[str]

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> DeclarativeReasoner:
        if tokenizer is None:
            return super().from_tokenizer(tokenizer)  # the base's "needs the model's tokenizer" error
        family = _family_of(cls)
        spelled = _spelled(family, token_suffix(tokenizer, family.family))
        return super(_HunyuanReasoner, spelled).from_tokenizer(tokenizer)


# Hy3: the template's default is no_think (vLLM's hy_v3 agrees; SGLang renders an unset effort as
# high, and then the prompt's tail shows reasoning open).
HY_V3 = hunyuan_format(HY_V3_SUFFIX, Mode.CONTENT)
# HY v4: the template's default is high (vLLM's hy_v4).
HY_V4 = hunyuan_format(HY_V4_SUFFIX, Mode.REASONING)
# The conformance suite's stand-in: Qwen's tokenizer plus the release's structural tokens.
_TOKENS = ("think", "tool_calls", "tool_call", "arg_key", "arg_value")


def _stand_in(suffix: str) -> str:
    return "qwen+" + " ".join(f"<{t}{suffix}> </{t}{suffix}>" for t in _TOKENS) + f" <tool_sep{suffix}>"


class HyV3ReasoningParser(_HunyuanParser):
    """Hunyuan Hy3 (vLLM ``hy_v3``, SGLang ``hunyuan``): thinks when ``reasoning_effort`` asks."""

    family = "hy-v3"
    suffix = HY_V3_SUFFIX
    format = HY_V3
    conformance_tokenizer = _stand_in(HY_V3_SUFFIX)


class HyV4ReasoningParser(_HunyuanParser):
    """Hunyuan HY v4 (vLLM ``hy_v4``): thinks unless ``reasoning_effort`` is ``none``/``no_think``."""

    family = "hy-v4"
    suffix = HY_V4_SUFFIX
    format = HY_V4
    conformance_tokenizer = _stand_in(HY_V4_SUFFIX)


class HyV3Reasoner(_HunyuanReasoner):
    family = "hy-v3"
    suffix = HY_V3_SUFFIX
    format = HY_V3
    conformance_tokenizer = _stand_in(HY_V3_SUFFIX)


class HyV4Reasoner(_HunyuanReasoner):
    family = "hy-v4"
    suffix = HY_V4_SUFFIX
    format = HY_V4
    conformance_tokenizer = _stand_in(HY_V4_SUFFIX)
