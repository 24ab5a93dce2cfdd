"""The formats, as declarations. Each is used by one parser and one reasoner of the same name.

Facts read in vLLM 0.33 (``vllm/reasoning``, ``vllm/parser``) and SGLang 0.5.23
(``sglang/srt/parser/reasoning_parser.py``); where they disagree the choice is noted here and in
README.md. Whitespace is kept exactly everywhere unless a trim is declared.
"""

from __future__ import annotations

from reasoning_plugins import Mode, ReasoningFormat
from reasoning_plugins.parsers.ernie import ERNIE_X1_FORMAT

# Qwen3 hybrid: the model writes <think> itself; enable_thinking=false makes the template emit an
# empty block, which the prompt tail shows. Qwen3 *-Thinking-2507, Qwen3.5 and QwQ-style templates
# prefill <think>, so their output carries only </think>. Thinking is on unless the request or the
# prompt turns it off (the template's default; vLLM and SGLang decide the same way), so output
# starts in reasoning and is split at </think> whether or not the model wrote <think>.
# Qwen3.5 sometimes opens <tool_call> without closing </think>: both engines end reasoning there
# (vLLM's Qwen3 grammar, SGLang's tool_start_token), and so do we: the call stays in the content.
QWEN3 = ReasoningFormat(
    start="<think>", end="</think>", start_in_output=True,
    default_mode=Mode.REASONING, switches=("enable_thinking",), implicit_ends=("<tool_call>",),
)

# GLM-4.5 / 4.6 / 4.7: like Qwen3; vLLM reads both `thinking` and `enable_thinking`, SGLang
# `enable_thinking`. A <tool_call> opened inside reasoning ends it (both engines).
GLM45 = ReasoningFormat(
    start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING,
    switches=("enable_thinking", "thinking"), implicit_ends=("<tool_call>",),
)

# Hunyuan-A13B: <think>...</think> then the answer inside <answer>...</answer>; thinks by default.
# Tool calls are <tool_calls>[...]</tool_calls>; SGLang's hunyuan detector ends reasoning there.
# Where the opener is several tokens (Qwen's tokenizer), the id methods and the reasoner find it
# by its text, on the token completing it.
HUNYUAN_A13B = ReasoningFormat(
    start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING,
    switches=("enable_thinking",), content_wrapper=("<answer>", "</answer>"), implicit_ends=("<tool_calls>",),
    trim_newline_before_end=True, trim_content_leading_newlines=True, trim_wrapper_newlines=True,
)

# Kimi-VL-Thinking: always thinks.
KIMI_VL = ReasoningFormat(start="◁think▷", end="◁/think▷", start_in_output=True, default_mode=Mode.REASONING)

# Kimi K2 (Thinking / K2.5): <think>...</think> (not Kimi-VL's ◁think▷), on by default; vLLM reads
# `thinking` and `enable_thinking`, SGLang `thinking`. The tool-call section can open before
# </think>: both engines end reasoning at <|tool_calls_section_begin|> (one token of Kimi's
# tokenizer; several of others, where its text is read).
KIMI_K2 = ReasoningFormat(
    start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING,
    switches=("thinking", "enable_thinking"), implicit_ends=("<|tool_calls_section_begin|>",),
)

# ByteDance Seed-OSS: thinks by default; vLLM's grammar is Qwen3's with seed: markers, so a
# <seed:tool_call> opened inside reasoning ends it.
SEED_OSS = ReasoningFormat(start="<seed:think>", end="</seed:think>", start_in_output=True,
                           default_mode=Mode.REASONING, switches=("enable_thinking",),
                           implicit_ends=("<seed:tool_call>",))

# IBM Granite 3.x: plain-text markers, thinking only with thinking=True, so without the switch the
# model's first words decide.
GRANITE = ReasoningFormat(
    start="Here is my thought process:", end="Here is my response:", start_in_output=True,
    default_mode=Mode.AWAIT_START, switches=("thinking",),
)

# Mistral Magistral: [THINK] only when the system prompt asks for it, so the first words decide.
MAGISTRAL = ReasoningFormat(start="[THINK]", end="[/THINK]", start_in_output=True, default_mode=Mode.AWAIT_START)

# StepFun Step3: the template opens reasoning; only </think> is written.
STEP3 = ReasoningFormat(start=None, end="</think>", default_mode=Mode.REASONING)

# Step-3.5: the template always prefills <think>\n (no switch); vLLM uses the Qwen3 grammar, so a
# <tool_call> inside reasoning ends it. vLLM strips trailing reasoning whitespace, SGLang (R1
# detector) does not: we keep it exactly.
STEP3P5 = ReasoningFormat(start="<think>", end="</think>", default_mode=Mode.REASONING,
                          implicit_ends=("<tool_call>",))

