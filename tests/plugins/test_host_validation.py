"""Hook implementations that match no hookspec are reported like a plugin that fails to load."""

from __future__ import annotations

import pytest

from reasoning_plugins import PluginHost

from .test_host import LISTING, install_site, run_with


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """rp-test-typo: one module with a misspelled hook, one whose hook takes an argument the spec lacks."""
    return install_site(tmp_path_factory, "typo", "good")


def test_misspelled_hook_is_reported(site):
    """A misspelled hook name is a load failure naming the plugin, the hook and the right spelling."""
    listing = run_with(site, LISTING)
    (failure,) = [f for f in listing["failures"] if f["plugin"] == "typoparsers"]
    assert failure["distribution"] == "rp-test-typo"
    assert "'register_reasoning_parser'" in failure["error"] and "register_reasoning_parsers" in failure["error"]
    assert "typo" not in listing["reasoners"]  # the plugin is not loaded, as for an import failure
    assert listing["parsers"]["answer-tag"]["status"] == "ok"


def test_hook_argument_missing_from_the_spec_is_reported(site):
    """A hook implementation asking for an argument the hookspec does not have is a load failure."""
    listing = run_with(site, LISTING)
    (failure,) = [f for f in listing["failures"] if f["plugin"] == "badargparsers"]
    assert failure["distribution"] == "rp-test-typo" and "tokenizer" in failure["error"]
    assert "extra-argument" not in listing["parsers"]


def test_strict_mode_reraises_a_misspelled_hook(site):
    """In strict mode a misspelled hook stops the host with PluginLoadError."""
    result = run_with(site, """
        from reasoning_plugins import current_host
        current_host()
        print("{}")
    """, REASONING_PLUGINS_STRICT="1", REASONING_PLUGINS_ALLOW="typoparsers")
    assert result.get("returncode", 0) != 0
    assert "PluginLoadError" in result["stderr"] and "register_reasoning_parser" in result["stderr"]


def test_builtins_pass_hook_validation():
    """The built-in hook implementations pass pluggy's validation, even in strict mode."""
    host = PluginHost(load_plugins=False, strict=True)
    assert host.failures == []
    assert {"deepseek-r1", "qwq"} <= set(host.names("reasoning parser"))
    assert "hermes" in host.names("tool parser")
