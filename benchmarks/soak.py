"""Soak run: many concurrent clients against a real server, checking nothing leaks or crosses over.

The script starts ``python -m core_engine.server`` (the bundled model, ``deepseek-r1`` reasoning
parser, ``hermes`` tool calls) and drives it for ``--seconds`` (default 600) with ``--clients``
(default 32) concurrent clients. Each client loops over a random mix of:

- seeded requests from a fixed pool (tools with ``tool_choice`` required/auto, JSON schemas,
  reasoning budgets, thinking on and off), streaming or not at random: every answer must equal the
  same request's answer when it ran alone before the load (no cross-talk between requests, and
  streamed deltas must add up to the non-streamed message);
- streams the client drops after a few events, and non-streaming requests it gives up on
  (random client disconnects, which the server must abort);
- invalid requests, which must get a 400 in the error shape.

Anything else (a 5xx, an error event, a connection failure, a hang) is an unexpected error. After
the run the server must be idle with every KV block free, and the resident memory of the server
and engine processes must be back within ``--memory-tolerance`` of their baseline, measured after a
warm-up burst. Prints a table (``--json`` for JSON); exits 1 when a check fails.

    python benchmarks/soak.py --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"type": "string", "enum": ["c", "f"]}},
                   "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}},
                                       "required": ["zone"]}}}
ANSWER_SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}, "why": {"type": "string"}},
                 "required": ["answer"]}
QUESTIONS = ["What is 2 + 3?", "Name a prime above 10.", "What is the weather in Paris?",
             "Is 91 prime?", "What time is it in Tokyo?", "Spell 'cat' backwards."]


def pool(size: int, seed: int) -> list[dict[str, Any]]:
    """Distinct seeded request bodies covering the features, without ``stream``."""
    rng = random.Random(seed)
    bodies = []
    for i in range(size):
        body: dict[str, Any] = {
            "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
            "temperature": 0.8, "top_p": 0.95, "seed": 1000 + i, "max_tokens": rng.choice((24, 40, 64)),
        }
        feature = i % 6
        if feature == 1:
            body["tools"] = [WEATHER, TIME]
            body["tool_choice"] = "required"
        elif feature == 2:
            body["tools"] = [WEATHER]
            body["tool_choice"] = {"type": "function", "function": {"name": "get_weather"}}
        elif feature == 3:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "a", "schema": ANSWER_SCHEMA}}
        elif feature == 4:
            body["reasoning_max_tokens"] = rng.choice((0, 4, 12))
        elif feature == 5:
            body["tools"] = [WEATHER]          # the model decides
        if rng.random() < 0.4:
            body["chat_template_kwargs"] = {"enable_thinking": False}
        bodies.append(body)
    return bodies


BAD_BODIES = [
    {"messages": []},
    {"messages": [{"role": "user", "content": "x"}], "n": 3},
    {"messages": [{"role": "wizard", "content": "x"}]},
    {"messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"},
    {"messages": [{"role": "user", "content": "x"}], "guided_regex": "(unclosed"},
    {"messages": [{"role": "user", "content": "x"}], "max_tokens": 100000},
]


@dataclass(slots=True)
class Answer:
    reasoning: str
    content: str
    calls: list[tuple[str, str]]
    finish_reason: str | None

    def key(self) -> tuple[Any, ...]:
        return (self.reasoning, self.content, tuple(self.calls), self.finish_reason)


@dataclass
class Tally:
    requests: int = 0
    streamed: int = 0
    non_streamed: int = 0
    compared: int = 0
    stream_disconnects: int = 0
    plain_disconnects: int = 0
    bad_requests: int = 0
    tokens: int = 0
    unexpected: list[str] = field(default_factory=list)
    cross_talk: list[str] = field(default_factory=list)


class SoakError(Exception):
    pass


def parse_message(data: dict[str, Any]) -> Answer:
    choice = data["choices"][0]
    message = choice["message"]
    calls = [(c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls") or []]
    return Answer(message.get("reasoning_content") or "", message.get("content") or "", calls,
                  choice["finish_reason"])


async def run_plain(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[Answer, int]:
    response = await client.post("/v1/chat/completions", json=body)
    if response.status_code != 200:
        raise SoakError(f"HTTP {response.status_code}: {response.text[:300]}")
    data = response.json()
    return parse_message(data), data["usage"]["completion_tokens"]


async def run_stream(client: httpx.AsyncClient, body: dict[str, Any], stop_after: int | None = None) \
        -> tuple[Answer, int] | None:
    """A streamed request assembled into an :class:`Answer`; None when dropped after ``stop_after`` events."""
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    reasoning: list[str] = []
    content: list[str] = []
    calls: dict[int, list[str]] = {}
    finish = None
    tokens = 0
    done = False
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            raise SoakError(f"HTTP {response.status_code}: {(await response.aread())[:300]!r}")
        count = 0
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            payload = line[6:]
            if payload == "[DONE]":
                done = True
                break
            event = json.loads(payload)
            if "error" in event:
                raise SoakError(f"error event: {event['error'].get('message')}")
            count += 1
            if stop_after is not None and count >= stop_after:
                return None          # leaving the block closes the connection mid-stream
            if event.get("usage"):
                tokens = event["usage"]["completion_tokens"]
            for choice in event["choices"]:
                delta = choice["delta"]
                reasoning.append(delta.get("reasoning_content") or "")
                content.append(delta.get("content") or "")
                for call in delta.get("tool_calls") or []:
                    parts = calls.setdefault(call["index"], ["", ""])
                    function = call.get("function") or {}
                    parts[0] += function.get("name") or ""
                    parts[1] += function.get("arguments") or ""
                finish = choice.get("finish_reason") or finish
    if not done:
        raise SoakError("the stream ended without [DONE]")
    answer = Answer("".join(reasoning), "".join(content), [(n, a) for _, (n, a) in sorted(calls.items())], finish)
    return answer, tokens


async def client_loop(client: httpx.AsyncClient, bodies: list[dict[str, Any]], reference: list[Answer],
                      deadline: float, rng: random.Random, tally: Tally) -> None:
    while time.monotonic() < deadline:
        roll = rng.random()
        i = rng.randrange(len(bodies))
        try:
            if roll < 0.62:
                stream = rng.random() < 0.5
                answer, tokens = await (run_stream(client, bodies[i]) if stream else run_plain(client, bodies[i]))
                tally.requests += 1
                tally.tokens += tokens
                tally.compared += 1
                if stream:
                    tally.streamed += 1
                else:
                    tally.non_streamed += 1
                if answer.key() != reference[i].key():
                    tally.cross_talk.append(f"pool[{i}] {'stream' if stream else 'plain'}: {answer} != alone "
                                            f"{reference[i]}")
            elif roll < 0.80:
                tally.requests += 1
                body = {**bodies[i], "max_tokens": 400, "ignore_eos": True}
                if await run_stream(client, body, stop_after=rng.randint(1, 12)) is None:
                    tally.stream_disconnects += 1
            elif roll < 0.92:
                tally.requests += 1
                body = {**bodies[i], "max_tokens": 400, "ignore_eos": True}
                try:
                    await asyncio.wait_for(run_plain(client, body), timeout=rng.uniform(0.05, 0.6))
                except asyncio.TimeoutError:
                    tally.plain_disconnects += 1
            else:
                tally.requests += 1
                tally.bad_requests += 1
                bad = rng.choice(BAD_BODIES)
                response = await client.post("/v1/chat/completions", json=bad)
                error = response.json().get("error") if response.status_code == 400 else None
                if not isinstance(error, dict) or not error.get("message"):
                    raise SoakError(f"{bad} got HTTP {response.status_code}: {response.text[:200]}")
        except (SoakError, httpx.HTTPError, ValueError, KeyError) as exc:
            tally.unexpected.append(f"{type(exc).__name__}: {exc}")


# ---------------------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, log_path: Path, flags: list[str]) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("HF_HUB_OFFLINE", "1")
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "core_engine.server", "--port", str(port),
                                    "--log-level", "warning", *flags], cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    process.kill()
    raise RuntimeError("the server did not start within 240 s")


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def engine_child(pid: int) -> int | None:
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text(errors="replace"):
            return int(child)
    return None


async def wait_idle(client: httpx.AsyncClient, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = (await client.get("/health")).json()
        idle = stats["num_running"] == 0 and stats["num_waiting"] == 0 \
            and stats["kv_blocks_free"] == stats["kv_blocks_total"]
        if idle or time.monotonic() > deadline:
            return dict(stats)
        await asyncio.sleep(0.1)


async def abort_count(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("vllm:request_success_total{") and 'finished_reason="abort"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# ---------------------------------------------------------------------------------- the run
async def soak(port: int, pids: dict[str, int], seconds: float, clients: int, pool_size: int, seed: int,
               tolerance: float, progress: bool) -> dict[str, Any]:
    bodies = pool(pool_size, seed)
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=180, limits=limits) as client:
        # each pool request alone: the reference answers
        reference = []
        for body in bodies:
            answer, _ = await run_plain(client, body)
            reference.append(answer)
        # a warm-up burst at full concurrency, so the baseline includes what a busy batch allocates
        warm = Tally()
        await asyncio.gather(*(client_loop(client, bodies, reference, time.monotonic() + 5, random.Random(seed + c),
                                           warm) for c in range(clients)))
        idle_before = await wait_idle(client)
        memory_before = {name: rss(pid) for name, pid in pids.items()}
        aborts_before = await abort_count(client)

        tally = Tally()
        started = time.monotonic()
        deadline = started + seconds
        loops = [asyncio.ensure_future(client_loop(client, bodies, reference, deadline,
                                                   random.Random(seed * 1000 + c), tally)) for c in range(clients)]
        while not all(loop.done() for loop in loops):
            await asyncio.wait(loops, timeout=10)
            if progress:
                elapsed = time.monotonic() - started
                print(f"[soak] {elapsed:5.0f}/{seconds:.0f} s  requests {tally.requests}  unexpected "
                      f"{len(tally.unexpected)}  cross-talk {len(tally.cross_talk)}  disconnects "
                      f"{tally.stream_disconnects + tally.plain_disconnects}", file=sys.stderr, flush=True)
        for loop in loops:
            loop.result()
        elapsed = time.monotonic() - started
        idle_after = await wait_idle(client)
        memory_after = {name: rss(pid) for name, pid in pids.items()}
        aborts_after = await abort_count(client)

    kv_free = idle_after["kv_blocks_free"] == idle_after["kv_blocks_total"]
    idle = idle_after["num_running"] == 0 and idle_after["num_waiting"] == 0
    grew = {name: memory_after[name] - memory_before[name] for name in pids}
    memory_ok = all(grew[name] <= tolerance * memory_before[name] for name in pids)
    passed = not tally.unexpected and not tally.cross_talk and kv_free and idle and memory_ok \
        and warm.unexpected == [] and warm.cross_talk == []
    return {
        "passed": passed,
        "seconds": round(elapsed, 1),
        "clients": clients,
        "requests": tally.requests,
        "compared_with_alone": tally.compared,
        "streamed": tally.streamed,
        "non_streamed": tally.non_streamed,
        "stream_disconnects": tally.stream_disconnects,
        "non_streaming_disconnects": tally.plain_disconnects,
        "server_counted_aborts": int(aborts_after - aborts_before),
        "bad_requests_answered_400": tally.bad_requests,
        "tokens": tally.tokens,
        "unexpected_errors": len(tally.unexpected) + len(warm.unexpected),
        "cross_talk": len(tally.cross_talk) + len(warm.cross_talk),
        "kv_blocks_free_before": idle_before["kv_blocks_free"],
        "kv_blocks_free_after": idle_after["kv_blocks_free"],
        "kv_blocks_total": idle_after["kv_blocks_total"],
        "running_after": idle_after["num_running"],
        "memory_mib_before": {name: round(value / MiB, 1) for name, value in memory_before.items()},
        "memory_mib_after": {name: round(value / MiB, 1) for name, value in memory_after.items()},
        "memory_tolerance": tolerance,
        "pool_answers_with_tool_calls": sum(1 for answer in reference if answer.calls),
        "pool_answers_with_reasoning": sum(1 for answer in reference if answer.reasoning),
        "pool_size": len(reference),
        "examples": (warm.unexpected + tally.unexpected)[:5] + (warm.cross_talk + tally.cross_talk)[:5],
    }


def table(result: dict[str, Any]) -> str:
    rows = [
        ("result", "PASS" if result["passed"] else "FAIL"),
        ("duration", f"{result['seconds']} s, {result['clients']} clients"),
        ("requests", f"{result['requests']} ({result['streamed']} streamed, {result['non_streamed']} "
                     f"non-streamed compared, {result['bad_requests_answered_400']} invalid)"),
        ("compared with the same request alone", f"{result['compared_with_alone']}, cross-talk {result['cross_talk']}"),
        ("client disconnects", f"{result['stream_disconnects']} streams, {result['non_streaming_disconnects']} "
                               f"non-streaming; server counted {result['server_counted_aborts']} aborts"),
        ("pool (answers alone)", f"{result['pool_size']} requests, {result['pool_answers_with_tool_calls']} with "
                                 f"tool calls, {result['pool_answers_with_reasoning']} with reasoning"),
        ("generated tokens (compared requests)", str(result["tokens"])),
        ("unexpected errors", str(result["unexpected_errors"])),
        ("KV blocks free before / after", f"{result['kv_blocks_free_before']} / {result['kv_blocks_free_after']} "
                                          f"of {result['kv_blocks_total']}"),
    ]
    for name, before in result["memory_mib_before"].items():
        after = result["memory_mib_after"][name]
        rows.append((f"{name} RSS before / after", f"{before} / {after} MiB ({after - before:+.1f})"))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines += [f"  ! {example}" for example in result["examples"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to run the load (default: 600)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default: 32)")
    parser.add_argument("--pool", type=int, default=24, help="distinct seeded requests (default: 24)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-tolerance", type=float, default=0.10,
                        help="allowed RSS growth over the baseline, as a fraction (default: 0.10)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--log", type=Path, default=None, help="server log file (default: a temporary file)")
    args = parser.parse_args(argv)
    log_path = args.log or Path(os.environ.get("TMPDIR", "/tmp")) / f"soak-server-{os.getpid()}.log"
    port = free_port()
    print(f"[soak] starting the server (log: {log_path})", file=sys.stderr, flush=True)
    process = start_server(port, log_path, ["--reasoning-parser", "deepseek-r1", "--tool-call-parser", "hermes"])
    try:
        pids = {"server": process.pid}
        child = engine_child(process.pid)
        if child is not None:
            pids["engine"] = child
        result = asyncio.run(soak(port, pids, args.seconds, args.clients, args.pool, args.seed,
                                  args.memory_tolerance, progress=True))
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            code = -9
    result["server_exit_status"] = code
    result["passed"] = result["passed"] and code == 0
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
