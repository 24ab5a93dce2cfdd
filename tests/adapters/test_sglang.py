"""Our parsers inside the real SGLang package (scripts/engines/sglang.sh builds .venv-sglang).

Run: ``.venv-sglang/bin/python -m pytest tests/adapters/test_sglang.py``. Without SGLang every
test but the "not installed" one is skipped. Nothing of SGLang is mocked: its own
``ReasoningParser`` (the object its OpenAI serving layer builds per request), its own request
type, argument parser, launcher and the stdlib's spawn path are used as they are.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from importlib.util import find_spec

import pytest

from reasoning_plugins import get_parser
from reasoning_plugins.adapters import UnsupportedEngineError

HAVE_SGLANG = find_spec("sglang") is not None
needs_sglang = pytest.mark.skipif(not HAVE_SGLANG, reason="sglang is not installed (scripts/engines/sglang.sh)")

# Real output shapes of the models behind each name (see shared NOTES: formats).
OUTPUTS = {
    "ernie-x1": [
        "The user asks for 2+2.\nThat is 4.\n</think>\n\n<response>\nThe answer is 4.\n</response>\n",
        "Need the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
        "Still thinking about </thin",
    ],
    "seed-oss": [
        "<seed:think>Let me add 2 and 2: that is 4.</seed:think>The answer is 4.",
        "<seed:think>\nPlan: answer briefly.\n</seed:think>\n\nHello! <seed:think> is a tag.",
        "<seed:think>cut off mid-thought </seed:th",
    ],
    "ours:deepseek-r1": ["Okay, 2+2=4.\n</think>\n\nThe answer is **4**.", "<think>R1-0528 writes it</think>A"],
    "ours:qwen3": ["<think>\nhmm, greet back\n</think>\n\nHello!", "plain answer, no thinking"],
    "hunyuan-a13b": ["<think>\nsum\n</think>\n<answer>\n4\n</answer>"],
    "ernie-45-vl": ["Looking at the image: a cat.\n</think>\n\nIt is a cat."],
}


def _sglang_parser(name, **kwargs):
    from sglang.srt.parser.reasoning_parser import ReasoningParser

    return ReasoningParser(name, **kwargs)


def _stream(name, chunks, **kwargs):
    """SGLang's streaming path: parse_stream_chunk per increment, then parse_stream_end."""
    parser = _sglang_parser(name, **kwargs)
    pieces = [parser.parse_stream_chunk(chunk) for chunk in chunks]
    pieces.append(parser.parse_stream_end())
    return "".join(r or "" for r, _ in pieces), "".join(c or "" for _, c in pieces), pieces


def _chunkings(text, seed=0):
    """Every split in two, one character at a time, and random splits."""
    yield [text]
    yield list(text)
    for cut in range(1, len(text)):
        yield [text[:cut], text[cut:]]
    rng = random.Random(seed)
    for _ in range(40):
        cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(1, 8))))
        yield [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]


@pytest.fixture(scope="module")
def installed():
    pytest.importorskip("sglang.srt.parser.reasoning_parser", reason="sglang is not installed (scripts/engines/sglang.sh)")
    from reasoning_plugins.adapters import sglang

    return sglang.install()


@pytest.mark.skipif(HAVE_SGLANG, reason="sglang is installed: this checks the error without it")
def test_install_without_sglang_names_the_supported_versions():
    """install() without SGLang raises UnsupportedEngineError naming the supported versions."""
    from reasoning_plugins.adapters import sglang

    with pytest.raises(UnsupportedEngineError, match=r"SGLang is not installed.*0\.5\.23"):
        sglang.install()


@needs_sglang
def test_sglangs_own_parser_resolves_our_names(installed):
    """After install(), SGLang's ReasoningParser('ernie-x1') and ('seed-oss') build our detectors."""
    for name in ("ernie-x1", "seed-oss", "qwq", "ernie-45-vl-thinking", "glm-4.5"):
        detector = _sglang_parser(name).detector
        assert type(detector).reasoning_parser_name == name
        assert name in installed


