"""The Responses API (``/v1/responses``) through the official openai client against a real server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseReasoningTextDeltaEvent,
)

from .conftest import ServerProcess

QUESTION = "What is 2 + 3?"
WEATHER = {"type": "function", "name": "get_weather", "description": "Get the current weather in a given location",
           "parameters": {"type": "object", "properties": {
               "location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
               "required": ["location", "unit"], "additionalProperties": False}}
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}


def items_of(response: Any) -> dict[str, list[Any]]:
    kinds: dict[str, list[Any]] = {}
    for item in response.output:
        kinds.setdefault(item.type, []).append(item)
    return kinds


def reasoning_text(response: Any) -> str:
    return "".join(part.text for item in response.output if item.type == "reasoning" for part in item.content or [])


def test_create_has_reasoning_and_message_items(client: OpenAI) -> None:
    """A reasoning answer comes as a reasoning item (reasoning_text) then a message (output_text), with usage."""
    response = client.responses.create(model="tiny-reasoner", input=QUESTION, temperature=0, max_output_tokens=100)
    assert response.object == "response" and response.status == "completed" and response.id.startswith("resp_")
    reasoning, message = response.output
    assert isinstance(reasoning, ResponseReasoningItem) and isinstance(message, ResponseOutputMessage)
    assert reasoning.content and reasoning.content[0].type == "reasoning_text" and reasoning.content[0].text.strip()
    assert reasoning.summary == []
    assert message.role == "assistant" and message.content[0].type == "output_text"
    assert response.output_text == message.content[0].text and response.output_text.strip()
    assert "</think>" not in reasoning.content[0].text + response.output_text
    usage = response.usage
    assert usage is not None and usage.output_tokens_details.reasoning_tokens > 0
    assert usage.output_tokens > usage.output_tokens_details.reasoning_tokens
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert response.store is False and response.model == "tiny-reasoner"


def test_stream_events_in_order_and_equal_to_create(client: OpenAI) -> None:
    """Typed stream events follow OpenAI's order, numbered, and add up to the non-streamed response."""
    kwargs: dict[str, Any] = dict(model="m", input=QUESTION, temperature=0, max_output_tokens=100)
    whole = client.responses.create(**kwargs)
    with client.responses.stream(**kwargs) as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [event.type for event in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert isinstance(events[-1], ResponseCompletedEvent)
    assert [event.sequence_number for event in events] == list(range(len(events)))
    # each item: added, content part added, deltas, text done, part done, item done
    for prefix in ("reasoning_text", "output_text"):
        first = types.index(f"response.{prefix}.delta")
        done = types.index(f"response.{prefix}.done")
        assert types[first - 2:first] == ["response.output_item.added", "response.content_part.added"]
        assert set(types[first:done]) == {f"response.{prefix}.delta"}
        assert types[done + 1:done + 3] == ["response.content_part.done", "response.output_item.done"]
    assert types.index("response.reasoning_text.done") < types.index("response.output_text.delta")
    deltas = [e for e in events if isinstance(e, ResponseReasoningTextDeltaEvent)]
    assert "".join(d.delta for d in deltas) == reasoning_text(whole)
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == whole.output_text
    assert final.output_text == whole.output_text and reasoning_text(final) == reasoning_text(whole)
    assert [item.type for item in final.output] == [item.type for item in whole.output]
    assert final.usage is not None and final.usage.output_tokens == whole.usage.output_tokens  # type: ignore[union-attr]
    assert len({e.response.id for e in events if hasattr(e, "response")}) == 1


def test_effort_none_turns_thinking_off(client: OpenAI) -> None:
    """reasoning.effort "none" gives no reasoning item and no reasoning tokens."""
    response = client.responses.create(model="m", input=QUESTION, temperature=0, max_output_tokens=60,
                                       reasoning={"effort": "none"})
    assert [item.type for item in response.output] == ["message"]
    assert response.usage is not None and response.usage.output_tokens_details.reasoning_tokens == 0
    assert response.reasoning is not None and response.reasoning.effort == "none"


def test_reasoning_budget_is_a_cap(client: OpenAI) -> None:
    """A reasoning budget passed with the response caps the reported reasoning tokens."""
    response = client.responses.create(model="m", input=QUESTION, temperature=0, max_output_tokens=60,
                                       extra_body={"thinking_token_budget": 5})
    assert response.usage is not None and 1 <= response.usage.output_tokens_details.reasoning_tokens <= 5
    assert reasoning_text(response).strip()


def test_max_output_tokens_gives_incomplete(client: OpenAI) -> None:
    """Hitting max_output_tokens answers status incomplete, streamed as response.incomplete."""
    response = client.responses.create(model="m", input=QUESTION, temperature=0, max_output_tokens=5)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None and response.usage.output_tokens == 5
    assert response.output[-1].status == "incomplete"
    events = list(client.responses.create(model="m", input=QUESTION, temperature=0, max_output_tokens=5, stream=True))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.status == "incomplete"  # type: ignore[union-attr]


def test_json_schema_format_after_reasoning(client: OpenAI) -> None:
    """text.format json_schema constrains the answer, not the reasoning."""
    response = client.responses.create(
        model="m", input="Generate a JSON with the name and age of one person.", temperature=0,
        max_output_tokens=200, extra_body={"reasoning_max_tokens": 20},
        text={"format": {"type": "json_schema", "name": "person", "schema": PERSON, "strict": True}})
    value = json.loads(response.output_text)
    assert set(value) == {"name", "age"} and isinstance(value["age"], int)
    assert reasoning_text(response).strip(), "reasoning stays free text before the schema applies"
    assert response.text is not None and response.text.format.type == "json_schema"


def test_tool_round_trip(client: OpenAI) -> None:
    """A function_call item, then its output sent back with the earlier items, gives a text answer."""
    question = [{"role": "user", "content": "What's the weather like in Paris?"}]
    first = client.responses.create(model="m", input=question, tools=[WEATHER], tool_choice="required",  # type: ignore[arg-type]
                                    temperature=0, max_output_tokens=300, extra_body={"reasoning_max_tokens": 30})
    [call] = items_of(first)["function_call"]
    assert isinstance(call, ResponseFunctionToolCall) and call.name == "get_weather"
    assert call.call_id.startswith("call_") and call.id and call.id.startswith("fc_")
    arguments = json.loads(call.arguments)
    assert set(arguments) == {"location", "unit"}
    follow_up = question + [item.model_dump(exclude_none=True) for item in first.output] + [
        {"type": "function_call_output", "call_id": call.call_id, "output": '{"temperature": 21}'}]
    second = client.responses.create(model="m", input=follow_up, tools=[WEATHER],  # type: ignore[arg-type]
                                     temperature=0, max_output_tokens=200)
    assert second.status in ("completed", "incomplete")
    assert second.output_text.strip() or items_of(second).get("function_call")
    assert second.usage is not None and second.usage.input_tokens > first.usage.input_tokens  # type: ignore[union-attr]


def test_streamed_function_call_arguments(client: OpenAI) -> None:
    """A streamed call: output_item.added names it, argument deltas add up to the done arguments."""
    with client.responses.stream(model="m", input="What's the weather like in Paris?", tools=[WEATHER],  # type: ignore[list-item]
                                 tool_choice={"type": "function", "name": "get_weather"}, temperature=0,
                                 max_output_tokens=300, extra_body={"reasoning_max_tokens": 30}) as stream:
        events = list(stream)
        final = stream.get_final_response()
    added = [e for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"]
    assert len(added) == 1 and added[0].item.name == "get_weather"  # type: ignore[union-attr]
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    [done] = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert deltas == done.arguments
    [call] = items_of(final)["function_call"]
    assert call.arguments == done.arguments and json.loads(call.arguments)["location"]


def test_instructions_and_message_items(client: OpenAI) -> None:
    """instructions and developer/assistant input items are part of the prompt."""
    plain = client.responses.create(model="m", input=QUESTION, max_output_tokens=10)
    with_history = client.responses.create(
        model="m", instructions="You are a careful calculator.", max_output_tokens=10,
        input=[{"role": "developer", "content": "Answer briefly."},
               {"role": "user", "content": [{"type": "input_text", "text": "What is 1 + 1?"}]},
               {"role": "assistant", "content": [{"type": "output_text", "text": "1 + 1 = 2."}]},
               {"role": "user", "content": QUESTION}])
    assert with_history.instructions == "You are a careful calculator."
    assert with_history.usage.input_tokens > plain.usage.input_tokens + 10  # type: ignore[union-attr]


def test_nothing_is_stored(client: OpenAI) -> None:
    """previous_response_id is a 400 and GET/DELETE of a response a 404, both with code not_stored."""
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="m", input=QUESTION, previous_response_id="resp_123")
    assert bad.value.code == "not_stored" and bad.value.param == "previous_response_id"
    assert "does not store" in bad.value.message
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.retrieve("resp_123")
    assert missing.value.code == "not_stored"
    with pytest.raises(openai.NotFoundError):
        client.responses.delete("resp_123")


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"},
                                             {"type": "input_image", "image_url": "data:,"}]}]},
     "input[0].content[1]", "text only"),
    ({"input": "hi", "tools": [{"type": "web_search"}]}, "tools[0]", "function tools only"),
    ({"input": "hi", "n": 2}, "n", "n=2"),
    ({"input": "hi", "max_output_tokens": "ten"}, "max_output_tokens", "valid integer"),
    ({"input": "hi", "max_output_tokens": 5000}, "max_output_tokens", "max_output_tokens=5000"),
    ({"input": "hi", "reasoning": {"effort": "extreme"}}, "reasoning.effort", "reasoning.effort must be one of"),
    ({"input": "hi", "reasoning": {"effort": "none"}, "thinking_budget": 10}, "thinking_budget", "reasoning.effort"),
    ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format", "schema"),
    ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "x", "schema": {
        "type": "object", "properties": {"a": {"type": "nonsense"}}}}}}, "text.format", "invalid JSON schema"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]", "does not store"),
    ({"input": [{"type": "function_call", "name": "f"}]}, "input[0].call_id", "call_id"),
    ({}, "input", "Field required"),
])
def test_bad_input_is_a_400_naming_the_field(server: ServerProcess, body: dict[str, Any], param: str,
                                             words: str) -> None:
    """Bad or unsupported input is a 400 in OpenAI's shape naming the field; the server keeps serving."""
    reply = httpx.post(server.base_url + "/responses", json=body, timeout=60)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["param"] == param and words in error["message"], error
    assert httpx.post(server.base_url + "/responses", json={"input": "hi", "max_output_tokens": 2},
                      timeout=60).status_code == 200


def test_api_key_applies(guarded_server: ServerProcess) -> None:
    """With --api-key the route needs the key; without a reasoning parser there is no reasoning item."""
    with pytest.raises(openai.AuthenticationError):
        guarded_server.client(api_key="wrong").responses.create(model="tiny", input="hi")
    response = guarded_server.client(api_key="test-secret-key").responses.create(
        model="tiny", input=QUESTION, temperature=0, max_output_tokens=40)
    assert [item.type for item in response.output] == ["message"]
    assert "</think>" in response.output_text, "without a parser the reasoning stays in the text"
