"""Chat completions through the official openai client against a real server process."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from .conftest import ServerProcess

USER = [{"role": "user", "content": "What is 2 + 3?"}]


def stream_text(client: OpenAI, **kwargs: object) -> tuple[str, str, list[object]]:
    """Reasoning and content concatenated from a stream, and the chunks."""
    chunks = list(client.chat.completions.create(stream=True, **kwargs))  # type: ignore[call-overload]
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return reasoning, content, chunks


def test_models_lists_the_served_model(client: OpenAI) -> None:
    """/v1/models lists exactly the bundled model with its context length."""
    models = client.models.list()
    [card] = models.data
    assert card.id == "tiny-reasoner"
    assert card.model_extra and card.model_extra["max_model_len"] > 0
    assert client.models.retrieve("tiny-reasoner").id == "tiny-reasoner"


def test_health_reports_engine_stats(server: ServerProcess) -> None:
    """/health answers 200 with the engine's KV block counts."""
    stats = server.stats()
    assert stats["status"] == "ok"
    assert stats["kv_blocks_total"] >= stats["kv_blocks_free"] > 0


def test_non_streaming_has_reasoning_and_usage(client: OpenAI) -> None:
    """A reasoning request returns reasoning_content, content and usage with reasoning tokens."""
    response = client.chat.completions.create(model="tiny-reasoner", messages=USER, temperature=0,
                                              max_tokens=120, extra_body={"reasoning_max_tokens": 8})
    choice = response.choices[0]
    message = choice.message
    assert message.role == "assistant"
    assert message.reasoning_content, "reasoning was cut at 8 tokens, so there is some"  # type: ignore[attr-defined]
    assert "</think>" not in (message.content or "") + message.reasoning_content  # type: ignore[attr-defined]
    usage = response.usage
    assert usage is not None and usage.completion_tokens_details is not None
    # a hard cap: a forced newline counts, the forced </think> does not
    assert 1 <= usage.completion_tokens_details.reasoning_tokens <= 8
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert choice.finish_reason in ("stop", "length")


def test_streaming_equals_non_streaming(client: OpenAI) -> None:
    """Greedy streaming deltas add up to the non-streaming message, section by section."""
    kwargs = dict(model="tiny-reasoner", messages=USER, temperature=0, max_tokens=80,
                  extra_body={"reasoning_max_tokens": 6})
    whole = client.chat.completions.create(**kwargs)  # type: ignore[call-overload]
    reasoning, content, chunks = stream_text(client, **kwargs)
    assert reasoning == (whole.choices[0].message.reasoning_content or "")
    assert content == (whole.choices[0].message.content or "")
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason
    assert len({c.id for c in chunks}) == 1


def test_stream_usage_chunk(client: OpenAI) -> None:
    """stream_options.include_usage adds a last chunk with no choices and the usage."""
    _, _, chunks = stream_text(client, model="m", messages=USER, max_tokens=10, temperature=0,
                               stream_options={"include_usage": True}, extra_body={"reasoning_max_tokens": 2})
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == 10 or chunks[-2].choices[0].finish_reason == "stop"
    assert last.usage.completion_tokens_details.reasoning_tokens <= 2
    assert all(c.usage is None for c in chunks[:-1])


def test_full_deltas_carry_both_keys(server: ServerProcess) -> None:
    """By default every delta has content and reasoning_content keys (null when empty)."""
    with httpx.stream("POST", server.base_url + "/chat/completions", timeout=60, json={
            "messages": USER, "stream": True, "max_tokens": 8, "temperature": 0}) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    import json
    for event in events[:-1]:
        delta = json.loads(event)["choices"][0]["delta"]
        assert "content" in delta and "reasoning_content" in delta


def test_include_reasoning_false_drops_the_field(client: OpenAI) -> None:
    """include_reasoning: false removes reasoning_content from messages and deltas."""
    response = client.chat.completions.create(model="m", messages=USER, max_tokens=30, temperature=0,
                                              extra_body={"include_reasoning": False, "reasoning_max_tokens": 4})
    assert "reasoning_content" not in (response.choices[0].message.model_extra or {})
    _, _, chunks = stream_text(client, model="m", messages=USER, max_tokens=30, temperature=0,
                               extra_body={"include_reasoning": False, "reasoning_max_tokens": 4})
    assert all("reasoning_content" not in (c.choices[0].delta.model_extra or {}) for c in chunks)


