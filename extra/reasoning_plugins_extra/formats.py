"""The formats, as declarations. Each is used by one parser and one reasoner of the same name."""

from __future__ import annotations

from reasoning_plugins import Mode, ReasoningFormat

# Qwen3 hybrid: the model writes <think> itself; enable_thinking=false makes the template emit an
# empty block, which the prompt tail shows. Qwen3 *-Thinking-2507, Qwen3.5 and QwQ-style templates
# prefill <think>, so their output carries only </think>. Thinking is on unless the request or the
# prompt turns it off (the template's default; vLLM and SGLang decide the same way), so output
# starts in reasoning and is split at </think> whether or not the model wrote <think>.
QWEN3 = ReasoningFormat(
    start="<think>", end="</think>", start_in_output=True,
    default_mode=Mode.REASONING, switches=("enable_thinking",),
)

# GLM-4.5 / 4.6: like Qwen3, the switch is also enable_thinking.
GLM45 = QWEN3

# Hunyuan-A13B: <think>...</think> then the answer inside <answer>...</answer>; thinks by default.
HUNYUAN_A13B = ReasoningFormat(
    start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING,
    switches=("enable_thinking",), content_wrapper=("<answer>", "</answer>"),
    trim_newline_before_end=True, trim_content_leading_newlines=True, trim_wrapper_newlines=True,
)

# Kimi-VL-Thinking: always thinks.
KIMI_VL = ReasoningFormat(start="◁think▷", end="◁/think▷", start_in_output=True, default_mode=Mode.REASONING)

# ByteDance Seed-OSS: thinks by default.
SEED_OSS = ReasoningFormat(start="<seed:think>", end="</seed:think>", start_in_output=True,
                           default_mode=Mode.REASONING, switches=("enable_thinking",))

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
