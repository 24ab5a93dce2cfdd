"""The suite certifies parsers from outside our registry: an engine's own (``ENGINE:NAME``,
loaded from the installed engine and called as its serving layer calls it) and a class named by
its module path (the seed's ExampleParser shape, or a class written to vLLM's interface).

Run in each engine's environment; tests of an engine that is not importable are skipped saying
so, and there the "not installed" error is checked instead:

    .venv/bin/python -m pytest tests/conformance/test_engine_parsers.py
    .venv-vllm/bin/python -m pytest tests/conformance/test_engine_parsers.py
    .venv-sglang/bin/python -m pytest tests/conformance/test_engine_parsers.py
    .venv-lmdeploy/bin/python -m pytest tests/conformance/test_engine_parsers.py   # 0.18; 0.12 in a subprocess

The failures asserted here are the engines' own (vLLM 0.33.0, SGLang 0.5.23, LMDeploy 0.18.0 and
0.12.3): they are what docs/engines-own-parsers.md reports, and these tests keep that page true.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path

import pytest

pytest.importorskip("hypothesis", reason="the conformance suite needs hypothesis: pip install 'reasoning-plugins[test]'")

from conformance import Settings, Subject, run_checks  # noqa: E402
from conformance._drive import read_message  # noqa: E402
from conformance._engine_parsers import ENGINES, TargetError  # noqa: E402
from reasoning_plugins.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HAVE = {name: find_spec(name) is not None for name in ENGINES}
LMDEPLOY_012 = ROOT / ".venv-lmdeploy" / "lmdeploy-0.12"

needs_vllm = pytest.mark.skipif(not HAVE["vllm"], reason="vllm is not installed (.venv-vllm: scripts/engines/vllm.sh)")
needs_sglang = pytest.mark.skipif(not HAVE["sglang"], reason="sglang is not installed (.venv-sglang: scripts/engines/sglang.sh)")
needs_lmdeploy = pytest.mark.skipif(
    not HAVE["lmdeploy"], reason="lmdeploy is not installed (.venv-lmdeploy: scripts/engines/lmdeploy.sh)"
)


def _results(target: str, checks: list[str]) -> dict[str, tuple[str, str, str | None]]:
    """check -> (status, reason or detail, driver label) for ``target``."""
    report = run_checks([target], checks=checks)
    return {r.check: (r.status, r.reason or r.detail, r.driver) for r in report.results}


def _check(args: list[str], cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    """``reasoning-plugins check ARGS`` in a fresh Python (registrations stay out of this process)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "reasoning_plugins", "check", *args],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )


# -- targets that cannot be loaded -----------------------------------------------------------


