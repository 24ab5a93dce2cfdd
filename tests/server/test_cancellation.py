"""Cancellation and limits against real server processes: a client that leaves aborts its request
whether it is queued, reading its prompt or decoding, and its KV blocks come back; ``--request-timeout``
ends runaway requests with a 504 or an error event; a grammar that compiles too slowly is a 400; a
request the server aborts never reports ``finish_reason: "abort"``.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import string
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from core_engine import AsyncLLMEngine, EngineConfig
from core_engine.server.chat import ChatRunner
from core_engine.server.config import ServerConfig
from core_engine.server.errors import ApiError
from core_engine.server.planning import plan_chat
from core_engine.server.protocol import ServerChatRequest

from .helpers_reliability import SiteServer, idle, wait_for

USER = [{"role": "user", "content": "What is 2 + 3?"}]
LONG = {"messages": USER, "max_tokens": 1500, "temperature": 0, "ignore_eos": True,
        "chat_template_kwargs": {"enable_thinking": False}}
LONG_OPENAI = {"messages": USER, "max_tokens": 1500, "temperature": 0,
               "extra_body": {"ignore_eos": True, "chat_template_kwargs": {"enable_thinking": False}}}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SiteServer]]:
    logs = tmp_path_factory.mktemp("cancel-logs")
    running = {
        # one sequence at a time (a second request waits in the queue), prompts read 16 tokens per step
        "cancel": SiteServer("cancel", ["--max-num-seqs", "1", "--max-num-batched-tokens", "16",
                                        "--grammar-compile-timeout", "1"]),
        "timeout": SiteServer("timeout", ["--request-timeout", "2", "--reasoning-parser", "deepseek-r1"]),
    }
    try:
        for server in running.values():
            server.start(logs)
        for server in running.values():
            server.wait_ready()
        yield running
    finally:
        for server in running.values():
            server.stop()


class RawStream:
    """A streaming request sent over a plain socket; ``leave()`` closes the connection at once.

    The response starts only with the first token, so a client that gives up before that can only
    close its connection (an HTTP client blocked waiting for headers cannot be made to close it).
    """

    def __init__(self, server: SiteServer, body: dict[str, object]) -> None:
        payload = json.dumps({**body, "stream": True}).encode()
        head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode()
        self._sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        self._sock.sendall(head + payload)

    def leave(self) -> None:
        self._sock.close()


def test_disconnect_while_queued_aborts_and_frees_blocks(servers: dict[str, SiteServer]) -> None:
    """A streaming request still waiting for a sequence slot is aborted when its client leaves."""
    server = servers["cancel"]
    before = server.stats()
    with httpx.stream("POST", server.base_url + "/chat/completions", json={**LONG, "stream": True},
                      timeout=60) as busy:
        lines = busy.iter_lines()
        next(lines)
        waiting = RawStream(server, LONG)
        assert wait_for(server, lambda s: s["num_waiting"] == 1, timeout=10)["num_waiting"] == 1
        waiting.leave()
        stats = wait_for(server, lambda s: s["num_aborted"] == before["num_aborted"] + 1, timeout=10)
        assert stats["num_aborted"] == before["num_aborted"] + 1
        assert stats["num_waiting"] == 0 and stats["num_running"] == 1   # gone while the first still runs
    stats = wait_for(server, idle)
    assert idle(stats), stats
    assert stats["num_aborted"] == before["num_aborted"] + 2


def test_disconnect_while_reading_the_prompt_aborts_and_frees_blocks(servers: dict[str, SiteServer]) -> None:
    """A request whose long prompt is read in 16-token chunks is aborted mid-prompt when its client leaves."""
    server = servers["cancel"]
    rng = random.Random(0)
    words = ["apple", "river", "stone", "cloud", "green", "paris", "seven", "table"]
    prompt = " ".join(rng.choice(words) for _ in range(450))          # about 1,450 tokens: ~90 steps
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": 400, "temperature": 0,
            "ignore_eos": True}
    before = server.stats()
    stream = RawStream(server, body)
    stats = wait_for(server, lambda s: s["num_prefilling"] == 1, timeout=20, interval=0.005)
    assert stats["num_prefilling"] == 1 and stats["num_running"] == 1
    stream.leave()     # the client gives up while the prompt is still being read
    stats = wait_for(server, idle)
    assert idle(stats), stats
    assert stats["num_aborted"] == before["num_aborted"] + 1


def test_disconnect_while_decoding_aborts_and_frees_blocks(servers: dict[str, SiteServer]) -> None:
    """Closing a stream after some tokens aborts the request; the engine counts the abort."""
    server = servers["cancel"]
    before = server.stats()
    with httpx.stream("POST", server.base_url + "/chat/completions", json={**LONG, "stream": True},
                      timeout=60) as response:
        for i, _ in enumerate(response.iter_lines()):
            if i == 10:
                break
    stats = wait_for(server, idle)
    assert idle(stats), stats
    assert stats["num_aborted"] == before["num_aborted"] + 1


def test_a_schema_too_slow_to_compile_is_a_400(servers: dict[str, SiteServer],
        request: pytest.FixtureRequest) -> None:
    """A schema with 1,400 optional properties (45 kB; about 8 s to compile) passes the 1 s compile timeout: a 400."""
    server = servers["cancel"]
    rng = random.Random(0)
    names = {"".join(rng.choice(string.ascii_lowercase) for _ in range(8)) for _ in range(1400)}
    schema = {"type": "object", "properties": {name: {"type": "string"} for name in names}}
    client = server.client()
    request.addfinalizer(client.close)
    started = time.monotonic()
    with pytest.raises(openai.BadRequestError, match="took longer than 1 s to compile") as raised:
        client.chat.completions.create(model="m", messages=USER, max_tokens=20, response_format={
            "type": "json_schema", "json_schema": {"name": "wide", "schema": schema}})
    assert time.monotonic() - started < 30
    assert raised.value.body["param"] == "response_format"    # type: ignore[index]
    ok = client.chat.completions.create(model="m", messages=USER, max_tokens=30, temperature=0,
                                        response_format={"type": "json_object"},
                                        extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert isinstance(json.loads(ok.choices[0].message.content or ""), dict)
    stats = wait_for(server, idle)
    assert idle(stats) and stats["num_grammar_errors"] >= 1


def test_request_timeout_non_streaming_is_a_504(servers: dict[str, SiteServer],
        request: pytest.FixtureRequest) -> None:
    """A request still running after --request-timeout gets a 504 naming the limit; its blocks come back."""
    server = servers["timeout"]
    client = server.client()
    request.addfinalizer(client.close)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError, match="request timeout of 2 s") as raised:
        client.chat.completions.create(model="m", **LONG_OPENAI)
    assert raised.value.status_code == 504
    assert raised.value.body["code"] == "request_timeout"    # type: ignore[index]
    assert 1.5 < time.monotonic() - started < 20
    stats = wait_for(server, idle)
    assert idle(stats), stats


def test_request_timeout_streaming_is_an_error_event(servers: dict[str, SiteServer],
        request: pytest.FixtureRequest) -> None:
    """A stream past --request-timeout ends with an error event, never with finish_reason length or abort."""
    server = servers["timeout"]
    client = server.client()
    request.addfinalizer(client.close)
    reasons = []
    with pytest.raises(openai.APIError, match="request timeout of 2 s"), \
            client.chat.completions.create(model="m", stream=True, **LONG_OPENAI) as stream:
        for chunk in stream:
            reasons.extend(c.finish_reason for c in chunk.choices if c.finish_reason)
    assert reasons == []
    stats = wait_for(server, idle)
    assert idle(stats), stats
    short = client.chat.completions.create(model="m", messages=USER, max_tokens=10)
    assert short.choices[0].finish_reason in ("stop", "length")


def test_an_aborted_request_is_an_error_not_finish_reason_abort() -> None:
    """When the engine aborts a request a client still waits for, the client gets a 503, not 'abort'."""
    engine = AsyncLLMEngine(EngineConfig(num_kv_blocks=128, max_num_seqs=4))
    try:
        config = ServerConfig()
        runner = ChatRunner(engine, config, None)
        request = ServerChatRequest.model_validate({**LONG, "messages": USER})
        plan = plan_chat(request, engine, config, engine.model_name, None)

        async def main() -> ApiError:
            task = asyncio.create_task(runner.complete(plan))
            for _ in range(500):
                await asyncio.sleep(0.01)
                if engine.stats()["num_running"]:
                    break
            await engine.abort(plan.request_id)
            with pytest.raises(ApiError) as raised:
                await task
            return raised.value

        error = asyncio.run(main())
        assert error.status == 503 and error.code == "request_aborted"
        assert "aborted by the server" in error.message
    finally:
        engine.shutdown()