@needs_sglang
@pytest.mark.parametrize(
    ("name", "text", "reasoning", "content"),
    [
        ("ernie-x1", OUTPUTS["ernie-x1"][0], "The user asks for 2+2.\nThat is 4.\n", "\nThe answer is 4.\n"),
        ("ernie-x1", OUTPUTS["ernie-x1"][1], "Need the weather.\n", OUTPUTS["ernie-x1"][1].split("\n\n", 1)[1]),
        ("seed-oss", OUTPUTS["seed-oss"][0], "Let me add 2 and 2: that is 4.", "The answer is 4."),
        ("ours:deepseek-r1", OUTPUTS["ours:deepseek-r1"][0], "Okay, 2+2=4.\n", "\n\nThe answer is **4**."),
    ],
)
def test_non_stream_splits_real_outputs(installed, name, text, reasoning, content):
    """SGLang's parse_non_stream returns our parser's reasoning and content for real outputs."""
    assert _sglang_parser(name, stream_reasoning=False).parse_non_stream(text) == (reasoning, content)


@needs_sglang
@pytest.mark.parametrize("force_reasoning", [True, None])
@pytest.mark.parametrize(("name", "text"), [(n, t) for n, texts in OUTPUTS.items() for t in texts])
def test_stream_equals_non_stream_for_every_chunking(installed, name, text, force_reasoning):
    """parse_stream_chunk + parse_stream_end concatenate to parse_non_stream for every split."""
    expected = _sglang_parser(name, force_reasoning=force_reasoning).parse_non_stream(text)
    our_name = name.removeprefix("ours:")
    ours = get_parser(our_name).parse(text, mode="reasoning" if force_reasoning else None)
    assert expected == (ours[0] or "", ours[1] or "")  # what our parser returns, in SGLang's "" form
    for chunks in _chunkings(text):
        reasoning, content, _ = _stream(name, chunks, force_reasoning=force_reasoning)
        assert (reasoning, content) == expected, chunks


@needs_sglang
def test_marker_split_across_chunks(installed):
    """A marker split over increments (`</se` + `ed:think>`) is matched; nothing leaks."""
    reasoning, content, pieces = _stream("seed-oss", ["<seed:think>R", "</se", "ed:think>", "C"], force_reasoning=True)
    assert (reasoning, content) == ("R", "C")
    assert pieces[1] == ("", "")  # held back while it could still be the marker


@needs_sglang
def test_stream_reasoning_false_releases_reasoning_with_the_content(installed):
    """stream_reasoning=False holds reasoning back and releases it whole when content begins."""
    _, _, pieces = _stream("seed-oss", ["<seed:think>a", "b", "c</seed:think>", "C"], stream_reasoning=False)
    assert pieces == [("", ""), ("", ""), ("abc", ""), ("", "C"), ("", "")]


@needs_sglang
@pytest.mark.parametrize(
    ("name", "force_reasoning", "text", "expected"),
    [
        # thinking on: output starts in reasoning, a written start marker is removed
        ("seed-oss", True, "R</seed:think>C", ("R", "C")),
        ("seed-oss", True, "<seed:think>R</seed:think>C", ("R", "C")),
        # thinking off: content, unless the model opens reasoning itself
        ("seed-oss", False, "Just the answer.", ("", "Just the answer.")),
        ("seed-oss", False, "<seed:think>R</seed:think>C", ("R", "C")),
        ("ernie-45-vl", False, "No thinking here.", ("", "No thinking here.")),
        # a model that cannot turn thinking off keeps reasoning
        ("ernie-x1", False, "R\n</think>\nC", ("R\n", "C")),
        # not given: the parser's default
        ("seed-oss", None, "R</seed:think>C", ("R", "C")),
        ("granite", None, "Here is my thought process:R Here is my response:C", ("R ", "C")),
    ],
)
def test_force_reasoning_maps_to_our_mode(installed, name, force_reasoning, text, expected):
    """SGLang's force_reasoning (template + thinking switch) decides where the output starts."""
    assert _sglang_parser(name, force_reasoning=force_reasoning).parse_non_stream(text) == expected
    reasoning, content, _ = _stream(name, list(text), force_reasoning=force_reasoning)
    assert (reasoning, content) == expected


