"""Granite thinking, MiniMax M3, DeepSeek V4, Poolside, MiniCPM-V, GigaChat 3.5, PLaMo 3, IQuest Q1.

Each family's outputs split the same way parsed whole, streamed token by token on a real
tokenizer (text and ids, as engines send them) and streamed per character (text only).
"""

from __future__ import annotations

import pytest

from conformance.tokenizers import TokenizerUnavailable, load_tokenizer
from reasoning_plugins import get_parser, get_reasoner, list_reasoners

ON = {"chat_template_kwargs": {"enable_thinking": True}}
OFF = {"chat_template_kwargs": {"enable_thinking": False}}

CASES = [
    # Granite 4.2 thinking: Nemotron v3's layout; whitespace kept exactly
    ("granite-thinking", "<think>\nLet me see.\n</think>\nParis.", None, ("\nLet me see.\n", "\nParis.")),
    ("granite-thinking", "Let me see.\n</think>\nParis.", None, ("Let me see.\n", "\nParis.")),
    ("granite_thinking_parser", "Paris.", OFF, (None, "Paris.")),
    ("granite-thinking", "Paris.", ON, ("Paris.", None)),
    # MiniMax M3: the model opens <mm:think> when it thinks, unless thinking_mode="enabled" prefilled it
    ("minimax-m3", "<mm:think>\nr\n</mm:think>\n\nc", None, ("\nr\n", "\n\nc")),
    ("minimax-m3", "Paris.", None, (None, "Paris.")),
    ("minimax-m3", "\n\n<mm:think>r</mm:think>c", None, ("r", "c")),
    ("minimax-m3", "\n\nParis.", None, (None, "\n\nParis.")),
    ("minimax-m3", "r\n</mm:think>\nc", {"chat_template_kwargs": {"thinking_mode": "enabled"}}, ("r\n", "\nc")),
    ("minimax_m3", "c", {"chat_template_kwargs": {"thinking_mode": "disabled"}}, (None, "c")),
    # DeepSeek V4: the encoder prefills <think> (thinking, the default) or </think> (chat)
    ("deepseek-v4", "Let me see.\n</think>\n\nParis.", None, ("Let me see.\n", "\n\nParis.")),
    ("deepseek-v4", "Paris.", {"chat_template_kwargs": {"thinking": False}}, (None, "Paris.")),
    ("deepseek_v41", "Paris.", OFF, (None, "Paris.")),
    ("deepseek-v41", "r</think>c", {"chat_template_kwargs": {"thinking": True}}, ("r", "c")),
    # Poolside v1: thinking only when asked
    ("poolside-v1", "Paris.", None, (None, "Paris.")),
    ("poolside-v1", "<think>\nr\n</think>\n\nc", ON, ("\nr\n", "\n\nc")),
    ("poolside_v1", "r</think>c", {"chat_template_kwargs": {"thinking": True}}, ("r", "c")),
    # MiniCPM-V: Qwen3's layout, thinking on by default
    ("minicpmv", "<think>\nr\n</think>\n\nc", None, ("\nr\n", "\n\nc")),
    ("minicpmv", "c", OFF, (None, "c")),
    ("minicpmv", "r</think>c", ON, ("r", "c")),
    # GigaChat 3.5: DeepSeek-R1's layout, no switch
    ("gigachat35", "<think>r</think> c ", None, ("r", " c ")),
    ("gigachat35", "r\n</think>\n\nc", OFF, ("r\n", "\n\nc")),
    ("gigachat35", "cut off", None, ("cut off", None)),
    # PLaMo 3: multi-token text markers
    ("plamo3", "<|plamo:begin_think:plamo|>\nr\n<|plamo:end_think:plamo|>\nc", None, ("\nr\n", "\nc")),
    ("plamo3", "r<|plamo:end_think:plamo|>c", None, ("r", "c")),
    ("plamo3", "c", OFF, (None, "c")),
    ("plamo3", " r <|plamo:end_think:plamo|> c ", ON, (" r ", " c ")),
    # IQuest Q1: on unless `thinking` or `enable_thinking` turns it off
    ("iquest-q1", "<think>r</think>c", None, ("r", "c")),
    ("iquest_q1", " r </think> c", None, (" r ", " c")),
    ("iquest-q1", "c", {"chat_template_kwargs": {"thinking": False}}, (None, "c")),
    ("iquest-q1", "c", OFF, (None, "c")),
]

