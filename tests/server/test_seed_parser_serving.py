"""Seed-interface parsers registered without a reasoner, served by `reasoning-plugins serve`.

The parsers come from outside distributions installed by pip: the LMDeploy document's
ExampleParser (tests/fixtures/dists/good), and from tests/fixtures/dists/seedserve one carrying
start_token/end_token as vLLM's parsers do (a reasoner is derived) and one whose markers cannot
be found (served without one).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import openai
import pytest

from .conftest import REPO, ServerProcess, running

DISTS = REPO / "tests" / "fixtures" / "dists"
USER = [{"role": "user", "content": "What is 2 + 3?"}]
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"]}


@pytest.fixture(scope="module")
def seed_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    """`reasoning-plugins serve --reasoning-parser NAME` seeing the pip-installed test distributions."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(DISTS / "good"), str(DISTS / "seedserve")],
                   check=True, capture_output=True)
    started = {name: ServerProcess(name, ["--reasoning-parser", name], command=("-m", "reasoning_plugins", "serve"),
                                   pythonpath=(str(site),))
               for name in ("seed-think", "seed-plain", "example")}
    with running(started.values(), tmp_path_factory.mktemp("seed-server-logs")):
        yield started


def refused(server: ServerProcess, **body: object) -> dict[str, object]:
    response = httpx.post(server.base_url + "/chat/completions", timeout=60,
                          json={"messages": USER, "max_tokens": 20, **body})
    assert response.status_code == 400, response.text
    return response.json()["error"]


def test_a_reasoner_is_derived_from_marker_attributes(seed_servers: dict[str, ServerProcess]) -> None:
    """start_token/end_token on the parser give a reasoner: start-up says so, and budgets are hard caps."""
    server = seed_servers["seed-think"]
    log = server.log()
    assert "Reasoner (grammar gating, reasoning budgets): derived from the parser's markers '<think>' ... " \
           "'</think>' (SeedThinkParser instance attributes start_token/end_token)" in log
    client = server.client()
    for budget in (0, 3):
        response = client.chat.completions.create(model="m", messages=USER, temperature=0, max_tokens=40,
                                                  extra_body={"reasoning_max_tokens": budget})
        assert response.usage.completion_tokens_details.reasoning_tokens <= budget
        assert "</think>" not in (response.choices[0].message.content or "")


def test_derived_reasoner_gates_the_grammar(seed_servers: dict[str, ServerProcess]) -> None:
    """With a derived reasoner, guided_json applies after the reasoning: free reasoning, valid JSON."""
    client = seed_servers["seed-think"].client()
    response = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Generate a JSON with the name and age of one random person."}],
        temperature=0, max_tokens=200, extra_body={"guided_json": PERSON})
    message = response.choices[0].message
    assert message.reasoning_content  # type: ignore[attr-defined]
    person = json.loads(message.content or "")
    assert isinstance(person["name"], str) and isinstance(person["age"], int)


def test_no_markers_serves_without_a_reasoner_and_says_so(seed_servers: dict[str, ServerProcess]) -> None:
    """A parser whose markers cannot be found still serves and splits; start-up names what is refused."""
    server = seed_servers["seed-plain"]
    assert "Reasoner (grammar gating, reasoning budgets): none: the parser 'seed-plain' registers no reasoner" \
        in server.log()
    client = server.client()
    response = client.chat.completions.create(model="m", messages=USER, temperature=0, max_tokens=60)
    message = response.choices[0].message
    assert message.reasoning_content and message.content  # type: ignore[attr-defined]
    streamed = list(client.chat.completions.create(model="m", messages=USER, temperature=0, max_tokens=60,
                                                   stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == message.content


@pytest.mark.parametrize(("body", "param"), [
    ({"reasoning_max_tokens": 4}, "reasoning_max_tokens"),
    ({"thinking_budget": 4}, "thinking_budget"),
    ({"reasoning_effort": "low"}, "reasoning_effort"),
    ({"guided_json": PERSON}, "guided_json"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": PERSON}}},
     "response_format"),
])
def test_no_reasoner_refuses_budgets_and_schemas(seed_servers: dict[str, ServerProcess], body: dict[str, object],
                                                 param: str) -> None:
    """Without a reasoner a budget or a schema is a 400 naming the field and the parser, not a wrong answer."""
    server = seed_servers["seed-plain"]
    error = refused(server, **body)
    assert error["param"] == param
    assert "'seed-plain'" in str(error["message"])
    assert server.stats()["status"] == "ok"


def test_the_seed_example_parser_starts(seed_servers: dict[str, ServerProcess]) -> None:
    """--reasoning-parser example (the seed's stub) starts instead of failing on a missing reasoner."""
    server = seed_servers["example"]
    log = server.log()
    assert "unknown reasoner" not in log
    assert "none: the parser 'example' registers no reasoner" in log
    error = refused(server, reasoning_max_tokens=8)
    assert error["param"] == "reasoning_max_tokens" and "'example'" in str(error["message"])
    # its extraction methods are stubs that return None: the failure is the parser's, reported as such
    with pytest.raises(openai.InternalServerError, match="ExampleParser.extract_reasoning_content returned None"):
        server.client().chat.completions.create(model="m", messages=USER, max_tokens=5)
    # streamed, the stub's None for every delta would drop the whole answer: an error event says why
    with httpx.stream("POST", server.base_url + "/chat/completions", timeout=60,
                      json={"messages": USER, "max_tokens": 5, "stream": True}) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert "ExampleParser returned no text while streaming" in error["message"]
    assert "extract_reasoning_content returned None" in error["message"] and error["type"] == "server_error"
    assert server.stats()["status"] == "ok"
