"""`--reasoning-parser auto` at server start: chosen from the served model's files, reason printed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO, ServerProcess, server_env

BUNDLED = REPO / "core_engine" / "models" / "tiny-reasoner"


@pytest.fixture(scope="module")
def auto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess("auto", ["--reasoning-parser", "auto", "--engine-in-process"])
    server.start(tmp_path_factory.mktemp("auto-server"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_auto_names_the_parser_and_why(auto_server: ServerProcess) -> None:
    """The bundled model's template gives deepseek-r1; the start-up log says so and why."""
    log = auto_server.log()
    line = next(line for line in log.splitlines() if line.startswith("--reasoning-parser auto:"))
    assert "deepseek-r1" in line and "prefills <think>" in line
    serving = next(line for line in log.splitlines() if line.startswith("Serving model"))
    assert "reasoning parser: deepseek-r1" in serving


def test_auto_splits_reasoning(auto_server: ServerProcess) -> None:
    """Requests are split by the chosen parser: no marker reaches either section."""
    reply = auto_server.client().chat.completions.create(
        model="tiny-reasoner", messages=[{"role": "user", "content": "What is 2+3?"}], max_tokens=64, seed=1)
    message = reply.choices[0].message
    reasoning = getattr(message, "reasoning_content", None) or ""
    assert reasoning or message.content
    assert "</think>" not in reasoning and "</think>" not in (message.content or "")


def test_auto_without_any_template_stops_before_loading(tmp_path: Path) -> None:
    """A tokenizer with neither a response_template nor a chat template: exit 2 with the reason."""
    model = tmp_path / "no-template"
    shutil.copytree(BUNDLED, model)
    config = json.loads((model / "tokenizer_config.json").read_text())
    del config["chat_template"]
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    done = subprocess.run([sys.executable, "-m", "core_engine.server", "--model", str(model),
                           "--reasoning-parser", "auto"], cwd=REPO, env=server_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "neither a response_template nor a chat_template" in done.stderr
    assert "Loading" not in done.stderr
