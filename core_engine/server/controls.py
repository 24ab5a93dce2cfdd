"""One reading of the reasoning controls every API sends: thinking on/off, a budget, exclusion.

Clients spell the same three wishes in many ways:

- the thinking switch: ``chat_template_kwargs.enable_thinking`` / ``chat_template_kwargs.thinking``
  (also accepted at the top level), OpenRouter's ``reasoning.enabled``, Anthropic's
  ``thinking.type`` (``"enabled"`` / ``"disabled"``);
- an effort level: ``reasoning_effort`` (OpenAI), ``reasoning.effort`` (OpenRouter and the
  Responses API); each level maps to a switch and a budget through an :data:`EffortTable`;
- a budget in reasoning tokens: ``reasoning_max_tokens`` (FastDeploy), ``thinking_token_budget``
  (vLLM), ``thinking_budget`` (SGLang), ``reasoning.max_tokens`` (OpenRouter),
  ``thinking.budget_tokens`` (Anthropic);
- leaving the reasoning out of the response: ``include_reasoning: false``, ``reasoning.exclude``.

:func:`resolve_controls` reads them all from a request body (a mapping, as the client sent it)
and returns one :class:`ReasoningControls`, or raises a 400 :class:`ApiError` naming both fields
when two of them disagree. An explicit budget refines an effort level (``reasoning_effort:
"low"`` with ``thinking_budget: 100`` reasons at most 100 tokens); a budget above 0 with thinking
switched off is a contradiction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

__all__ = [
    "DEFAULT_EFFORTS",
    "EffortLevel",
    "EffortTable",
    "ReasoningControls",
    "format_efforts",
    "parse_efforts",
    "resolve_controls",
    "sent_fields",
]


@dataclass(frozen=True, slots=True)
class EffortLevel:
    """What one ``reasoning_effort`` level means: thinking on or off, and a budget (None: no cap)."""

    thinking: bool
    budget: int | None = None

    def describe(self) -> str:
        if not self.thinking:
            return "off"
        return "unlimited" if self.budget is None else str(self.budget)


EffortTable = Mapping[str, EffortLevel]

DEFAULT_EFFORTS: dict[str, EffortLevel] = {
    "none": EffortLevel(thinking=False),
    "minimal": EffortLevel(thinking=True, budget=64),
    "low": EffortLevel(thinking=True, budget=256),
    "medium": EffortLevel(thinking=True, budget=1024),
    "high": EffortLevel(thinking=True, budget=None),
}

# (field as the client named it, value, the value as the client wrote it)
Claim = tuple[str, Any, str]

# Budget fields, in the order they are reported when they disagree.
_BUDGET_FIELDS = ("reasoning_max_tokens", "thinking_token_budget", "thinking_budget")


@dataclass(frozen=True, slots=True)
class ReasoningControls:
    """The resolved controls of one request.

    ``thinking``: True (on), False (off) or None (the model's default). ``budget``: the most
    reasoning tokens, or None for no cap. ``exclude``: leave the reasoning out of the response
    (it is still generated and counted). ``thinking_from`` / ``budget_from`` name the request
    field that decided each, for error messages (None when nothing set it).
    """

    thinking: bool | None = None
    budget: int | None = None
    exclude: bool = False
    thinking_from: str | None = None
    budget_from: str | None = None

    def template_kwargs(self, given: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """``chat_template_kwargs`` with the resolved switch added for the chat template.

        Both ``enable_thinking`` (Qwen3, the bundled model) and ``thinking`` (DeepSeek-V3.1) are
        set; a template reads the one it knows. Keys the client set itself are kept as sent
        (they agree, or :func:`resolve_controls` would have refused the request).
        """
        if self.thinking is None:
            return dict(given) if given is not None else None
        merged = {"enable_thinking": self.thinking, "thinking": self.thinking}
        merged.update(given or {})
        return merged


def resolve_controls(body: Mapping[str, Any], efforts: EffortTable | None = None) -> ReasoningControls:
    """The reasoning controls of a request body; a 400 naming the fields when they contradict.

    ``body`` holds the fields as the client sent them (absent means not sent): any of
    ``chat_template_kwargs``, ``enable_thinking``, ``thinking`` (a bool, or Anthropic's
    ``{"type", "budget_tokens"}``), ``reasoning_effort``, ``reasoning`` (``{"effort",
    "max_tokens", "exclude", "enabled"}``), ``reasoning_max_tokens``, ``thinking_token_budget``,
    ``thinking_budget``, ``include_reasoning``. Other keys are ignored.
    """
    efforts = DEFAULT_EFFORTS if efforts is None else efforts
    switches: list[Claim] = []
    budgets: list[Claim] = []
    levels: list[Claim] = []
    excludes: list[Claim] = []

    kwargs = body.get("chat_template_kwargs")
    if isinstance(kwargs, Mapping):
        for key in ("enable_thinking", "thinking"):
            if kwargs.get(key) is not None:
                switches.append(_switch(kwargs[key], f"chat_template_kwargs.{key}"))
    if body.get("enable_thinking") is not None:
        switches.append(_switch(body["enable_thinking"], "enable_thinking"))

    thinking = body.get("thinking")
    if isinstance(thinking, Mapping):
        _anthropic_thinking(thinking, switches, budgets)
    elif thinking is not None:
        switches.append(_switch(thinking, "thinking"))

    if body.get("reasoning_effort") is not None:
        levels.append(_level(body["reasoning_effort"], "reasoning_effort", efforts))
    reasoning = body.get("reasoning")
    if reasoning is not None:
        _reasoning_object(reasoning, efforts, switches, budgets, levels, excludes)

    for name in _BUDGET_FIELDS:
        if body.get(name) is not None:
            budgets.append(_budget(body[name], name))
    if body.get("include_reasoning") is not None:
        field, include, shown = _switch(body["include_reasoning"], "include_reasoning")
        excludes.append((field, not include, shown))

    return _combine(switches, budgets, levels, excludes, efforts)


def _combine(switches: list[Claim], budgets: list[Claim], levels: list[Claim], excludes: list[Claim],
             efforts: EffortTable) -> ReasoningControls:
    _agree(levels, "ask for different effort levels")
    for field, level, shown in levels[:1]:
        # an effort level acts as a switch and a default budget
        switches.append((field, efforts[level].thinking, shown))
    _agree(switches, "disagree on whether the model thinks")
    _agree(budgets, "ask for different reasoning budgets")
    _agree(excludes, "disagree on returning the reasoning")
    thinking, thinking_from = (switches[0][1], switches[0][0]) if switches else (None, None)
    budget: int | None = None
    budget_from: str | None = None
    if budgets:
        budget_from, budget, _ = budgets[0]
        if thinking is False and budget > 0:
            raise ApiError(400, f"{thinking_from}: {switches[0][2]} turns thinking off, but "
                                f"{budget_from}: {budget} asks for a reasoning budget; send one or the other "
                                "(a budget of 0 is allowed with thinking off).", param=budget_from,
                           code="contradictory_controls")
    elif levels:
        field, level, _ = levels[0]
        budget, budget_from = efforts[level].budget, field if efforts[level].budget is not None else None
    return ReasoningControls(thinking=thinking, budget=budget, exclude=bool(excludes and excludes[0][1]),
                             thinking_from=thinking_from, budget_from=budget_from)


def _agree(claims: list[Claim], what: str) -> None:
    """A 400 naming the first two fields whose values differ."""
    for other in claims[1:]:
        first = claims[0]
        if other[1] != first[1]:
            raise ApiError(400, f"{first[0]}: {first[2]} and {other[0]}: {other[2]} {what}; send one of them, "
                                "or make them agree.", param=other[0], code="contradictory_controls")


def _shown(value: Any) -> str:
    """A value as the client wrote it in JSON."""
    return json.dumps(value)


def _anthropic_thinking(thinking: Mapping[str, Any], switches: list[Claim], budgets: list[Claim]) -> None:
    kind = thinking.get("type")
    if kind not in ("enabled", "disabled"):
        raise ApiError(400, f"thinking.type must be \"enabled\" or \"disabled\", got {_shown(kind)}.",
                       param="thinking.type")
    switches.append(("thinking.type", kind == "enabled", _shown(kind)))
    if thinking.get("budget_tokens") is not None:
        budgets.append(_budget(thinking["budget_tokens"], "thinking.budget_tokens"))


def _reasoning_object(reasoning: Any, efforts: EffortTable, switches: list[Claim], budgets: list[Claim],
                      levels: list[Claim], excludes: list[Claim]) -> None:
    if not isinstance(reasoning, Mapping):
        raise ApiError(400, "reasoning must be an object such as {\"effort\": \"low\"} or {\"max_tokens\": 256}, "
                            f"got {type(reasoning).__name__}.", param="reasoning")
    if reasoning.get("enabled") is not None:
        switches.append(_switch(reasoning["enabled"], "reasoning.enabled"))
    if reasoning.get("effort") is not None:
        levels.append(_level(reasoning["effort"], "reasoning.effort", efforts))
    if reasoning.get("max_tokens") is not None:
        budgets.append(_budget(reasoning["max_tokens"], "reasoning.max_tokens"))
    if reasoning.get("exclude") is not None:
        excludes.append(_switch(reasoning["exclude"], "reasoning.exclude"))


def _switch(value: Any, field: str) -> Claim:
    if isinstance(value, bool):
        return field, value, _shown(value)
    raise ApiError(400, f"{field} must be true or false, got {_shown_any(value)}.", param=field)


def _budget(value: Any, field: str) -> Claim:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return field, value, str(value)
    raise ApiError(400, f"{field} must be a whole number of tokens >= 0, got {_shown_any(value)}.", param=field)


def _level(value: Any, field: str, efforts: EffortTable) -> Claim:
    if isinstance(value, str) and value in efforts:
        return field, value, _shown(value)
    raise ApiError(400, f"{field} must be one of {', '.join(efforts)}, got {_shown_any(value)}.", param=field)


def _shown_any(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_efforts(text: str, base: EffortTable | None = None) -> dict[str, EffortLevel]:
    """The effort table of ``--reasoning-effort-budgets``: ``LEVEL=VALUE`` pairs separated by commas.

    VALUE is a token budget (``low=256``), ``unlimited`` or ``none`` (thinking on, no cap), or
    ``off`` (thinking off). Levels not named keep ``base`` (default: :data:`DEFAULT_EFFORTS`); a
    new name adds a level (``xhigh=8192``). ValueError says what was wrong.
    """
    table = dict(DEFAULT_EFFORTS if base is None else base)
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        level, sep, value = (s.strip() for s in item.partition("="))
        if not sep or not level or not value:
            raise ValueError(f"expected LEVEL=VALUE pairs such as low=256,high=unlimited; got {item!r}")
        value = value.lower()
        if value == "off":
            table[level] = EffortLevel(thinking=False)
        elif value in ("none", "unlimited"):
            table[level] = EffortLevel(thinking=True)
        else:
            try:
                budget = int(value)
            except ValueError:
                raise ValueError(f"{level}={value}: the value must be a token budget (an integer >= 0), "
                                 "'unlimited' or 'off'") from None
            if budget < 0:
                raise ValueError(f"{level}={budget}: a budget must be >= 0")
            table[level] = EffortLevel(thinking=True, budget=budget)
    return table


def format_efforts(efforts: EffortTable) -> str:
    """``none=off, minimal=64, ...``: the table as start-up prints it."""
    return ", ".join(f"{level}={spec.describe()}" for level, spec in efforts.items())


def sent_fields(request: Any) -> dict[str, Any]:
    """The fields a pydantic request model was sent with (declared and extra), for :func:`resolve_controls`."""
    sent = {name: getattr(request, name) for name in request.model_fields_set}
    sent.update(request.model_extra or {})
    return sent
