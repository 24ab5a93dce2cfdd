"""`PluginHost.names_in_order`: registered names in registration order, the order `auto` ranks by."""

from __future__ import annotations

import pytest

from reasoning_plugins import DeclarativeParser, PluginHost, ReasoningFormat
from reasoning_plugins._host import PARSER, REASONER


class _Angle(DeclarativeParser):
    format = ReasoningFormat(start="<reason>", end="</reason>")


def test_builtins_first_in_their_registration_order():
    """Without plugins the built-in parsers come first, in the order the built-in hook registers them
    (parsers registered through the engines' seed interface in this process may follow)."""
    host = PluginHost(load_plugins=False)
    builtins = ["deepseek-r1", "qwq", "ernie-45-vl", "ernie-45-vl-thinking", "ernie-x1"]
    assert host.names_in_order(PARSER)[:len(builtins)] == builtins
    assert host.names(PARSER) == sorted(host.names_in_order(PARSER))


def test_runtime_registrations_follow_and_aliases_are_left_out():
    """A name registered at run time comes after the built-ins; its aliases are not listed."""
    host = PluginHost(load_plugins=False)
    host.register(PARSER, "Angle_Brackets", _Angle, aliases=["angle"])
    order = host.names_in_order(PARSER)
    assert order[-1] == "angle-brackets"
    assert "angle" not in order


def test_a_name_registered_twice_is_listed_once_where_it_came_first():
    """A duplicate keeps its first position (looking it up still reports the duplicate)."""
    host = PluginHost(load_plugins=False)
    host.register(PARSER, "angle", _Angle)
    host.register(PARSER, "qwq", _Angle)
    assert host.names_in_order(PARSER).count("qwq") == 1
    assert host.names_in_order(PARSER).index("qwq") == 1


def test_kinds_are_separate_and_an_unknown_kind_is_refused():
    """Reasoners have their own order; a misspelt kind is a ValueError naming the kinds."""
    host = PluginHost(load_plugins=False)
    assert host.names_in_order(REASONER)[0] == "deepseek-r1"
    with pytest.raises(ValueError, match="expected one of reasoning parser, reasoner, tool parser"):
        host.names_in_order("parsers")
