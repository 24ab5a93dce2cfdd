"""Extra server processes for the reliability tests: plugin distributions installed with pip."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import REPO, ServerProcess, server_env

DISTS = REPO / "tests" / "fixtures" / "dists"


def install_dists(target: Path, *dists: str) -> Path:
    """Install the named test distributions into ``target`` with pip (entry points and all)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), *(str(DISTS / dist) for dist in dists)],
        check=True, capture_output=True,
    )
    return target


class SiteServer(ServerProcess):
    """A server process that also sees the packages installed in ``site``."""

    def __init__(self, name: str, flags: list[str], site: Path | None = None) -> None:
        super().__init__(name, flags)
        self.site = site

    def start(self, log_dir: Path) -> None:
        env = server_env()
        if self.site is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(self.site), env["PYTHONPATH"]])
        self.log_path = log_dir / f"server-{self.name}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "core_engine.server", "--port", str(self.port), "--log-level", "warning",
                 *self.flags],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            )


def wait_for(server: ServerProcess, check, timeout: float = 20.0, interval: float = 0.02) -> dict[str, int]:
    """Poll the engine's stats (``/health``) until ``check(stats)`` holds; the last stats either way."""
    deadline = time.monotonic() + timeout
    stats = server.stats()
    while not check(stats) and time.monotonic() < deadline:
        time.sleep(interval)
        stats = server.stats()
    return stats


def idle(stats: dict[str, int]) -> bool:
    return stats["num_running"] == 0 and stats["num_waiting"] == 0 \
        and stats["kv_blocks_free"] == stats["kv_blocks_total"]


def health(server: ServerProcess) -> httpx.Response:
    return httpx.get(server.root + "/health", timeout=10)
