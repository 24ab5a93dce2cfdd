"""The extra formats split real outputs of their model families as documented."""

from __future__ import annotations

import pytest

from reasoning_plugins import get_parser, get_reasoner, list_parsers
from conformance.tokenizers import load_tokenizer

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
]


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
    assert set(ours) == {"qwen3", "glm45", "hunyuan-a13b", "kimi-vl", "seed-oss", "granite", "magistral", "step3"}
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
