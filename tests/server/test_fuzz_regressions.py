"""What API fuzzing found, pinned: the OpenAPI document and the server must agree on every body."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, create_model

from core_engine.server.openapi import ApiDocs

from .conftest import ServerProcess

jsonschema_rs = pytest.importorskip("jsonschema_rs")   # comes with schemathesis

USER = {"role": "user", "content": "What is 2 + 3?"}


@pytest.fixture(scope="module")
def document(server: ServerProcess) -> dict[str, Any]:
    response = httpx.get(server.root + "/openapi.json", timeout=10)
    assert response.status_code == 200
    return dict(response.json())


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A validator for ``schema``, whose references point into the document's components."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})


def chat_validator(document: dict[str, Any], path: str = "/v1/chat/completions") -> Any:
    media = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return validator(document, media["schema"])


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
    """Every documented 4xx/5xx points at the error model of its API: Anthropic's under /v1/messages."""
    for path, item in document["paths"].items():
        model = "AnthropicErrorResponse" if path.startswith("/v1/messages") else "ErrorResponse"
        for operation in item.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and path != "/health":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/" + model), (path, status)


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


# --- the Responses and Messages APIs, the parsers listing and the playground ---

def events(response: httpx.Response) -> list[dict[str, str]]:
    """The server-sent events of a stream as ``{"event", "data"}`` (``event`` only when named)."""
    out: list[dict[str, str]] = []
    for block in response.text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            out.append(fields)
    return out


@pytest.mark.parametrize("path", ["/v1/responses", "/v1/messages"])
def test_translated_routes_document_their_bodies_and_answers(server: ServerProcess, document: dict[str, Any],
                                                             path: str) -> None:
    """These routes had no request body in the document, so every generated request was an
    undocumented 400 (an empty body); now the example is valid for the documented model, is
    answered 200, and the answer and each streamed event match the documented 200."""
    operation = document["paths"][path]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    assert not list(chat_validator(document, path).iter_errors(example))
    assert list(chat_validator(document, path).iter_errors({**example, "stream": "yes"}))
    content = operation["responses"]["200"]["content"]
    response = httpx.post(server.root + path, json=example, timeout=60)
    assert response.status_code == 200, response.text
    answer = validator(document, content["application/json"]["schema"])
    assert not list(answer.iter_errors(response.json())), response.json()
    assert list(answer.iter_errors({**response.json(), "id": 7}))     # the schema does say something

    event_schema = content["text/event-stream"]["schema"]
    envelope, data = validator(document, event_schema), validator(document, event_schema["properties"]["data"]
                                                                  ["contentSchema"])
    with httpx.stream("POST", server.root + path, json={**example, "stream": True}, timeout=60) as streamed:
        streamed.read()
    sent = events(streamed)
    assert len(sent) > 3
    for event in sent:
        assert not list(envelope.iter_errors(event)), event
        payload = json.loads(event["data"])
        assert not list(data.iter_errors(payload)), payload
        assert payload["type"] == event["event"]


@pytest.mark.parametrize(("path", "model"), [("/v1/responses", "ErrorResponse"),
                                             ("/v1/messages", "AnthropicErrorResponse")])
@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"max_tokens": "8"}'],
                         ids=["empty", "bad-json", "array", "wrong-type"])
