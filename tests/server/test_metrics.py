"""``GET /metrics``: scraped from a real server before and after real requests."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import ServerProcess

USER = [{"role": "user", "content": "What is 2 + 3?"}]
MODEL = {"model_name": "tiny-reasoner"}


def scrape(server: ServerProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(server.root + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset({**MODEL, **labels}.items())), 0.0)


def wait_idle(server: ServerProcess) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        stats = server.stats()
        if stats["num_running"] == 0 and stats["kv_blocks_free"] == stats["kv_blocks_total"]:
            return
        time.sleep(0.05)


def test_counters_and_histograms_move_with_requests(server: ServerProcess) -> None:
    """Tokens, finish reasons, latencies and parser time grow by what the requests report."""
    wait_idle(server)
    before = scrape(server)
    client = server.client()
    done = client.chat.completions.create(model="m", messages=USER, max_tokens=40, temperature=0)
    stream = client.chat.completions.create(model="m", messages=USER, max_tokens=7, temperature=0, stream=True,
                                            stream_options={"include_usage": True},
                                            extra_body={"ignore_eos": True, "reasoning_max_tokens": 3})
    chunks = list(stream)
    usage = chunks[-1].usage
    assert done.usage is not None and usage is not None
    after = scrape(server)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("vllm:prompt_tokens_total") == done.usage.prompt_tokens + usage.prompt_tokens
    assert grew("vllm:generation_tokens_total") == done.usage.completion_tokens + usage.completion_tokens
    reasoning = (done.usage.completion_tokens_details.reasoning_tokens  # type: ignore[union-attr]
                 + usage.completion_tokens_details.reasoning_tokens)  # type: ignore[union-attr]
    assert reasoning > 0
    assert grew("reasoning_plugins:reasoning_tokens_total") == reasoning
    assert grew("vllm:request_success_total", finished_reason="length") \
        + grew("vllm:request_success_total", finished_reason="stop") == 2
    assert grew("vllm:request_success_total", finished_reason="length") >= 1     # the ignore_eos stream
    assert grew("vllm:time_to_first_token_seconds_count") == 2
    assert grew("vllm:e2e_request_latency_seconds_count") == 2
    # a gap for each token after a request's first output (which usually carries one token)
    gaps = grew("vllm:inter_token_latency_seconds_count")
    assert (done.usage.completion_tokens + usage.completion_tokens) // 2 <= gaps \
        <= done.usage.completion_tokens + usage.completion_tokens - 2
    assert grew("vllm:inter_token_latency_seconds_sum") > 0
    assert grew("reasoning_plugins:parser_seconds_per_token_count", parser="deepseek-r1") == 2
    assert 0 < grew("reasoning_plugins:parser_seconds_per_token_sum", parser="deepseek-r1") < 0.01


def test_engine_state_gauges_follow_a_running_request(server: ServerProcess) -> None:
    """While a long stream runs, running requests and used KV blocks show it; after, they are back."""
    wait_idle(server)
    idle = scrape(server)
    total = value(idle, "reasoning_plugins:kv_blocks_free") + value(idle, "reasoning_plugins:kv_blocks_used")
    assert value(idle, "reasoning_plugins:kv_blocks_used") == 0 and total > 0
    assert value(idle, "vllm:num_requests_running") == 0
    body = {"messages": USER, "stream": True, "max_tokens": 1500, "ignore_eos": True,
            "chat_template_kwargs": {"enable_thinking": False}}
    with httpx.stream("POST", server.base_url + "/chat/completions", json=body, timeout=60) as response:
        for i, _ in enumerate(response.iter_lines()):
            if i == 10:
                busy = scrape(server)
                break
    assert value(busy, "vllm:num_requests_running") == 1
    assert value(busy, "reasoning_plugins:kv_blocks_used") > 0
    assert value(busy, "vllm:kv_cache_usage_perc") == pytest.approx(
        value(busy, "reasoning_plugins:kv_blocks_used") / total)
    wait_idle(server)
    after = scrape(server)
    assert value(after, "reasoning_plugins:kv_blocks_used") == 0 and value(after, "vllm:num_requests_running") == 0
    assert value(after, "vllm:request_success_total", finished_reason="abort") \
        == value(idle, "vllm:request_success_total", finished_reason="abort") + 1


def test_errors_are_counted_by_kind(server: ServerProcess) -> None:
    """A 400, a 404 and a 405 each add one to their kind and nothing to the others."""
    before = scrape(server)
    client = server.client()
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="m", messages=USER, n=2)
    assert httpx.get(server.root + "/v1/nothing-here").status_code == 404
    assert httpx.delete(server.base_url + "/chat/completions").status_code == 405
    after = scrape(server)

    def grew(kind: str) -> float:
        return value(after, "reasoning_plugins:request_errors_total", kind=kind) \
            - value(before, "reasoning_plugins:request_errors_total", kind=kind)

    assert (grew("invalid_request"), grew("not_found"), grew("method_not_allowed")) == (1, 1, 1)
    assert grew("internal") == grew("unavailable") == grew("stream_error") == 0


def test_stream_error_and_engine_loss_are_visible(tmp_path: Path) -> None:
    """When the engine process dies mid-stream: one stream_error, engine gauges gone, counters kept."""
    server = ServerProcess("metrics-crash", ["--reasoning-parser", "deepseek-r1"])
    server.start(tmp_path)
    try:
        server.wait_ready()
        assert server.process is not None
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        engine_pid = next(int(pid) for pid in children
                          if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"))
        assert value(scrape(server), "reasoning_plugins:kv_blocks_free") > 0
        stream = server.client().chat.completions.create(model="m", messages=USER, stream=True, max_tokens=1500,
                                                         extra_body={"ignore_eos": True})
        next(iter(stream))
        os.kill(engine_pid, signal.SIGKILL)
        with pytest.raises(openai.APIError):
            for _ in stream:
                pass
        after = scrape(server)
        assert value(after, "reasoning_plugins:request_errors_total", kind="stream_error") == 1
        assert ("vllm:num_requests_running", frozenset(MODEL.items())) not in after
        assert value(after, "vllm:prompt_tokens_total") > 0
    finally:
        server.stop()
