"""Guided-decoding reasoners on real tokenizers: where reasoning ends, in token ids."""

from __future__ import annotations

import pytest

from reasoning_plugins import get_parser, get_reasoner, list_reasoners


def test_every_builtin_family_has_a_reasoner():
    """Each built-in parser name also selects a reasoner."""
    assert {i.name for i in list_reasoners()} >= {"deepseek-r1", "qwq", "ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1"}


def test_deepseek_ids_and_force_end(deepseek_tokenizer):
    """On DeepSeek's tokenizer the end marker is its real id and the forced end decodes to `\\n</think>`."""
    reasoner = get_reasoner("deepseek-r1", deepseek_tokenizer)
    assert (reasoner.start_token_id, reasoner.end_token_id) == (128821, 128822)
    assert deepseek_tokenizer.decode(reasoner.force_end_token_ids) == "\n</think>"
    assert reasoner.force_end_token_ids[-1] == 128822


@pytest.mark.parametrize("name", ["deepseek-r1", "qwq", "ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1"])
def test_reasoner_agrees_with_parser(name, tiny_tokenizer):
    """is_reasoning_end flips at the token where the parser's content begins; content ids decode to the content."""
    text = "think about it\n</think>\n\nanswer"
    ids = tiny_tokenizer.encode(text, add_special_tokens=False)
    reasoner = get_reasoner(name, tiny_tokenizer)
    flips = [i for i in range(len(ids) + 1) if reasoner.is_reasoning_end(ids[:i])]
    end = ids.index(reasoner.end_token_id)
    assert flips == list(range(end + 1, len(ids) + 1))
    content_ids = reasoner.extract_content_ids(ids)
    _, content = get_parser(name, tiny_tokenizer).parse(text, token_ids=ids)
    assert tiny_tokenizer.decode(content_ids).lstrip("\n") == content.lstrip("\n")


def test_tracker_marks_reasoning_tokens(tiny_tokenizer):
    """The tracker counts reasoning tokens (end marker included) and hands only content tokens on."""
    reasoner = get_reasoner("deepseek-r1", tiny_tokenizer)
    ids = tiny_tokenizer.encode("ab\n</think>\n\n{}", add_special_tokens=False)
    tracker = reasoner.start(tiny_tokenizer.encode("<|im_start|>assistant\n<think>\n", add_special_tokens=False))
    assert tracker.in_reasoning
    roles = [tracker.feed(t) for t in ids]
    end = ids.index(reasoner.end_token_id)
    assert roles == [True] * (end + 1) + [False] * (len(ids) - end - 1)
    assert not tracker.in_reasoning


def test_tracker_starts_in_content_when_prompt_closed_thinking(tiny_tokenizer):
    """A prompt that already closed the block (thinking off) starts the grammar at the first token."""
    reasoner = get_reasoner("deepseek-r1", tiny_tokenizer)
    prompt = tiny_tokenizer.encode("<|im_start|>assistant\n<think>\n\n</think>\n\n", add_special_tokens=False)
    assert not reasoner.start(prompt).in_reasoning
    assert not reasoner.start([], request={"chat_template_kwargs": {"enable_thinking": False}}).in_reasoning
    assert reasoner.start([]).in_reasoning


def test_tool_call_token_ends_reasoning_for_ernie(tiny_tokenizer):
    """For ERNIE thinking models a `<tool_call>` token ends reasoning and is content, not reasoning."""
    reasoner = get_reasoner("ernie-x1", tiny_tokenizer)
    tool = tiny_tokenizer.convert_tokens_to_ids("<tool_call>")
    tracker = reasoner.start([])
    assert tracker.feed(5) is True
    assert tracker.feed(tool) is False and not tracker.in_reasoning
    assert reasoner.is_reasoning_end([5, tool])
    assert reasoner.extract_content_ids([5, tool, 7]) == [tool, 7]


def test_model_status_mode_for_reasoner(tiny_tokenizer):
    """A FastDeploy model_status passed as the mode decides the tracker's start state."""
    reasoner = get_reasoner("ernie-x1", tiny_tokenizer)
    assert not reasoner.start([], mode="think_end").in_reasoning
    assert reasoner.start([], mode="think_start").in_reasoning
