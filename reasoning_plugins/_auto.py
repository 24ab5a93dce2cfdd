"""``--reasoning-parser auto``: choose the parser from the model's own files, and say why.

Two sources of evidence, in order:

1. the tokenizer's ``response_template`` (transformers' declarative output format, read by
   ``tokenizer.parse_response``): the reasoning field's ``open``/``close`` literals and the
   content field's wrapper give a :class:`ReasoningFormat` directly; an installed parser with the
   same markers is preferred (it also knows the request switches), else a parser built from the
   template is used;
2. the chat template: every installed declarative parser is matched against the template's text,
   its rendered generation prompt (what it prefills) and the request switches it reads.

Parsers that fit equally well and would split every output of this template the same way are
equivalent; the first registered wins and the others are named in the reason. Anything else
that ties is an :class:`AutoParserError` listing the candidates and what matched: ``auto`` never
guesses silently.

The reverse direction is here too: :func:`response_template_from_format` writes a format as a
``response_template`` a model author can put in ``tokenizer_config.json``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from ._errors import ReasoningPluginsError
from ._format import ReasoningFormat
from ._host import PARSER, current_host
from ._modes import Mode
from ._parser import Capability, DeclarativeParser

__all__ = [
    "AutoChoice",
    "AutoParserError",
    "choose_parser",
    "format_from_response_template",
    "parser_from_response_template",
    "response_template_from_format",
    "unexported_features",
]

AUTO = "auto"
_REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")


class AutoParserError(ReasoningPluginsError, LookupError):
    """``auto`` found no parser, or several that would split this model's output differently."""

    def __str__(self) -> str:  # LookupError would repr() a single argument
        return self.args[0]


@dataclass(frozen=True, slots=True)
class AutoChoice:
    """The parser ``auto`` chose: its registered name (None when built from a
    ``response_template`` no installed parser matches), its class, and a one-line reason."""

    name: str | None
    parser_class: type
    reason: str


# -- response_template -> ReasoningFormat --------------------------------------------------------


def _literal(field: dict[str, Any], key: str, scope: str) -> str | None:
    """The literal marker of ``field[key]`` (or of an ``*_pattern`` that is an escaped literal)."""
    if key in field:
        value = field[key]
        if isinstance(value, list):
            if len(value) != 1:
                raise ValueError(f"{scope}: {key!r} lists {len(value)} alternatives {value}; "
                                 "a reasoning parser needs one marker")
            value = value[0]
        if not isinstance(value, str) or not value:
            raise ValueError(f"{scope}: {key!r} must be a non-empty string, got {value!r}")
        return value
    pattern = field.get(f"{key}_pattern")
    if pattern is None:
        return None
    # Accept a literal written as a pattern, with the leading \s* transformers' own templates use.
    body = re.sub(r"^(\\s\*)+", "", pattern)
    if re.search(r"(?<!\\)[()\[\]{}|*+?^$.]|\\[sSdDwWbBAZ]", body):
        raise ValueError(f"{scope}: {key}_pattern {pattern!r} is a regular expression; a reasoning "
                         f"parser needs a literal marker (use {key!r})")
    unescaped = re.sub(r"\\(.)", r"\1", body)
    return unescaped or None


def format_from_response_template(template: dict[str, Any]) -> ReasoningFormat:
    """The :class:`ReasoningFormat` a ``response_template`` describes.

    The reasoning field (``reasoning_content``) gives the start and end markers; a content field
    with both ``open`` and ``close`` gives a content wrapper. As in transformers, reasoning is
    open only once its start marker is seen, in the prompt's tail (a template that prefills
    ``<think>``) or in the output. Tool-call fields are left to the tool-call parser.
    """
    if not isinstance(template, dict) or not isinstance(template.get("fields"), dict):
        raise ValueError("a response_template is a dict with a 'fields' dict, as in tokenizer_config.json")
    fields = template["fields"]
    name = next((n for n in _REASONING_FIELDS if n in fields), None)
    if name is None:
        raise ValueError(f"the response_template has no reasoning field (one of {', '.join(_REASONING_FIELDS)}); "
                         f"its fields are: {', '.join(fields) or '(none)'}")
    reasoning = fields[name]
    scope = f"response_template field {name!r}"
    end = _literal(reasoning, "close", scope)
    if end is None:
        raise ValueError(f"{scope} has no 'close' marker, so reasoning would never end")
    start = _literal(reasoning, "open", scope)
    wrapper = None
    content = fields.get("content")
    if isinstance(content, dict):
        opener = _literal(content, "open", "response_template field 'content'")
        closer = _literal(content, "close", "response_template field 'content'") if opener else None
        if opener and closer:
            wrapper = (opener, closer)
    return ReasoningFormat(
        start=start,
        end=end,
        start_in_output=start is not None,
        # Without a start marker the model starts reasoning at once (the template opened it).
        default_mode=Mode.AWAIT_START if start is not None else Mode.REASONING,
        content_wrapper=wrapper,
    )


