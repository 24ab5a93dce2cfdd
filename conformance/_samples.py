"""Outputs to feed parsers, built from their markers, and the contexts requests start in."""

from __future__ import annotations

import random
from dataclasses import dataclass

from reasoning_plugins import Capability, Mode
from reasoning_plugins.protocol import ChatCompletionRequest

from ._subject import Context, Markers, Subject

__all__ = ["Sample", "adversarial", "contexts", "structured", "words"]

# Realistic reasoning vocabulary; none of it contains a marker's first or last character for
# the usual angle-bracket or square-bracket markers (words with such characters are dropped).
_WORDS = (
    "the of and to in is that for it as was with be by on not this are or from at which but have "
    "an they you were their one all we can has there been if more when will would so no what up "
    "out about into than them only other time could also two first then any like these its over "
    "now may such after most must because well where through each between both under same while "
    "let me think step first compute answer check again number value result equation sum total "
    "therefore so the user asks wait hmm actually maybe consider case assume suppose then since "
    "x y z 2 3 4 7 10 42 100 3.14 = + - * / ( ) , . ; : ! ? ' \" % $ # @ & _ ~ ` "
).split()
_UNICODE_WORDS = ("café", "naïve", "Straße", "数学", "答案", "πr²", "Ω", "😀", "🧠", "👩‍💻", "мир", "مرحبا", "∑", "→", "é", "ﬁ")
_TOOL_JSON = '\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n'


@dataclass(frozen=True, slots=True)
class Sample:
    """One model output. ``structured``: markers only where they act as markers."""

    name: str
    text: str
    structured: bool = True


def _clean(word: str, avoid: frozenset[str]) -> bool:
    return not (set(word) & avoid)


def words(rng: random.Random, count: int, avoid: frozenset[str] = frozenset(), unicode: bool = False) -> str:
    """``count`` words of realistic text with spaces, punctuation and the odd newline."""
    pool = [w for w in _WORDS if _clean(w, avoid)]
    if unicode:
        pool += [w for w in _UNICODE_WORDS if _clean(w, avoid)]
    out = []
    for index in range(count):
        out.append(rng.choice(pool))
        if index + 1 < count:
            out.append("\n" if rng.random() < 0.06 else " ")
    return "".join(out)


def structured(markers: Markers, seed: int = 0) -> list[Sample]:
    """Well-formed outputs: markers only where they act as markers, body text free of their edges."""
    rng = random.Random(seed)
    avoid = markers.edge_chars
    r1, r2 = words(rng, 12, avoid), words(rng, 7, avoid)
    c1, c2 = words(rng, 9, avoid), words(rng, 5, avoid)
    ru, cu = words(rng, 10, avoid, unicode=True), words(rng, 8, avoid, unicode=True)
    long_r = words(rng, 90, avoid, unicode=True)
    S, E = markers.start, markers.end
    out = [
        Sample("typical", f"{r1}\n{E}\n\n{c1}"),
        Sample("tight", f"{r1}{E}{c1}"),
        Sample("spaced", f"{r1} {E} {c1}"),
        Sample("paragraphs", f"{r1}\n\n{r2}\n{E}\n\n{c1}\n\n{c2}"),
        Sample("unicode", f"{ru}\n{E}\n\n{cu}"),
        Sample("long", f"{long_r}\n{E}\n\n{c1}"),
        Sample("truncated", f"{r1} {r2}"),
        Sample("ends-at-end-marker", f"{r1}\n{E}"),
        Sample("ends-after-end-marker", f"{r1}\n{E}\n\n"),
        Sample("empty-block", f"{E}\n\n{c1}"),
        Sample("empty-block-tight", f"{E}{c1}"),
        Sample("leading-newlines", f"\n\n{r1}\n{E}\n\n{c1}"),
    ]
    if S:
        out += [
            Sample("start-in-output", f"{S}\n{r1}\n{E}\n\n{c1}"),
            Sample("start-tight", f"{S}{r1}{E}{c1}"),
            Sample("start-truncated", f"{S}\n{r1}"),
            Sample("start-empty-block", f"{S}{E}{c1}"),
            Sample("start-blank-block", f"{S}\n\n{E}\n\n{c1}"),
        ]
    if S and markers.start_label:
        L = markers.start_label
        out += [
            Sample("start-label", f"{S}{L}{r1}\n{E}\n\n{c1}"),
            Sample("start-label-truncated", f"{S}{L[:-1]}"),
            Sample("label-first", f"{L}{r1}\n{E}\n\n{c1}"),
        ]
    if markers.content_wrapper:
        opener, closer = markers.content_wrapper
        out += [
            Sample("wrapped", f"{r1}\n{E}\n\n{opener}\n{c1}\n{closer}\n"),
            Sample("wrapped-tight", f"{r1}{E}{opener}{c1}{closer}"),
            Sample("wrapped-truncated", f"{r1}\n{E}\n\n{opener}\n{c1}"),
            Sample("wrapped-then-text", f"{r1}\n{E}\n\n{opener}\n{c1}\n{closer}\n\n{c2}"),
        ]
    for marker in markers.implicit_ends:
        out += [
            Sample(f"implicit-end {marker}", f"{r1}\n{marker}{_TOOL_JSON}"),
            Sample(f"end-then {marker}", f"{r1}\n{E}\n\n{marker}{_TOOL_JSON}"),
        ]
    return out


