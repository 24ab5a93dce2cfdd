"""The formats, as declarations. Each is used by one parser and one reasoner of the same name."""

from __future__ import annotations

from reasoning_plugins import Mode, ReasoningFormat

# Qwen3 hybrid: the model writes <think> itself; enable_thinking=false makes the template emit an
# empty block, which the prompt tail shows. Qwen3 *-Thinking-2507 prefill <think>: the prompt
# tail shows that too.
QWEN3 = ReasoningFormat(
    start="<think>", end="</think>", start_in_output=True,
    default_mode=Mode.AWAIT_START, switches=("enable_thinking",),
)

# GLM-4.5 / 4.6: like Qwen3, the switch is also enable_thinking.
GLM45 = QWEN3

# Hunyuan-A13B: <think>...</think> then the answer inside <answer>...</answer>.
HUNYUAN_A13B = ReasoningFormat(
    start="<think>", end="</think>", start_in_output=True, default_mode=Mode.AWAIT_START,
    switches=("enable_thinking",), content_wrapper=("<answer>", "</answer>"),
    trim_newline_before_end=True, trim_content_leading_newlines=True, trim_wrapper_newlines=True,
)

# Kimi-VL-Thinking.
KIMI_VL = ReasoningFormat(start="◁think▷", end="◁/think▷", start_in_output=True, default_mode=Mode.AWAIT_START)

# ByteDance Seed-OSS.
SEED_OSS = ReasoningFormat(start="<seed:think>", end="</seed:think>", start_in_output=True,
                           default_mode=Mode.AWAIT_START, switches=("enable_thinking",))

# IBM Granite 3.x with thinking=True: plain-text markers.
GRANITE = ReasoningFormat(
    start="Here is my thought process:", end="Here is my response:", start_in_output=True,
    default_mode=Mode.AWAIT_START, switches=("thinking",),
)

# Mistral Magistral.
MAGISTRAL = ReasoningFormat(start="[THINK]", end="[/THINK]", start_in_output=True, default_mode=Mode.AWAIT_START)

# StepFun Step3: the template opens reasoning; only </think> is written.
STEP3 = ReasoningFormat(start=None, end="</think>", default_mode=Mode.REASONING)
