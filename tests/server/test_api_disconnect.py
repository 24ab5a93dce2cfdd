"""Clients of /v1/responses and /v1/messages that leave mid-stream abort their requests at once."""

from __future__ import annotations

import httpx
import pytest

from .conftest import ServerProcess
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
