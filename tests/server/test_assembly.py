"""Reasoning, content and tool calls split from model output, with the real tokenizer and parsers."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from core_engine.config import BUNDLED_MODEL_DIR
from core_engine.sampling_params import SamplingParams
from core_engine.server.assembly import StreamSplitter, split_whole
from core_engine.server.planning import ChatPlan
from core_engine.server.protocol import ServerChatRequest
from reasoning_plugins import get_parser, get_tool_parser

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"location": "Paris", "unit": "c"}}\n</tool_call>'
OUTPUTS = [
    "Maybe I should write <tool_call> here? No.\n</think>\n\n" + CALL,
    "Just thinking.\n</think>\n\nThe answer is 5.",
    "Reasoning cut off by the length limit <tool_",
    "Short.\n</think>\n\nSure. " + CALL + " Done.",
]


@pytest.fixture(scope="module")
def tokenizer() -> object:
    return AutoTokenizer.from_pretrained(BUNDLED_MODEL_DIR)


def make_plan(tokenizer: object, *, include_reasoning: bool = True, tools: bool = True) -> ChatPlan:
    request = ServerChatRequest.model_validate({
        "messages": [{"role": "user", "content": "weather?"}], "include_reasoning": include_reasoning})
    prompt_ids = tokenizer.apply_chat_template(  # type: ignore[attr-defined]
        request.message_dicts(), add_generation_prompt=True, tokenize=True, return_dict=False)
    return ChatPlan(request_id="chatcmpl-test", created=0, model="tiny-reasoner", request=request,
                    prompt_ids=list(prompt_ids), params=SamplingParams(), reasoning_parser="deepseek-r1",
                    include_reasoning=include_reasoning,
                    tool_parser=get_tool_parser("hermes") if tools else None, include_usage=False)


def streamed(plan: ChatPlan, tokenizer: object, text: str) -> tuple[str | None, str | None, list[tuple[str, str]]]:
    splitter = StreamSplitter(plan, get_parser("deepseek-r1", tokenizer))
    reasoning, content, calls = [], [], {}
    ids = tokenizer.encode(text, add_special_tokens=False)  # type: ignore[attr-defined]
    pieces = [splitter.feed(tokenizer.decode([i]), [i]) for i in ids]  # type: ignore[attr-defined]
    pieces.append(splitter.finish())
    for piece in pieces:
        reasoning.append(piece.reasoning or "")
        content.append(piece.content or "")
        for delta in piece.tool_calls:
            name, args = calls.get(delta.index, ("", ""))
            calls[delta.index] = (name + (delta.name or ""), args + (delta.arguments or ""))
    return "".join(reasoning) or None, "".join(content) or None, [calls[i] for i in sorted(calls)]


@pytest.mark.parametrize("text", OUTPUTS)
def test_streamed_sections_equal_whole(tokenizer: object, text: str) -> None:
    """Token-by-token streaming gives the same reasoning, content and calls as the whole output."""
    plan = make_plan(tokenizer)
    whole = split_whole(plan, get_parser("deepseek-r1", tokenizer), text)
    assert streamed(plan, tokenizer, text) == (
        whole.reasoning, whole.content, [(c.name, c.arguments) for c in whole.tool_calls])


def test_tool_call_in_reasoning_is_not_a_call(tokenizer: object) -> None:
    """A <tool_call> written while reasoning stays reasoning; the one after </think> is the call."""
    whole = split_whole(make_plan(tokenizer), get_parser("deepseek-r1", tokenizer), OUTPUTS[0])
    assert whole.reasoning is not None and "<tool_call>" in whole.reasoning
    assert [c.name for c in whole.tool_calls] == ["get_weather"]
    assert whole.content is None


def test_truncated_reasoning_has_no_content(tokenizer: object) -> None:
    """Output cut off inside reasoning is all reasoning, marker prefix included."""
    whole = split_whole(make_plan(tokenizer), get_parser("deepseek-r1", tokenizer), OUTPUTS[2])
    assert whole.reasoning == OUTPUTS[2] and whole.content is None and whole.tool_calls == []


def test_include_reasoning_false(tokenizer: object) -> None:
    """With include_reasoning false neither path returns reasoning."""
    plan = make_plan(tokenizer, include_reasoning=False)
    whole = split_whole(plan, get_parser("deepseek-r1", tokenizer), OUTPUTS[1])
    assert whole.reasoning is None and whole.content == "\n\nThe answer is 5."
    assert streamed(plan, tokenizer, OUTPUTS[1])[:2] == (None, "\n\nThe answer is 5.")


def test_without_tools_calls_stay_content(tokenizer: object) -> None:
    """When no tools are parsed (tool_choice none), call markup is ordinary content."""
    plan = make_plan(tokenizer, tools=False)
    whole = split_whole(plan, get_parser("deepseek-r1", tokenizer), OUTPUTS[3])
    assert whole.tool_calls == [] and whole.content == "\n\nSure. " + CALL + " Done."


def test_markup_only_output_streams_quietly(tokenizer: object) -> None:
    """An output that is only the end marker (a budget of 0, one token) streams nothing and no error."""
    splitter = StreamSplitter(make_plan(tokenizer), get_parser("deepseek-r1", tokenizer))
    end = tokenizer.convert_tokens_to_ids("</think>")  # type: ignore[attr-defined]
    assert not splitter.feed("</think>", [end])
    assert not splitter.finish()


def test_a_stream_that_loses_the_output_is_an_error(tokenizer: object) -> None:
    """A seed parser whose streaming method returns nothing fails loudly instead of sending an empty answer."""
    from reasoning_plugins import ReasoningParser

    class Silent(ReasoningParser):
        def extract_reasoning_content_streaming(self, *args: object) -> None:
            return None

        def extract_reasoning_content(self, model_output: str, request: object) -> tuple[str, None]:
            return model_output, None

    splitter = StreamSplitter(make_plan(tokenizer), Silent(tokenizer))
    assert not splitter.feed("Thinking", [])
    with pytest.raises(RuntimeError, match="Silent returned no text while streaming 8 characters"):
        splitter.finish()
