"""Entry-point module: registers every parser and reasoner of this distribution."""

from __future__ import annotations

from reasoning_plugins import DeclarativeParser, DeclarativeReasoner, hookimpl

from . import formats
from .cohere import COHERE
from .effort import K2HorizonParser
from .harmony import HarmonyParser

# name -> (format, aliases)
FAMILIES = {
    "qwen3": (formats.QWEN3, ("qwen3-hybrid", "qwen3-thinking", "interns1", "nanbeige", "dots")),
    "glm45": (formats.GLM45, ("glm-4.5", "glm4-moe", "glm47")),
    "hunyuan-a13b": (formats.HUNYUAN_A13B, ()),
    "kimi-vl": (formats.KIMI_VL, ("kimi",)),
    "kimi-k2": (formats.KIMI_K2, ()),
    "seed-oss": (formats.SEED_OSS, ()),
    "granite": (formats.GRANITE, ()),
    "magistral": (formats.MAGISTRAL, ("mistral",)),
    "step3": (formats.STEP3, ()),
    "step3p5": (formats.STEP3P5, ("step-3.5",)),
    "deepseek-v3": (formats.DEEPSEEK_V3, ("deepseek-v3.1", "deepseek-v3.2")),
    "holo2": (formats.HOLO2, ()),
    "minimax-m2": (formats.MINIMAX_M2, ("minimax",)),
    "nemotron-v3": (formats.NEMOTRON_V3, ("nemotron-3",)),
    "olmo3": (formats.OLMO3, ()),
    "mimo": (formats.MIMO, ()),
    "ling3": (formats.LING3, ("ling",)),
    "exaone4": (formats.EXAONE4, ("exaone",)),
    "apertus": (formats.APERTUS, ("apertus2509",)),
    "ernie45": (formats.ERNIE45, ()),
    "gemma4": (formats.GEMMA4, ("gemma-4",)),
}
FAMILIES.update({
    "granite-thinking": (formats.GRANITE_THINKING, ("granite-thinking-parser",)),
    "minimax-m3": (formats.MINIMAX_M3, ()),
    "deepseek-v4": (formats.DEEPSEEK_V4, ("deepseek-v41",)),
    "poolside-v1": (formats.POOLSIDE_V1, ()),
    "minicpmv": (formats.MINICPMV, ()),
    "gigachat35": (formats.GIGACHAT35, ()),
    "plamo3": (formats.PLAMO3, ()),
    "iquest-q1": (formats.IQUEST_Q1, ()),
})


def _class_name(name: str, suffix: str) -> str:
    return "".join(part.capitalize() for part in name.replace(".", "-").split("-")) + suffix


# The conformance suite's stand-in for a family's own tokenizer, where Qwen's lacks its markers.
CONFORMANCE_TOKENIZERS = {"gemma4": "gemma4"}


def _attributes(name: str, fmt) -> dict:
    attributes = {"format": fmt, "__module__": __name__}
    if name in CONFORMANCE_TOKENIZERS:
        attributes["conformance_tokenizer"] = CONFORMANCE_TOKENIZERS[name]
    return attributes


PARSERS = {
    name: type(_class_name(name, "ReasoningParser"), (DeclarativeParser,), _attributes(name, fmt))
    for name, (fmt, _aliases) in FAMILIES.items()
}
# A reasoner works on token ids, so it needs the end marker to be one token: Granite's plain-text
# markers are not, nor are OLMo 3's (<think> is ordinary text there) or PLaMo 3's, and they get no
# reasoner (guided decoding then starts at the first token).
TEXT_MARKERS_ONLY = {"granite", "olmo3", "plamo3"}
# Thinking off by default (DeepSeek V3, EXAONE 4, Poolside v1): the reasoner's tracker follows the
# request (start(prompt, request=...)); its whole-sequence methods follow what bind() tells them.
NO_REASONER = TEXT_MARKERS_ONLY
REASONERS = {
    name: type(_class_name(name, "Reasoner"), (DeclarativeReasoner,), _attributes(name, fmt))
    for name, (fmt, _aliases) in FAMILIES.items()
    if name not in NO_REASONER
}


# Parsers of their own, without a reasoner: channels (not one end token), and markers chosen per
# request by reasoning_effort (a reasoning budget would have to force each level's end marker).
OWN_PARSERS = {
    "gpt-oss": (HarmonyParser, ("openai-gptoss", "harmony")),
    "k2-horizon": (K2HorizonParser, ()),
}


# Families whose parser and reasoner are classes of their own: name -> (reasoner, aliases)
OWN_REASONERS = {}

# Cohere Command 3 / 4: declared formats, read from the prompt's last assistant turn
OWN_PARSERS.update({name: (parser, aliases) for name, (parser, _reasoner, aliases) in COHERE.items()})
OWN_REASONERS.update({name: (reasoner, aliases) for name, (_parser, reasoner, aliases) in COHERE.items()})


@hookimpl
def register_reasoning_parsers(register):
    for name, (_fmt, aliases) in FAMILIES.items():
        register(name, PARSERS[name], aliases=aliases)
    for name, (parser, aliases) in OWN_PARSERS.items():
        register(name, parser, aliases=aliases)


@hookimpl
def register_reasoners(register):
    for name, reasoner in REASONERS.items():
        register(name, reasoner, aliases=FAMILIES[name][1])
    for name, (reasoner, aliases) in OWN_REASONERS.items():
        register(name, reasoner, aliases=aliases)
