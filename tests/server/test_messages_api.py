"""The Anthropic Messages API (``/v1/messages``) through the official anthropic client against a real server."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest
from anthropic import Anthropic
from anthropic.types import TextBlock, ThinkingBlock, ToolUseBlock

from .conftest import API_KEY, ServerProcess, track

QUESTION = [{"role": "user", "content": "What is 2 + 3?"}]
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}
GREEDY = {"temperature": 0}      # the client has no temperature argument; the server reads it from the body
WEATHER = {"name": "get_weather", "description": "Get the current weather in a given location",
           "input_schema": {"type": "object", "properties": {
               "location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
               "required": ["location", "unit"], "additionalProperties": False}}


def anthropic_client(server: ServerProcess, api_key: str = "EMPTY") -> Anthropic:
    return track(Anthropic(base_url=server.root, api_key=api_key, max_retries=0, timeout=120))


@pytest.fixture(scope="module")
def claude(server: ServerProcess) -> Anthropic:
    return anthropic_client(server)


def blocks(message: Any) -> list[tuple[str, str]]:
    """(type, text) of each block: the comparable part of a message's content."""
    out = []
    for block in message.content:
        text = {"thinking": getattr(block, "thinking", ""), "text": getattr(block, "text", "")}.get(block.type, "")
        out.append((block.type, text or getattr(block, "name", "")))
    return out


def test_create_has_thinking_and_text(claude: Anthropic) -> None:
    """A reasoning answer: a signed thinking block, then a text block; end_turn and usage."""
    message = claude.messages.create(model="tiny-reasoner", max_tokens=100, messages=QUESTION, extra_body=GREEDY)
    assert message.type == "message" and message.role == "assistant" and message.id.startswith("msg_")
    thinking, text = message.content
    assert isinstance(thinking, ThinkingBlock) and thinking.thinking.strip() and thinking.signature
    assert isinstance(text, TextBlock) and text.text.strip()
    assert "</think>" not in thinking.thinking + text.text
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.usage.output_tokens_details is not None
    assert 0 < message.usage.output_tokens_details.thinking_tokens < message.usage.output_tokens


def test_stream_events_and_final_message(claude: Anthropic) -> None:
    """client.messages.stream: typed events in Anthropic's order, and get_final_message() equals create."""
    kwargs: dict[str, Any] = dict(model="m", max_tokens=100, messages=QUESTION, extra_body=GREEDY)
    whole = claude.messages.create(**kwargs)
    with claude.messages.stream(**kwargs) as stream:
        events = list(stream)
        final = stream.get_final_message()
    raw = [e.type for e in events if e.type in ("message_start", "content_block_start", "content_block_delta",
                                                "content_block_stop", "message_delta", "message_stop")]
    assert raw[0] == "message_start" and raw[-2:] == ["message_delta", "message_stop"]
    deltas = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert {"thinking_delta", "signature_delta", "text_delta"} <= set(deltas)
    # the signature comes last in the thinking block, just before it stops
    stops = [i for i, e in enumerate(events) if e.type == "content_block_stop"]
    signature_at = next(i for i, e in enumerate(events) if e.type == "content_block_delta"
                        and e.delta.type == "signature_delta")
    before_stop = [e for e in events[signature_at + 1:stops[0]] if e.type in ("content_block_delta",)]
    assert signature_at < stops[0] and not before_stop
    assert blocks(final) == blocks(whole)
    assert final.content[0].signature == whole.content[0].signature  # type: ignore[union-attr]
    assert final.stop_reason == whole.stop_reason == "end_turn"
    assert final.usage.output_tokens == whole.usage.output_tokens
    text = "".join(e.text for e in events if e.type == "text")
    assert text == whole.content[-1].text  # type: ignore[union-attr]


def test_thinking_disabled_and_budget(claude: Anthropic) -> None:
    """thinking disabled gives no thinking block; budget_tokens caps the thinking tokens."""
    off = claude.messages.create(model="m", max_tokens=60, messages=QUESTION, thinking={"type": "disabled"},
                                 extra_body=GREEDY)
    assert [b.type for b in off.content] == ["text"]
    assert off.usage.output_tokens_details is not None and off.usage.output_tokens_details.thinking_tokens == 0
    capped = claude.messages.create(model="m", max_tokens=60, messages=QUESTION, extra_body=GREEDY,
                                    thinking={"type": "enabled", "budget_tokens": 6})
    assert capped.content[0].type == "thinking"
    assert capped.usage.output_tokens_details is not None
    assert 1 <= capped.usage.output_tokens_details.thinking_tokens <= 6


