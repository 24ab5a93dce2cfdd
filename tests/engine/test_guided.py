"""Guided decoding: the answer always matches its grammar, reasoning is never constrained."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from core_engine import LLM, GuidedDecodingParams, LLMEngine, SamplingParams

from .conftest import chat_prompt, run_to_completion

WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "enum": ["Paris", "Rome", "Oslo"]},
        "temp": {"type": "integer", "minimum": -50, "maximum": 60},
        "sunny": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["wind", "rain", "snow"]}, "maxItems": 2},
    },
    "required": ["city", "temp", "sunny"],
    "additionalProperties": False,
}
QUESTION = [{"role": "user", "content": "What is the weather in Paris? Answer in JSON."}]


def assert_weather(content: str | None) -> None:
    """Check ``content`` against WEATHER_SCHEMA, by hand (every constraint the schema states)."""
    assert content is not None
    value = json.loads(content)
    assert isinstance(value, dict)
    assert set(value) <= set(WEATHER_SCHEMA["properties"]) and {"city", "temp", "sunny"} <= set(value)
    assert value["city"] in ("Paris", "Rome", "Oslo")
    assert isinstance(value["temp"], int) and not isinstance(value["temp"], bool) and -50 <= value["temp"] <= 60
    assert isinstance(value["sunny"], bool)
    tags = value.get("tags", [])
    assert isinstance(tags, list) and len(tags) <= 2 and all(t in ("wind", "rain", "snow") for t in tags)


@pytest.mark.parametrize("temperature", [0.0, 1.0, 1.5])
def test_json_schema_answers_always_validate(llm: LLM, temperature: float) -> None:
    """After reasoning, every answer is JSON that validates against the schema, even at temperature 1.5."""
    count = 1 if temperature == 0.0 else 30
    params = [SamplingParams(max_tokens=120, temperature=temperature, seed=seed, reasoning_max_tokens=12,
                             guided=GuidedDecodingParams(json_schema=WEATHER_SCHEMA)) for seed in range(count)]
    results = llm.chat([QUESTION] * count, params)
    for result in results:
        assert result.finish_reason == "stop"
        assert 1 <= result.reasoning_tokens <= 12 and "</think>" in result.text
        assert_weather(result.content)


def test_grammar_starts_at_once_when_the_template_closed_thinking(llm: LLM) -> None:
    """With thinking turned off in the template, the grammar constrains the very first token."""
    [result] = llm.chat(QUESTION, SamplingParams(max_tokens=80, temperature=1.0, seed=3,
                                                 guided=GuidedDecodingParams(json_schema=json.dumps(WEATHER_SCHEMA))),
                        chat_template_kwargs={"enable_thinking": False})
    assert result.reasoning_tokens == 0 and result.reasoning_content is None
    assert result.text == result.content
    assert_weather(result.content)


def test_regex_and_json_object(llm: LLM) -> None:
    """A regex answer matches in full; json_object yields a JSON object."""
    regex = r"(yes|no), [0-9]{1,3} times"
    regex_params = SamplingParams(max_tokens=60, temperature=1.0, seed=5, reasoning_max_tokens=4,
                                  guided=GuidedDecodingParams(regex=regex))
    object_params = SamplingParams(max_tokens=200, temperature=0.8, seed=6, reasoning_max_tokens=4,
                                   guided=GuidedDecodingParams(json_object=True))
    with_regex, with_object = llm.chat([QUESTION, QUESTION], [regex_params, object_params])
    assert with_regex.finish_reason == "stop" and re.fullmatch(regex, with_regex.content or "")
    if with_object.finish_reason == "stop":
        assert isinstance(json.loads(with_object.content or ""), dict)
    else:
        assert (with_object.content or "").startswith("{")


def test_prefix_and_suffix_surround_a_tool_call(llm: LLM) -> None:
    """prefix/suffix literals wrap the constrained JSON, and the result parses as a hermes tool call."""
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"location": {"type": "string", "enum": ["Paris", "Oslo"]}},
        "required": ["location"], "additionalProperties": False}}}]
    call_schema = {"type": "object", "properties": {"name": {"const": "get_weather"},
                                                    "arguments": tools[0]["function"]["parameters"]},
                   "required": ["name", "arguments"], "additionalProperties": False}
    guided = GuidedDecodingParams(json_schema=call_schema, prefix="<tool_call>", suffix="</tool_call>")
    [result] = llm.chat(QUESTION, SamplingParams(max_tokens=120, temperature=1.0, seed=2, reasoning_max_tokens=6,
                                                 guided=guided), tools=tools)
    assert result.finish_reason == "stop"
    assert result.text.split("</think>", 1)[1].startswith("<tool_call>")
    assert result.text.endswith("</tool_call>")
    assert len(result.tool_calls) == 1
    call = result.tool_calls[0]["function"]
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"])["location"] in ("Paris", "Oslo")


@pytest.mark.parametrize("guided", [GuidedDecodingParams(json_schema={"type": "nonsense"}),
                                    GuidedDecodingParams(regex="a(b"),
                                    GuidedDecodingParams(json_schema={"type": "object",
                                                                      "properties": {"a": {"$ref": "#/nowhere"}}})])
def test_invalid_grammar_fails_before_generation_and_leaves_state_unchanged(clean_engine: LLMEngine,
                                                                            guided: GuidedDecodingParams) -> None:
    """An invalid schema or regex raises ValueError naming the problem; a running request is unaffected."""
    engine = clean_engine
    prompt = chat_prompt(engine, "Hello!")
    params = SamplingParams(max_tokens=10, temperature=0.0, ignore_eos=True)
    reference = run_to_completion(engine, {0: [("ref", prompt, params)]})["ref"].token_ids
    engine.add_request("busy", prompt, params)
    first = [token for out in engine.step() for token in out.new_token_ids]
    before = (engine.stats(), sorted(engine.requests))
    with pytest.raises(ValueError, match="invalid (JSON schema|regex)"):
        engine.add_request("bad", prompt, SamplingParams(guided=guided))
    assert (engine.stats(), sorted(engine.requests)) == before
    assert first + run_to_completion(engine)["busy"].token_ids == reference


def test_guided_params_validation() -> None:
    """GuidedDecodingParams needs exactly one constraint and JSON-object schemas."""
    with pytest.raises(ValueError, match="exactly one"):
        GuidedDecodingParams()
    with pytest.raises(ValueError, match="exactly one"):
        GuidedDecodingParams(regex="a", json_object=True)
    with pytest.raises(ValueError, match="not valid JSON"):
        GuidedDecodingParams(json_schema="{nope")


def test_prefix_already_written_by_the_model_is_not_repeated(clean_engine: LLMEngine) -> None:
    """When the output already ends with the start of the prefix, only the rest of the prefix is forced."""
    engine = clean_engine
    forced = engine.reasoner.force_end_token_ids
    end_marker = engine.tokenizer.decode(forced[-1:])
    guided = GuidedDecodingParams(regex="[a-c]{2}", prefix=end_marker + "!")
    params = SamplingParams(max_tokens=20, temperature=0.0, reasoning_max_tokens=0, guided=guided)
    result = run_to_completion(engine, {0: [("p", chat_prompt(engine, "Hi"), params)]})["p"]
    # A budget of 0 forced "</think>" alone; the prefix "</think>!" then only adds "!".
    assert re.fullmatch(re.escape(end_marker) + "![a-c]{2}", result.text)
    assert result.text.count(end_marker) == 1
