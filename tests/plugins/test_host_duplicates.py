"""An alias that clashes with another provider's name or alias is a duplicate naming both providers."""

from __future__ import annotations

import pytest

from .test_host import install_site, run_with


def lookup(site, *names: str) -> dict:
    """Each name mapped to its parser class name, or to the duplicate error it raises."""
    return run_with(site, f"""
        import json
        from reasoning_plugins import DuplicatePluginError, get_parser
        found = {{}}
        for name in {list(names)!r}:
            try:
                found[name] = type(get_parser(name)).__name__
            except DuplicatePluginError as exc:
                found[name] = "duplicate: " + str(exc)
        print(json.dumps(found))
    """)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """rp-test-alias registers aliases that clash with the built-in `qwq` and with rp-test-good's `answertag`."""
    return install_site(tmp_path_factory, "good", "alias")


def test_alias_clashing_with_a_name_is_a_duplicate(site):
    """An alias equal to another provider's name is an error naming both; the plugin's other names work."""
    found = lookup(site, "qwq", "tagged", "tagged-alt")
    assert found["qwq"].startswith("duplicate: ")
    assert "reasoning-plugins" in found["qwq"] and "rp-test-alias" in found["qwq"]
    assert found["tagged"] == found["tagged-alt"] == "TaggedParser"


def test_name_clashing_with_an_alias_is_a_duplicate(site):
    """A name equal to another provider's alias is an error naming both; every unshared name still works."""
    found = lookup(site, "answertag", "answer-tag", "answertag-other")
    assert found["answertag"].startswith("duplicate: ")
    assert "rp-test-good" in found["answertag"] and "rp-test-alias" in found["answertag"]
    assert found["answer-tag"] == "AnswerTagParser"
    assert found["answertag-other"] == "TaggedParser"


def test_listing_shows_every_provider_of_a_clash(site):
    """The listing has a row per provider of a clashing name, each marked duplicate with the reason."""
    rows = run_with(site, """
        import json
        from reasoning_plugins import list_parsers
        print(json.dumps([i.to_dict() for i in list_parsers()]))
    """)
    status = {(row["name"], row["distribution"]): (row["status"], row["error"] or "") for row in rows}
    assert status[("qwq", "reasoning-plugins")][0] == "duplicate"
    assert status[("tagged", "rp-test-alias")][0] == "duplicate" and "'qwq'" in status[("tagged", "rp-test-alias")][1]
    assert status[("answertag", "rp-test-alias")][0] == "duplicate"
    assert status[("deepseek-r1", "reasoning-plugins")] == ("ok", "")