def parser_from_response_template(template: dict[str, Any], name: str = "response-template") -> type:
    """A :class:`DeclarativeParser` subclass for the format a ``response_template`` describes."""
    fmt = format_from_response_template(template)
    class_name = "".join(p.capitalize() for p in re.split(r"[^0-9A-Za-z]+", name) if p) + "ReasoningParser"
    return type(class_name, (DeclarativeParser,), {
        "format": fmt, "__module__": __name__,
        "__doc__": f"{name}: built from a response_template ({fmt.start!r} ... {fmt.end!r}).",
    })


# -- ReasoningFormat -> response_template -------------------------------------------------------


def response_template_from_format(fmt: ReasoningFormat, *, start_anchor: str | None = None) -> dict[str, Any]:
    """``fmt`` as a transformers ``response_template`` (version 1) for ``tokenizer_config.json``.

    ``start_anchor`` is the text that begins the assistant's turn in the prompt (for example
    ``"<|im_start|>assistant\\n"``); transformers parses from the last one. Without it, the
    anchor is a pattern placed right before a start marker that ends the prompt (a prefilled
    ``<think>``), else at the prompt's end, which suits any chat template.
    """
    if fmt.start is None:
        raise ValueError("a format without a start marker cannot be written as a response_template: "
                         "transformers opens reasoning only at its start marker")
    reasoning: dict[str, Any] = {"open": fmt.start, "close": fmt.end, "content": "text"}
    content: dict[str, Any] = {"content": "text"}
    fields: dict[str, Any] = {"reasoning_content": reasoning}
    if fmt.content_wrapper:
        content = {"open": fmt.content_wrapper[0], "close": fmt.content_wrapper[1], "content": "text"}
    fields["content"] = content
    template: dict[str, Any] = {"version": 1, "defaults": {"role": "assistant"}, "fields": fields}
    if start_anchor is not None:
        template["start_anchor"] = start_anchor
    else:
        start = re.escape(fmt.start)
        template["start_anchor_pattern"] = rf"(?={start}\s*\Z)|\Z(?<!{start}\s*)"
    return template


def unexported_features(fmt: ReasoningFormat) -> list[str]:
    """What of ``fmt`` a ``response_template`` cannot carry (it then splits differently there)."""
    lost = []
    if fmt.implicit_ends:
        lost.append(f"implicit ends {', '.join(fmt.implicit_ends)} (reasoning ends there)")
    for trim in ("trim_newline_before_end", "trim_content_leading_newlines", "trim_wrapper_newlines"):
        if getattr(fmt, trim):
            lost.append(trim)
    if fmt.switches:
        lost.append(f"request switches {', '.join(fmt.switches)} (the chat template applies them)")
    if fmt.thinking_off_values:
        values = ", ".join(f"{field}={value!r}" for field, value in fmt.thinking_off_values)
        lost.append(f"request values that turn thinking off: {values} (the chat template applies them)")
    if fmt.leading_end_is_markup:
        lost.append(f"leading_end_is_markup (a stray {fmt.end} opening a reply stays in the content)")
    return lost


# -- chat template -> installed parser ----------------------------------------------------------


@dataclass(slots=True)
class _Candidate:
    name: str
    parser_class: type
    fmt: ReasoningFormat
    order: int
    matched: list[str]
    score: tuple[int, ...] = ()
    excluded: str | None = None