@needs_sglang
def test_reasoning_default_follows_the_format(installed):
    """The detector tells SGLang how thinking is switched when the chat template does not."""
    defaults = {name: _sglang_parser(name).detector.reasoning_default for name in
                ("seed-oss", "ernie-x1", "granite", "magistral", "ernie-45-vl")}
    assert defaults == {"seed-oss": "enable_thinking", "ernie-x1": "always", "granite": "explicit_thinking",
                        "magistral": None, "ernie-45-vl": "enable_thinking"}
    detector = _sglang_parser("seed-oss").detector
    assert (detector.think_start_token, detector.think_end_token) == ("<seed:think>", "</seed:think>")


@needs_sglang
def test_request_options_through_sglangs_request_type(installed):
    """continue_final_message and force_nonempty_content arrive through SGLang's own request."""
    from sglang.srt.entrypoints.openai.protocol import ChatCompletionRequest

    def request(assistant=None, **kwargs):
        messages = [{"role": "user", "content": "2+2?"}]
        if assistant is not None:
            messages.append({"role": "assistant", "content": assistant})
        return ChatCompletionRequest(model="m", messages=messages, **kwargs)

    still_thinking = request("<seed:think>partial", continue_final_message=True)
    assert _sglang_parser("seed-oss", force_reasoning=False, request=still_thinking).parse_non_stream(
        " more</seed:think>answer") == (" more", "answer")
    answered = request("<seed:think>R</seed:think>The ans", continue_final_message=True)
    assert _sglang_parser("seed-oss", force_reasoning=True, request=answered).parse_non_stream("wer is 4") == (
        "", "wer is 4")
    nonempty = request(chat_template_kwargs={"force_nonempty_content": True})
    assert _sglang_parser("seed-oss", force_reasoning=True, request=nonempty).parse_non_stream("cut off") == (
        "", "cut off")
    _, content, _ = _stream("seed-oss", ["cut ", "off"], force_reasoning=True, request=nonempty)
    assert content == "cut off"


@needs_sglang
def test_clash_keeps_sglangs_parser_and_ours_prefix_selects_ours(installed):
    """A name SGLang ships stays SGLang's; `ours:NAME` is ours."""
    from sglang.srt.parser.reasoning_parser import DeepSeekR1Detector, Qwen3Detector

    assert type(_sglang_parser("qwen3").detector) is Qwen3Detector
    assert type(_sglang_parser("deepseek-r1").detector) is DeepSeekR1Detector
    assert type(_sglang_parser("ours:qwen3").detector).reasoning_parser_name == "qwen3"
    assert _sglang_parser("ours:qwen3", force_reasoning=True).parse_non_stream("<think>R</think>C") == ("R", "C")


@needs_sglang
def test_override_replaces_and_a_new_install_restores(installed):
    """install(override=...) puts ours under SGLang's name; installing without it restores SGLang's."""
    from sglang.srt.parser.reasoning_parser import Qwen3Detector, ReasoningParser

    from reasoning_plugins.adapters import sglang

    try:
        sglang.install(override="qwen3")
        assert type(_sglang_parser("qwen3").detector).reasoning_parser_name == "qwen3"
        assert ReasoningParser.DetectorMap["glm45"].__module__.startswith("sglang.")
    finally:
        sglang.install(override=())
    assert ReasoningParser.DetectorMap["qwen3"] is Qwen3Detector
    assert sglang.install(override=()) == installed