# A tool call opened before reasoning is closed ends it; the call stays in the content.
TOOL_CALLS_IN_REASONING = [
    ("granite-thinking", "<think>\nI should call it.\n",
     "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>"),
    ("minicpmv", "<think>\nI should call it.\n",
     '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'),
    ("plamo3", "<|plamo:begin_think:plamo|>I should call it.",
     "<|plamo:begin_tool_requests:plamo|><|plamo:begin_tool_request:plamo|><|plamo:begin_tool_name:plamo|>"
     "get_weather<|plamo:end_tool_name:plamo|><|plamo:begin_tool_arguments:plamo|><|plamo:constrain|>json"
     '<|plamo:msg|>{"city": "Paris"}<|plamo:end_tool_arguments:plamo|><|plamo:end_tool_request:plamo|>'
     "<|plamo:end_tool_requests:plamo|>"),
    ("deepseek-v4", "I should call it.\n",
     '<｜DSML｜tool_calls>\n<｜DSML｜invoke name="get_weather">\n'
     '<｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>\n</｜DSML｜invoke>\n'
     "</｜DSML｜tool_calls>"),
]


def _tokenizer_for(name: str):
    try:
        return load_tokenizer("deepseek" if name.startswith("deepseek") else "qwen")
    except TokenizerUnavailable as exc:
        pytest.skip(str(exc))


def token_deltas(tokenizer, text: str) -> list[tuple[str, list[int]]]:
    """``text`` as an engine streams it: one token per delta, with the text that token adds
    (empty while a character's UTF-8 bytes are incomplete)."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    deltas, sent = [], ""
    for i in range(len(ids)):
        decoded = tokenizer.decode(ids[: i + 1], skip_special_tokens=False)
        if decoded.endswith("\ufffd"):
            deltas.append(("", [ids[i]]))
            continue
        deltas.append((decoded[len(sent):], [ids[i]]))
        sent = decoded
    assert sent == text, "the tokenizer must round-trip the sample"
    return deltas


def stream(parser, deltas, **kwargs) -> tuple[str | None, str | None]:
    s = parser.start_stream(**kwargs)
    pieces = [s.feed(text, ids) for text, ids in deltas] + [s.finish()]
    reasoning = "".join(p.reasoning_content for p in pieces if p and p.reasoning_content)
    content = "".join(p.content for p in pieces if p and p.content)
    return reasoning or None, content or None


@pytest.mark.parametrize(("name", "output", "request_", "expected"), CASES)
def test_split_whole_per_token_and_per_character(name, output, request_, expected):
    """Each family's output splits as documented, parsed whole and streamed both ways."""
    tokenizer = _tokenizer_for(name)
    parser = get_parser(name, tokenizer)
    ids = tokenizer.encode(output, add_special_tokens=False)
    assert get_parser(name).parse(output, request=request_) == expected
    assert parser.parse(output, request=request_, token_ids=ids) == expected
    assert stream(get_parser(name, tokenizer), token_deltas(tokenizer, output), request=request_) == expected
    assert stream(get_parser(name), [(ch, None) for ch in output], request=request_) == expected


@pytest.mark.parametrize(("name", "reasoning_part", "call"), TOOL_CALLS_IN_REASONING)
def test_tool_call_inside_reasoning_reaches_the_content(name, reasoning_part, call):
    """The tool-call opener ends reasoning and stays in the content, per token and per character."""
    tokenizer = _tokenizer_for(name)
    output = reasoning_part + call
    start = get_parser(name).format.start
    reasoning = reasoning_part.removeprefix(start)
    assert get_parser(name).parse(output) == (reasoning, call)
    assert stream(get_parser(name, tokenizer), token_deltas(tokenizer, output)) == (reasoning, call)
    assert stream(get_parser(name), [(ch, None) for ch in output]) == (reasoning, call)