@pytest.mark.parametrize("engine", list(ENGINES))
def test_engine_not_installed_says_which_environment(engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    """ENGINE:NAME without the engine exits 2, naming the environment that has it and the pip install."""
    if HAVE[engine]:
        pytest.skip(f"{engine} is installed here: this checks the error without it")
    assert main(["check", f"{engine}:some-parser"]) == 2
    err = capsys.readouterr().err
    assert f"{ENGINES[engine].label} is not importable in this Python" in err
    assert f".venv-{engine}/bin/reasoning-plugins check {engine}:some-parser" in err
    assert f"pip install {engine}" in err


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("no_such_module_anywhere:Parser", "no module named 'no_such_module_anywhere'"),
        ("tests.conformance.plugins:NoSuchParser", ", GoodSeedParser, "),
        ("tests.conformance.plugins:split_r1", "split_r1 is a function, not a parser class"),
        ("conformance._samples:Sample", "Sample has neither the seed interface"),
        ("missing/file.py:Parser", "no such file"),
    ],
)
def test_unloadable_module_targets_are_usage_errors(target: str, says: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A module path that does not import, or names no parser class, exits 2 saying what was wrong."""
    assert main(["check", target]) == 2
    assert says in capsys.readouterr().err


# -- a class by its module path --------------------------------------------------------------

SEED_EXAMPLE = '''
"""The seed's ExampleParser, its import line changed to reasoning_plugins."""
from reasoning_plugins import ReasoningParserManager
from tests.conformance.plugins import GoodSeedParser


@ReasoningParserManager.register_module(["example-by-path"])
class ExampleParser(GoodSeedParser):
    """extract_reasoning_content / extract_reasoning_content_streaming, start_token / end_token."""
'''


@pytest.mark.parametrize("form", ["module", "file"])
def test_seed_shaped_class_by_module_path_is_certified(form: str, tmp_path: Path) -> None:
    """module.path:Class (or file.py:Class) imports the module, which registers its names in our
    registry, and certifies the class under every driver like any plugin."""
    package = tmp_path / "example_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "parsers.py").write_text(SEED_EXAMPLE)
    target = "example_pkg.parsers:ExampleParser" if form == "module" else f"{package / 'parsers.py'}:ExampleParser"
    done = _check([target, "--json", "-q", "--examples", "10"], cwd=tmp_path, PYTHONPATH=str(ROOT))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["subjects"] == [target] and len(report["engines"]) == 7
    assert report["verdicts"][target]["certified"] is True
    assert "ExampleParser instance attributes start_token/end_token" in report["markers"][target]
    registered = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            from conformance import Subject
            from reasoning_plugins import get_parser
            subject = Subject.from_name({target!r})
            assert type(get_parser("example-by-path")) is subject.parser_cls
            assert type(get_parser({target!r})) is subject.parser_cls
        """)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
    )
    assert registered.returncode == 0, registered.stderr


# -- vLLM -------------------------------------------------------------------------------------


@needs_vllm
def test_vllm_unknown_name_lists_vllms_names(capsys: pytest.CaptureFixture[str]) -> None:
    """vllm:NAME that vLLM does not ship exits 2 with vLLM's own names."""
    assert main(["check", "vllm:no_such_parser"]) == 2
    err = capsys.readouterr().err
    assert "vLLM 0.33.0 has no reasoning parser named 'no_such_parser'" in err
    assert "deepseek_r1" in err and "qwen3" in err and "ernie45" in err


@needs_vllm
def test_vllm_parser_runs_under_vllms_drivers_with_its_markers() -> None:
    """vllm:deepseek_r1 is vLLM's class, replayed by the vllm and vllm-multi drivers only, its markers
    read from its start_token/end_token, its ids from the DeepSeek tokenizer."""
    from vllm.reasoning.deepseek_r1_reasoning_parser import DeepSeekR1ReasoningParser

    subject = Subject.from_name("vllm:deepseek_r1")
    assert subject.parser_cls.reasoning_parser_cls is DeepSeekR1ReasoningParser
    assert tuple(subject.engines) == ("vllm", "vllm-multi")
    assert (subject.markers.start, subject.markers.end) == ("<think>", "</think>")
    assert subject.markers_source == "vllm:deepseek_r1 instance attributes start_token/end_token"
    assert subject.tokenizer_name == "deepseek" and subject.has("token-ids")
    ernie = Subject.from_name("vllm:ernie45")
    assert (ernie.markers.start, ernie.markers.content_wrapper) == (None, ("<response>", "</response>"))
    assert ernie.tokenizer_name == "ernie" and ernie.has("trims")
    with pytest.raises(TargetError, match="under the vllm, vllm-multi driver"):
        Subject.from_name("vllm:deepseek_r1", Settings(engines=("sglang",)))


@needs_vllm
def test_vllm_messages_are_read_by_their_reasoning_field() -> None:
    """vLLM's DeltaMessage names the reasoning ``reasoning``: the drivers read it."""
    from vllm.entrypoints.generate.base.protocol import DeltaMessage

    problems: list[str] = []
    assert read_message(DeltaMessage(reasoning="R", content="C"), "delta", problems) == ("R", "C")
    assert read_message(DeltaMessage(content="C"), "delta", problems) == ("", "C") and not problems


@needs_vllm
def test_vllm_deepseek_r1_findings() -> None:
    """vLLM 0.33's deepseek_r1, as vLLM serves it: right one token per step, wrong when the text lags
    the ids (stop strings), "" for an empty reasoning, and per-token cost that grows with the history."""
    found = _results("vllm:deepseek_r1", ["stream_per_token", "empty_is_none", "linear_cost", "independence", "reasoning_end_ids"])
    status, reason, driver = found["stream_per_token"]
    assert status == "fail" and driver.startswith("vllm lag="), reason
    assert found["empty_is_none"][0] == "fail" and "reasoning=''" in found["empty_is_none"][1]
    assert found["linear_cost"][0] == "fail" and "work grows with the history" in found["linear_cost"][1]
    assert found["independence"][0] == found["reasoning_end_ids"][0] == "pass"


@needs_vllm
def test_vllm_qwen3_findings() -> None:
    """vLLM 0.33's qwen3 (engine-based): linear cost, but a doubled </think> reaches the streamed
    content only, and extract_content_ids of an unfinished block returns every id."""
    found = _results("vllm:qwen3", ["stream_per_token", "linear_cost", "token_ids_agree", "reasoning_end_ids"])
    assert found["stream_per_token"][0] == "fail" and "</think></think>" in found["stream_per_token"][1]
    assert found["linear_cost"][0] == "pass"
    assert found["token_ids_agree"][0] == "skip"  # engine-based: markers are matched in the text
    assert found["reasoning_end_ids"][0] == "fail" and "extract_content_ids" in found["reasoning_end_ids"][1]


@needs_vllm
def test_vllm_ernie45_streams_its_response_markup() -> None:
    """Through vLLM's serving path the stream stops calling ernie45 once </think> arrived, so the
    <response> markup it strips from the non-streamed content reaches the streamed content."""
    from conformance._drive import per_token, run_seed
    from conformance.tokenizers import load_tokenizer

    tokenizer = load_tokenizer("ernie")
    ernie = Subject.from_name("vllm:ernie45").parser_cls
    text = "R\n</think>\n\n<response>\nC\n</response>\n"
    assert ernie(tokenizer).extract_reasoning_content(text, None) == ("R\n", "\nC\n")
    streamed = run_seed(ernie(tokenizer), per_token(tokenizer, text)[1]).split
    assert (streamed.reasoning, streamed.content) == ("R\n", "\n\n<response>\nC\n</response>\n")


VLLM_STYLE = '''
from vllm.reasoning.basic_parsers import BaseThinkingReasoningParser


class MyThinkParser(BaseThinkingReasoningParser):
    """Written to vLLM 0.33's interface: extract_reasoning / extract_reasoning_streaming."""

    @property
    def start_token(self):
        return "<think>"

    @property
    def end_token(self):
        return "</think>"
'''


@needs_vllm
def test_class_written_to_vllms_interface_runs_in_vllms_parser(tmp_path: Path) -> None:
    """file.py:Class whose class implements vLLM's extract_reasoning* is called through vLLM's own
    Parser, under vLLM's drivers, as vLLM's own parsers are."""
    path = tmp_path / "my_vllm_parser.py"
    path.write_text(VLLM_STYLE)
    subject = Subject.from_name(f"{path}:MyThinkParser")
    assert subject.parser_cls.__name__ == "MyThinkParser" and subject.parser_cls.engine == "vllm"
    assert tuple(subject.engines) == ("vllm", "vllm-multi")
    report = run_checks([subject], checks=["markers", "stream_whole", "reasoning_end_ids"])
    assert {r.check: r.status for r in report.results} == {"markers": "pass", "stream_whole": "fail", "reasoning_end_ids": "pass"}


# -- SGLang -----------------------------------------------------------------------------------


@needs_sglang
def test_sglang_unknown_name_lists_its_detectors(capsys: pytest.CaptureFixture[str]) -> None:
    """sglang:NAME missing from DetectorMap exits 2 with SGLang's names; _ and - are equivalent."""
    assert main(["check", "sglang:no-such-detector"]) == 2
    err = capsys.readouterr().err
    assert "SGLang 0.5.23 has no reasoning parser named 'no-such-detector'" in err and "qwen3-thinking" in err
    assert Subject.from_name("sglang:deepseek_r1").parser_cls.engine_name == "deepseek-r1"


@needs_sglang
def test_sglang_parser_streams_as_its_server_does() -> None:
    """SGLang's detectors: text only under the sglang driver, force_reasoning as its chat server
    decides it, a tool-call opener as an implicit end; a <think> inside reasoning vanishes only
    from the stream, and the non-streamed content is "" rather than None."""
    subject = Subject.from_name("sglang:qwen3")
    assert tuple(subject.engines) == ("sglang",) and subject.markers.implicit_ends == ("<tool_call>",)
    parser = subject.new_parser()
    text = "The user wrote <think> literally.</think>Answer."
    streamed = [parser.extract_reasoning_content_streaming("", text, text, [], [], []), parser.finish()]
    assert streamed[0].reasoning_content == "The user wrote  literally." and streamed[0].content == "Answer."
    assert subject.new_parser().extract_reasoning_content(text, None) == ("The user wrote <think> literally.", "Answer.")
    found = _results("sglang:deepseek-r1", ["stream_per_char", "empty_is_none", "bounded_holdback", "no_marker_leak"])
    assert found["stream_per_char"][0] == "fail" and "<think<think>" in found["stream_per_char"][1]
    assert found["empty_is_none"][0] == "fail" and "content=''" in found["empty_is_none"][1]
    assert found["bounded_holdback"][0] == found["no_marker_leak"][0] == "pass"


# -- LMDeploy ---------------------------------------------------------------------------------


@needs_lmdeploy
def test_lmdeploy_response_parser_findings(capsys: pytest.CaptureFixture[str]) -> None:
    """LMDeploy 0.18: a legacy name resolves to its default response parser, one per request; a
    <think> split across deltas reaches the reasoning."""
    assert main(["check", "lmdeploy:no-such"]) == 2
    assert "LMDeploy 0.18.0 has no reasoning parser named 'no-such'" in capsys.readouterr().err
    subject = Subject.from_name("lmdeploy:qwen-qwq")
    assert tuple(subject.engines) == ("lmdeploy",) and (subject.markers.start, subject.markers.end) == ("<think>", "</think>")
    found = _results("lmdeploy:qwen-qwq", ["stream_whole", "stream_per_char", "lossless"])
    assert found["stream_whole"][0] == found["lossless"][0] == "pass"
    assert found["stream_per_char"][0] == "fail" and "reasoning='<think>" in found["stream_per_char"][1]


@needs_lmdeploy
@pytest.mark.skipif(not LMDEPLOY_012.is_dir(), reason="LMDeploy 0.12.3 is not beside 0.18 (scripts/engines/lmdeploy.sh)")
def test_lmdeploy_012_shared_parser_findings() -> None:
    """LMDeploy 0.12: one shared seed-interface parser; when it answers None for a lone <think>
    token, the server sends that token's text as content."""
    done = _check(["lmdeploy:deepseek-r1", "--checks", "markers,stream_per_token", "--json", "-q"],
                  PYTHONPATH=f"{LMDEPLOY_012}{os.pathsep}{ROOT}")
    assert done.returncode == 1, done.stdout + done.stderr
    results = {r["check"]: r for r in json.loads(done.stdout)["results"]}
    assert "think_start_token/think_end_token" in results["markers"]["detail"]
    assert results["stream_per_token"]["status"] == "fail"
    assert "content='<think>" in results["stream_per_token"]["reason"]
