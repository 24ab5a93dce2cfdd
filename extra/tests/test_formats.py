"""The extra formats split real outputs of their model families as documented."""

from __future__ import annotations

import pytest

from reasoning_plugins import get_parser, get_reasoner, list_parsers
from conformance.tokenizers import load_tokenizer
from reasoning_plugins_extra.plugin import FAMILIES, OWN_PARSERS

CASES = [
    ("qwen3", "<think>\nLet me see.\n</think>\n\nParis.", None, ("\nLet me see.\n", "\n\nParis.")),
    # a Qwen3-Thinking-2507 template prefilled <think>: only </think> in the output, thinking on
    # by default, prompt unseen
    ("qwen3", "Let me see.\n</think>\n\nParis.", None, ("Let me see.\n", "\n\nParis.")),
    ("qwen3", "Let me see.\n</think>\n\nParis.", {"chat_template_kwargs": {"enable_thinking": True}},
     ("Let me see.\n", "\n\nParis.")),
    ("qwen3", "Paris.", None, ("Paris.", None)),  # thinking on and cut off: truncated reasoning
    ("qwen3", "Paris.", {"chat_template_kwargs": {"enable_thinking": False}}, (None, "Paris.")),
    ("glm4-moe", "<think>r</think>c", None, ("r", "c")),
    ("hunyuan-a13b", "<think>\nr\n</think>\n<answer>\nc\n</answer>", None, ("\nr", "c")),
    ("kimi-vl", "◁think▷r◁/think▷c", None, ("r", "c")),
    ("seed-oss", "<seed:think>r</seed:think>c", None, ("r", "c")),
    ("granite", "Here is my thought process: r Here is my response: c", None, (" r ", " c")),
    ("mistral", "[THINK]r[/THINK]c", None, ("r", "c")),
    ("step3", "r</think>c", None, ("r", "c")),
    # DeepSeek V3/V3.1: thinking only when the request asks; the template prefills <think>
    ("deepseek-v3", "Paris.", None, (None, "Paris.")),
    ("deepseek-v3", "Let me see.\n</think>\n\nParis.", {"chat_template_kwargs": {"thinking": True}},
     ("Let me see.\n", "\n\nParis.")),
    ("deepseek-v3.1", "r</think>c", {"chat_template_kwargs": {"enable_thinking": True}}, ("r", "c")),
    ("deepseek_v3", "r</think>c", {"chat_template_kwargs": {"thinking": False}}, (None, "r</think>c")),
    # Holo2: DeepSeek V3's layout with thinking on by default
    ("holo2", "r\n</think>\n\nc", None, ("r\n", "\n\nc")),
    ("holo2", "c", {"chat_template_kwargs": {"thinking": False}}, (None, "c")),
    # MiniMax M2: <think> written (removed) or prefilled
    ("minimax-m2", "<think>\nr\n</think>\n\nc", None, ("\nr\n", "\n\nc")),
    ("minimax", "r</think>c", None, ("r", "c")),
    # Kimi K2: <think>, not ◁think▷; on by default, `thinking` switch
    ("kimi-k2", "<think>r</think>c", None, ("r", "c")),
    ("kimi_k2", "c", {"chat_template_kwargs": {"thinking": False}}, (None, "c")),
    ("kimi", "◁think▷r◁/think▷c", None, ("r", "c")),
    ("glm47", "<think>r</think>\nc", None, ("r", "\nc")),
    ("glm45", "c", {"chat_template_kwargs": {"enable_thinking": False}}, (None, "c")),
    ("nemotron-v3", "<think>\nr\n</think>\nc", None, ("\nr\n", "\nc")),
    ("nemotron_3", "c", {"chat_template_kwargs": {"enable_thinking": False}}, (None, "c")),
    ("olmo3", "r</think>c", None, ("r", "c")),
    ("olmo3", "<think>r</think>c", None, ("r", "c")),
    ("step3p5", "r\n</think>\nc", None, ("r\n", "\nc")),
    ("mimo", "<think>r</think>c", None, ("r", "c")),
    ("mimo", "c", {"chat_template_kwargs": {"enable_thinking": False}}, (None, "c")),
    ("ling", "<think>r</think>c", None, ("r", "c")),
    ("ling3", "c", {"chat_template_kwargs": {"thinking": False}}, (None, "c")),
    # EXAONE 4: thinking off by default; enable_thinking=true prefills <think>
    ("exaone4", "Paris.", None, (None, "Paris.")),
    ("exaone4", "r\n</think>\n\nc", {"chat_template_kwargs": {"enable_thinking": True}}, ("r\n", "\n\nc")),
    # Apertus: the model opens <|inner_prefix|> when it deliberates
    ("apertus", "<|inner_prefix|>r<|inner_suffix|>c", None, ("r", "c")),
    ("apertus2509", "c", None, (None, "c")),
    ("seed-oss", "c", {"chat_template_kwargs": {"enable_thinking": False}}, (None, "c")),
    # ERNIE 4.5 (vLLM's ernie45): the ernie-x1 layout
    # (the built-in's whitespace: newlines after </think> are markup, inside <response> kept)
    ("ernie45", "r\n</think>\n\n<response>\nc\n</response>\n", None, ("r\n", "\nc\n")),
    ("ernie45", "r\n</think>\nc", None, ("r\n", "c")),
    ("qwen3-thinking", "r</think>c", None, ("r", "c")),
]

