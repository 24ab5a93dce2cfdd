"""Declarative reasoning formats, compiled into the phases of one incremental scanner.

Most reasoning formats differ only in their markers and a few trims, so a parser is usually a
:class:`ReasoningFormat` declaration. The scanner in ``_scanner.py`` runs the compiled phases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._modes import Mode

__all__ = ["ReasoningFormat"]

# Rule actions
END = 0  # reasoning ends; the marker is removed
DROP = 1  # a redundant start marker inside reasoning; removed
IMPLICIT_END = 2  # reasoning ends; the marker begins the content and stays in it
WRAP_CLOSE = 3  # the content wrapper closes; the marker is removed

REASONING = 0
CONTENT = 1


@dataclass(frozen=True, slots=True)
class ReasoningFormat:
    """What a model writes around its reasoning.

    end: the marker that closes reasoning (``</think>``).
    start: the marker that opens it, or None when the model never writes one.
    start_in_output: the model may write ``start`` itself (hybrid models) instead of the
        template prefilling it; when thinking is on, a written start marker is removed.
    default_mode: where output begins when neither the prompt nor the request decides.
    switches: request switches honoured: ``enable_thinking``, ``thinking``, ``thinking_mode``,
        ``reasoning_effort`` (off at ``none`` or ``no_think``, on at any other level).
    implicit_ends: markers that end reasoning without ``end`` and stay in the content
        (a tool-call opener); when one is the content wrapper's opener it is removed with it.
    content_wrapper: (open, close) markers wrapped around the content and removed from it,
        wherever the content begins: after ``end``, after an implicit end, or at the output's
        start when the model does not open reasoning (``AWAIT_START``) or thinking is off.
    trim_newline_before_end: one ``\\n`` right before ``end`` belongs to the markup.
    trim_content_leading_newlines: newlines right after ``end`` (and after the wrapper's close)
        belong to the markup.
    trim_wrapper_newlines: one ``\\n`` after the wrapper's open and before its close belong to it.
    start_label: text the model writes right after the start marker that belongs to it (Gemma 4's
        ``thought\\n`` channel label), removed where reasoning opens: after the start marker, or at
        the output's start when the output begins in reasoning.
    leading_end_is_markup: an end marker that opens output outside reasoning is markup, removed
        (MiniMax M3 renders earlier non-thinking turns with a bare ``</mm:think>`` and may open its
        reply with one): where the output waits for the start marker, at its first word
        (whitespace before it is markup too, as before a start marker); where it starts in
        content, as its very first text. Later end markers stay in the content.
    thinking_off_values: ``(field, value)`` pairs of request values that turn thinking off, read
        from ``chat_template_kwargs``, else the request's top-level field (DeepSeek V4's
        ``("reasoning_effort", "none")``); they decide before ``switches``. Values compare
        case-insensitively.
    """

    end: str = "</think>"
    start: str | None = "<think>"
    start_in_output: bool = False
    default_mode: Mode = Mode.REASONING
    switches: tuple[str, ...] = ()
    implicit_ends: tuple[str, ...] = ()
    content_wrapper: tuple[str, str] | None = None
    trim_newline_before_end: bool = False
    trim_content_leading_newlines: bool = False
    trim_wrapper_newlines: bool = False
    start_label: str | None = None
    leading_end_is_markup: bool = False
    thinking_off_values: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.end:
            raise ValueError("ReasoningFormat.end must be a non-empty marker such as '</think>'")
        for marker in (self.start, *self.implicit_ends, *(self.content_wrapper or ())):
            if marker is not None and not marker:
                raise ValueError("ReasoningFormat markers must be non-empty strings")
        if self.start is None and self.start_in_output:
            raise ValueError("start_in_output=True needs a start marker")
        if self.start_label is not None and (not self.start_label or self.start is None):
            raise ValueError("start_label must be a non-empty string, and needs a start marker")
        for pair in self.thinking_off_values:
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(v, str) and v for v in pair)):
                raise ValueError(
                    "thinking_off_values must be (field, value) pairs of non-empty strings, e.g. "
                    f"(('reasoning_effort', 'none'),); got {pair!r}"
                )

    @property
    def markers(self) -> tuple[str, ...]:
        """Every marker text the format uses."""
        found = [self.end, *self.implicit_ends]
        if self.start:
            found.append(self.start)
        if self.content_wrapper:
            found.extend(self.content_wrapper)
        return tuple(found)

    def thinking_on_mode(self) -> Mode:
        """Where output starts when the request (or template) has thinking on.

        Always inside reasoning, for hybrid formats too: whether the model writes the start
        marker (Qwen3, removed) or the template prefilled it (Qwen3-Thinking-2507, QwQ), the
        output is split at the end marker, streamed or not, prompt seen or not.
        """
        return Mode.REASONING


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    action: int
    marker_id: int | None  # id of the single-token marker inside the pattern, for id gating
    marker_text: str


@dataclass(slots=True)
class Phase:
    """A scanner phase: which section text goes to and which rules can fire."""

    name: str
    section: int
    rules: tuple[Rule, ...] = ()
    first_chars: str = ""
    max_len: int = 0
    prefixes_text: frozenset[str] = frozenset()
    prefixes_ids: frozenset[str] = frozenset()
    anchored: bool = False
    fast_path: bool = False  # a free phase: a delta without any rule's first character passes whole
    rule_ids: frozenset[int] = frozenset()  # marker ids of the rules (a delta carrying one is scanned)
    # single-token markers that move to another phase, by id: placed where their id arrived when
    # the engine never sends their text
    transitions: dict[int, Rule] = field(default_factory=dict)
    strip_newlines: bool = False
    openers: tuple[str, ...] = ()  # anchored: the wrapper's open alternatives, longest first
    next_phase: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class Program:
    fmt: ReasoningFormat
    phases: dict[str, Phase]
    start_id: int | None
    end_ids: frozenset[int]  # end marker and implicit ends, as single token ids
    end_id: int | None  # the end marker alone: what a prompt's tail is checked for
    marker_ids: frozenset[int]  # every marker that is a single token


def _prefixes(pattern: str, id_marker: str | None) -> set[str]:
    """Proper prefixes of ``pattern`` worth holding back.

    With id matching, a single-token marker arrives whole, so a prefix that cuts into it can
    never complete; only the text before the marker (a trimmed newline) is worth holding.
    """
    if id_marker is None:
        return {pattern[:k] for k in range(1, len(pattern))}
    before = pattern.index(id_marker)
    return {pattern[:k] for k in range(1, before + 1)}


def _free_phase(name: str, section: int, rules: list[Rule]) -> Phase:
    text_prefixes: set[str] = set()
    id_prefixes: set[str] = set()
    for rule in rules:
        text_prefixes |= _prefixes(rule.pattern, None)
        id_prefixes |= _prefixes(rule.pattern, rule.marker_text if rule.marker_id is not None else None)
    return Phase(
        name=name,
        section=section,
        rules=tuple(rules),
        first_chars="".join(sorted({r.pattern[0] for r in rules})),
        max_len=max((len(r.pattern) for r in rules), default=0),
        prefixes_text=frozenset(text_prefixes),
        prefixes_ids=frozenset(id_prefixes),
        fast_path=True,
        rule_ids=frozenset(r.marker_id for r in rules if r.marker_id is not None),
        transitions={
            r.marker_id: r
            for r in rules
            if r.marker_id is not None and r.action != DROP and r.pattern == r.marker_text
        },
    )


def compile_format(fmt: ReasoningFormat, token_ids: dict[str, int]) -> Program:
    """Compile ``fmt``; ``token_ids`` maps markers that are single tokens to their ids."""

    def rule(marker: str, action: int, newline_before: bool = False) -> list[Rule]:
        marker_id = token_ids.get(marker)
        out = []
        if newline_before:
            out.append(Rule("\n" + marker, action, marker_id, marker))
        out.append(Rule(marker, action, marker_id, marker))
        return out

    reason_rules = rule(fmt.end, END, fmt.trim_newline_before_end)
    if fmt.start:
        reason_rules += rule(fmt.start, DROP)
    for marker in fmt.implicit_ends:
        reason_rules += rule(marker, IMPLICIT_END)

    phases = {
        "reason": _free_phase("reason", REASONING, reason_rules),
        "content": Phase(name="content", section=CONTENT, fast_path=True),
        "await": Phase(name="await", section=CONTENT, anchored=True),
    }
    after_end = "content"
    if fmt.content_wrapper or fmt.trim_content_leading_newlines:
        openers: tuple[str, ...] = ()
        if fmt.content_wrapper:
            opener, closer = fmt.content_wrapper
            openers = (opener + "\n", opener) if fmt.trim_wrapper_newlines else (opener,)
            phases["wrapped"] = _free_phase(
                "wrapped", CONTENT, rule(closer, WRAP_CLOSE, fmt.trim_wrapper_newlines)
            )
        phases["content_pre"] = Phase(
            name="content_pre",
            section=CONTENT,
            anchored=True,
            strip_newlines=fmt.trim_content_leading_newlines,
            openers=openers,
        )
        phases["after_wrap"] = Phase(
            name="after_wrap", section=CONTENT, anchored=True,
            strip_newlines=fmt.trim_content_leading_newlines,
        )
        after_end = "content_pre"
    after_implicit = "content"
    if "wrapped" in phases:
        # content that begins without the end marker (an implicit end, or an output that does not
        # open reasoning): a wrapper's opener right there is markup (Cohere's <|START_TEXT|> when
        # the model skips <|END_THINKING|>); no newline there is
        phases["content_open"] = Phase(name="content_open", section=CONTENT, anchored=True, openers=openers)
        after_implicit = "content_open"
    phases["reason"].next_phase = {END: after_end, IMPLICIT_END: after_implicit}
    if fmt.start_label:
        # right after the start marker: the label, if the model writes it, is markup
        phases["label"] = Phase(name="label", section=REASONING, anchored=True, openers=(fmt.start_label,))
        phases["reason"].next_phase[DROP] = "label"
    if "wrapped" in phases:
        phases["wrapped"].next_phase = {WRAP_CLOSE: "after_wrap"}
    if fmt.leading_end_is_markup:
        # output that starts in content: a stray end marker as its first text is markup
        phases["lead"] = Phase(name="lead", section=CONTENT, anchored=True, next_phase={END: after_end})

    end_ids = {token_ids[m] for m in (fmt.end, *fmt.implicit_ends) if m in token_ids}
    return Program(
        fmt=fmt,
        phases=phases,
        start_id=token_ids.get(fmt.start) if fmt.start else None,
        end_ids=frozenset(end_ids),
        end_id=token_ids.get(fmt.end),
        marker_ids=frozenset(token_ids[m] for m in fmt.markers if m in token_ids),
    )


def initial_phase(program: Program, mode: Mode) -> str:
    phases = program.phases
    if mode is Mode.REASONING:
        return "label" if "label" in phases else "reason"
    if mode is Mode.AWAIT_START:
        return "await" if program.fmt.start else "reason"
    if mode is Mode.RESPONSE:
        return "wrapped" if "wrapped" in phases else "content"
    if mode is Mode.TOOL_CALL:
        return "content"
    if "lead" in phases:
        return "lead"
    return "content_pre" if "content_pre" in phases else "content"


def resolve_mode(
    fmt: ReasoningFormat,
    *,
    mode: Mode | None,
    request: Any,
    prompt_token_ids: Sequence[int] | None,
    prompt_text: str | None,
    start_id: int | None,
    end_ids: frozenset[int],
) -> Mode:
    """Explicit mode, then the prompt tail, then the request's switches, then the default."""
    from ._modes import mode_from_prompt_ids, mode_from_prompt_text, thinking_switch

    if mode is not None:
        return mode
    from_prompt = None
    if prompt_token_ids and (start_id is not None or end_ids):
        from_prompt = mode_from_prompt_ids(prompt_token_ids, start_id, end_ids)
    elif prompt_text:
        from_prompt = mode_from_prompt_text(prompt_text, fmt.start, fmt.end)
    if from_prompt is not None:
        return from_prompt
    switch = thinking_switch(request, fmt.switches, fmt.thinking_off_values)
    if switch is True:
        return fmt.thinking_on_mode()
    if switch is False:
        return Mode.CONTENT
    return fmt.default_mode
