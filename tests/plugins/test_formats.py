"""Every built-in parser on the seed formats and on the edge cases in the architecture."""

from __future__ import annotations

import pytest

from reasoning_plugins import get_parser

R1 = ["deepseek-r1", "qwq"]
ERNIE = ["ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1"]
ALL = R1 + ERNIE

# (parser, model output, request, expected (reasoning, content))
CASES = [
    # DeepSeek-R1 / QwQ: the template prefilled <think>; whitespace kept exactly
    ("deepseek-r1", "Let me compare.\n</think>\n\n9.8 is greater.", None, ("Let me compare.\n", "\n\n9.8 is greater.")),
    ("qwq", "Let me compare.\n</think>\n\n9.8 is greater.", None, ("Let me compare.\n", "\n\n9.8 is greater.")),
    # R1-0528 writes <think> itself
    ("deepseek-r1", "<think>\nsteps\n</think>\n\nanswer", None, ("\nsteps\n", "\n\nanswer")),
    # no markers: truncated reasoning (start was in the prompt)
    ("deepseek-r1", "still thinking about it", None, ("still thinking about it", None)),
    # start without end
    ("deepseek-r1", "<think>never closed", None, ("never closed", None)),
    # end without start
    ("deepseek-r1", "r</think>c", None, ("r", "c")),
    # empty block
    ("deepseek-r1", "<think></think>answer", None, (None, "answer")),
    ("deepseek-r1", "</think>", None, (None, None)),
    ("deepseek-r1", "", None, (None, None)),
    # text before <think> is reasoning (reasoning was already open), never dropped
    ("deepseek-r1", "Hmm. <think>ok</think>done", None, ("Hmm. ok", "done")),
    # a marker quoted in the answer stays in the answer
    ("deepseek-r1", "r</think>Write \"</think>\" to close and \"<think>\" to open.", None,
     ("r", "Write \"</think>\" to close and \"<think>\" to open.")),
    # a tool call after reasoning is content (the tool-call parser reads it from there)
    ("deepseek-r1", "need weather\n</think>\n\n<tool_call>\n{\"name\": \"f\"}\n</tool_call>", None,
     ("need weather\n", "\n\n<tool_call>\n{\"name\": \"f\"}\n</tool_call>")),
    # unicode right next to markers
    ("deepseek-r1", "思考😀</think>答案🎉", None, ("思考😀", "答案🎉")),
    # look-alikes are not markers
    ("deepseek-r1", "a</thinking>b</th", None, ("a</thinking>b</th", None)),
    # thinking switched off by the request: all content
    ("deepseek-r1", "plain answer", {"chat_template_kwargs": {"enable_thinking": False}}, (None, "plain answer")),
    ("deepseek-r1", "plain answer", {"chat_template_kwargs": {"thinking": False}}, (None, "plain answer")),
    ("qwq", "r</think>c", {"chat_template_kwargs": {"enable_thinking": False}}, ("r", "c")),  # QwQ cannot switch off
    # ERNIE-4.5-VL: only </think>, kept exactly; enable_thinking switch
    ("ernie-45-vl", "The vase is Ming.\n</think>\n\nMing dynasty.", None, ("The vase is Ming.\n", "\n\nMing dynasty.")),
    ("ernie-45-vl", "Ming dynasty.", {"chat_template_kwargs": {"enable_thinking": False}}, (None, "Ming dynasty.")),
    ("ernie-45-vl", "Ming dynasty.", {"chat_template_kwargs": {"enable_thinking": True}}, ("Ming dynasty.", None)),
    # ERNIE-4.5-VL-Thinking: options.thinking_mode, tool call ends reasoning, whitespace kept exactly
    # (FastDeploy's non-streaming result; its streaming path drops the newlines after </think>)
    ("ernie-45-vl-thinking", "check\n</think>\n\nIt is sunny.", None, ("check\n", "\n\nIt is sunny.")),
    ("ernie-45-vl-thinking", "It is sunny.", {"chat_template_kwargs": {"options": {"thinking_mode": "close"}}},
     (None, "It is sunny.")),
    ("ernie-45-vl-thinking", "check\n</think>\n\n<tool_call>\n{}\n</tool_call>", None, ("check\n", "\n\n<tool_call>\n{}\n</tool_call>")),
    ("ernie-45-vl-thinking", "I will call it<tool_call>{}</tool_call>", None, ("I will call it", "<tool_call>{}</tool_call>")),
    # ERNIE-X1 (FastDeploy's current parser): <response> wrapper removed; newlines between </think>
    # and <response> and after </response> are markup; the rest, newlines inside the wrapper
    # and before </think> included, is kept
    ("ernie-x1", "用户问的是..\n</think>\n\n<response>\n北京晴。\n</response>\n", None, ("用户问的是..\n", "\n北京晴。\n")),
    ("ernie-x1", "R\n</think>\nC", None, ("R\n", "C")),
    ("ernie-x1", "R\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\"}\n</tool_call>", None,
     ("R\n", "<tool_call>\n{\"name\": \"get_weather\"}\n</tool_call>")),
    ("ernie-x1", "R\n</think>\n\n<response>\nC\n</response>\n<tool_call>\n{}\n</tool_call>", None,
     ("R\n", "\nC\n<tool_call>\n{}\n</tool_call>")),
    ("ernie-x1", "R\n</think>\n\n<response>\nunfinished", None, ("R\n", "\nunfinished")),
    ("ernie-x1", "only reasoning, truncated", None, ("only reasoning, truncated", None)),
    # ERNIE-X1 cannot switch thinking off
    ("ernie-x1", "R\n</think>\nC", {"chat_template_kwargs": {"enable_thinking": False}}, ("R\n", "C")),
]


