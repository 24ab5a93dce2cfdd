"""Disconnects, concurrency, API keys and limits, against real server processes."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from .conftest import API_KEY, ServerProcess

USER = [{"role": "user", "content": "What is 2 + 3?"}]


def wait_until_idle(server: ServerProcess, timeout: float = 15.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    stats = server.stats()
    while time.monotonic() < deadline:
        stats = server.stats()
        if stats["num_running"] == 0 and stats["num_waiting"] == 0 \
                and stats["kv_blocks_free"] == stats["kv_blocks_total"]:
            return stats
        time.sleep(0.05)
    return stats


def test_stream_disconnect_aborts_and_frees_kv_blocks(server: ServerProcess) -> None:
    """Closing a stream mid-way aborts the request: nothing runs and every KV block is free."""
    body = {"messages": USER, "stream": True, "max_tokens": 1500, "temperature": 0,
            "chat_template_kwargs": {"enable_thinking": False}, "ignore_eos": True}
    with httpx.stream("POST", server.base_url + "/chat/completions", json=body, timeout=60) as response:
        assert response.status_code == 200
        for i, _ in enumerate(response.iter_lines()):
            if i == 20:
                busy = server.stats()
                break
    assert busy["num_running"] == 1 and busy["kv_blocks_free"] < busy["kv_blocks_total"]
    stats = wait_until_idle(server)
    assert stats["num_running"] == 0
    assert stats["kv_blocks_free"] == stats["kv_blocks_total"]


def test_non_streaming_disconnect_aborts(server: ServerProcess) -> None:
    """A non-streaming client that gives up also aborts its request."""
    body = {"messages": USER, "max_tokens": 1500, "temperature": 0, "ignore_eos": True,
            "chat_template_kwargs": {"enable_thinking": False}}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.base_url + "/chat/completions", json=body, timeout=httpx.Timeout(5, read=0.5))
    stats = wait_until_idle(server)
    assert stats["num_running"] == 0 and stats["kv_blocks_free"] == stats["kv_blocks_total"]


def test_32_concurrent_streams_each_get_their_own_output(server: ServerProcess) -> None:
    """32 seeded streams at once each equal the same request run alone."""
    questions = [f"What is {i} + {i % 7}?" for i in range(32)]

    def request(i: int) -> dict[str, object]:
        return dict(model="m", messages=[{"role": "user", "content": questions[i]}], temperature=1.0,
                    top_p=0.9, max_tokens=48, seed=1000 + i)

    async def one_stream(client: AsyncOpenAI, i: int) -> tuple[str, str]:
        stream = await client.chat.completions.create(stream=True, **request(i))  # type: ignore[call-overload]
        reasoning, content = [], []
        async for chunk in stream:
            delta = chunk.choices[0].delta
            reasoning.append(getattr(delta, "reasoning_content", None) or "")
            content.append(delta.content or "")
        return "".join(reasoning), "".join(content)

    async def all_streams() -> list[tuple[str, str]]:
        async with AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=120) as client:
            return await asyncio.gather(*(one_stream(client, i) for i in range(32)))

    together = asyncio.run(all_streams())
    client = server.client()
    alone = []
    for i in range(32):
        message = client.chat.completions.create(**request(i)).choices[0].message  # type: ignore[call-overload]
        alone.append((message.reasoning_content or "", message.content or ""))  # type: ignore[attr-defined]
    assert together == alone
    assert len(set(together)) > 16      # the outputs really differ from client to client


def test_server_keeps_serving_after_bad_requests(server: ServerProcess) -> None:
    """A burst of malformed requests leaves the server answering normally."""
    url = server.base_url + "/chat/completions"
    bad = [b"{", b'{"messages": "hi"}', b'{"messages": [{"role": "user", "content": 5}]}',
           b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"}',
           b'{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}}',
           b'{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}',
           b'{"messages": [{"role": "user", "content": "x"}], "guided_json": "{not json"}']
    for body in bad:
        response = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)
        assert response.status_code in (400, 422), body
        assert response.json()["error"]["message"]
    ok = server.client().chat.completions.create(model="m", messages=USER, max_tokens=3)
    assert ok.choices[0].message.role == "assistant"


def test_api_key_protects_every_v1_route(guarded_server: ServerProcess) -> None:
    """Without the right Bearer key every /v1 route answers 401; /health stays open."""
    for key in ("wrong-key", API_KEY[:-1], API_KEY + "x"):
        with pytest.raises(openai.AuthenticationError) as caught:
            guarded_server.client(api_key=key).models.list()
        assert caught.value.body["code"] == "invalid_api_key"  # type: ignore[index]
    for method, path in (("GET", "/models"), ("POST", "/chat/completions"), ("GET", "/no-such-route")):
        response = httpx.request(method, guarded_server.base_url + path, json={})
        assert response.status_code == 401, path
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(guarded_server.root + "/health").status_code == 200
    good = guarded_server.client(api_key=API_KEY)
    assert good.models.list().data[0].id == "tiny"


def test_strict_model_name(guarded_server: ServerProcess) -> None:
    """With --strict-model-name another model name is a 404 model_not_found."""
    client = guarded_server.client(api_key=API_KEY)
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=USER, max_tokens=2)
    assert caught.value.body["code"] == "model_not_found"  # type: ignore[index]
    assert client.chat.completions.create(model="tiny", messages=USER, max_tokens=2).model == "tiny"


def test_no_reasoning_parser_means_no_reasoning_field(guarded_server: ServerProcess) -> None:
    """A server without --reasoning-parser returns plain content, no reasoning_content key."""
    client = guarded_server.client(api_key=API_KEY)
    response = client.chat.completions.create(model="tiny", messages=USER, max_tokens=12, temperature=0)
    assert "reasoning_content" not in (response.choices[0].message.model_extra or {})
    stream = client.chat.completions.create(model="tiny", messages=USER, max_tokens=12, temperature=0, stream=True)
    chunks = list(stream)
    assert all("reasoning_content" not in (c.choices[0].delta.model_extra or {}) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == response.choices[0].message.content


def test_request_body_size_cap(guarded_server: ServerProcess) -> None:
    """A body over --max-request-bytes gets 413 with the limit in the message."""
    client = guarded_server.client(api_key=API_KEY)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x" * 70_000}])
    assert caught.value.status_code == 413
    assert "65536" in caught.value.message
    # a chunked body without Content-Length is counted as it arrives
    response = httpx.post(guarded_server.base_url + "/chat/completions", timeout=30,
                          headers={"authorization": f"Bearer {API_KEY}", "content-type": "application/json"},
                          content=iter([b'{"messages": [{"role": "user", "content": "', b"y" * 70_000, b'"}]}']))
    assert response.status_code == 413


def test_max_tokens_cap(guarded_server: ServerProcess) -> None:
    """max_tokens above --max-tokens-limit is a 400 naming the limit."""
    client = guarded_server.client(api_key=API_KEY)
    with pytest.raises(openai.BadRequestError, match="limit of 300"):
        client.chat.completions.create(model="tiny", messages=USER, max_tokens=301)
    response = client.chat.completions.create(model="tiny", messages=USER, max_tokens=300,
                                              extra_body={"ignore_eos": True})
    assert response.usage is not None and response.usage.completion_tokens == 300


def test_sync_client_reuse_under_load(server: ServerProcess) -> None:
    """One client doing many short requests in a row sees no errors."""
    client: OpenAI = server.client()
    for i in range(10):
        response = client.chat.completions.create(model="m", messages=USER, max_tokens=2, seed=i)
        assert response.choices[0].finish_reason in ("stop", "length")


def test_engine_process_death_gives_503_not_a_hang(tmp_path: object) -> None:
    """If the engine process dies, requests get a 503 and /health reports it; nothing hangs."""
    import os
    import signal
    from pathlib import Path

    server = ServerProcess("crash", ["--reasoning-parser", "deepseek-r1"])
    server.start(Path(str(tmp_path)))
    try:
        server.wait_ready()
        assert server.process is not None
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        engine_pid = next(int(pid) for pid in children
                          if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"))
        client = server.client()
        stream = client.chat.completions.create(model="m", messages=USER, stream=True, max_tokens=1500,
                                                extra_body={"ignore_eos": True})
        next(iter(stream))
        os.kill(engine_pid, signal.SIGKILL)
        with pytest.raises(openai.APIError):      # the running stream ends with an error event
            for _ in stream:
                pass
        deadline = time.monotonic() + 10
        while httpx.get(server.root + "/health").status_code != 503 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert httpx.get(server.root + "/health").status_code == 503
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="m", messages=USER, max_tokens=2)
        assert caught.value.status_code == 503 and "engine" in caught.value.message
    finally:
        server.stop()
