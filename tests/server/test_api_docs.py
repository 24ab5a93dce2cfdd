"""The client snippets of docs/server.md's Responses and Messages sections, run against a real server."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .conftest import REPO, ServerProcess, server_env

SECTIONS = ("## The Responses API", "## The Anthropic Messages API")


def snippets(heading: str) -> list[str]:
    text = (REPO / "docs" / "server.md").read_text()
    section = text[text.index(heading):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.mark.parametrize(("heading", "index"), [(h, i) for h in SECTIONS for i in range(2)])
def test_doc_snippet_runs(server: ServerProcess, heading: str, index: int) -> None:
    """Each snippet runs unchanged but for the address and prints an answer."""
    code = snippets(heading)[index].replace("http://127.0.0.1:8000", server.root)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=server_env(), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "answer:" in result.stdout or "call:" in result.stdout
    if index == 1:
        assert "call: get_weather" in result.stdout


def test_each_section_has_two_snippets() -> None:
    """The sections keep their two snippets, so none is left out of the run above."""
    assert [len(snippets(h)) for h in SECTIONS] == [2, 2]
