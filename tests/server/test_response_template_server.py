"""`--reasoning-parser hf` (response-template): the server splits, gates grammars and enforces budgets
by the declaration in the served model's own tokenizer_config.json; without one it stops at start."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reasoning_plugins import get_parser, response_template_from_format

from .conftest import REPO, ServerProcess, server_env

BUNDLED = REPO / "core_engine" / "models" / "tiny-reasoner"
SCHEMA = {"type": "object", "properties": {"city": {"enum": ["Paris", "Rome", "Oslo"]}}, "required": ["city"],
          "additionalProperties": False}


@pytest.fixture(scope="module")
def hf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The bundled model, its <think> ... </think> declared as a response_template (as
    `reasoning-plugins export deepseek-r1` writes it), served with --reasoning-parser hf."""
    model = tmp_path_factory.mktemp("hf-model") / "tiny-with-template"
    shutil.copytree(BUNDLED, model)
    config = json.loads((model / "tokenizer_config.json").read_text())
    config["response_template"] = response_template_from_format(type(get_parser("deepseek-r1")).format)
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    server = ServerProcess("hf", ["--model", str(model), "--reasoning-parser", "hf", "--engine-in-process"])
    server.start(tmp_path_factory.mktemp("hf-server"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_hf_splits_by_the_models_declaration(hf_server: ServerProcess) -> None:
    assert "Reasoner (grammar gating, reasoning budgets): reasoner 'hf'" in hf_server.log()
    reply = hf_server.client().chat.completions.create(
        model="tiny-reasoner", messages=[{"role": "user", "content": "What is 2+3?"}], max_tokens=64, seed=1)
    message = reply.choices[0].message
    reasoning = getattr(message, "reasoning_content", None)
    assert reasoning
    assert "</think>" not in reasoning and "</think>" not in (message.content or "")


def test_hf_gates_the_grammar_and_enforces_a_budget(hf_server: ServerProcess) -> None:
    """The declaration's reasoner keeps the schema off the reasoning and caps it."""
    reply = hf_server.client().chat.completions.create(
        model="tiny-reasoner", messages=[{"role": "user", "content": "Weather in Paris as JSON."}],
        max_tokens=80, seed=3, response_format={"type": "json_schema", "json_schema": {"name": "w", "schema": SCHEMA}},
        extra_body={"reasoning_max_tokens": 5})
    assert json.loads(reply.choices[0].message.content)["city"] in ("Paris", "Rome", "Oslo")
    assert reply.usage.completion_tokens_details.reasoning_tokens <= 5


def test_hf_without_a_response_template_stops_before_loading() -> None:
    """The bundled model declares none: exit 2 naming what is missing and what to use instead."""
    done = subprocess.run([sys.executable, "-m", "core_engine.server", "--reasoning-parser", "hf"], cwd=REPO,
                          env=server_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "needs a response_template in the model's tokenizer_config.json" in done.stderr
    assert "--reasoning-parser auto" in done.stderr
    assert "Loading" not in done.stderr
