"""reasoning_plugins.json: the parsers a model directory names for itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core_engine.config import BUNDLED_MODEL_DIR
from core_engine.parser_declaration import PARSERS_FILE, declared_parsers

from .conftest import REPO, server_env


def test_the_bundled_model_names_its_parsers() -> None:
    """The bundled model directory names deepseek-r1 and hermes."""
    declared = declared_parsers(BUNDLED_MODEL_DIR)
    assert declared is not None
    assert (declared.reasoning_parser, declared.tool_call_parser) == ("deepseek-r1", "hermes")


def test_a_directory_without_the_file_names_nothing(tmp_path: Path) -> None:
    """No reasoning_plugins.json: nothing is declared, and that is not an error."""
    assert declared_parsers(tmp_path) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("{nope", "not valid JSON"),
    ("[1]", "must hold a JSON object"),
    ('{"reasoning_parser": "x", "parser": "y"}', "unknown keys ['parser']"),
    ('{"tool_call_parser": 3}', "tool_call_parser must be a parser name"),
    ('{"reasoning_parser": " "}', "reasoning_parser must be a parser name"),
])
def test_a_malformed_file_says_what_is_wrong(tmp_path: Path, text: str, expected: str) -> None:
    """A malformed file is a ValueError naming the file and the problem."""
    (tmp_path / PARSERS_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="reasoning_plugins.json") as info:
        declared_parsers(tmp_path)
    assert expected in str(info.value)


def test_a_malformed_file_stops_start_up_before_loading(tmp_path: Path) -> None:
    """Serving a directory with a broken reasoning_plugins.json stops at once, naming the file."""
    model = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL_DIR, model)
    (model / PARSERS_FILE).write_text(json.dumps({"reasoning_parser": ["deepseek-r1"]}), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "core_engine.server", "--model", str(model)], cwd=REPO,
                            env=server_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert str(model / PARSERS_FILE) in result.stderr and "Loading" not in result.stderr


def test_a_flag_names_an_unknown_parser_even_with_the_file() -> None:
    """A flag overrides the file, and an unknown name is still refused with the installed names."""
    result = subprocess.run([sys.executable, "-m", "core_engine.server", "--tool-call-parser", "mistral"], cwd=REPO,
                            env=server_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "reasoning parser: deepseek-r1 (named by the model's reasoning_plugins.json)" in result.stderr
    assert "tool-call parser: mistral (--tool-call-parser)" in result.stderr and "hermes" in result.stderr