def content_samples(markers: Markers | None, seed: int = 0) -> list[Sample]:
    """Outputs of a request whose thinking is off: no markers at all."""
    rng = random.Random(seed + 1)
    avoid = markers.edge_chars if markers else frozenset()
    return [
        Sample("answer", words(rng, 14, avoid)),
        Sample("answer-unicode", words(rng, 10, avoid, unicode=True)),
        Sample("answer-newlines", "\n\n" + words(rng, 8, avoid) + "\n"),
    ]


def adversarial(markers: Markers | None, seed: int = 0) -> list[Sample]:
    """Outputs meant to trip scanners: marker fragments, repeats, near misses, odd unicode."""
    rng = random.Random(seed + 2)
    r, c = words(rng, 6), words(rng, 5)
    out = [
        Sample("empty", "", False),
        Sample("space", " ", False),
        Sample("newlines", "\n\n\n", False),
        Sample("crlf", f"{r}\r\n{c}\r\n", False),
        Sample("odd-unicode", "e\u0301 \u200d\ufeff\u2028 \U0001d518\U0001d52b \u0000 👩‍💻 مرحبا \U0010ffff", False),
    ]
    if markers is None:
        return out
    S, E = markers.start, markers.end
    for marker in markers.every:
        for k in range(1, len(marker)):
            frag = marker[:k]
            out.append(Sample(f"ends with {frag!r}", f"{r} {frag}", False))
            out.append(Sample(f"false start {frag!r}", f"{r}{frag}{c}", False))
        out += [
            Sample(f"fragment then {marker!r}", f"{r}{marker[:-1]}{marker}{c}", False),
            Sample(f"doubled {marker!r}", f"{r}{marker}{marker}{c}", False),
            Sample(f"repeated {marker!r}", f"{r}{marker}{c}{marker}{r}", False),
            Sample(f"only {marker!r}", marker, False),
            Sample(f"upper {marker!r}", f"{r}{marker.upper()}{c}", False),
            Sample(f"tail {marker[1:]!r}", f"{r}{marker[1:]}{c}", False),
            Sample(f"newline inside {marker!r}", f"{r}{marker[:2]}\n{marker[2:]}{c}", False),
        ]
    if S:
        out += [
            Sample("start after end", f"{r}{E}{S}{c}", False),
            Sample("start twice", f"{S}{S}{r}{E}{c}", False),
            Sample("spaces before start", f"  \n{S}{r}{E}{c}", False),
            Sample("text before start", f"{c}{S}{r}{E}{c}", False),
        ]
    if S and markers.start_label:
        L = markers.start_label
        out += [
            Sample("label cut short", f"{S}{L[:-1]}{r}{E}{c}", False),
            Sample("label twice", f"{S}{L}{L}{r}{E}{c}", False),
            Sample("label after end", f"{r}{E}{L}{c}", False),
        ]
    if markers.content_wrapper:
        opener, closer = markers.content_wrapper
        out += [
            Sample("wrapper without end", f"{opener}{r}{closer}", False),
            Sample("close before open", f"{r}{E}{closer}{c}{opener}", False),
            Sample("wrapper split", f"{r}{E}\n{opener[:3]}\n{opener[3:]}{c}", False),
        ]
    return out


# -- contexts ---------------------------------------------------------------------------------

PROMPT = "<|im_start|>user\nWhat is 6 times 7?<|im_end|>\n<|im_start|>assistant\n"


def _request(**kwargs: object) -> ChatCompletionRequest:
    return ChatCompletionRequest(messages=[{"role": "user", "content": "What is 6 times 7?"}], **kwargs)


