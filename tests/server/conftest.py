"""Real server processes on 127.0.0.1 serving the bundled model, shared by the server tests.

Each fixture starts ``python -m core_engine.server`` once per test session with its own flags and
waits for ``/health``; the processes are started together so their model loading overlaps.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

REPO = Path(__file__).resolve().parents[2]
API_KEY = "test-secret-key"

# name -> extra flags; every server serves the bundled model
SERVERS: dict[str, list[str]] = {
    # LMDeploy/FastDeploy style deltas, tools parsed with hermes
    "main": ["--reasoning-parser", "deepseek-r1", "--tool-call-parser", "hermes"],
    # vLLM style: --enable-reasoning, sparse deltas; text streamed every 3 tokens
    "vllm": ["--enable-reasoning", "--reasoning-parser", "deepseek_r1", "--tool-call-parser", "hermes",
             "--stream-interval", "3"],
    # no parsers (the model's reasoning_plugins.json overridden); API key, strict model name and
    # small limits; the engine on a thread
    "guarded": ["--reasoning-parser", "none", "--tool-call-parser", "none", "--api-key", API_KEY, "--served-model-name", "tiny", "--strict-model-name",
                "--max-request-bytes", "65536", "--max-tokens-limit", "300", "--engine-in-process"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("OMP_NUM_THREADS", "2")
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class ServerProcess:
    """One running server: its URL, its log, and the process to stop.

    ``command`` is what follows the interpreter (``reasoning-plugins serve`` is
    ``("-m", "reasoning_plugins", "serve")``); ``pythonpath`` adds directories (installed test
    distributions) in front of the repository.
    """

    name: str
    flags: list[str]
    command: tuple[str, ...] = ("-m", "core_engine.server")
    pythonpath: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root + "/v1"

    def start(self, log_dir: Path) -> None:
        self.log_path = log_dir / f"server-{self.name}.log"
        env = server_env()
        env["PYTHONPATH"] = os.pathsep.join([*self.pythonpath, env["PYTHONPATH"]])
        with self.log_path.open("wb") as log:   # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, *self.command, "--port", str(self.port), "--log-level", "warning", *self.flags],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server {self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.root + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"server {self.name} did not become ready in {timeout:.0f} s:\n{self.log()}")

    def stats(self) -> dict[str, int]:
        return httpx.get(self.root + "/health", timeout=10).json()

    def client(self, **kwargs: object) -> OpenAI:
        return track(OpenAI(base_url=self.base_url, api_key=str(kwargs.pop("api_key", "EMPTY")), max_retries=0,
                            timeout=120, **kwargs))  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# Clients the tests open. Each is closed when the test that opened it ends (those of session and
# module fixtures when the session ends), so no connection is left for the garbage collector: an
# unclosed socket is a ResourceWarning, an error in this suite, raised in whichever test runs then.
_CLIENTS: list[Any] = []


def track(client: Any) -> Any:
    """Register an ``openai`` or ``anthropic`` client to be closed at the end of the current test."""
    _CLIENTS.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients_of_the_test() -> Iterator[None]:
    opened = len(_CLIENTS)
    yield
    while len(_CLIENTS) > opened:
        _CLIENTS.pop().close()


@pytest.fixture(scope="session", autouse=True)
def _close_remaining_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


@contextmanager
def running(servers: Iterable[ServerProcess], log_dir: Path) -> Iterator[None]:
    """Start every server (their loading overlaps), wait until all are ready, stop them at the end."""
    servers = list(servers)
    try:
        for server in servers:
            server.start(log_dir)
        for server in servers:
            server.wait_ready()
        yield
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    started = {name: ServerProcess(name, flags) for name, flags in SERVERS.items()}
    with running(started.values(), tmp_path_factory.mktemp("server-logs")):
        yield started


@pytest.fixture(scope="session")
def server(servers: dict[str, ServerProcess]) -> ServerProcess:
    return servers["main"]


@pytest.fixture(scope="session")
def vllm_server(servers: dict[str, ServerProcess]) -> ServerProcess:
    return servers["vllm"]


@pytest.fixture(scope="session")
def guarded_server(servers: dict[str, ServerProcess]) -> ServerProcess:
    return servers["guarded"]


@pytest.fixture(scope="session")
def client(server: ServerProcess) -> OpenAI:
    return server.client()