def test_tool_round_trip_with_signed_thinking(claude: Anthropic) -> None:
    """tool_use with stop_reason tool_use; the turn sent back (thinking included) with a tool_result answers."""
    first = claude.messages.create(model="m", max_tokens=300, tools=[WEATHER], extra_body=GREEDY,  # type: ignore[list-item]
                                   tool_choice={"type": "any"},
                                   thinking={"type": "enabled", "budget_tokens": 30},
                                   messages=[{"role": "user", "content": "What's the weather like in Paris?"}])
    assert first.stop_reason == "tool_use"
    [call] = [b for b in first.content if isinstance(b, ToolUseBlock)]
    assert call.name == "get_weather" and set(call.input) == {"location", "unit"}
    assert first.content[0].type == "thinking"
    second = claude.messages.create(
        model="m", max_tokens=200, tools=[WEATHER], extra_body=GREEDY,  # type: ignore[list-item]
        messages=[{"role": "user", "content": "What's the weather like in Paris?"},
                  {"role": "assistant", "content": first.content},  # type: ignore[typeddict-item]
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                                "content": '{"temperature": 21}'}]}])
    assert second.stop_reason in ("end_turn", "max_tokens", "tool_use")
    assert second.usage.input_tokens > first.usage.input_tokens


def test_tool_choice_named_and_none(claude: Anthropic) -> None:
    """tool_choice tool forces that tool (streamed as input_json_delta); none offers no tools."""
    with claude.messages.stream(model="m", max_tokens=300, tools=[WEATHER], extra_body=GREEDY,  # type: ignore[list-item]
                                tool_choice={"type": "tool", "name": "get_weather"},
                                thinking={"type": "enabled", "budget_tokens": 20},
                                messages=[{"role": "user", "content": "What's the weather like in Paris?"}]) as stream:
        events = list(stream)
        final = stream.get_final_message()
    partial = "".join(e.delta.partial_json for e in events if e.type == "content_block_delta"
                      and e.delta.type == "input_json_delta")
    [call] = [b for b in final.content if isinstance(b, ToolUseBlock)]
    assert call.name == "get_weather" and partial and call.input["location"]
    assert final.stop_reason == "tool_use"
    none = claude.messages.create(model="m", max_tokens=100, tools=[WEATHER], tool_choice={"type": "none"},  # type: ignore[list-item]
                                  messages=[{"role": "user", "content": "What's the weather like in Paris?"}],
                                  extra_body=GREEDY)
    assert not [b for b in none.content if b.type == "tool_use"] and none.stop_reason != "tool_use"


def test_tampered_signature_is_rejected(claude: Anthropic) -> None:
    """A thinking block sent back with altered text (or signature) is a 400 in Anthropic's shape."""
    first = claude.messages.create(model="m", max_tokens=80, messages=QUESTION, extra_body=GREEDY)
    thinking = first.content[0]
    assert isinstance(thinking, ThinkingBlock)
    good = {"type": "thinking", "thinking": thinking.thinking, "signature": thinking.signature}
    follow = [QUESTION[0], {"role": "assistant", "content": [good, {"type": "text", "text": "5"}]},
              {"role": "user", "content": "And 3 + 4?"}]
    assert claude.messages.create(model="m", max_tokens=20, messages=follow).content  # type: ignore[arg-type]
    for altered in ({**good, "thinking": good["thinking"] + " and so on"}, {**good, "signature": "A" * 43}):
        follow[1]["content"] = [altered, {"type": "text", "text": "5"}]  # type: ignore[index]
        with pytest.raises(anthropic.BadRequestError) as bad:
            claude.messages.create(model="m", max_tokens=20, messages=follow)  # type: ignore[arg-type]
        assert bad.value.body["type"] == "error"  # type: ignore[index]
        assert bad.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
        assert "messages[1].content[0].signature" in bad.value.message


def test_stop_sequence(claude: Anthropic) -> None:
    """A stop sequence ends the message with stop_reason stop_sequence and names the sequence."""
    message = claude.messages.create(model="m", max_tokens=100, messages=QUESTION, stop_sequences=["Tens"],
                                     extra_body=GREEDY)
    assert message.stop_reason == "stop_sequence" and message.stop_sequence == "Tens"
    assert "Tens" not in "".join(text for _, text in blocks(message))
    streamed = list(claude.messages.create(model="m", max_tokens=100, messages=QUESTION, stop_sequences=["Tens"],
                                           extra_body=GREEDY, stream=True))
    delta = [e for e in streamed if e.type == "message_delta"][0]
    assert delta.delta.stop_reason == "stop_sequence" and delta.delta.stop_sequence == "Tens"


