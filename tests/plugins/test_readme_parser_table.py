"""README.md's table of the built-in parsers is what tools/parser_table.py writes from their declarations."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from reasoning_plugins import ReasoningFormat

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "parser_table.py"


@pytest.fixture(scope="module")
def parser_table():
    spec = importlib.util.spec_from_file_location("parser_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_matches_the_declarations(parser_table):
    """The block in README.md is exactly the generated table (run the script with --write after a change)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert parser_table.replace_block(readme, parser_table.table()) == readme


def test_every_builtin_has_a_row(parser_table):
    """One row per built-in parser, in registration order, with its markers."""
    rows = parser_table.table().splitlines()[2:]
    assert [r.split(" | ")[0].strip("| `") for r in rows] == [
        "deepseek-r1", "qwq", "ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1"]
    assert "`<think>` / `</think>`" in rows[0] and "`</think>` only" in rows[4]
    assert "`<response>`…`</response>`" in rows[4] and "`<tool_call>`" in rows[4]


def test_a_row_follows_its_declaration(parser_table):
    """Each field of a declaration shows up in its column (a pipe in a marker is escaped)."""
    fmt = ReasoningFormat(start="<|a|>", end="<|b|>", start_in_output=True, switches=("enable_thinking",),
                          implicit_ends=("<call>",), trim_newline_before_end=True)
    cells = parser_table.row("x", ("y",), fmt).strip("|").split(" | ")
    assert cells[0].strip() == "`x` (`y`)"
    assert cells[1] == "`<\\|a\\|>` / `<\\|b\\|>`"
    assert cells[2] == "the model or the template"
    assert cells[4] == "`enable_thinking`" and cells[5] == "`<call>`"
    assert cells[6].strip() == "kept, except markup: one `\\n` before `<\\|b\\|>`"


def test_check_mode_reports_a_stale_readme(parser_table, tmp_path, monkeypatch):
    """--check fails with a message saying how to fix a stale table; --write fixes it."""
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{parser_table.BEGIN}\n| stale |\n{parser_table.END}\nrest\n", encoding="utf-8")
    monkeypatch.setattr(parser_table, "README", readme)
    assert parser_table.main(["--check"]) == 1
    assert parser_table.main(["--write"]) == 0
    assert parser_table.main(["--check"]) == 0
    assert readme.read_text(encoding="utf-8").startswith("intro\n") and "| stale |" not in readme.read_text()


def test_script_runs_as_a_command():
    """`python tools/parser_table.py --check` passes on the committed README."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