@pytest.mark.parametrize(("name", "output", "request_", "expected"), CASES)
def test_non_streaming(name, output, request_, expected):
    """Each documented format splits into the documented reasoning and content."""
    assert get_parser(name).parse(output, request=request_) == expected


@pytest.mark.parametrize(("name", "output", "request_", "expected"), CASES)
def test_seed_extract_reasoning_content(name, output, request_, expected):
    """The seed method `extract_reasoning_content(model_output, request)` gives the same split."""
    assert get_parser(name).extract_reasoning_content(output, request_) == expected


@pytest.mark.parametrize("name", R1)
def test_start_marker_in_prompt_text(name):
    """A prompt whose template closed thinking makes the whole output content."""
    parser = get_parser(name)
    closed = "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    opened = "<|im_start|>assistant\n<think>\n"
    assert parser.parse("A", prompt_text=closed) == (None, "A")
    assert parser.parse("R</think>A", prompt_text=opened) == ("R", "A")


def test_prompt_tail_beats_request_flag(tiny_tokenizer):
    """The prompt decides before the request flags: a template that ignored enable_thinking still reasons."""
    parser = get_parser("deepseek-r1", tiny_tokenizer)
    prompt_ids = tiny_tokenizer.encode("<|im_start|>assistant\n<think>\n", add_special_tokens=False)
    request = {"chat_template_kwargs": {"enable_thinking": False}}
    assert parser.parse("R</think>A", request=request, prompt_token_ids=prompt_ids) == ("R", "A")
    closed = tiny_tokenizer.encode("<|im_start|>assistant\n<think>\n\n</think>\n\n", add_special_tokens=False)
    assert parser.parse("A", prompt_token_ids=closed) == (None, "A")


@pytest.mark.parametrize(
    ("status", "output", "expected"),
    [
        ("think_start", "R\n</think>\n\n<response>\nC\n</response>", ("R\n", "\nC\n")),
        ("think_end", "\n<response>\nC\n</response>", (None, "\nC\n")),
        ("response_start", "C\n</response>\n", (None, "C\n")),
        ("tool_call_start", "{\"name\": \"f\"}\n</tool_call>", (None, "{\"name\": \"f\"}\n</tool_call>")),
        ("tool_call_end", "\n", (None, None)),
    ],
)
def test_fastdeploy_model_status(status, output, expected):
    """FastDeploy's prompt-derived model_status values are accepted as modes."""
    assert get_parser("ernie-x1").parse(output, mode=status) == expected


@pytest.mark.parametrize("name", ALL)
def test_model_status_in_every_calling_shape(name):
    """model_status works as FastDeploy passes it (trailing positional), as a keyword, and as a
    request field, for both seed methods: think_end means the output is all answer."""
    output = "R</think>C"
    expected = (None, output)
    assert get_parser(name).extract_reasoning_content(output, None, "think_end") == expected
    assert get_parser(name).extract_reasoning_content(output, None, model_status="think_end") == expected
    assert get_parser(name).extract_reasoning_content(output, {"model_status": "think_end"}) == expected
    parser = get_parser(name)
    previous = ""
    pieces = []
    for delta in ["R<", "/think", ">C"]:
        current = previous + delta
        message = parser.extract_reasoning_content_streaming(previous, current, delta, [], [], [], "think_end")
        pieces.append(message)
        previous = current
    pieces.append(parser.finish())
    assert "".join(m.content for m in pieces if m and m.content) == output
    assert all(m is None or m.reasoning_content is None for m in pieces)


def test_unknown_mode_is_a_clear_error():
    """An unknown mode names the accepted values."""
    with pytest.raises(ValueError, match="think_start"):
        get_parser("deepseek-r1").parse("x", mode="sleeping")


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("output", ["", "</th", "</think", "<", "\n", "😀" * 50, "\x00\udcff", "</thinking>", "<response>"])
def test_odd_input_never_raises_or_loses_text(name, output):
    """Marker look-alikes, lone fragments and odd characters come back intact."""
    reasoning, content = get_parser(name).parse(output)
    rebuilt = (reasoning or "") + (content or "")
    if output.strip("\n"):
        assert output.strip("\n") in rebuilt or rebuilt == output
    else:
        assert rebuilt in ("", output)


@pytest.mark.parametrize("name", ALL)
def test_very_long_output(name):
    """A long output is split once, with nothing lost."""
    body = "step " * 40_000
    reasoning, content = get_parser(name).parse(body + "</think>" + "answer " * 1000)
    assert reasoning.rstrip("\n") == body.rstrip("\n")
    assert content == "answer " * 1000
