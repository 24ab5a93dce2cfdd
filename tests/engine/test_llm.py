"""The offline API: LLM.chat over one or many conversations, split into reasoning, content and tool calls."""

from __future__ import annotations

import pytest

from core_engine import LLM, ChatResult, GuidedDecodingParams, SamplingParams

HELLO = [{"role": "user", "content": "Hello! What is 2 + 2?"}]


def test_one_conversation_returns_one_result_with_usage(llm: LLM) -> None:
    """A single conversation gives a one-element list; usage adds up; reasoning and content come from the text."""
    [result] = llm.chat(HELLO, SamplingParams(max_tokens=40, temperature=0.0, reasoning_max_tokens=10))
    assert isinstance(result, ChatResult)
    assert result.completion_tokens == len(result.token_ids)
    assert result.prompt_tokens == len(llm.engine.build_prompt(HELLO))
    assert "</think>" in result.text
    reasoning, _, content = result.text.partition("</think>")
    assert result.reasoning_content == (reasoning or None)
    assert result.content == (content or None)
    assert 1 <= result.reasoning_tokens <= 10   # a hard cap: a forced newline counts, </think> does not


def test_many_conversations_run_together_in_order(llm: LLM) -> None:
    """A list of conversations returns results in the same order, each as if it had run alone."""
    conversations = [[{"role": "user", "content": f"What is {i} + {i}?"}] for i in range(5)]
    params = [SamplingParams(max_tokens=8 + i, temperature=0.0, ignore_eos=True) for i in range(5)]
    together = llm.chat(conversations, params)
    alone = [llm.chat(conv, p)[0] for conv, p in zip(conversations, params)]
    assert [r.token_ids for r in together] == [r.token_ids for r in alone]
    assert [r.completion_tokens for r in together] == [8, 9, 10, 11, 12]


def test_thinking_off_gives_no_reasoning(llm: LLM) -> None:
    """With enable_thinking=False the whole output is content and no token counts as reasoning."""
    [result] = llm.chat(HELLO, SamplingParams(max_tokens=12, temperature=0.0),
                        chat_template_kwargs={"enable_thinking": False})
    assert result.reasoning_content is None and result.reasoning_tokens == 0
    assert result.content == (result.text or None)


def test_tool_calls_are_parsed_from_content(llm: LLM) -> None:
    """A hermes-style call in the answer becomes an OpenAI tool call and leaves the content."""
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {
        "type": "object", "properties": {"q": {"type": "string", "enum": ["x", "y"]}}, "required": ["q"]}}}]
    schema = {"type": "object", "properties": {"name": {"const": "lookup"},
                                               "arguments": tools[0]["function"]["parameters"]},
              "required": ["name", "arguments"], "additionalProperties": False}
    params = SamplingParams(max_tokens=80, temperature=0.0, reasoning_max_tokens=3,
                            guided=GuidedDecodingParams(json_schema=schema, prefix="<tool_call>",
                                                        suffix="</tool_call>"))
    [result] = llm.chat(HELLO, params, tools=tools)
    assert [call["function"]["name"] for call in result.tool_calls] == ["lookup"]
    assert result.tool_calls[0]["id"].startswith("call_") and result.tool_calls[0]["type"] == "function"
    assert "<tool_call>" not in (result.content or "")


def test_reasoning_parser_can_be_chosen_per_call(llm: LLM) -> None:
    """reasoning_parser picks the parser by name; an unknown name fails before generating."""
    [result] = llm.chat(HELLO, SamplingParams(max_tokens=20, temperature=0.0, reasoning_max_tokens=4),
                        reasoning_parser="qwq")
    assert result.reasoning_content is not None
    with pytest.raises(LookupError, match="deepseek"):
        llm.chat(HELLO, reasoning_parser="no-such-parser")
    assert not llm.engine.has_unfinished()


def test_bad_arguments_are_explained(llm: LLM) -> None:
    """Malformed conversations and mismatched parameter lists raise ValueError before generating."""
    with pytest.raises(ValueError, match="one conversation"):
        llm.chat("hello")
    with pytest.raises(ValueError, match="2 sampling params for 1 conversations"):
        llm.chat(HELLO, [SamplingParams(), SamplingParams()])
    assert not llm.engine.has_unfinished()
