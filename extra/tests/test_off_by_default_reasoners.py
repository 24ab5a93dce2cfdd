"""Reasoners for formats whose thinking is off unless the request (or the prompt) turns it on:
DeepSeek V3 (`thinking`, `enable_thinking`) and EXAONE 4 (`enable_thinking`)."""

from __future__ import annotations

import pytest

from conformance.tokenizers import load_tokenizer
from reasoning_plugins import get_parser, get_reasoner

SWITCHES = [("deepseek-v3", "thinking"), ("deepseek-v3", "enable_thinking"), ("exaone4", "enable_thinking")]
OUTPUT = "The user asks for the capital.\n</think>\n\nParis."


@pytest.fixture(scope="module")
def qwen():
    return load_tokenizer("qwen")


def _request(switch: str, on: bool) -> dict:
    return {"chat_template_kwargs": {switch: on}}


def _end(tokenizer, ids: list[int]) -> int:
    return ids.index(tokenizer.convert_tokens_to_ids("</think>"))


@pytest.mark.parametrize("name", ["deepseek-v3", "exaone4"])
def test_thinking_off_by_default_every_token_is_for_the_grammar(qwen, name):
    """No switch, no marker in the prompt: the answer is content from its first token, so a
    grammar applies at once and no reasoning budget counts anything."""
    ids = qwen.encode("Paris.", add_special_tokens=False)
    tracker = get_reasoner(name, qwen).start([], request={"messages": []})
    assert not tracker.in_reasoning
    assert [tracker.feed(t) for t in ids] == [False] * len(ids)


@pytest.mark.parametrize(("name", "switch"), SWITCHES)
def test_switched_on_the_reasoning_is_kept_from_the_grammar(qwen, name, switch):
    """Thinking on: tokens up to and including the end marker are reasoning, then content;
    the parser splits the text at the same place."""
    ids = qwen.encode(OUTPUT, add_special_tokens=False)
    end = _end(qwen, ids)
    reasoner = get_reasoner(name, qwen)
    tracker = reasoner.start([], request=_request(switch, True))
    assert tracker.in_reasoning
    assert [tracker.feed(t) for t in ids] == [True] * (end + 1) + [False] * (len(ids) - end - 1)
    parser = get_parser(name, qwen)
    assert parser.parse(OUTPUT, request=_request(switch, True)) == ("The user asks for the capital.\n", "\n\nParis.")
    off = reasoner.start([], request=_request(switch, False))
    assert not off.in_reasoning and not any(off.feed(t) for t in ids)


@pytest.mark.parametrize("name", ["deepseek-v3", "exaone4"])
def test_the_prompt_tail_decides_before_the_switch(qwen, name):
    """A template that prefilled <think> starts reasoning even without the switch; one that
    closed the block makes everything content even with it."""
    reasoner = get_reasoner(name, qwen)
    opened = qwen.encode("<|im_start|>assistant\n<think>\n", add_special_tokens=False)
    closed = qwen.encode("<|im_start|>assistant\n<think>\n\n</think>\n\n", add_special_tokens=False)
    assert reasoner.start(opened).in_reasoning
    assert not reasoner.start(closed, request=_request("enable_thinking", True)).in_reasoning


@pytest.mark.parametrize(("name", "switch"), SWITCHES)
def test_whole_sequence_methods_follow_the_bound_request(qwen, name, switch):
    """vLLM asks is_reasoning_end / extract_content_ids of a reasoner built for one request:
    bound to a thinking request they find the end marker, unbound they read the default (off)."""
    ids = qwen.encode(OUTPUT, add_special_tokens=False)
    end = _end(qwen, ids)
    plain = get_reasoner(name, qwen)
    assert plain.is_reasoning_end(ids[:1]) and plain.extract_content_ids(ids) == ids
    bound = get_reasoner(name, qwen).bind(_request(switch, True))
    assert [bound.is_reasoning_end(ids[:k]) for k in range(len(ids) + 1)] == [False] * (end + 1) + [True] * (len(ids) - end)
    assert bound.extract_content_ids(ids) == ids[end + 1:]
    parser = type(get_parser(name))(qwen, chat_template_kwargs={switch: True})  # as vLLM builds it
    assert parser.extract_content_ids(ids) == ids[end + 1:]


@pytest.mark.parametrize(("name", "switch"), SWITCHES)
def test_forced_end_of_a_budget_ends_reasoning(qwen, name, switch):
    """A budget that runs out forces the reasoner's end tokens; they end reasoning for a
    tracker of a thinking request and for the whole-sequence methods bound to it."""
    reasoner = get_reasoner(name, qwen).bind(_request(switch, True))
    force = reasoner.force_end_token_ids
    assert qwen.decode(force).endswith("</think>")
    ids = qwen.encode("Let me think", add_special_tokens=False) + force
    tracker = reasoner.start([], request=_request(switch, True))
    assert all(tracker.feed(t) for t in ids) and not tracker.in_reasoning
    assert reasoner.is_reasoning_end(ids) and reasoner.extract_content_ids(ids) == []


@pytest.mark.parametrize(("name", "switch"), [("deepseek-v3", "thinking"), ("exaone4", "enable_thinking")])
def test_engine_budget_follows_the_switch(name, switch):
    """The reference engine with this reasoner: a budget of 0 forces the end at once when the
    request thinks, and forces nothing (no reasoning token) when it does not."""
    core_engine = pytest.importorskip("core_engine")
    engine = core_engine.LLMEngine(core_engine.EngineConfig(reasoning_parser=name, num_kv_blocks=16, max_model_len=128, max_num_seqs=4))
    force = engine.reasoner.force_end_token_ids
    # a bare prompt: no template marker in its tail, so the request's switch decides
    prompt = engine.tokenizer.encode("What is 12 + 30?", add_special_tokens=False)
    params = core_engine.SamplingParams(max_tokens=6, temperature=0.0, reasoning_max_tokens=0)
    engine.add_request("on", prompt, params, request=_request(switch, True))
    engine.add_request("off", prompt, params, request=_request(switch, False))
    engine.add_request("default", prompt, params)
    tokens: dict[str, list[int]] = {"on": [], "off": [], "default": []}
    reasoning: dict[str, int] = {}
    while engine.has_unfinished():
        for out in engine.step():
            tokens[out.request_id] += out.new_token_ids
            if out.finished:
                reasoning[out.request_id] = out.reasoning_tokens
    # a budget of 0 is a hard cap: the end marker alone is forced, and no reasoning token is counted
    end = force[-1:]
    assert tokens["on"][:1] == end and reasoning["on"] == 0
    for request_id in ("off", "default"):
        assert tokens[request_id][:1] != end and reasoning[request_id] == 0
