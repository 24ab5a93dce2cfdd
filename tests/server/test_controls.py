"""The reasoning controls every API sends, read into one switch, budget and exclusion."""

from __future__ import annotations

import pytest

from core_engine.server.controls import (
    DEFAULT_EFFORTS,
    EffortLevel,
    ReasoningControls,
    format_efforts,
    parse_efforts,
    resolve_controls,
)
from core_engine.server.errors import ApiError


def refused(body: dict[str, object]) -> ApiError:
    with pytest.raises(ApiError) as info:
        resolve_controls(body)
    assert info.value.status == 400
    return info.value


def test_nothing_sent_leaves_the_model_default() -> None:
    """A request without controls leaves thinking, budget and exclusion unset."""
    assert resolve_controls({}) == ReasoningControls()


@pytest.mark.parametrize(("level", "thinking", "budget"), [
    ("none", False, None), ("minimal", True, 64), ("low", True, 256), ("medium", True, 1024), ("high", True, None),
])
def test_effort_levels_map_to_switch_and_budget(level: str, thinking: bool, budget: int | None) -> None:
    """Each default reasoning_effort level sets the switch and the documented budget."""
    controls = resolve_controls({"reasoning_effort": level})
    assert (controls.thinking, controls.budget) == (thinking, budget)
    assert controls.thinking_from == "reasoning_effort"


@pytest.mark.parametrize(("body", "field"), [
    ({"reasoning_max_tokens": 7}, "reasoning_max_tokens"),
    ({"thinking_token_budget": 7}, "thinking_token_budget"),
    ({"thinking_budget": 7}, "thinking_budget"),
    ({"reasoning": {"max_tokens": 7}}, "reasoning.max_tokens"),
    ({"thinking": {"type": "enabled", "budget_tokens": 7}}, "thinking.budget_tokens"),
])
def test_every_budget_alias(body: dict[str, object], field: str) -> None:
    """The five budget spellings give the same budget and say which field set it."""
    controls = resolve_controls(body)
    assert controls.budget == 7 and controls.budget_from == field


def test_explicit_budget_refines_an_effort_level() -> None:
    """reasoning_effort low with a budget of 10 reasons at most 10 tokens, thinking on."""
    controls = resolve_controls({"reasoning_effort": "low", "thinking_budget": 10})
    assert (controls.thinking, controls.budget, controls.budget_from) == (True, 10, "thinking_budget")


@pytest.mark.parametrize(("body", "names"), [
    ({"reasoning_effort": "none", "thinking_budget": 100}, ("reasoning_effort", "thinking_budget")),
    ({"chat_template_kwargs": {"enable_thinking": False}, "reasoning_max_tokens": 5},
     ("chat_template_kwargs.enable_thinking", "reasoning_max_tokens")),
    ({"reasoning": {"enabled": False, "max_tokens": 50}}, ("reasoning.enabled", "reasoning.max_tokens")),
    ({"thinking": {"type": "disabled", "budget_tokens": 50}}, ("thinking.type", "thinking.budget_tokens")),
    ({"reasoning_effort": "low", "chat_template_kwargs": {"enable_thinking": False}},
     ("chat_template_kwargs.enable_thinking", "reasoning_effort")),
    ({"reasoning_effort": "low", "reasoning": {"effort": "high"}}, ("reasoning_effort", "reasoning.effort")),
    ({"reasoning_max_tokens": 3, "thinking_budget": 4}, ("reasoning_max_tokens", "thinking_budget")),
    ({"include_reasoning": True, "reasoning": {"exclude": True}}, ("reasoning.exclude", "include_reasoning")),
])
def test_contradictions_name_both_fields(body: dict[str, object], names: tuple[str, str]) -> None:
    """Two controls that disagree are a 400 whose message names both fields."""
    error = refused(body)
    assert all(name in error.message for name in names), error.message
    assert error.param in names and error.code == "contradictory_controls"


def test_agreeing_controls_are_accepted() -> None:
    """The same wish sent twice, and a budget of 0 with thinking off, are not contradictions."""
    same = resolve_controls({"reasoning_max_tokens": 9, "thinking_budget": 9, "reasoning": {"enabled": True}})
    assert (same.thinking, same.budget) == (True, 9)
    off = resolve_controls({"chat_template_kwargs": {"enable_thinking": False}, "reasoning_max_tokens": 0})
    assert (off.thinking, off.budget) == (False, 0)


def test_exclusion_spellings() -> None:
    """include_reasoning false and reasoning.exclude true both leave the reasoning out."""
    assert resolve_controls({"include_reasoning": False}).exclude
    assert resolve_controls({"reasoning": {"exclude": True, "effort": "high"}}).exclude
    assert not resolve_controls({"include_reasoning": True}).exclude


@pytest.mark.parametrize(("body", "field"), [
    ({"reasoning_effort": "extreme"}, "reasoning_effort"),
    ({"reasoning": {"effort": 3}}, "reasoning.effort"),
    ({"reasoning": "high"}, "reasoning"),
    ({"thinking": {"type": "sometimes"}}, "thinking.type"),
    ({"thinking": {"type": "enabled", "budget_tokens": -1}}, "thinking.budget_tokens"),
    ({"chat_template_kwargs": {"enable_thinking": "no"}}, "chat_template_kwargs.enable_thinking"),
])
def test_malformed_controls_name_the_field(body: dict[str, object], field: str) -> None:
    """A control of the wrong type or value is a 400 naming the field and what is accepted."""
    error = refused(body)
    assert error.param == field and field in error.message


def test_template_kwargs_carry_the_switch() -> None:
    """A resolved switch reaches the chat template as enable_thinking and thinking; sent keys stay."""
    controls = resolve_controls({"reasoning_effort": "none"})
    assert controls.template_kwargs({"custom": 1}) == {"enable_thinking": False, "thinking": False, "custom": 1}
    assert resolve_controls({}).template_kwargs(None) is None


def test_effort_budgets_flag() -> None:
    """--reasoning-effort-budgets overrides levels, adds new ones, and rejects bad values."""
    table = parse_efforts("low=10, high=none, xhigh=unlimited, minimal=off")
    assert table["low"] == EffortLevel(True, 10) and table["high"] == EffortLevel(True, None)
    assert table["xhigh"] == EffortLevel(True, None) and table["minimal"] == EffortLevel(False)
    assert table["medium"] == DEFAULT_EFFORTS["medium"]
    assert resolve_controls({"reasoning_effort": "xhigh"}, table).thinking is True
    assert format_efforts(DEFAULT_EFFORTS) == "none=off, minimal=64, low=256, medium=1024, high=unlimited"
    for bad in ("low", "low=-1", "low=lots", "=5"):
        with pytest.raises(ValueError):
            parse_efforts(bad)
