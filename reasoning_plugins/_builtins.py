"""The built-in parsers and reasoners, registered through the same hooks as any plugin."""

from __future__ import annotations

from .hookspecs import hookimpl
from .parsers import (
    DeepSeekR1ReasoningParser,
    Ernie45VLReasoningParser,
    Ernie45VLThinkingReasoningParser,
    ErnieX1ReasoningParser,
    QwQReasoningParser,
)
from .parsers.response_template import ResponseTemplateParser, ResponseTemplateReasoner
from .reasoners import DeepSeekR1Reasoner, Ernie45VLReasoner, Ernie45VLThinkingReasoner, ErnieX1Reasoner, QwQReasoner


@hookimpl
def register_reasoning_parsers(register):
    register("deepseek-r1", DeepSeekR1ReasoningParser)
    register("qwq", QwQReasoningParser)
    register("ernie-45-vl", Ernie45VLReasoningParser)
    register("ernie-45-vl-thinking", Ernie45VLThinkingReasoningParser)
    register("ernie-x1", ErnieX1ReasoningParser)
    # the model's own declaration, read from its tokenizer (vLLM "hf", SGLang "response_template")
    register("response-template", ResponseTemplateParser, aliases=("hf",))


@hookimpl
def register_reasoners(register):
    register("deepseek-r1", DeepSeekR1Reasoner)
    register("qwq", QwQReasoner)
    register("ernie-45-vl", Ernie45VLReasoner)
    register("ernie-45-vl-thinking", Ernie45VLThinkingReasoner)
    register("ernie-x1", ErnieX1Reasoner)
    register("response-template", ResponseTemplateReasoner, aliases=("hf",))


@hookimpl
def register_tool_parsers(register):
    register("hermes", "reasoning_plugins.tool_parsers.hermes:HermesToolParser")
