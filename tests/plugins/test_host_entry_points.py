"""Entry points are keyed by distribution and name; hooks are called with keyword arguments."""

from __future__ import annotations

import pytest

from .test_host import LISTING, install_site, run_with

NAMES = """
    import json
    from reasoning_plugins import current_host
    host = current_host()
    print(json.dumps({"names": host.names("reasoning parser"), "failures": [f.to_dict() for f in host.failures]}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Two distributions that both name their entry point `plugin`, and one with a keyword-only hook."""
    return install_site(tmp_path_factory, "twin_a", "twin_b", "kwonly")


def test_same_entry_point_name_in_two_distributions(site):
    """Two distributions whose entry points are both called `plugin` both load, each with its own provenance."""
    listing = run_with(site, LISTING)
    assert listing["failures"] == []
    provenance = {
        name: (row["plugin"], row["distribution"], row["version"], row["status"])
        for name, row in listing["parsers"].items()
    }
    assert provenance["twin-a"] == ("plugin", "rp-test-twin-a", "1.0.0", "ok")
    assert provenance["twin-b"] == ("plugin", "rp-test-twin-b", "2.0.0", "ok")


def test_list_command_shows_same_named_plugins(site):
    """`reasoning-plugins list` shows both same-named plugins under their own distributions, with no failure."""
    result = run_with(site, """
        import contextlib, io, json
        from reasoning_plugins.cli import main
        table, errors = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(table), contextlib.redirect_stderr(errors):
            main(["list"])
        print(json.dumps({"table": table.getvalue(), "errors": errors.getvalue()}))
    """)
    rows = {line.split()[2]: line for line in result["table"].splitlines() if line.startswith("reasoning parser")}
    assert "rp-test-twin-a 1.0.0" in rows["twin-a"] and rows["twin-a"].rstrip().endswith("ok")
    assert "rp-test-twin-b 2.0.0" in rows["twin-b"] and rows["twin-b"].rstrip().endswith("ok")
    assert result["errors"] == ""


def test_allow_and_deny_by_entry_point_distribution_or_both(site):
    """ALLOW/DENY take an entry-point name, a distribution name, or "distribution:entry-point"."""
    by_entry_point = run_with(site, NAMES, REASONING_PLUGINS_ALLOW="plugin")
    assert {"twin-a", "twin-b"} <= set(by_entry_point["names"]) and "kw-only" not in by_entry_point["names"]
    assert by_entry_point["failures"] == []
    by_both = run_with(site, NAMES, REASONING_PLUGINS_ALLOW="rp-test-twin-a:plugin")
    assert "twin-a" in by_both["names"] and "twin-b" not in by_both["names"]
    by_distribution = run_with(site, NAMES, REASONING_PLUGINS_ALLOW="RP_Test_Twin_B")
    assert "twin-b" in by_distribution["names"] and "twin-a" not in by_distribution["names"]
    denied = run_with(site, NAMES, REASONING_PLUGINS_DENY="rp-test-twin-b:plugin")
    assert {"twin-a", "kw-only"} <= set(denied["names"]) and "twin-b" not in denied["names"]


def test_keyword_only_hook_argument(site):
    """A hook implementation that takes `register` as a keyword-only argument is called and registers."""
    result = run_with(site, """
        import json
        from reasoning_plugins import current_host, get_parser
        print(json.dumps({"split": get_parser("kw-only").parse("why</k>so"),
                          "failures": [f.to_dict() for f in current_host().failures]}))
    """)
    assert result == {"split": ["why", "so"], "failures": []}