@needs_sglang
def test_unknown_interface_registers_nothing(installed, monkeypatch):
    """An SGLang without parse_stream_end gets one clear error and an untouched DetectorMap.

    The real class with one method removed stands for an SGLang version whose interface differs.
    """
    from sglang.srt.parser.reasoning_parser import ReasoningParser

    from reasoning_plugins.adapters import sglang

    before = dict(ReasoningParser.DetectorMap)
    monkeypatch.delattr(ReasoningParser, "parse_stream_end")
    with pytest.raises(UnsupportedEngineError, match=r"SGLang 0\.5\.23 .*parse_stream_end.*supports sglang 0\.5\.23"):
        sglang.install(override="*")
    assert ReasoningParser.DetectorMap == before


CLASH_SCRIPT = """
import json, logging, os
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger("reasoning_plugins.adapters.sglang").addHandler(Keep())
from reasoning_plugins.adapters import sglang
sglang.install()
sglang.install()
from sglang.srt.parser.reasoning_parser import ReasoningParser
print(json.dumps({"warnings": records,
                  "qwen3": ReasoningParser.DetectorMap["qwen3"].__name__,
                  "glm45": ReasoningParser.DetectorMap["glm45"].__name__}))
"""


def _run(args, env=None):
    import os

    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, env=full_env)


@needs_sglang
def test_clash_is_reported_once_naming_both_and_env_override(installed):
    """In a fresh process each clash is logged once, naming SGLang and our distribution;
    REASONING_PLUGINS_OVERRIDE swaps only the names it lists."""
    done = _run(["-c", CLASH_SCRIPT], env={"REASONING_PLUGINS_OVERRIDE": "qwen3"})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["qwen3"] == "ReasoningPluginsDetector[qwen3]"
    assert report["glm45"] == "Glm45Detector"
    glm = [w for w in report["warnings"] if "'glm45'" in w]
    assert len(glm) == 1 and "SGLang 0.5.23" in glm[0] and "reasoning-plugins-extra" in glm[0]
    assert "ours:glm45" in glm[0]
    assert len([w for w in report["warnings"] if "'qwen3'" in w and "replaces" in w]) == 1


@needs_sglang
def test_launcher_installs_before_sglang_parses_its_arguments(installed):
    """`python -m reasoning_plugins.adapters.sglang --help` lists our names among SGLang's
    --reasoning-parser choices; SGLang's own launcher does too, through our entry point in its
    `sglang.srt.plugins` group, and refuses them when SGLANG_PLUGINS leaves us out."""
    for launcher in ("reasoning_plugins.adapters.sglang", "sglang.launch_server"):
        done = _run(["-m", launcher, "--help"])
        assert done.returncode == 0, done.stderr
        choices = done.stdout.split("--reasoning-parser {", 1)[1].split("}", 1)[0].split(",")
        assert {"seed-oss", "ernie-x1", "ours:qwen3", "qwen3", "deepseek-r1"} <= set(choices), launcher
    plain = _run(["-m", "sglang.launch_server", "--model-path", "m", "--reasoning-parser", "seed-oss"],
                 env={"SGLANG_PLUGINS": "someone-else"})
    assert plain.returncode == 2 and "invalid choice: 'seed-oss'" in plain.stderr


@needs_sglang
def test_spawned_children_install_too(installed):
    """SGLang's scheduler processes are spawned: the child re-runs the launcher module as
    __mp_main__ (the stdlib's own preparation step), which installs our detectors there."""
    script = (
        "import multiprocessing.spawn as spawn\n"
        "spawn.prepare({'init_main_from_name': 'reasoning_plugins.adapters.sglang'})\n"
        "from sglang.srt.parser.reasoning_parser import ReasoningParser\n"
        "print('seed-oss' in ReasoningParser.DetectorMap)\n"
    )
    done = _run(["-c", script])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True"


@needs_sglang
def test_sglang_parses_our_names_as_arguments(installed):
    """SGLang's own argument parsing accepts our names once installed (in this process)."""
    from sglang.srt.server_args import prepare_server_args

    args = prepare_server_args(["--model-path", "/nonexistent", "--reasoning-parser", "ernie-x1"])
    assert args.reasoning_parser == "ernie-x1"

