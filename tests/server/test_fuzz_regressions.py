"""What API fuzzing found, pinned: the OpenAPI document and the server must agree on every body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import ServerProcess

jsonschema_rs = pytest.importorskip("jsonschema_rs")   # comes with schemathesis

USER = {"role": "user", "content": "What is 2 + 3?"}


@pytest.fixture(scope="module")
def document(server: ServerProcess) -> dict[str, Any]:
    response = httpx.get(server.root + "/openapi.json", timeout=10)
    assert response.status_code == 200
    return dict(response.json())


def chat_validator(document: dict[str, Any]) -> Any:
    media = document["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]
    schema = {**media["schema"], "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


def test_every_body_route_documents_its_request_model(document: dict[str, Any]) -> None:
    """Routes read raw bodies, so FastAPI saw none: each POST now names a model with its fields."""
    posts = {path: item["post"] for path, item in document["paths"].items() if "post" in item}
    assert "/v1/chat/completions" in posts
    for path, operation in posts.items():
        media = operation["requestBody"]["content"]["application/json"]
        name = media["schema"]["$ref"].rsplit("/", 1)[1]
        assert document["components"]["schemas"][name]["properties"], path
        assert "400" in operation["responses"] and "422" not in operation["responses"], path


def test_documented_error_responses_are_the_error_shape(document: dict[str, Any]) -> None:
    """Every documented 4xx/5xx of a /v1 route points at the one error model."""
    for path, item in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for operation in item.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorResponse"), (path, status)


@pytest.mark.parametrize("body", [
    {"messages": [USER], "n": 2},
    {"messages": [USER], "n": 0},
    {"messages": [USER], "logprobs": True},
    {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
    {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
], ids=["n=2", "n=0", "logprobs", "text-part-without-text", "part-without-type"])
def test_bodies_the_document_allowed_but_the_server_refused(server: ServerProcess, document: dict[str, Any],
                                                            body: dict[str, Any]) -> None:
    """Schema-valid requests the server answered 400: the document now refuses them as well."""
    assert list(chat_validator(document).iter_errors(body)), "the document still allows it"
    response = httpx.post(server.base_url + "/chat/completions", json=body, timeout=30)
    assert response.status_code == 400 and response.json()["error"]["message"]


def test_the_documented_example_is_served(server: ServerProcess, document: dict[str, Any]) -> None:
    """The body example in the document is valid for it and answered 200 (fuzzing starts from it)."""
    media = document["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]
    example = media["example"]
    assert not list(chat_validator(document).iter_errors(example))
    for body in (example, {**example, "n": 1, "logprobs": False,
                           "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}):
        response = httpx.post(server.base_url + "/chat/completions", json=body, timeout=60)
        assert response.status_code == 200, response.text


def test_documented_stream_event_schema_matches_real_events(server: ServerProcess, document: dict[str, Any]) -> None:
    """Each server-sent event (data plus the default event name) is valid for the documented event schema."""
    content = document["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    validator = jsonschema_rs.Draft202012Validator(content["text/event-stream"]["schema"])
    body = {"messages": [USER], "stream": True, "max_tokens": 6}
    with httpx.stream("POST", server.base_url + "/chat/completions", json=body, timeout=60) as response:
        events = [{"data": line[6:], "event": "message"} for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1]["data"] == "[DONE]" and len(events) > 2
    for event in events:
        assert not list(validator.iter_errors(event)), event
