"""The server's command line: flags, start-up checks and the start-up line."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from reasoning_plugins._cli_serve import add_arguments

from .conftest import REPO, ServerProcess, server_env


def run_server_cli(*flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core_engine.server", *flags], cwd=REPO, env=server_env(),
                          capture_output=True, text=True, timeout=120)


def test_unknown_reasoning_parser_lists_installed_names() -> None:
    """An unknown --reasoning-parser stops start-up with the installed names, before loading."""
    result = run_server_cli("--reasoning-parser", "deepseek-r2")
    assert result.returncode == 2
    assert "--reasoning-parser" in result.stderr and "deepseek-r1" in result.stderr and "qwq" in result.stderr
    assert "Loading" not in result.stderr


def test_unknown_tool_call_parser_lists_installed_names() -> None:
    """An unknown --tool-call-parser stops start-up naming hermes."""
    result = run_server_cli("--tool-call-parser", "mistral")
    assert result.returncode == 2 and "hermes" in result.stderr


def test_enable_reasoning_needs_a_parser() -> None:
    """--enable-reasoning with the reasoning parser turned off is refused with a hint."""
    result = run_server_cli("--enable-reasoning", "--reasoning-parser", "none")
    assert result.returncode == 2 and "--reasoning-parser" in result.stderr


def test_flags_parse_with_defaults() -> None:
    """The shared flags parse; the defaults bind to 127.0.0.1:8000 without a key."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.api_key, args.model) == ("127.0.0.1", 8000, None, None)
    args = parser.parse_args(["--model", "/m", "--reasoning-parser", "qwq", "--tool-call-parser", "hermes",
                              "--host", "0.0.0.0", "--port", "9000", "--api-key", "k", "--served-model-name",
                              "x", "--strict-model-name", "--enable-reasoning"])
    assert args.port == 9000 and args.strict_model_name and args.enable_reasoning
    with pytest.raises(SystemExit):
        parser.parse_args(["--port", "70000"])


def test_startup_line_names_model_parser_and_url(server: ServerProcess) -> None:
    """The server prints the model, the parsers and the URL it serves on."""
    log = server.log()
    assert "Loading the bundled tiny reasoning model" in log
    line = next(line for line in log.splitlines() if line.startswith("Serving model"))
    assert "'tiny-reasoner'" in line and "deepseek-r1" in line and "hermes" in line
    assert f"http://127.0.0.1:{server.port}/v1" in line


def test_reasoning_plugins_serve_has_the_same_checks() -> None:
    """`reasoning-plugins serve` takes the same flags and refuses an unknown parser the same way."""
    result = subprocess.run([sys.executable, "-m", "reasoning_plugins", "serve", "--reasoning-parser", "nope"],
                            cwd=REPO, env=server_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "deepseek-r1" in result.stderr
    shown = subprocess.run([sys.executable, "-m", "reasoning_plugins", "serve", "--help"], cwd=REPO,
                           env=server_env(), capture_output=True, text=True, timeout=120).stdout
    for flag in ("--model", "--reasoning-parser", "--tool-call-parser", "--host", "--port", "--api-key",
                 "--served-model-name", "--strict-model-name", "--enable-reasoning"):
        assert flag in shown


def test_missing_model_directory_is_a_clear_error(tmp_path: object) -> None:
    """A --model path that does not exist stops start-up with the engine's explanation."""
    result = run_server_cli("--model", str(tmp_path) + "/nope")
    assert result.returncode == 1
    assert "could not load the model" in result.stderr and "does not exist" in result.stderr
