"""/v1/responses and /v1/messages under failure: clients that leave, an engine that dies."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from .conftest import ServerProcess, track
from .test_robustness import wait_until_idle

LONG = {"temperature": 0, "ignore_eos": True, "chat_template_kwargs": {"enable_thinking": False}, "stream": True}


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/responses", {"input": "What is 2 + 3?", "max_output_tokens": 1500, **LONG}),
    ("/v1/messages", {"messages": [{"role": "user", "content": "What is 2 + 3?"}], "max_tokens": 1500, **LONG}),
])
def test_leaving_a_stream_aborts_and_frees_kv_blocks(server: ServerProcess, path: str, body: dict[str, object]) -> None:
    """Closing the connection after a few events: nothing runs and every KV block is free again."""
    with httpx.stream("POST", server.root + path, json=body, timeout=60) as response:
        assert response.status_code == 200
        for i, _ in enumerate(response.iter_lines()):
            if i == 30:
                busy = server.stats()
                break
    assert busy["num_running"] == 1 and busy["kv_blocks_free"] < busy["kv_blocks_total"]
    stats = wait_until_idle(server)
    assert stats["num_running"] == 0 and stats["kv_blocks_free"] == stats["kv_blocks_total"]


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/responses", {"input": "What is 2 + 3?", "max_output_tokens": 1500, **LONG, "stream": False}),
    ("/v1/messages", {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1500, **LONG, "stream": False}),
])
def test_leaving_a_waiting_request_aborts(server: ServerProcess, path: str, body: dict[str, object]) -> None:
    """A non-streaming client that gives up also aborts its request."""
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.root + path, json=body, timeout=httpx.Timeout(5, read=0.5))
    stats = wait_until_idle(server)
    assert stats["num_running"] == 0 and stats["kv_blocks_free"] == stats["kv_blocks_total"]


def test_engine_death_mid_stream_in_each_api_shape(tmp_path: Path) -> None:
    """When the engine process dies, running streams end with each API's failure event and new
    requests get a 503 in each API's error shape; nothing hangs."""
    server = ServerProcess("crash-apis", ["--reasoning-parser", "deepseek-r1"])
    server.start(tmp_path)
    try:
        server.wait_ready()
        assert server.process is not None
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        engine_pid = next(int(pid) for pid in children
                          if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"))
        responses = server.client().responses.create(model="m", input="What is 2 + 3?", stream=True,
                                                     max_output_tokens=1500, extra_body={"ignore_eos": True})
        claude = track(anthropic.Anthropic(base_url=server.root, api_key="EMPTY", max_retries=0, timeout=60))
        messages = claude.messages.create(model="m", max_tokens=1500, stream=True, extra_body={"ignore_eos": True},
                                          messages=[{"role": "user", "content": "What is 2 + 3?"}])
        responses_events, message_events = iter(responses), iter(messages)
        assert next(responses_events).type == "response.created"
        assert next(message_events).type == "message_start"
        os.kill(engine_pid, signal.SIGKILL)
        last = None
        for last in responses_events:
            pass
        assert last is not None and last.type == "response.failed"
        assert last.response.status == "failed" and last.response.error is not None  # type: ignore[union-attr]
        with pytest.raises(anthropic.APIStatusError) as streamed:
            for _ in message_events:
                pass
        assert "generation failed" in str(streamed.value)
        with pytest.raises(openai.InternalServerError) as caught:
            server.client().responses.create(model="m", input="hi", max_output_tokens=2)
        assert caught.value.status_code == 503
        reply = httpx.post(server.root + "/v1/messages", json={"max_tokens": 2, "messages": [
            {"role": "user", "content": "hi"}]}, timeout=30)
        assert reply.status_code == 503 and reply.json()["error"]["type"] == "overloaded_error"
    finally:
        server.stop()