def _chat_template(tokenizer: Any) -> str | None:
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):  # named templates: the default one
        template = template.get("default") or next(iter(template.values()), None)
    return template if isinstance(template, str) and template else None


def _response_template(tokenizer: Any) -> dict[str, Any] | None:
    template = getattr(tokenizer, "response_template", None)
    if template is None:
        template = (getattr(tokenizer, "init_kwargs", None) or {}).get("response_template")
    return template if isinstance(template, dict) else None


def _added_tokens(tokenizer: Any) -> set[str]:
    get = getattr(tokenizer, "get_added_vocab", None)
    try:
        return set(get()) if get is not None else set()
    except Exception:  # a tokenizer without added tokens may raise; treat as none
        return set()


def _template_switches(template: str, known: set[str]) -> set[str]:
    """The request switches (``enable_thinking``, ...) the chat template reads."""
    found = set()
    try:
        import jinja2
        from jinja2 import meta

        variables = meta.find_undeclared_variables(jinja2.Environment().parse(template))
    except Exception:  # no jinja2, or a template jinja2 alone cannot parse: fall back to text
        variables = {s for s in known if re.search(rf"(?<![\w'\".]){re.escape(s)}(?![\w'\"])", template)}
    for switch in known:
        if switch in variables or re.search(rf"\.{re.escape(switch)}\b|\[['\"]{re.escape(switch)}['\"]\]", template):
            found.add(switch)
    return found


