"""The opt-in pytest plugin and the ParserConformance base class, run as a plugin author would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

AUTHOR_TESTS = '''
import pytest
from conformance.testing import ParserConformance
from tests.conformance.plugins import GoodSeedParser, LosesHeldText

class TestGoodSeed(ParserConformance):
    parser = GoodSeedParser
    examples = 10

    def test_own_case(self):
        """The author's own case, through parse() and several streamed chunkings."""
        self.assert_split("R\\n</think>\\n\\nC", reasoning="R\\n", content="\\n\\nC")

class TestLosesHeldText(ParserConformance):
    parser = LosesHeldText
    examples = 10

@pytest.mark.conformance("qwq")
def test_fixture(conformance_subject):
    """The fixture builds the subject the marker names."""
    assert conformance_subject.name == "qwq"
'''


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-W", "error", "-p", "no:cacheprovider", "-rfs", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def test_plugin_is_opt_in(tmp_path: Path) -> None:
    """Without -p conformance.pytest_plugin, pytest does not know the plugin's options."""
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    '''nothing'''\n")
    done = _pytest(tmp_path, "-q", "--conformance-parser", "qwq")
    assert done.returncode != 0
    assert "unrecognized arguments: --conformance-parser" in done.stderr


def test_plugin_adds_a_test_per_check(tmp_path: Path) -> None:
    """-p conformance.pytest_plugin --conformance-parser NAME runs each selected check as a test."""
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    '''nothing'''\n")
    done = _pytest(
        tmp_path, "-p", "conformance.pytest_plugin", "--conformance-parser", "ernie-x1",
        "--conformance-checks", "stream_whole,mode_start_in_prompt,lossless", "-v",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "conformance[ernie-x1]::stream_whole PASSED" in done.stdout
    assert "conformance[ernie-x1]::mode_start_in_prompt SKIPPED" in done.stdout
    assert "no-start-marker" in done.stdout
    assert "3 passed, 1 skipped" in done.stdout  # test_nothing and two checks


def test_base_class_runs_checks_and_own_cases(tmp_path: Path) -> None:
    """ParserConformance runs every check per subclass plus the author's cases; failures name the check."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["conformance.pytest_plugin"]\n')
    (tmp_path / "test_author.py").write_text(textwrap.dedent(AUTHOR_TESTS))
    done = _pytest(tmp_path, "-q", "-k", "own_case or fixture or stream_per_char or token_ids_agree")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED test_author.py::TestLosesHeldText::test_conformance[stream_per_char]" in done.stdout
    assert "stream_per_char [LosesHeldText]" in done.stdout
    assert "token_ids_agree: the parser does not declare the 'token-ids' capability" in done.stdout
    assert "1 failed, 3 passed, 2 skipped" in done.stdout


def test_plugin_takes_markers_and_engines(tmp_path: Path) -> None:
    """--conformance-markers supplies markers; --conformance-engine picks drivers; bad values are usage errors."""
    (tmp_path / "conftest.py").write_text(textwrap.dedent('''
        from reasoning_plugins import ReasoningParserManager
        from tests.conformance.plugins import GoodSeedParser

        class Quiet(GoodSeedParser):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                del self.start_token, self.end_token

        ReasoningParserManager.register_module(["quiet"])(Quiet)
    '''))
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    '''nothing'''\n")
    args = ["-p", "conformance.pytest_plugin", "--conformance-parser", "quiet", "--conformance-checks", "markers,no_marker_leak"]
    done = _pytest(tmp_path, *args, "--conformance-engine", "vllm", "--conformance-markers", "<think>,</think>", "-v")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "conformance[quiet]::no_marker_leak PASSED" in done.stdout
    refused = _pytest(tmp_path, *args, "--conformance-markers", "<think>,<think>")
    assert refused.returncode != 0
    assert "--conformance-markers: the start and end markers must differ" in refused.stdout + refused.stderr
    unknown = _pytest(tmp_path, *args, "--conformance-engine", "tgi")
    assert unknown.returncode != 0 and "--conformance-engine: unknown engine(s) tgi" in unknown.stdout + unknown.stderr