def test_translated_route_errors_are_the_documented_shape(server: ServerProcess, document: dict[str, Any],
                                                          path: str, model: str, body: bytes) -> None:
    """A 400 from /v1/messages is Anthropic's shape (the document said OpenAI's, or nothing)."""
    documented = document["paths"][path]["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert documented["$ref"].endswith("/" + model)
    response = httpx.post(server.root + path, content=body, headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 400
    assert not list(validator(document, documented).iter_errors(response.json())), response.json()
    other = "ErrorResponse" if model != "ErrorResponse" else "AnthropicErrorResponse"
    assert list(validator(document, {"$ref": f"#/components/schemas/{other}"}).iter_errors(response.json()))


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_stored_responses_are_documented_as_404(server: ServerProcess, document: dict[str, Any], method: str) -> None:
    """GET/DELETE /v1/responses/{id} were documented as 200 but always answer 404 not_stored."""
    operation = document["paths"]["/v1/responses/{response_id}"][method.lower()]
    assert "200" not in operation["responses"] and "404" in operation["responses"]
    response = httpx.request(method, server.base_url + "/responses/resp_123", timeout=10)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_stored"
    schema = operation["responses"]["404"]["content"]["application/json"]["schema"]
    assert not list(validator(document, schema).iter_errors(response.json()))


def test_parsers_and_playground_answers_are_documented(server: ServerProcess, document: dict[str, Any]) -> None:
    """GET /v1/parsers, the page and its files answer what the document says (they were undocumented)."""
    listing = document["paths"]["/v1/parsers"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    response = httpx.get(server.base_url + "/parsers", timeout=10)
    assert not list(validator(document, listing).iter_errors(response.json()))
    assert "text/html" in document["paths"]["/"]["get"]["responses"]["200"]["content"]
    assert httpx.get(server.root + "/", timeout=10).headers["content-type"].startswith("text/html")
    files = document["paths"]["/playground/{name}"]["get"]["responses"]
    for name in ("app.js", "style.css", "icon.svg"):
        answer = httpx.get(server.root + "/playground/" + name, timeout=10)
        assert answer.status_code == 200 and answer.headers["content-type"].split(";")[0] in files["200"]["content"]
    for name in ("index.html", "..%2Fapp.py", "nothing.js"):
        assert httpx.get(server.root + "/playground/" + name, timeout=10).status_code == 404
    assert "404" in files
    # HEAD is served but not in the document (schemathesis would expect a body from it)
    assert "head" not in document["paths"]["/"]
    assert httpx.head(server.root + "/", timeout=10).status_code == 200


def _models(module: str) -> tuple[type[BaseModel], type[BaseModel]]:
    tool = create_model("Tool", __module__=module, name=(str, ...), **({"input_schema": (dict, ...)}
                                                                        if module.endswith("messages") else {}))
    request = create_model(module.rsplit(".", 1)[-1].title() + "Request", __module__=module, tools=(list[tool], ...))
    return tool, request


def test_same_named_models_of_two_apis_do_not_replace_each_other() -> None:
    """Components are stored by class name: a second, different ``Tool`` got the first one's
    name and replaced its schema, so one API's body was documented with the other's tool."""
    app = FastAPI()
    docs = ApiDocs(app)
    chat_tool, chat = _models("api.chat")
    messages_tool, messages = _models("api.messages")
    assert docs.component(chat) == "ChatRequest" and docs.component(messages) == "MessagesRequest"
    assert docs.component(chat) == "ChatRequest"        # storing it again changes nothing
    schemas = app.openapi()["components"]["schemas"]
    assert "input_schema" not in schemas["Tool"]["properties"]
    assert "input_schema" in schemas["messages.Tool"]["properties"]
    assert schemas["ChatRequest"]["properties"]["tools"]["items"]["$ref"].endswith("/Tool")
    assert schemas["MessagesRequest"]["properties"]["tools"]["items"]["$ref"].endswith("/messages.Tool")
    # a third Tool from a module of the same name has nowhere left to go: an error, not a silent overwrite
    other = create_model("Tool", __module__="other.messages", name=(int, ...))
    with pytest.raises(ValueError, match="messages.Tool"):
        docs.component(other)


# --- server errors fuzzing (and probing the fields the document leaves open) found ---

@pytest.mark.parametrize("body", [
    {"input": "What is 2 + 3?", "max_output_tokens": 4, "top_p": 5e-324},
    {"input": "What is 2 + 3?", "max_output_tokens": 4, "temperature": 5e-324},
    {"input": "What is 2 + 3?", "max_output_tokens": 4, "top_k": 2**80},
], ids=["top_p-denormal", "temperature-denormal", "top_k-over-int64"])
def test_extreme_sampling_values_are_served(server: ServerProcess, body: dict[str, Any]) -> None:
    """These were a 503: the engine step failed (token id -1 drawn, or top_k overflowing a tensor)
    and every request running beside them was aborted. Now they are answered like any request."""
    response = httpx.post(server.base_url + "/responses", json=body, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["status"] in ("completed", "incomplete") and response.json()["usage"]["output_tokens"] >= 1
    assert server.stats()["status"] == "ok"


def test_seed_out_of_range_is_refused_by_document_and_server(server: ServerProcess, document: dict[str, Any]) -> None:
    """A seed outside what a torch.Generator takes was a 400 without a field ("Overflow when
    unpacking long long"); the document now gives the range and the server names 'seed'."""
    body = {"messages": [USER], "seed": 2**80}
    assert list(chat_validator(document).iter_errors(body))
    assert not list(chat_validator(document).iter_errors({**body, "seed": 2**64 - 1}))
    response = httpx.post(server.base_url + "/chat/completions", json=body, timeout=30)
    assert response.status_code == 400 and response.json()["error"]["param"] == "seed"
    assert "18446744073709551615" in response.json()["error"]["message"]
    assert httpx.post(server.base_url + "/chat/completions", json={**body, "seed": -(2**63), "max_tokens": 2},
                      timeout=60).status_code == 200


@pytest.mark.parametrize(("content", "param"), [(5, "input[0].content"), ("thought", "input[0].content"),
                                                ([{"type": "reasoning_text", "text": 5}], "input[0].content[0]"),
                                                (["thought"], "input[0].content[0]")])
def test_malformed_reasoning_item_is_a_400(server: ServerProcess, content: Any, param: str) -> None:
    """A reasoning input item whose content was not a list of text parts was a 500 (TypeError)."""
    body = {"input": [{"type": "reasoning", "content": content}, {"role": "assistant", "content": "5"},
                      {"role": "user", "content": "And 3 + 4?"}], "max_output_tokens": 4}
    response = httpx.post(server.base_url + "/responses", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert "reasoning_text" in response.json()["error"]["message"]
    good = [{"type": "reasoning_text", "text": "Add them."}]
    body["input"][0]["content"] = good
    assert httpx.post(server.base_url + "/responses", json=body, timeout=60).status_code == 200