# DeepSeek V3 / V3.1 / V3.2 hybrid: R1 layout; thinking only when the request asks (`thinking`,
# also `enable_thinking` in vLLM); the template prefills <think> (or closes it with </think>).
DEEPSEEK_V3 = ReasoningFormat(start="<think>", end="</think>", default_mode=Mode.CONTENT,
                              switches=("thinking", "enable_thinking"))

# Holo2 (vLLM): DeepSeek V3's parser with thinking on unless the request turns it off.
HOLO2 = ReasoningFormat(start="<think>", end="</think>", default_mode=Mode.REASONING,
                        switches=("thinking", "enable_thinking"))

# MiniMax M2 / M2.1: <think>...</think>, always thinks; the model may write <think> (removed) or
# the template opens it. vLLM's grammar moves a <minimax:tool_call> inside reasoning to the tool
# parser: an implicit end. The append-think variant, which returns the whole output as content
# with <think> put back in front, is a parser of its own (append_think.py).
MINIMAX_M2 = ReasoningFormat(start="<think>", end="</think>", start_in_output=True,
                             default_mode=Mode.REASONING, implicit_ends=("<minimax:tool_call>",))

# NVIDIA Nemotron v3 (Nemotron-3 Nano/Super): Qwen3 layout, enable_thinking on by default,
# <tool_call> inside reasoning ends it (both engines). vLLM strips trailing reasoning whitespace
# and, with thinking off, moves reasoning-only output to content; we keep whitespace and the split.
NEMOTRON_V3 = ReasoningFormat(start="<think>", end="</think>", start_in_output=True,
                              default_mode=Mode.REASONING, switches=("enable_thinking",),
                              implicit_ends=("<tool_call>",))

# AllenAI OLMo 3 Think: <think>/</think> are ordinary text (split into several tokens); the
# template may prefill <think>; always reasoning first.
OLMO3 = ReasoningFormat(start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING)

# Xiaomi MiMo: Qwen3 tokens. vLLM: thinking on unless enable_thinking=false; SGLang: off unless
# enable_thinking=true. We follow vLLM (the prompt tail decides first when given).
MIMO = ReasoningFormat(start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING,
                       switches=("enable_thinking",), implicit_ends=("<tool_call>",))

# inclusionAI Ling 3: GLM layout, thinking on by default (`thinking`/`enable_thinking`),
# <tool_call> ends reasoning. SGLang moves reasoning-only output into content; we do not.
LING3 = GLM45

# LG EXAONE 4.0: <think>/</think>, thinking off by default; enable_thinking=true makes the template
# prefill <think>. Neither engine ships a parser (both point users at deepseek_r1, which is wrong
# with thinking off).
EXAONE4 = ReasoningFormat(start="<think>", end="</think>", default_mode=Mode.CONTENT,
                          switches=("enable_thinking",))

# Swiss AI Apertus (2509): <|inner_prefix|>...<|inner_suffix|>, written by the model when it
# deliberates (off unless asked), so the first tokens decide.
APERTUS = ReasoningFormat(start="<|inner_prefix|>", end="<|inner_suffix|>", start_in_output=True,
                          default_mode=Mode.AWAIT_START, switches=("enable_thinking",))

# ERNIE 4.5 (vLLM's single `ernie45` name): the ERNIE-4.5-21B-A3B-Thinking layout of the
# built-in `ernie-x1` (</think> only, content in <response>...</response>, <tool_call> ends
# reasoning), reused as declared there.
ERNIE45 = ERNIE_X1_FORMAT

# Google Gemma 4: a "thought" channel, <|channel>thought\n...<channel|>, then the answer; the model
# opens it itself when its system prompt enables thinking (the template writes no marker), so the
# first word decides. The `thought\n` label after <|channel> is markup (both engines remove it).
# A tool call <|tool_call>...<tool_call|> opened inside the channel ends reasoning (vLLM).
# vLLM also opens reasoning at a <|channel> later in the answer; we read only the first word, as
# SGLang does. SGLang starts in reasoning when enable_thinking is true; vLLM waits for the marker,
# as we do (a prompt that ends inside an open channel starts in reasoning in all three).
GEMMA4 = ReasoningFormat(start="<|channel>", end="<channel|>", start_in_output=True,
                         default_mode=Mode.AWAIT_START, start_label="thought\n",
                         implicit_ends=("<|tool_call>",))