def test_thinking_off_gives_no_reasoning(client: OpenAI) -> None:
    """chat_template_kwargs.enable_thinking false closes the block in the prompt: all content."""
    response = client.chat.completions.create(
        model="m", messages=USER, max_tokens=40, temperature=0,
        extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    message = response.choices[0].message
    assert message.reasoning_content is None  # type: ignore[attr-defined]
    assert response.usage is not None and response.usage.completion_tokens_details.reasoning_tokens == 0
    assert message.content


def test_reasoning_budget_zero(client: OpenAI) -> None:
    """reasoning_max_tokens 0 ends reasoning at once: no reasoning text, only content."""
    response = client.chat.completions.create(model="m", messages=USER, max_tokens=40, temperature=0,
                                              extra_body={"reasoning_max_tokens": 0})
    assert not (response.choices[0].message.reasoning_content or "").strip()  # type: ignore[attr-defined]
    assert response.usage is not None
    assert response.usage.completion_tokens_details.reasoning_tokens == 0


def test_max_tokens_and_max_completion_tokens(client: OpenAI) -> None:
    """The output stops at max_tokens (or max_completion_tokens) with finish_reason length."""
    for limit in ({"max_tokens": 5}, {"max_completion_tokens": 5}):
        response = client.chat.completions.create(model="m", messages=USER, temperature=0,
                                                  extra_body={"ignore_eos": True}, **limit)  # type: ignore[arg-type]
        assert response.choices[0].finish_reason == "length"
        assert response.usage is not None and response.usage.completion_tokens == 5


def test_seed_reproduces_a_sampled_answer(client: OpenAI) -> None:
    """The same seed at temperature 1 gives the same text; another seed may differ."""
    kwargs = dict(model="m", messages=USER, temperature=1.0, top_p=0.95, max_tokens=40, seed=1234,
                  extra_body={"top_k": 50})
    first = client.chat.completions.create(**kwargs)  # type: ignore[call-overload]
    second = client.chat.completions.create(**kwargs)  # type: ignore[call-overload]
    assert first.choices[0].message == second.choices[0].message


def test_stop_string_ends_the_answer(client: OpenAI) -> None:
    """A stop string that the answer reaches ends it, and is not part of the text."""
    base = client.chat.completions.create(model="m", messages=USER, temperature=0, max_tokens=60,
                                          extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    text = base.choices[0].message.content or ""
    assert len(text) >= 4
    stop = text[2:4]
    cut = client.chat.completions.create(model="m", messages=USER, temperature=0, max_tokens=60, stop=[stop],
                                         extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].message.content == (text[:text.index(stop)] or None)


def test_other_model_name_is_served(client: OpenAI) -> None:
    """With one served model, a request naming another (FastDeploy's "vl") is served by it."""
    response = client.chat.completions.create(model="vl", messages=USER, max_tokens=4)
    assert response.model == "tiny-reasoner"


def test_multi_turn_with_text_parts(client: OpenAI) -> None:
    """System, user, assistant and text-part content all reach the template."""
    response = client.chat.completions.create(model="m", max_tokens=10, temperature=0, messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is 1 + 1?"}]},
        {"role": "assistant", "content": "2"},
        {"role": "developer", "content": "Answer in digits."},
        {"role": "user", "content": [{"type": "text", "text": "And 2 + 2?"}, {"type": "text", "text": " Quick."}]},
    ])
    assert response.usage is not None and response.usage.prompt_tokens > 30


@pytest.mark.parametrize("extra, param", [
    ({"n": 2}, "n"),
    ({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
        {"type": "text", "text": "what is this"}]}]}, "messages[0].content[0]"),
    ({"temperature": "hot"}, "temperature"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": 10**6}, "max_tokens"),
    ({"guided_json": {"type": "object", "properties": {"a": {"type": "no-such-type"}}}}, "guided_json"),
    ({"guided_regex": "(unclosed"}, "guided_regex"),
    ({"response_format": {"type": "json_schema"}}, "response_format"),
    ({"guided_json": {"type": "object"}, "guided_regex": "a+"}, "guided_regex"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"stop": ["ok", ""]}, "stop"),
])
def test_bad_requests_get_400_in_openai_shape(client: OpenAI, extra: dict[str, object], param: str) -> None:
    """Invalid requests raise BadRequestError with a message and the offending param."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="m", messages=USER, max_tokens=5, extra_body=extra)
    error = caught.value.body
    assert isinstance(error, dict) and error["message"] and error["type"] == "invalid_request_error"
    assert error["param"] == param or error["param"].startswith(param)


def test_image_part_message_is_clear(client: OpenAI) -> None:
    """An image part is refused with a message saying the model reads text only."""
    with pytest.raises(openai.BadRequestError, match="reads text only"):
        client.chat.completions.create(model="vl", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}]}], stream=True)


def test_raw_protocol_errors(server: ServerProcess) -> None:
    """Broken JSON, a non-object body, an empty body and unknown routes get OpenAI-shaped errors."""
    url = server.base_url + "/chat/completions"
    for body, status in ((b'{"messages": [', 400), (b"[1, 2]", 400), (b"", 400), (b"\xff\xfe", 400)):
        response = httpx.post(url, content=body, headers={"content-type": "application/json"})
        assert response.status_code == status, body
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    missing = httpx.get(server.base_url + "/completions")
    assert missing.status_code == 404 and "chat/completions" in missing.json()["error"]["message"]
    wrong_method = httpx.get(url)
    assert wrong_method.status_code == 405
    assert server.stats()["status"] == "ok"


def test_sparse_deltas_and_stream_interval(vllm_server: ServerProcess) -> None:
    """With --enable-reasoning deltas carry only keys with text; --stream-interval 3 batches tokens."""
    client = vllm_server.client()
    kwargs = dict(model="m", messages=USER, temperature=0, max_tokens=60, extra_body={"reasoning_max_tokens": 10})
    whole = client.chat.completions.create(**kwargs)  # type: ignore[call-overload]
    chunks = list(client.chat.completions.create(stream=True, **kwargs))  # type: ignore[call-overload]
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", "") or "" for c in chunks)
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert (reasoning or None, content or None) == (
        whole.choices[0].message.reasoning_content, whole.choices[0].message.content)  # type: ignore[attr-defined]
    for chunk in chunks:
        extra = chunk.choices[0].delta.model_extra or {}
        assert extra.get("reasoning_content", "x") is not None       # present only with text
        assert chunk.choices[0].delta.content is None or chunk.choices[0].delta.content != ""
    assert whole.usage is not None
    assert len(chunks) <= 2 + (whole.usage.completion_tokens + 2) // 3 + 1
