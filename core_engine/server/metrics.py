"""``GET /metrics``: Prometheus metrics of one server, counted where requests pass through.

Three sources feed one :class:`ServerMetrics` registry:

- :class:`MeteredEngine` wraps the engine's ``generate`` and sees every output of every request:
  tokens, time to the first token, the gaps between tokens, the finish reason (``abort`` when the
  client left first). Any route that runs requests on the engine is counted the same way.
- :class:`MetricsMiddleware` sees the status of every HTTP response: each 4xx/5xx is an error of
  the kind its status names (``invalid_request``, ``authentication``, ``unavailable``, ...).
- the engine's own ``stats()`` is read at scrape time (running and waiting requests, KV blocks).

Metrics that mean what one of vLLM's means carry vLLM's name and its ``model_name`` label, so
dashboards and alerts written for vLLM read this server unchanged; the rest use the
``reasoning_plugins:`` prefix. docs/server.md has the table.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_TYPE", "MeteredEngine", "MetricsMiddleware", "ServerMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
                    0.75, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0)
_REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 60.0, 120.0, 300.0, 600.0)
_PARSER_BUCKETS = (1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2)

_PROBES = ("/health", "/metrics")

# HTTP status -> the ``kind`` label of reasoning_plugins:request_errors_total
_ERROR_KINDS = {400: "invalid_request", 401: "authentication", 404: "not_found", 405: "method_not_allowed",
                413: "request_too_large", 422: "invalid_request", 500: "internal", 503: "unavailable"}


class ServerMetrics:
    """The metrics of one app, in a registry of its own (several apps can share a process)."""

    def __init__(self, model_name: str, reasoning_parser: str | None, engine: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.model_name = model_name
        self.parser_name = reasoning_parser or "none"
        self.draining = False
        labels = ["model_name"]
        reg = self.registry
        self.prompt_tokens = Counter("vllm:prompt_tokens", "Prompt tokens of the requests that started.",
                                     labels, registry=reg).labels(model_name)
        self.generation_tokens = Counter("vllm:generation_tokens", "Generated tokens.", labels,
                                         registry=reg).labels(model_name)
        self.reasoning_tokens = Counter("reasoning_plugins:reasoning_tokens",
                                        "Generated tokens that the reasoning parser counted as reasoning.",
                                        labels, registry=reg).labels(model_name)
        self._finished = Counter("vllm:request_success", "Requests that ended, by the engine's finish reason "
                                 "(abort: the client left or the server shut down first).",
                                 [*labels, "finished_reason"], registry=reg)
        self._errors = Counter("reasoning_plugins:request_errors", "Requests answered with an error, by kind "
                               "(an HTTP status, or stream_error for an error event inside a started stream).",
                               [*labels, "kind"], registry=reg)
        self.ttft = Histogram("vllm:time_to_first_token_seconds", "Time from a request reaching the engine to "
                              "its first output.", labels, buckets=_LATENCY_BUCKETS, registry=reg).labels(model_name)
        self.itl = Histogram("vllm:inter_token_latency_seconds", "Time between two generated tokens of a request.",
                             labels, buckets=_LATENCY_BUCKETS, registry=reg).labels(model_name)
        self.e2e = Histogram("vllm:e2e_request_latency_seconds", "Time from a request reaching the engine to its "
                             "last output.", labels, buckets=_REQUEST_BUCKETS, registry=reg).labels(model_name)
        self.parser_per_token = Histogram("reasoning_plugins:parser_seconds_per_token",
                                          "Per request: time spent in the reasoning and tool-call parsers divided "
                                          "by its generated tokens.", [*labels, "parser"],
                                          buckets=_PARSER_BUCKETS, registry=reg).labels(model_name, self.parser_name)
        self._draining = Gauge("reasoning_plugins:shutting_down", "1 while the server drains before it exits.",
                               labels, registry=reg)
        self._draining.labels(model_name).set_function(lambda: 1.0 if self.draining else 0.0)
        reg.register(_EngineCollector(engine, model_name))
        for reason in ("stop", "length", "abort"):
            self._finished.labels(model_name, reason)
        for kind in sorted(set(_ERROR_KINDS.values())) + ["stream_error", "shutting_down"]:
            self._errors.labels(model_name, kind)

    def finished(self, reason: str) -> None:
        self._finished.labels(self.model_name, reason).inc()

    def error(self, kind: str) -> None:
        self._errors.labels(self.model_name, kind).inc()

    def error_for_status(self, status: int) -> None:
        if status == 503 and self.draining:
            self.error("shutting_down")
        else:
            self.error(_ERROR_KINDS.get(status, f"http_{status}"))

    def parser_time(self, seconds: float, tokens: int) -> None:
        if tokens > 0:
            self.parser_per_token.observe(seconds / tokens)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _EngineCollector(Collector):
    """The engine's ``stats()`` at scrape time; nothing when the engine cannot report them."""

    def __init__(self, engine: Any, model_name: str) -> None:
        self._engine = engine
        self._model = model_name

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        try:
            stats = self._engine.stats()
        except Exception:  # noqa: BLE001 - a stopped engine has no state to report; /health says why
            return []
        total = stats.get("kv_blocks_total", 0)
        free = stats.get("kv_blocks_free", 0)
        found = []

        def gauge(name: str, doc: str, value: float) -> None:
            family = GaugeMetricFamily(name, doc, labels=["model_name"])
            family.add_metric([self._model], value)
            found.append(family)

        gauge("vllm:num_requests_running", "Requests in the engine's running batch.", stats.get("num_running", 0))
        gauge("vllm:num_requests_waiting", "Requests waiting for the engine to admit them.",
              stats.get("num_waiting", 0))
        gauge("vllm:kv_cache_usage_perc", "Fraction of KV-cache blocks in use (1 = full).",
              (total - free) / total if total else 0.0)
        gauge("reasoning_plugins:kv_blocks_used", "KV-cache blocks in use.", total - free)
        gauge("reasoning_plugins:kv_blocks_free", "KV-cache blocks free.", free)
        preemptions = CounterMetricFamily("vllm:num_preemptions", "Requests the engine preempted to free KV blocks.",
                                          labels=["model_name"])
        preemptions.add_metric([self._model], stats.get("num_preemptions", 0))
        found.append(preemptions)
        return found


