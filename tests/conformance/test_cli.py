"""``reasoning-plugins check``: table, JSON, progress, exit status, seed-only plugins by name."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance import check_names
from reasoning_plugins.cli import main

ROOT = Path(__file__).resolve().parents[2]
FAST = "stream_whole,mode_truncated,mode_start_in_prompt,no_marker_leak"


def test_table_lists_checks_against_parsers(capsys: pytest.CaptureFixture[str]) -> None:
    """The table has a row per check, a column per name, and a summary line; exit 0 when all pass."""
    assert main(["check", "qwq", "ernie-x1", "--checks", FAST]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["check", "qwq", "ernie-x1"]
    row = next(line for line in lines if line.startswith("mode_start_in_prompt"))
    assert row.split()[1:] == ["pass", "skip:", "no-start-marker"]
    assert "2 plugin(s), 4 check(s) under 7 engine driver(s): 7 ran (7 pass, 0 FAIL), 1 skipped" in out
    assert "- qwq: not certified: partial run: core check(s) not selected: markers," in out
    assert "qwq (tokenizer qwen) ...." in err and "ernie-x1 (tokenizer ernie) ..s." in err


def test_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one parseable report with a result per check and name."""
    assert main(["check", "deepseek_r1", "--checks", FAST, "--json", "-q"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert err == ""
    assert report["ok"] is True and report["subjects"] == ["deepseek_r1"]
    assert report["tokenizers"] == {"deepseek_r1": "deepseek"}
    assert {r["check"] for r in report["results"]} == set(FAST.split(","))
    assert all(r["status"] == "pass" for r in report["results"])


def test_engine_option_picks_drivers(capsys: pytest.CaptureFixture[str]) -> None:
    """--engine (repeatable or a comma list) runs only those drivers; the JSON says which ran."""
    argv = ["check", "qwq", "--checks", "stream_whole,stream_per_char", "--engine", "vllm,sglang", "--engine", "lmdeploy"]
    assert main([*argv, "--json", "-q"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["engines"] == ["vllm", "sglang", "lmdeploy"]
    for result in report["results"]:
        assert set(result["drivers"]) == {"vllm", "sglang", "lmdeploy"}, result
    verdict = report["verdicts"]["qwq"]
    assert verdict["certified"] is False and verdict["reason"].startswith("partial run")


@pytest.mark.parametrize("value", ["", "<think>", ",</think>", "<think>,", "<think>,<think>", "a,b,c"])
def test_markers_option_usage_errors(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--markers needs two different, non-empty markers: anything else is a usage error naming the flag."""
    assert main(["check", "qwq", "--markers", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reasoning-plugins check: --markers")
    assert "START,END" in err or "must" in err


def test_unknown_engine_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--engine with a name no driver has exits 2, listing the drivers."""
    assert main(["check", "qwq", "--engine", "vllm,tgi"]) == 2
    err = capsys.readouterr().err
    assert "--engine" in err and "tgi" in err and "lmdeploy" in err and "fastdeploy" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown names or checks, or no name at all, exit 2 with a message saying what to do."""
    assert main(["check", "deepseek-r2"]) == 2
    err = capsys.readouterr().err
    assert "deepseek-r1" in err and "Installed" in err
    assert main(["check", "qwq", "--checks", "stream_sideways"]) == 2
    assert "stream_whole" in capsys.readouterr().err
    assert main(["check"]) == 2
    assert "--all" in capsys.readouterr().err


def test_list_checks_explains_each(capsys: pytest.CaptureFixture[str]) -> None:
    """--list-checks names every check with the sentence a user relies on."""
    assert main(["check", "--list-checks"]) == 0
    out = capsys.readouterr().out
    for name in check_names():
        assert f"\n{name}" in "\n" + out
    assert "token-ids" in out and "O(delta)" in out


def _run_script(body: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def test_seed_only_plugin_registered_by_name_passes() -> None:
    """A parser registered with the seed decorator, checked by name, passes (exit 0)."""
    done = _run_script(
        """
        from reasoning_plugins import ReasoningParserManager
        from reasoning_plugins.cli import main
        from tests.conformance.plugins import GoodSeedParser

        ReasoningParserManager.register_module(["example-seed"])(GoodSeedParser)
        raise SystemExit(main(["check", "example-seed", "-q", "--examples", "15", "--tokenizer", "qwen"]))
        """
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skip: token-ids" in done.stdout and "FAIL [" not in done.stdout
    assert "- example-seed: certified (not run under fastdeploy: " in done.stdout


def test_failing_plugin_exits_1_with_reason() -> None:
    """A broken plugin makes the command exit 1, with FAIL in the table and a one-line reason under it."""
    done = _run_script(
        """
        from reasoning_plugins import ReasoningParserManager
        from reasoning_plugins.cli import main
        from tests.conformance.plugins import SplitMarkerLeak

        ReasoningParserManager.register_module(["leaky"])(SplitMarkerLeak)
        raise SystemExit(main(["check", "leaky", "-q", "--checks", "no_marker_leak,mode_no_markers"]))
        """
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert ["no_marker_leak", "FAIL", "[1]"] in [line.split() for line in done.stdout.splitlines()]
    assert "[1] leaky / no_marker_leak: " in done.stdout and "holds marker text" in done.stdout


def test_name_that_cannot_load_is_a_failed_row() -> None:
    """A name two providers claim cannot be checked: it shows as a failed 'load' row and exit 1."""
    done = _run_script(
        """
        from reasoning_plugins import ReasoningParserManager
        from reasoning_plugins.cli import main
        from tests.conformance.plugins import GoodSeedParser

        ReasoningParserManager.register_module(["qwq"])(GoodSeedParser)
        raise SystemExit(main(["check", "qwq", "-q", "--checks", "stream_whole"]))
        """
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert ["load", "FAIL", "[1]"] in [line.split() for line in done.stdout.splitlines()]
    assert "DuplicatePluginError" in done.stdout and "registered by both" in done.stdout


def test_json_failure_names_the_driver() -> None:
    """A failure found under one driver says which, in the table and in --json."""
    done = _run_script(
        """
        from reasoning_plugins import ReasoningParserManager
        from reasoning_plugins.cli import main
        from tests.conformance.plugins import LenKeyedSeedParser

        ReasoningParserManager.register_module(["len-keyed"])(LenKeyedSeedParser)
        raise SystemExit(main(["check", "len-keyed", "-q", "--checks", "stream_per_char", "--json"]))
        """
    )
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)["results"][0]
    assert result["status"] == "fail" and result["driver"] == "lmdeploy"
    assert result["reason"].startswith("[lmdeploy] ")
    assert result["drivers"]["vllm"] == "pass" and result["drivers"]["lmdeploy"].startswith("fail: [lmdeploy]")


def test_markers_option_certifies_a_parser_that_declares_none() -> None:
    """A seed parser with no discoverable markers fails 'markers' (cannot certify); --markers makes it checkable."""
    body = """
        from reasoning_plugins import ReasoningParserManager
        from reasoning_plugins.cli import main
        from tests.conformance.plugins import GoodSeedParser

        class Quiet(GoodSeedParser):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                del self.start_token, self.end_token

        ReasoningParserManager.register_module(["quiet"])(Quiet)
        raise SystemExit(main(["check", "quiet", "-q", "--checks", "markers,no_marker_leak,lossless"EXTRA]))
        """
    without = _run_script(body.replace("EXTRA", ""))
    assert without.returncode == 1, without.stdout + without.stderr
    assert "[1] quiet / markers: cannot certify: " in without.stdout
    assert ["no_marker_leak", "skip:", "markers"] in [line.split() for line in without.stdout.splitlines()]
    given = _run_script(body.replace("EXTRA", ', "--markers", "<think>,</think>"'))
    assert given.returncode == 0, given.stdout + given.stderr
    assert "FAIL [" not in given.stdout and "3 ran (3 pass, 0 FAIL)" in given.stdout
