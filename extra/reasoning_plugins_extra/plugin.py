"""Entry-point module: registers every parser and reasoner of this distribution."""

from __future__ import annotations

from reasoning_plugins import DeclarativeParser, DeclarativeReasoner, hookimpl

from . import formats

# name -> (format, aliases)
FAMILIES = {
    "qwen3": (formats.QWEN3, ("qwen3-hybrid",)),
    "glm45": (formats.GLM45, ("glm-4.5", "glm4-moe")),
    "hunyuan-a13b": (formats.HUNYUAN_A13B, ()),
    "kimi-vl": (formats.KIMI_VL, ()),
    "seed-oss": (formats.SEED_OSS, ()),
    "granite": (formats.GRANITE, ()),
    "magistral": (formats.MAGISTRAL, ("mistral",)),
    "step3": (formats.STEP3, ()),
}


def _class_name(name: str, suffix: str) -> str:
    return "".join(part.capitalize() for part in name.replace(".", "-").split("-")) + suffix


PARSERS = {
    name: type(_class_name(name, "ReasoningParser"), (DeclarativeParser,), {"format": fmt, "__module__": __name__})
    for name, (fmt, _aliases) in FAMILIES.items()
}
# A reasoner works on token ids, so it needs the end marker to be one token: Granite's plain-text
# markers are not, and it gets no reasoner (guided decoding then starts at the first token).
TEXT_MARKERS_ONLY = {"granite"}
REASONERS = {
    name: type(_class_name(name, "Reasoner"), (DeclarativeReasoner,), {"format": fmt, "__module__": __name__})
    for name, (fmt, _aliases) in FAMILIES.items()
    if name not in TEXT_MARKERS_ONLY
}


@hookimpl
def register_reasoning_parsers(register):
    for name, (_fmt, aliases) in FAMILIES.items():
        register(name, PARSERS[name], aliases=aliases)


@hookimpl
def register_reasoners(register):
    for name, reasoner in REASONERS.items():
        register(name, reasoner, aliases=FAMILIES[name][1])