# IBM Granite 4.2 thinking (both engines' `granite_thinking_parser`): Nemotron v3's layout
# (<think>/</think>, enable_thinking on by default, <tool_call> ends reasoning). Both engines
# strip the newlines that open the content (the template writes "\n</think>\n"); we keep
# whitespace exactly, as for Qwen3, which also keeps `auto` from finding Qwen3-style templates
# ambiguous between the two.
GRANITE_THINKING = ReasoningFormat(start="<think>", end="</think>", start_in_output=True,
                                   default_mode=Mode.REASONING, switches=("enable_thinking",),
                                   implicit_ends=("<tool_call>",))

# MiniMax M3: <mm:think>...</mm:think>. chat_template_kwargs.thinking_mode="enabled" makes the
# template prefill <mm:think>; otherwise the model opens it itself when it chooses to think
# (adaptive), so its first words decide. Earlier non-thinking turns are rendered with a bare
# </mm:think>, so a non-thinking reply may open with one: both engines drop it, and so do we
# (leading_end_is_markup). vLLM drops it only as the very first text, SGLang after whitespace
# too; we do the latter where the output waits for <mm:think> (whitespace before a start marker
# is markup as well) and the former where thinking is off.
MINIMAX_M3 = ReasoningFormat(start="<mm:think>", end="</mm:think>", start_in_output=True,
                             default_mode=Mode.AWAIT_START, switches=("thinking_mode",),
                             leading_end_is_markup=True)

# DeepSeek V4 / V4.1: <think>/</think> prefilled by the encoder (<think> when thinking,
# </think> in chat mode); thinking on unless `thinking`/`enable_thinking` turn it off (vLLM and
# the V4 encoder; SGLang thinks only with thinking=true), and off for reasoning_effort="none"
# (vLLM, which copies the request's reasoning_effort into chat_template_kwargs), whatever the
# switches say. A DSML tool-call block opened inside reasoning ends it (vLLM): V4's
# <｜DSML｜tool_calls> and the spellings vLLM accepts for it (<｜DSML｜toolcalls>, <｜DSML｜tool>),
# and V4.1's <｜DSML｜ calls> (deepseek-v41 is an alias). Each is several tokens of V4's
# tokenizer (｜DSML｜ is one), so the id methods and the reasoner find it by its text, on the
# token completing it.
DSML_TOOL_CALL_OPENERS = ("<｜DSML｜tool_calls>", "<｜DSML｜toolcalls>", "<｜DSML｜tool>", "<｜DSML｜ calls>")
DEEPSEEK_V4 = ReasoningFormat(start="<think>", end="</think>", default_mode=Mode.REASONING,
                              switches=("thinking", "enable_thinking"), implicit_ends=DSML_TOOL_CALL_OPENERS,
                              thinking_off_values=(("reasoning_effort", "none"),))

# Poolside v1 (Laguna): Qwen3's <think> tokens, thinking off unless enable_thinking=true (the
# template's default; SGLang) or thinking=true (vLLM reads both, through its DeepSeek V3 parser).
POOLSIDE_V1 = ReasoningFormat(start="<think>", end="</think>", start_in_output=True,
                              default_mode=Mode.CONTENT, switches=("enable_thinking", "thinking"))

# OpenBMB MiniCPM-V (vLLM's `minicpmv`): Qwen3's layout and tool calls, thinking on unless
# enable_thinking=false. vLLM also rewrites newlines the tokenizer decodes as "\\n" and drops a
# stray <think>...</think> when thinking is off; neither is a reasoning format: not done here.
MINICPMV = QWEN3

# Sber GigaChat 3.5 (SGLang's `gigachat35`, its DeepSeek-R1 detector): reasoning first, split at
# </think>; a written <think> is removed.
GIGACHAT35 = ReasoningFormat(start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING)

# Preferred Networks PLaMo 3 (vLLM's `plamo3`): the markers are ordinary text split into several
# tokens; thinking on unless enable_thinking=false, and a tool-request block opened inside
# reasoning ends it.
PLAMO3 = ReasoningFormat(start="<|plamo:begin_think:plamo|>", end="<|plamo:end_think:plamo|>",
                         start_in_output=True, default_mode=Mode.REASONING, switches=("enable_thinking",),
                         implicit_ends=("<|plamo:begin_tool_requests:plamo|>",))

# IQuest Q1 (SGLang's `iquest_q1`): <think>/</think>, reasoning first (a written <think> is
# removed); thinking on unless `thinking` or `enable_thinking` turns it off.
IQUEST_Q1 = ReasoningFormat(start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING,
                            switches=("thinking", "enable_thinking"))