# A tool call opened before reasoning is closed: the call (with its opener) goes to the content,
# where the tool-call parser reads it. Each family's real tool-call markup.
TOOL_CALLS_IN_REASONING = [
    ("qwen3", "<think>\nI should call it.\n",
     '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'),
    ("glm45", "<think>I should call it.",
     "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>"),
    ("kimi-k2", "<think>I should call it.",
     "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
     '<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>'),
    ("hunyuan-a13b", "<think>\nI should call it.\n",
     '<tool_calls>[{"name": "get_weather", "arguments": {"city": "Paris"}}]</tool_calls>'),
    ("seed-oss", "<seed:think>I should call it.",
     "<seed:tool_call>\n<function=get_weather>\n<parameter=city>Paris</parameter>\n</function>\n</seed:tool_call>"),
    ("minimax-m2", "<think>I should call it.",
     '<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n'
     "</invoke>\n</minimax:tool_call>"),
    ("nemotron-v3", "<think>\nI should call it.\n",
     "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>"),
    ("mimo", "<think>I should call it.",
     "<tool_call>\n<function=get_weather>\n<parameter=city>Paris</parameter>\n</function>\n</tool_call>"),
    ("ling3", "<think>I should call it.",
     "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>"),
    ("step3p5", "I should call it.\n",
     "<tool_call>\n<function=get_weather>\n<parameter=city>Paris</parameter>\n</function>\n</tool_call>"),
    ("ernie45", "I should call it.\n",
     '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'),
]


@pytest.mark.parametrize(("name", "reasoning_part", "call"), TOOL_CALLS_IN_REASONING)
def test_tool_call_inside_reasoning_reaches_the_content(name, reasoning_part, call):
    """The tool-call opener ends reasoning and stays in the content, streamed per character too."""
    parser = get_parser(name)
    output = reasoning_part + call
    reasoning = reasoning_part.split(">", 1)[1] if reasoning_part.startswith("<") else reasoning_part
    assert parser.parse(output) == (reasoning, call)
    stream = get_parser(name).start_stream()
    pieces = [stream.feed(ch) for ch in output] + [stream.finish()]
    assert "".join(p.reasoning_content for p in pieces if p and p.reasoning_content) == reasoning
    assert "".join(p.content for p in pieces if p and p.content) == call


@pytest.mark.parametrize(("name", "output"), [
    ("qwen3", "<think>r</think>\n\nc"),
    ("glm45", "<think>r</think>c"),
    ("kimi-k2", "<think>r</think>c"),
    ("minimax-m2", "<think>r</think>c"),
    ("nemotron-v3", "<think>r</think>c"),
    ("exaone4", "c <think> not a block"),
])
def test_prompt_with_closed_block_is_content(name, output):
    """A template that closed the block in the prompt (thinking off) makes everything content."""
    prompt = "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    assert get_parser(name).parse(output, prompt_text=prompt) == (None, output)


@pytest.mark.parametrize(("name", "output", "request_", "expected"), CASES)
def test_split(name, output, request_, expected):
    """Each family's output splits into the documented reasoning and content."""
    assert get_parser(name).parse(output, request=request_) == expected


def test_prefilled_prompt_starts_in_reasoning():
    """Qwen3 Thinking-2507 templates prefill `<think>`: the prompt tail puts the output in reasoning."""
    parser = get_parser("qwen3")
    assert parser.parse("r</think>c", prompt_text="<|im_start|>assistant\n<think>\n") == ("r", "c")


def test_provided_by_this_distribution():
    """The host records this distribution as the provider of every extra name."""
    ours = {i.name: i for i in list_parsers() if i.distribution == "reasoning-plugins-extra"}
    assert set(ours) == set(FAMILIES) | set(OWN_PARSERS)
    assert set(ours) >= {
        "qwen3", "glm45", "hunyuan-a13b", "kimi-vl", "kimi-k2", "seed-oss", "granite", "magistral", "step3",
        "step3p5", "deepseek-v3", "holo2", "minimax-m2", "nemotron-v3", "olmo3", "mimo", "ling3", "exaone4",
        "apertus", "ernie45", "gemma4", "gpt-oss", "k2-horizon",
    }
    assert all(i.status == "ok" for i in ours.values())


def test_qwen3_reasoner_on_qwen_tokenizer():
    """On Qwen's real tokenizer the reasoner finds `</think>` = 151668 and `<think>` = 151667."""
    reasoner = get_reasoner("qwen3", load_tokenizer("qwen"))
    assert (reasoner.start_token_id, reasoner.end_token_id) == (151667, 151668)
    tracker = reasoner.start([])
    assert [tracker.feed(t) for t in (151667, 100, 151668, 200)] == [True, True, True, False]


def test_qwen3_thinking_on_with_only_the_end_marker_streams_the_same():
    """enable_thinking: true and a template that prefilled <think>: streamed through the seed
    interface, per token with Qwen's real ids, the split equals the non-streaming one."""
    tokenizer = load_tokenizer("qwen")
    output = "The capital is asked.\n</think>\n\nParis."
    request = {"chat_template_kwargs": {"enable_thinking": True}}
    parser = get_parser("qwen3", tokenizer)
    expected = ("The capital is asked.\n", "\n\nParis.")
    assert parser.extract_reasoning_content(output, request) == expected
    ids = tokenizer.encode(output, add_special_tokens=False)
    streamer = get_parser("qwen3", tokenizer).__class__(tokenizer, chat_template_kwargs=request["chat_template_kwargs"])
    previous_text, previous_ids, pieces = "", [], []
    for count in range(1, len(ids) + 1):
        current_text = tokenizer.decode(ids[:count])
        delta = current_text[len(previous_text):]
        pieces.append(streamer.extract_reasoning_content_streaming(
            previous_text, current_text, delta, previous_ids, ids[:count], ids[count - 1 : count]))
        previous_text, previous_ids = current_text, ids[:count]
    pieces.append(streamer.finish())
    reasoning = "".join(p.reasoning_content for p in pieces if p and p.reasoning_content)
    content = "".join(p.content for p in pieces if p and p.content)
    assert (reasoning, content) == expected