def _generation_prompt(tokenizer: Any, **kwargs: Any) -> str | None:
    """What the template writes after a user turn for the assistant (its tail is what it prefills)."""
    apply = getattr(tokenizer, "apply_chat_template", None)
    if apply is None:
        return None
    try:
        text = apply([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True, **kwargs)
    except Exception:  # a template that needs more context than one user turn
        return None
    if not isinstance(text, str):
        return None
    cut = text.rfind("Hi")
    return text[cut + 2:] if cut >= 0 else text


def _installed() -> list[_Candidate]:
    host = current_host()
    found = []
    for order, name in enumerate(host.names_in_order(PARSER)):
        try:
            cls = host.resolve(PARSER, name)
        except ReasoningPluginsError:
            continue  # a duplicate or a failed plugin: `reasoning-plugins list` reports it
        fmt = getattr(cls, "format", None)
        # a pass-through parser returns no reasoning section whatever the template: a choice of
        # output layout a template cannot make
        if isinstance(fmt, ReasoningFormat) and Capability.PASS_THROUGH not in getattr(cls, "capabilities", ()):
            found.append(_Candidate(name, cls, fmt, order, []))
    return found


def _judge(c: _Candidate, template: str, added: set[str], switches: set[str], prompt: str | None,
           start_markers: set[str]) -> None:
    fmt = c.fmt
    for marker in fmt.markers:
        if marker in template or (prompt and marker in prompt):
            c.matched.append(f"{marker} in the template")
        elif marker == fmt.end and marker in added:
            c.matched.append(f"{marker} a special token")
        else:
            c.excluded = f"{marker} is neither in the chat template nor a special token"
            return
    missing = switches - set(fmt.switches)
    if missing:
        c.excluded = f"does not honour the template's switch {', '.join(sorted(missing))}"
        return
    if switches:
        c.matched.append(f"switch {', '.join(sorted(switches))}")
    tail = (prompt or "").rstrip()
    prefilled = next((m for m in start_markers if tail.endswith(m)), None)
    if prefilled is not None and fmt.start != prefilled:
        c.excluded = f"the generation prompt prefills {prefilled} but the format starts with {fmt.start}"
        return
    prefill_agrees = 0
    if fmt.start is not None and prompt is not None:
        prefill_agrees = int((prefilled is not None) != fmt.start_in_output)
        if prefill_agrees:
            c.matched.append(f"generation prompt prefills {fmt.start}" if prefilled
                             else f"the model writes {fmt.start} itself")
    closed = prompt is not None and fmt.end in prompt
    default_agrees = int((fmt.default_mode is Mode.CONTENT) == closed)
    in_text = sum(1 for m in fmt.markers if m in template)
    c.score = (prefill_agrees, default_agrees, in_text)


def _equivalent(a: ReasoningFormat, b: ReasoningFormat, prefilled: bool) -> bool:
    """Split every output of this template the same way (switches the template never sends aside)."""
    def norm(f: ReasoningFormat) -> ReasoningFormat:
        f = dataclasses.replace(f, switches=())
        return dataclasses.replace(f, default_mode=Mode.REASONING) if prefilled else f
    return norm(a) == norm(b)


def _by_response_template(template: dict[str, Any]) -> AutoChoice:
    fmt = format_from_response_template(template)
    marks = (fmt.start, fmt.end, fmt.content_wrapper)
    same = [c for c in _installed()
            if (c.fmt.start, c.fmt.end, c.fmt.content_wrapper) == marks and not c.fmt.implicit_ends
            and not (c.fmt.trim_newline_before_end or c.fmt.trim_content_leading_newlines
                     or c.fmt.trim_wrapper_newlines)]
    what = f"response_template: reasoning_content {fmt.start} ... {fmt.end}"
    if fmt.content_wrapper:
        what += f", content {fmt.content_wrapper[0]} ... {fmt.content_wrapper[1]}"
    if same:
        what += f" (same markers as installed: {', '.join(c.name for c in same)})"
    return AutoChoice(None, parser_from_response_template(template), f"{what}; a parser built from it")


def choose_parser(tokenizer: Any) -> AutoChoice:
    """The parser for the model ``tokenizer`` belongs to, and why; see the module docstring."""
    response_template = _response_template(tokenizer)
    if response_template is not None:
        return _by_response_template(response_template)
    template = _chat_template(tokenizer)
    if template is None:
        raise AutoParserError(
            "--reasoning-parser auto: the tokenizer has neither a response_template nor a chat_template, "
            "so there is nothing to choose from; name the parser (`reasoning-plugins list`) or add a "
            "response_template to tokenizer_config.json (`reasoning-plugins export NAME`)"
        )
    candidates = _installed()
    # a template that reads reasoning_effort may use it as a level (gpt-oss, K2-Horizon), not as
    # an on/off switch: it excludes no candidate
    known_switches = {s for c in candidates for s in c.fmt.switches} - {"reasoning_effort"}
    switches = _template_switches(template, known_switches)
    prompt = _generation_prompt(tokenizer)
    start_markers = {c.fmt.start for c in candidates if c.fmt.start}
    added = _added_tokens(tokenizer)
    for c in candidates:
        _judge(c, template, added, switches, prompt, start_markers)
    fitting = [c for c in candidates if c.excluded is None]
    if not fitting:
        near = sorted(candidates, key=lambda c: -len(c.matched))[:5]
        detail = "; ".join(f"{c.name}: {c.excluded}" for c in near)
        raise AutoParserError(
            f"--reasoning-parser auto: no installed parser fits this chat template (switches read: "
            f"{', '.join(sorted(switches)) or 'none'}; generation prompt ends {(prompt or '?')[-20:]!r}). "
            f"Closest: {detail}. Name the parser explicitly or add a response_template."
        )
    best_score = max(c.score for c in fitting)
    best = [c for c in fitting if c.score == best_score]
    best.sort(key=lambda c: c.order)
    chosen = best[0]
    prefilled = bool(prompt and chosen.fmt.start and prompt.rstrip().endswith(chosen.fmt.start))
    different = [c for c in best[1:] if not _equivalent(chosen.fmt, c.fmt, prefilled)]
    if different:
        listing = "; ".join(f"{c.name} ({', '.join(c.matched)})" for c in best)
        raise AutoParserError(
            f"--reasoning-parser auto: the chat template fits several parsers that split output "
            f"differently: {listing}. Name one with --reasoning-parser NAME."
        )
    reason = f"chat template: {', '.join(chosen.matched)}"
    if len(best) > 1:
        reason += f" (equivalent for this template: {', '.join(c.name for c in best[1:])})"
    return AutoChoice(chosen.name, chosen.parser_class, reason)