@pytest.mark.parametrize(("name", "prompt", "output", "expected"), [
    # DeepSeek V4's encoder ends the prompt with <think> (thinking) or </think> (chat mode)
    ("deepseek-v4", "<｜User｜>Hi<｜Assistant｜></think>", "Paris.", (None, "Paris.")),
    ("deepseek-v4", "<｜User｜>Hi<｜Assistant｜><think>", "r</think>c", ("r", "c")),
    ("poolside-v1", "<assistant>\n<think>\n", "r\n</think>\nc", ("r\n", "\nc")),
])
def test_the_prompt_tail_decides_first(name, prompt, output, expected):
    """A template that prefilled the start marker or closed the block decides the mode, ids or text."""
    tokenizer = _tokenizer_for(name)
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    assert get_parser(name).parse(output, prompt_text=prompt) == expected
    assert get_parser(name, tokenizer).parse(output, prompt_token_ids=prompt_ids) == expected


def test_minimax_m3_prefilled_start_in_the_prompt_text():
    """thinking_mode="enabled" makes M3's template prefill <mm:think>: the prompt's text shows it."""
    assert get_parser("minimax-m3").parse("r</mm:think>c", prompt_text="Hi<mm:think>") == ("r", "c")
    assert get_parser("minimax-m3").parse("c", prompt_text="Hi") == (None, "c")


def test_minimax_m3_stray_closer_is_dropped():
    """A non-thinking M3 reply may open with the </mm:think> earlier turns are rendered with."""
    assert get_parser("minimax-m3").parse("</mm:think>Paris.") == (None, "Paris.")


def test_reasoners_exist_where_the_end_marker_can_be_one_token():
    """Every new family has a reasoner except PLaMo 3 (text markers)."""
    names = {i.name for i in list_reasoners() if i.distribution == "reasoning-plugins-extra"}
    new = {"granite-thinking", "minimax-m3", "deepseek-v4", "poolside-v1", "minicpmv", "gigachat35", "plamo3",
           "iquest-q1"}
    assert new & names == new - {"plamo3"}


def test_granite_thinking_reasoner_ends_at_a_tool_call_token():
    """On a tokenizer where <tool_call> is one token (Qwen's, 151657) that token ends reasoning."""
    tokenizer = _tokenizer_for("granite-thinking")
    reasoner = get_reasoner("granite-thinking", tokenizer)
    assert (reasoner.start_token_id, reasoner.end_token_id) == (151667, 151668)
    word = tokenizer.encode("Hmm", add_special_tokens=False)
    tracker = reasoner.start([])
    assert [tracker.feed(t) for t in word] == [True] * len(word)
    assert tracker.feed(151657) is False and not tracker.in_reasoning
    assert reasoner.extract_content_ids([*word, 151657, 7]) == [151657, 7]


def test_minimax_m3_reasoner_waits_for_the_model_to_open_thinking():
    """With <mm:think> and </mm:think> as single tokens (added to Qwen's vocabulary, as in M3's own
    tokenizer) the reasoner follows the model's choice, and thinking_mode="enabled" opens reasoning."""
    from conformance.tokenizers import qwen_tokenizer

    try:
        tokenizer = qwen_tokenizer(("<mm:think>", "</mm:think>"))
    except TokenizerUnavailable as exc:
        pytest.skip(str(exc))
    reasoner = get_reasoner("minimax-m3", tokenizer)
    start, end = reasoner.start_token_id, reasoner.end_token_id
    assert tokenizer.convert_ids_to_tokens([start, end]) == ["<mm:think>", "</mm:think>"]
    thought = tokenizer.encode("<mm:think>Hmm.</mm:think>{}", add_special_tokens=False)
    tracker = reasoner.start([])
    roles = [tracker.feed(t) for t in thought]
    assert roles == [True] * (thought.index(end) + 1) + [False] * (len(thought) - thought.index(end) - 1)
    direct = tokenizer.encode("{}", add_special_tokens=False)
    tracker = reasoner.start([])
    assert [tracker.feed(t) for t in direct] == [False] * len(direct)
    enabled = reasoner.start([], request={"chat_template_kwargs": {"thinking_mode": "enabled"}})
    assert enabled.in_reasoning and enabled.feed(direct[0]) is True
    parser = get_parser("minimax-m3", tokenizer)
    assert parser.parse("<mm:think>Hmm.</mm:think>{}", token_ids=thought) == ("Hmm.", "{}")
    assert stream(parser, token_deltas(tokenizer, "<mm:think>Hmm.</mm:think>{}")) == ("Hmm.", "{}")