def _switch_request(on: bool) -> ChatCompletionRequest:
    return _request(
        chat_template_kwargs={
            "enable_thinking": on,
            "thinking": on,
            "options": {"thinking_mode": "open" if on else "close"},
            "reasoning_effort": "high" if on else "none",
        }
    )


def _thinking_on_start(subject: Subject) -> str | None:
    fmt = subject.format
    if fmt is None:
        return None
    return "await" if fmt.thinking_on_mode() is Mode.AWAIT_START else "reasoning"


def _default_start(subject: Subject) -> str | None:
    fmt = subject.format
    if fmt is None:
        return None
    return {Mode.REASONING: "reasoning", Mode.AWAIT_START: "await" if fmt.start else "reasoning"}.get(
        fmt.default_mode, "content"
    )


@dataclass(frozen=True, slots=True)
class Started:
    """A context and where the output starts in it: reasoning, await (a start marker may come),
    content, or None when the parser does not say."""

    ctx: Context
    starts: str | None


def contexts(subject: Subject) -> list[Started]:
    """Every way a request can start that this parser declares it understands."""
    markers = subject.markers
    tokenizer = subject.tokenizer
    found = [Started(Context("default", request=_request()), _default_start(subject))]
    start = markers.start if markers else None
    if subject.has(Capability.START_IN_PROMPT) and start:
        opened = PROMPT + start + "\n"
        found.append(Started(Context("prompt opened (text)", request=_request(), prompt_text=opened), "reasoning"))
        ids = subject.single_token_ids()
        if tokenizer is not None and start in ids:
            prompt_ids = tuple(tokenizer.encode(opened, add_special_tokens=False))
            found.append(
                Started(Context("prompt opened (ids)", request=_request(), prompt_token_ids=prompt_ids), "reasoning")
            )
        closed = PROMPT + start + "\n\n" + markers.end + "\n\n"  # type: ignore[union-attr]
        found.append(Started(Context("prompt closed (text)", request=_request(), prompt_text=closed), "content"))
    if subject.has(Capability.THINKING_SWITCH):
        found.append(Started(Context("thinking off", request=_switch_request(False)), "content"))
        found.append(Started(Context("thinking on", request=_switch_request(True)), _thinking_on_start(subject)))
    if subject.has(Capability.MODES):
        found.append(Started(Context("mode=reasoning", request=_request(), mode="reasoning"), "reasoning"))
        found.append(Started(Context("mode=content", request=_request(), mode="content"), "content"))
        found.append(Started(Context("model_status=think_start", request=_request(), mode="think_start"), "reasoning"))
        if start:
            found.append(Started(Context("mode=await_start", request=_request(), mode="await_start"), "await"))
        if markers and markers.content_wrapper:
            found.append(
                Started(Context("model_status=response_start", request=_request(), mode="response_start"), "response")
            )
        if markers and markers.implicit_ends:
            found.append(
                Started(Context("model_status=tool_call_start", request=_request(), mode="tool_call_start"), "tool")
            )
    return found


def samples_for(subject: Subject, started: Started, seed: int = 0) -> list[Sample]:
    """Structured outputs that make sense where the context starts.

    When the parser does not say where output starts, only outputs that open reasoning with the
    start marker are unambiguous (a format without a start marker always begins in reasoning).
    """
    markers = subject.markers
    if markers is None:
        return content_samples(None, seed)
    every = structured(markers, seed)
    if started.starts in ("reasoning",):
        return every
    if started.starts == "await":
        return ([s for s in every if markers.start and s.text.startswith(markers.start)] + content_samples(markers, seed)
                + stray_end_samples(markers, seed, spaced=True))
    if started.starts is None:
        if markers.start:
            return [s for s in every if s.text.startswith(markers.start)]
        return every
    if started.starts == "content":
        return content_samples(markers, seed) + stray_end_samples(markers, seed, spaced=False)
    return content_samples(markers, seed)


def stray_end_samples(markers: Markers, seed: int = 0, *, spaced: bool) -> list[Sample]:
    """Replies opened by a stray end marker, for formats where it is markup there (``leading_end``);
    ``spaced``: whitespace before it too (markup where output waits for the start marker)."""
    if not markers.leading_end:
        return []
    rng = random.Random(seed + 3)
    answer = words(rng, 9, markers.edge_chars)
    E = markers.end
    out = [Sample("stray-end", f"{E}{answer}"), Sample("stray-end-newlines", f"{E}\n\n{answer}"), Sample("stray-end-only", E)]
    if spaced:
        out.append(Sample("stray-end-after-whitespace", f"\n {E}{answer}"))
    return out
