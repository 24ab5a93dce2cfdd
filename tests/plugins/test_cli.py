"""`reasoning-plugins list` as a person and a program read it."""

from __future__ import annotations

import json
import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reasoning_plugins", *args], capture_output=True, text=True)


def test_list_table():
    """The table shows every built-in with its distribution and status."""
    done = _run("list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["kind", "name", "aliases", "provided", "by", "status"]
    for name in ("deepseek-r1", "qwq", "ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1"):
        row = next(line for line in lines if line.startswith("reasoning parser") and f" {name} " in line)
        assert "reasoning-plugins" in row and row.rstrip().endswith("ok")


def test_list_json():
    """--json gives every plugin with kind, provider, version and status."""
    done = _run("list", "--json")
    data = json.loads(done.stdout)
    kinds = {(p["kind"], p["name"]) for p in data["plugins"]}
    assert ("reasoner", "ernie-x1") in kinds and ("tool parser", "hermes") in kinds
    assert all(p["status"] == "ok" for p in data["plugins"])
    assert data["failures"] == []


def test_unknown_command_is_an_error():
    """An unknown subcommand exits non-zero with usage."""
    done = _run("frobnicate")
    assert done.returncode == 2 and "usage" in done.stderr