def test_output_config_json_schema(claude: Anthropic) -> None:
    """output_config.format constrains the text to the schema; the thinking stays free."""
    message = claude.messages.create(
        model="m", max_tokens=200, extra_body=GREEDY,
        messages=[{"role": "user", "content": "Generate a JSON with the name and age of one person."}],
        output_config={"format": {"type": "json_schema", "schema": PERSON}})
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.thinking.strip()
    value = json.loads(text.text)  # type: ignore[union-attr]
    assert set(value) == {"name", "age"} and isinstance(value["age"], int)


def test_max_tokens_stop_reason(claude: Anthropic) -> None:
    """Hitting max_tokens gives stop_reason max_tokens."""
    message = claude.messages.create(model="m", max_tokens=4, messages=QUESTION, extra_body=GREEDY)
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 4


@pytest.mark.parametrize(("body", "words"), [
    ({"messages": QUESTION}, "'max_tokens': Field required"),
    ({"max_tokens": "ten", "messages": QUESTION}, "'max_tokens': Input should be a valid integer"),
    ({"max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}]}]},
     "messages[0].content[0] is a block of type 'image'"),
    ({"max_tokens": 10, "messages": QUESTION, "tools": [{"type": "web_search_20250305", "name": "web_search"}]},
     "'tools[0]': tools of type 'web_search_20250305' are not supported"),
    ({"max_tokens": 10, "messages": QUESTION + [{"role": "assistant", "content": "The answer is"}]},
     "messages[1] is an assistant message"),
    ({"max_tokens": 10, "messages": QUESTION, "thinking": {"type": "enabled", "budget_tokens": 10}},
     "thinking.budget_tokens (10) must be less than max_tokens (10)"),
    ({"max_tokens": 10, "messages": QUESTION, "thinking": {"type": "enabled"}}, "needs \"budget_tokens\""),
    ({"max_tokens": 20, "messages": QUESTION, "thinking": {"type": "disabled"}, "thinking_budget": 5},
     "thinking.type: \"disabled\" turns thinking off, but thinking_budget: 5"),
    ({"max_tokens": 5000, "messages": QUESTION}, "max_tokens=5000 does not fit"),
    ({"max_tokens": 10, "messages": QUESTION, "stop_sequences": [""]}, "stop strings must not be empty"),
    ({"max_tokens": 10, "messages": QUESTION, "n": 3}, "n=3 is not supported"),
    ({"max_tokens": 10, "messages": QUESTION, "output_config": {"format": {"type": "json_schema", "schema": {
        "type": "object", "properties": {"a": {"type": "nonsense"}}}}}}, "output_config.format: invalid JSON schema"),
    ({"max_tokens": 10, "messages": [{"role": "assistant", "content": [
        {"type": "redacted_thinking", "data": "x"}]}, QUESTION[0]]}, "redacted_thinking"),
])
def test_bad_input_in_anthropic_shape(server: ServerProcess, body: dict[str, Any], words: str) -> None:
    """Bad or unsupported input is a 400 in Anthropic's error shape saying what was wrong; serving goes on."""
    reply = httpx.post(server.root + "/v1/messages", json=body, timeout=60)
    assert reply.status_code == 400, reply.text
    payload = reply.json()
    assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"
    assert words in payload["error"]["message"], payload
    ok = httpx.post(server.root + "/v1/messages", json={"max_tokens": 2, "messages": QUESTION}, timeout=60)
    assert ok.status_code == 200


def test_unknown_route_under_messages_is_an_anthropic_404(server: ServerProcess) -> None:
    """A route this server lacks under /v1/messages answers 404 in Anthropic's shape."""
    reply = httpx.post(server.root + "/v1/messages/count_tokens", json={}, timeout=30)
    assert reply.status_code == 404
    assert reply.json()["error"]["type"] == "not_found_error"


def test_api_key_by_x_api_key_or_bearer(guarded_server: ServerProcess) -> None:
    """With --api-key, x-api-key or a bearer header is accepted; a wrong key is a 401 in Anthropic's shape."""
    body = {"model": "tiny", "max_tokens": 30, "messages": QUESTION}
    url = guarded_server.root + "/v1/messages"
    assert httpx.post(url, json=body, headers={"x-api-key": API_KEY}, timeout=60).status_code == 200
    assert httpx.post(url, json=body, headers={"authorization": f"Bearer {API_KEY}"}, timeout=60).status_code == 200
    for headers in ({"x-api-key": "wrong"}, {}):
        reply = httpx.post(url, json=body, headers=headers, timeout=60)
        assert reply.status_code == 401
        assert reply.json()["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.AuthenticationError):
        anthropic_client(guarded_server, "wrong").messages.create(model="tiny", max_tokens=5, messages=QUESTION)
    message = anthropic_client(guarded_server, API_KEY).messages.create(model="tiny", max_tokens=5, messages=QUESTION)
    assert [b.type for b in message.content] == ["text"], "no reasoning parser: no thinking blocks"