class MeteredEngine:
    """The engine with every request's outputs counted; everything else passes through."""

    def __init__(self, engine: Any, metrics: ServerMetrics) -> None:
        self._engine = engine
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    async def generate(self, request_id: str, prompt_ids: list[int], params: Any = None,
                       request: Any = None) -> AsyncIterator[Any]:
        m = self._metrics
        gen = self._engine.generate(request_id, prompt_ids, params, request=request)
        started = last_time = time.perf_counter()
        failed = False
        out = None
        generated = 0
        try:
            async for out in gen:
                now = time.perf_counter()
                new = out.completion_tokens - generated
                gaps = new
                if generated == 0 and new > 0:
                    m.ttft.observe(now - started)
                    m.prompt_tokens.inc(out.prompt_tokens)
                    gaps = 0        # tokens that came with the first one have no gap of their own
                if gaps > 0:
                    # outputs handed over together share the gap since the previous one
                    gap = (now - last_time) / gaps
                    for _ in range(gaps):
                        m.itl.observe(gap)
                if new > 0:
                    m.generation_tokens.inc(new)
                    generated = out.completion_tokens
                    last_time = now
                if out.finished:
                    m.e2e.observe(now - started)
                    m.finished(out.finish_reason or "stop")
                yield out
        except Exception:
            failed = True           # the route reports it (an HTTP error or an error event)
            raise
        finally:
            if not failed and (out is None or not out.finished):
                m.finished("abort")          # the consumer closed the stream first (queued or running)
            if out is not None:
                m.reasoning_tokens.inc(out.reasoning_tokens)
            aclose = getattr(gen, "aclose", None)
            if aclose is not None:
                await aclose()


class MetricsMiddleware:
    """Counts each error response by the kind its status names (probes of /health and /metrics aside)."""

    def __init__(self, app: ASGIApp, *, metrics: ServerMetrics) -> None:
        self.app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in _PROBES:
            await self.app(scope, receive, send)
            return
        metrics = self._metrics

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                metrics.error_for_status(message["status"])
            await send(message)

        await self.app(scope, receive, watched)
