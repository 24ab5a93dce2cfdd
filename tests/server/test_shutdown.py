"""Graceful shutdown on SIGTERM and SIGINT, against real server processes."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import ServerProcess

USER = [{"role": "user", "content": "Count to a thousand."}]
LONG = {"messages": USER, "max_tokens": 1500, "ignore_eos": True, "chat_template_kwargs": {"enable_thinking": False}}


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path


def start(name: str, log_dir: Path, *flags: str) -> ServerProcess:
    server = ServerProcess(name, ["--reasoning-parser", "deepseek-r1", *flags])
    server.start(log_dir)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


def events(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.startswith("data: "):
            yield line[6:]


def wait_running(server: ServerProcess, count: int) -> None:
    deadline = time.monotonic() + 30
    while server.stats()["num_running"] < count:
        assert time.monotonic() < deadline, "the requests never started running"
        time.sleep(0.02)


def test_sigterm_finishes_running_streams_and_refuses_new_requests(log_dir: Path) -> None:
    """After SIGTERM a running stream completes, new requests get 503 + Retry-After, exit status 0."""
    server = start("drain", log_dir, "--shutdown-timeout", "120")
    try:
        assert server.process is not None
        body = {**LONG, "stream": True, "stream_options": {"include_usage": True}}
        with httpx.stream("POST", server.base_url + "/chat/completions", json=body, timeout=120) as response:
            stream = events(response.iter_lines())
            next(stream)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            refused = httpx.post(server.base_url + "/chat/completions", json={"messages": USER}, timeout=10)
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) > 0
            error = refused.json()["error"]
            assert error["code"] == "server_shutting_down" and "shutting down" in error["message"]
            health = httpx.get(server.root + "/health", timeout=10)
            assert health.status_code == 503 and health.json()["status"] == "shutting_down"
            metrics = httpx.get(server.root + "/metrics", timeout=10).text    # still answered while draining
            assert 'reasoning_plugins:shutting_down{model_name="tiny-reasoner"} 1.0' in metrics
            assert 'reasoning_plugins:request_errors_total{kind="shutting_down",model_name="tiny-reasoner"} 1.0' \
                in metrics
            rest = list(stream)
        assert rest[-1] == "[DONE]"
        usage = json.loads(rest[-2])["usage"]
        assert usage["completion_tokens"] == 1500
        assert json.loads(rest[-3])["choices"][0]["finish_reason"] == "length"
        assert server.process.wait(timeout=60) == 0
        assert "SIGTERM" in server.log()
    finally:
        server.stop()


def test_sigint_with_a_short_timeout_aborts_with_clear_errors(log_dir: Path) -> None:
    """Past --shutdown-timeout, a stream ends with an error event, a plain request gets 503; exit 0."""
    server = start("abort", log_dir, "--shutdown-timeout", "1")
    try:
        assert server.process is not None
        plain: dict[str, httpx.Response] = {}

        def non_streaming() -> None:
            plain["response"] = httpx.post(server.base_url + "/chat/completions", json={**LONG, "max_tokens": 1800},
                                           timeout=120)

        thread = threading.Thread(target=non_streaming)
        thread.start()
        started = time.monotonic()
        with httpx.stream("POST", server.base_url + "/chat/completions", json={**LONG, "max_tokens": 1800,
                                                                               "stream": True},
                          timeout=120) as response:
            stream = events(response.iter_lines())
            next(stream)
            wait_running(server, 2)
            server.process.send_signal(signal.SIGINT)
            rest = list(stream)
        thread.join(timeout=60)
        assert time.monotonic() - started < 60
        assert rest[-1] == "[DONE]"
        error = json.loads(rest[-2])["error"]
        assert "shut down" in error["message"] and "--shutdown-timeout" in error["message"]
        assert not any('"finish_reason":"abort"' in event for event in rest)
        response = plain["response"]
        assert response.status_code == 503 and "shut down" in response.json()["error"]["message"]
        assert server.process.wait(timeout=60) == 0
        log = server.log()
        assert "SIGINT" in log and "aborted 2 request(s)" in log
    finally:
        server.stop()


def test_shutdown_timeout_flag() -> None:
    """--shutdown-timeout takes seconds >= 0 (default 30); a negative or non-numeric value is refused."""
    import argparse

    from reasoning_plugins._cli_serve import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).shutdown_timeout == 30.0
    assert parser.parse_args(["--shutdown-timeout", "0.5"]).shutdown_timeout == 0.5
    for bad in ("-1", "soon", "nan", "inf"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--shutdown-timeout", bad])
