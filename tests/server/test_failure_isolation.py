"""One request's failure stays its own: a deliberately broken plugin, installed with pip through the
``reasoning_plugins`` entry-point group, fails requests at every place the engine and the server
call into per-request code; each failing request gets a clear error and the requests running next
to it produce exactly what they produce alone. The server and its engine process keep serving.

The detokeniser, stop-string and grammar failures are injected by the plugin wrapping those engine
parts (real xgrammar and detokenisers do not fail on demand); the reasoner and parser failures are
the plugin's own classes raising.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest

from .helpers_reliability import SiteServer, health, idle, install_dists, wait_for

QUESTIONS = ["What is 2 + 3?", "Name a city.", "What is the weather in Paris?", "Hi!"]

# where the engine's stats count the failure (None: the parser runs in the server, not the engine)
FAULTS = {
    "reasoner_start": ("reasoner", "reasoner 'faulty-r1'"),
    "reasoner_feed": ("reasoner", "reasoner 'faulty-r1'"),
    "reasoner_state": ("reasoner", "reasoner 'faulty-r1'"),
    "detokenizer": ("detokenizer", "detokenizer"),
    "stop_strings": ("stop_strings", "stop-string matching"),
    "grammar": ("grammar", "grammar"),
    "parser": (None, "reasoning parser 'faulty-r1'"),
}


@pytest.fixture(scope="module", params=["engine-process", "engine-in-process"])
def faulty_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteServer]:
    """The server with the broken plugin, its engine in its own process or on a thread of the server."""
    site = install_dists(tmp_path_factory.mktemp("faulty-site"), "faulty")
    flags = ["--reasoning-parser", "faulty-r1", "--max-num-seqs", "16"]
    if request.param == "engine-in-process":
        flags.append("--engine-in-process")
    server = SiteServer(f"faulty-{request.param}", flags, site)
    server.start(tmp_path_factory.mktemp("faulty-logs"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def wait_for_log(server: SiteServer, text: str, timeout: float = 10.0) -> str:
    """The server's log once it mentions ``text`` (or after ``timeout``)."""
    deadline = time.monotonic() + timeout
    log = server.log()
    while text not in log and time.monotonic() < deadline:
        time.sleep(0.05)
        log = server.log()
    return log


def healthy_request(i: int) -> dict[str, Any]:
    """Seeded sampling for three requests, greedy for the fourth: outputs that do not depend on the batch."""
    return {"model": "tiny", "messages": [{"role": "user", "content": QUESTIONS[i]}], "max_tokens": 48,
            "temperature": 0.0 if i == 3 else 0.9, "seed": 100 + i}


def run_stream(client: openai.OpenAI, body: dict[str, Any]) -> tuple[str, str, str | None]:
    reasoning, content, reason = [], [], None
    with client.chat.completions.create(stream=True, **body) as stream:    # closed even when it raises
        for chunk in stream:
            for choice in chunk.choices:
                delta = choice.delta
                reasoning.append(getattr(delta, "reasoning_content", None) or "")
                content.append(delta.content or "")
                reason = choice.finish_reason or reason
    return "".join(reasoning), "".join(content), reason


def faulty_request(fault: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "tiny", "messages": [{"role": "user", "content": "What is 2 + 3?"}],
                            "max_tokens": 40,
                            "temperature": 0.0, "extra_body": {"fault": fault}}
    if fault == "grammar":
        schema = {"type": "object", "properties": {"fault_grammar": {"type": "string"}}, "required": ["fault_grammar"]}
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "f", "schema": schema}}
        body["extra_body"]["reasoning_max_tokens"] = 2
    return body


@pytest.fixture(scope="module")
def client(faulty_server: SiteServer) -> Iterator[openai.OpenAI]:
    with faulty_server.client() as opened:
        yield opened


@pytest.fixture(scope="module")
def alone(client: openai.OpenAI) -> list[tuple[str, str, str | None]]:
    """Each healthy request run alone on the same server."""
    return [run_stream(client, healthy_request(i)) for i in range(len(QUESTIONS))]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_request_ends_alone(faulty_server: SiteServer, client: openai.OpenAI,
                                      alone: list[tuple[str, str, str | None]], fault: str, stream: bool) -> None:
    """The failing request gets an error naming what failed (logged with its id); the others equal their runs alone."""
    kind, where = FAULTS[fault]
    before = faulty_server.stats()
    with ThreadPoolExecutor(len(QUESTIONS) + 1) as pool:
        healthy = [pool.submit(run_stream, client, healthy_request(i)) for i in range(len(QUESTIONS))]
        body = faulty_request(fault)
        failing = pool.submit(run_stream, client, body) if stream else \
            pool.submit(client.chat.completions.create, **body)
        with pytest.raises(openai.APIError) as raised:
            failing.result(timeout=120)
        results = [f.result(timeout=120) for f in healthy]
    message = str(raised.value)
    assert where in message and "broke on purpose" in message, message
    request_id = re.search(r"request (chatcmpl-[0-9a-f]+)", message)
    assert request_id is not None and request_id.group(1) in wait_for_log(faulty_server, request_id.group(1))
    if isinstance(raised.value, openai.APIStatusError):
        assert raised.value.status_code == 500
    else:    # reported inside the stream, after the first event
        assert stream
    assert results == alone
    after = wait_for(faulty_server, idle)
    assert idle(after), after
    if kind is not None:
        assert after[f"num_failed_{kind}"] == before[f"num_failed_{kind}"] + 1
    assert health(faulty_server).json()["status"] == "ok"


def test_a_plugin_failing_at_start_is_a_500_before_the_first_byte(client: openai.OpenAI) -> None:
    """A reasoner that raises when the request is added: HTTP 500 with the message, for streams too."""
    with pytest.raises(openai.InternalServerError, match="reasoner 'faulty-r1'.*start\\(\\) broke on purpose"):
        client.chat.completions.create(stream=True, **faulty_request("reasoner_start"))
    assert run_stream(client, healthy_request(3))[2] in ("stop", "length")
