"""Tool calls and structured output through a real server with the openai client."""

from __future__ import annotations

import json
import re

from openai import OpenAI

USER = [{"role": "user", "content": "What's the weather like in Paris?"}]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["location", "unit"], "additionalProperties": False}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Current time in a timezone",
    "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}}}
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}


def check_weather_arguments(arguments: str) -> None:
    args = json.loads(arguments)
    assert set(args) == {"location", "unit"}
    assert isinstance(args["location"], str) and args["unit"] in ("celsius", "fahrenheit")


def check_person(text: str) -> None:
    value = json.loads(text)
    assert set(value) == {"name", "age"}
    assert isinstance(value["name"], str) and isinstance(value["age"], int)


def test_required_tool_choice_forces_a_valid_call(client: OpenAI) -> None:
    """tool_choice "required" yields a call whose arguments match the tool's schema."""
    for seed in range(3):
        response = client.chat.completions.create(model="m", messages=USER, tools=[WEATHER, TIME],
                                                  tool_choice="required", temperature=0.5, seed=seed,
                                                  max_tokens=400, extra_body={"reasoning_max_tokens": 40})
        choice = response.choices[0]
        assert choice.finish_reason == "tool_calls"
        [call] = choice.message.tool_calls or []
        assert call.id.startswith("call_") and call.type == "function"
        assert call.function.name in ("get_weather", "get_time")
        if call.function.name == "get_weather":
            check_weather_arguments(call.function.arguments)
        else:
            assert isinstance(json.loads(call.function.arguments)["timezone"], str)
        assert not (choice.message.content or "").strip()


def test_named_tool_choice_calls_that_function(client: OpenAI) -> None:
    """A named tool_choice forces a call to exactly that function."""
    response = client.chat.completions.create(
        model="m", messages=USER, tools=[WEATHER, TIME], temperature=0, max_tokens=400,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        extra_body={"reasoning_max_tokens": 30})
    [call] = response.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    check_weather_arguments(call.function.arguments)
    assert response.choices[0].message.reasoning_content is not None  # type: ignore[attr-defined]


def test_streamed_tool_call_is_incremental(client: OpenAI) -> None:
    """A streamed call starts with id, type and name, then argument fragments, then tool_calls."""
    stream = client.chat.completions.create(
        model="m", messages=USER, tools=[WEATHER], temperature=0, max_tokens=400, stream=True,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        extra_body={"reasoning_max_tokens": 30})
    pieces = []
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        pieces.extend(choice.delta.tool_calls or [])
        finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    first, rest = pieces[0], pieces[1:]
    assert first.index == 0 and first.id and first.type == "function"
    assert first.function is not None and first.function.name == "get_weather"
    assert len(rest) >= 3 and all(p.id is None and p.index == 0 for p in rest)
    arguments = "".join((p.function.arguments or "") for p in pieces if p.function is not None)
    check_weather_arguments(arguments)


def test_tool_choice_none_hides_tools(client: OpenAI) -> None:
    """tool_choice "none" leaves the tools out of the prompt and parses no calls."""
    plain = client.chat.completions.create(model="m", messages=USER, max_tokens=1)
    offered = client.chat.completions.create(model="m", messages=USER, max_tokens=1, tools=[WEATHER])
    hidden = client.chat.completions.create(model="m", messages=USER, max_tokens=1, tools=[WEATHER],
                                            tool_choice="none")
    assert plain.usage is not None and offered.usage is not None and hidden.usage is not None
    assert hidden.usage.prompt_tokens == plain.usage.prompt_tokens < offered.usage.prompt_tokens


def test_tool_results_round_trip(client: OpenAI) -> None:
    """An assistant tool call and the tool's answer are accepted as conversation history."""
    messages = USER + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": '{"location": "Paris", "unit": "celsius"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 21}'},
    ]
    response = client.chat.completions.create(model="m", messages=messages, tools=[WEATHER], max_tokens=20)
    assert response.usage is not None and response.usage.prompt_tokens > 60


def test_guided_json_after_reasoning(client: OpenAI) -> None:
    """guided_json constrains the content to the schema while reasoning stays free text."""
    for seed in range(3):
        response = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Generate a JSON with the name and age of one person."}],
            temperature=1.0, seed=seed, max_tokens=300,
            extra_body={"guided_json": PERSON, "reasoning_max_tokens": 30})
        message = response.choices[0].message
        assert response.choices[0].finish_reason == "stop"
        check_person(message.content or "")
        assert message.reasoning_content  # type: ignore[attr-defined]


def test_response_format_json_schema_and_json_object(client: OpenAI) -> None:
    """response_format json_schema and json_object give parseable JSON content."""
    schema = client.chat.completions.create(
        model="m", messages=USER, temperature=0, max_tokens=300, extra_body={"reasoning_max_tokens": 20},
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}})
    check_person(schema.choices[0].message.content or "")
    anything = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Generate a JSON with the name and age of one person."}],
        temperature=0, max_tokens=300, extra_body={"reasoning_max_tokens": 20},
        response_format={"type": "json_object"})
    assert isinstance(json.loads(anything.choices[0].message.content or ""), dict)


def test_guided_regex_streaming(client: OpenAI) -> None:
    """guided_regex constrains a streamed answer; the deltas add up to a full match."""
    pattern = r"(yes|no), [0-9]{1,3}"
    stream = client.chat.completions.create(
        model="m", messages=USER, temperature=1.0, seed=7, max_tokens=200, stream=True,
        extra_body={"guided_regex": pattern, "reasoning_max_tokens": 10})
    content = "".join(c.choices[0].delta.content or "" for c in stream)
    assert re.fullmatch(pattern, content), content


def test_openai_parse_helper_with_pydantic_model(client: OpenAI) -> None:
    """client.chat.completions.parse(response_format=<pydantic model>) returns a parsed object."""
    from pydantic import BaseModel

    class People(BaseModel):
        name: str
        age: int

    response = client.chat.completions.parse(
        model="m", messages=[{"role": "user", "content": "Generate a JSON with the name and age of one person."}],
        response_format=People, temperature=0, max_tokens=300, extra_body={"reasoning_max_tokens": 30})
    parsed = response.choices[0].message.parsed
    assert isinstance(parsed, People) and isinstance(parsed.age, int)


def test_openai_stream_helper_accumulates_the_call(client: OpenAI) -> None:
    """The client's stream helper rebuilds the streamed call into a complete tool call."""
    with client.chat.completions.stream(
            model="m", messages=USER, tools=[WEATHER], temperature=0, max_tokens=400,
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            extra_body={"reasoning_max_tokens": 30}) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.function.name == "get_weather"
    check_weather_arguments(call.function.arguments)
