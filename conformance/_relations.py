"""Relations between an output and its split that hold for every correct parser."""

from __future__ import annotations

import re

from reasoning_plugins import Capability

from ._drive import Split
from ._subject import Markers, Subject

__all__ = ["content_ids_problem", "may_end_inside_marker", "pass_through_problem", "rebuild_problem", "trim_allowances"]

UNBOUNDED = -1


def trim_allowances(subject: Subject) -> dict[str, tuple[int, int]]:
    """Newlines a parser may drop before/after each removed marker (-1: any number)."""
    markers = subject.markers
    assert markers is not None
    fmt = subject.format
    allow = {marker: (0, 0) for marker in markers.removed}
    if fmt is not None:
        after_end = UNBOUNDED if fmt.trim_content_leading_newlines else 0
        allow[fmt.end] = (1 if fmt.trim_newline_before_end else 0, after_end)
        if fmt.content_wrapper:
            opener, closer = fmt.content_wrapper
            wrap = 1 if fmt.trim_wrapper_newlines else 0
            allow[opener] = (0, wrap)
            allow[closer] = (wrap, UNBOUNDED if fmt.trim_content_leading_newlines else 0)
    elif subject.has(Capability.TRIMS):
        allow = {marker: (UNBOUNDED, UNBOUNDED) for marker in markers.removed}
    return allow


def _marker_regex(markers: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True)))


def _newlines(count: int, allowance: int) -> str:
    if count == 0:
        return ""
    low = 0 if allowance == UNBOUNDED else max(0, count - allowance)
    return f"\n{{{low},{count}}}"


def rebuild_problem(output: str, split: Split, subject: Subject, starts: str | None = None) -> str | None:
    """None when reasoning + content is ``output`` with some removed markers (and the newlines
    the parser declares as markup next to them) taken out; otherwise what went wrong.

    ``starts="content"``: the output begins where content begins after the end marker (thinking
    was closed by the prompt or the request), so the end marker's trims apply at its start."""
    markers = subject.markers
    assert markers is not None
    allow = trim_allowances(subject)
    removed = markers.removed
    pieces: list[tuple[str, str]] = []  # ("text", s) or ("marker", m)
    last = 0
    label = markers.start_label
    if label and markers.start:
        # the label goes with the start marker, and at the start of output that begins in reasoning
        removed = (*removed, markers.start + label)
        allow[markers.start + label] = allow.get(markers.start, (0, 0))
        if starts == "reasoning" and output.startswith(label):
            pieces.append(("text", ""))
            pieces.append(("marker", label))
            allow[label] = allow.get(markers.start, (0, 0))
            last = len(label)
    for match in _marker_regex(removed).finditer(output, last):
        pieces.append(("text", output[last : match.start()]))
        pieces.append(("marker", match.group()))
        last = match.end()
    pieces.append(("text", output[last:]))
    pattern = []
    for index, (kind, value) in enumerate(pieces):
        if kind == "marker":
            pattern.append(f"(?:{re.escape(value)})?")
            continue
        before = pieces[index - 1][1] if index > 0 else None
        after = pieces[index + 1][1] if index + 1 < len(pieces) else None
        if before:
            lead_allow = allow[before][1]
        else:
            lead_allow = allow[markers.end][1] if starts == "content" else 0
        tail_allow = allow[after][0] if after else 0
        core = value
        lead = len(core) - len(core.lstrip("\n")) if lead_allow else 0
        core = core[lead:]
        tail = len(core) - len(core.rstrip("\n")) if tail_allow else 0
        core = core[: len(core) - tail] if tail else core
        pattern.append(_newlines(lead, lead_allow) + re.escape(core) + _newlines(tail, tail_allow))
    rebuilt = split.text
    if re.fullmatch("".join(pattern), rebuilt, flags=re.DOTALL):
        return None
    stripped = output.lstrip()
    if starts == "await" and stripped != output and any(
        stripped.startswith(m) for m in (markers.start, markers.end if markers.leading_end else None) if m
    ):
        # whitespace before the marker that decides an output awaiting its start marker is markup
        return rebuild_problem(stripped, split, subject, starts)
    return f"reasoning + content {rebuilt!r} is not the output {output!r} minus its markers"


def pass_through_problem(output: str, split: Split, subject: Subject) -> str | None:
    """None when a pass-through parser's split of ``output`` is what it promises: no reasoning,
    and content exactly its ``content_prefix`` followed by the output."""
    want = Split.of("", (subject.pass_through or "") + output)
    if split == want:
        return None
    return f"gave {split}; a pass-through parser promises {want}"


def content_ids_problem(decoded: str, content: str | None, subject: Subject) -> str | None:
    """None when content token ids that decode to ``decoded`` carry the parser's ``content``.

    A tool-call opener that is several tokens of the tokenizer ends reasoning on the token that
    completes it: the tokens spelling its start were reasoning to the id methods by then, so
    the content ids may lack a proper start of it (and nothing else).
    """
    problem = rebuild_problem(decoded, Split(None, content), subject, "content")
    if problem is None or not content:
        return problem
    markers = subject.markers
    assert markers is not None
    single = subject.single_token_ids()
    for marker in markers.implicit_ends:
        if marker in single or not content.startswith(marker):
            continue
        for cut in range(1, len(marker)):
            if decoded.startswith(marker[cut:]) and rebuild_problem(decoded, Split(None, content[cut:]), subject, "content") is None:
                return None
    return problem


def may_end_inside_marker(text: str, markers: Markers) -> bool:
    """True when the end of ``text`` could still grow into a marker (or is whitespace a format
    may treat as markup), so a parser may rightly hold it back."""
    if not text or text[-1].isspace():
        return True
    label = markers.start_label
    if label and markers.start:
        for k in range(1, len(label)):
            if text.endswith(markers.start + label[:k]) or text == label[:k]:
                return True
    for marker in markers.every:
        for k in range(1, len(marker)):
            if text.endswith(marker[:k]):
                return True
    return False
