"""Seed-interface parsers registered without a reasoner, served by `reasoning-plugins serve`.

The parsers come from an outside distribution installed by pip (tests/fixtures/dists/seedserve):
the LMDeploy document's ExampleParser, one carrying start_token/end_token as vLLM's parsers do
(a reasoner is derived), and one whose markers cannot be found (served without one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from .conftest import REPO, ServerProcess, server_env

DISTS = REPO / "tests" / "fixtures" / "dists"
USER = [{"role": "user", "content": "What is 2 + 3?"}]
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"]}


class SeedServer(ServerProcess):
    """`reasoning-plugins serve` in an interpreter that also sees the installed test distribution."""

    site: Path

    def start(self, log_dir: Path) -> None:
        self.log_path = log_dir / f"server-{self.name}.log"
        env = server_env()
        env["PYTHONPATH"] = os.pathsep.join([str(self.site), env["PYTHONPATH"]])
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reasoning_plugins", "serve", "--port", str(self.port), "--log-level",
                 "warning", *self.flags], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def seed_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SeedServer]]:
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(DISTS / "seedserve")], check=True, capture_output=True)
    log_dir = tmp_path_factory.mktemp("seed-server-logs")
    running = {}
    for name in ("seed-think", "seed-plain", "example"):
        server = SeedServer(name, ["--reasoning-parser", name])
        server.site = site
        running[name] = server
    try:
        for server in running.values():
            server.start(log_dir)
        for server in running.values():
            server.wait_ready()
        yield running
    finally:
        for server in running.values():
            server.stop()


def refused(server: ServerProcess, **body: object) -> dict[str, object]:
    response = httpx.post(server.base_url + "/chat/completions", timeout=60,
                          json={"messages": USER, "max_tokens": 20, **body})
    assert response.status_code == 400, response.text
    return response.json()["error"]


def test_a_reasoner_is_derived_from_marker_attributes(seed_servers: dict[str, SeedServer]) -> None:
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


def test_derived_reasoner_gates_the_grammar(seed_servers: dict[str, SeedServer]) -> None:
    """With a derived reasoner, guided_json applies after the reasoning: free reasoning, valid JSON."""
    client = seed_servers["seed-think"].client()
    response = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Generate a JSON with the name and age of one random person."}],
        temperature=0, max_tokens=200, extra_body={"guided_json": PERSON})
    message = response.choices[0].message
    assert message.reasoning_content  # type: ignore[attr-defined]
    person = json.loads(message.content or "")
    assert isinstance(person["name"], str) and isinstance(person["age"], int)


def test_no_markers_serves_without_a_reasoner_and_says_so(seed_servers: dict[str, SeedServer]) -> None:
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
def test_no_reasoner_refuses_budgets_and_schemas(seed_servers: dict[str, SeedServer], body: dict[str, object],
                                                 param: str) -> None:
    """Without a reasoner a budget or a schema is a 400 naming the field and the parser, not a wrong answer."""
    server = seed_servers["seed-plain"]
    error = refused(server, **body)
    assert error["param"] == param
    assert "'seed-plain'" in str(error["message"])
    assert server.stats()["status"] == "ok"


def test_the_seed_example_parser_starts(seed_servers: dict[str, SeedServer]) -> None:
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
    assert server.stats()["status"] == "ok"
