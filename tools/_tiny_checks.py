"""Judge one completion of the tiny reasoning model: format and answer.

Used by the evaluation script and the tests. A completion is the token ids the model wrote after
the prompt (and after a forced end of reasoning, when one was inserted).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from _tiny_tasks import Sample

TOOL_CALL_RE = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.DOTALL)
NUMBER_RE = re.compile(r"-?\d+")


@dataclass(slots=True)
class Verdict:
    format_ok: bool
    correct: bool
    reasoning: str | None
    answer: str
    valid_json: bool | None = None  # for JSON answers and tool calls
    note: str = ""


def split_completion(text: str, thinking: bool) -> tuple[str | None, str, str]:
    """(reasoning, answer, problem) from the decoded completion (special tokens kept)."""
    if not text.endswith("<|im_end|>"):
        return None, text, "no <|im_end|> at the end"
    body = text[: -len("<|im_end|>")]
    if "<|im_end|>" in body or "<think>" in body or "<|im_start|>" in body:
        return None, body, "stray chat marker"
    if not thinking:
        if "</think>" in body:
            return None, body, "</think> with thinking disabled"
        return None, body, "" if body.strip() else "empty answer"
    if body.count("</think>") != 1:
        return None, body, f"{body.count('</think>')} </think> markers"
    reasoning, answer = body.split("</think>")
    if not answer.startswith("\n\n"):
        return reasoning, answer, "answer does not start with a blank line"
    answer = answer[2:]
    if not answer.strip():
        return reasoning, answer, "empty answer"
    return reasoning, answer, ""


def parse_tool_calls(answer: str) -> list[dict[str, Any]] | None:
    """The tool calls in ``answer``; None if a block is not valid JSON."""
    calls = []
    for block in TOOL_CALL_RE.findall(answer):
        try:
            calls.append(json.loads(block))
        except json.JSONDecodeError:
            return None
    return calls


def judge(sample: Sample, text: str, *, forced: bool = False) -> Verdict:
    """Check ``text`` (the decoded completion) against what ``sample`` expects.

    With ``forced`` the text starts right after a forced `</think>`: only the answer part follows.
    """
    if forced:
        body_ok = text.endswith("<|im_end|>") and text.count("<|im_end|>") == 1
        answer = text[: -len("<|im_end|>")] if body_ok else text
        problem = "" if body_ok and answer.startswith("\n\n") and "</think>" not in answer else "format"
        reasoning, answer = None, answer[2:] if answer.startswith("\n\n") else answer
    else:
        reasoning, answer, problem = split_completion(text, sample.enable_thinking)
        if sample.enable_thinking and not problem and not (reasoning or "").strip():
            problem = "empty reasoning"
    correct, valid_json, note = check_answer(sample, answer.strip())
    return Verdict(format_ok=not problem, correct=correct and not problem, reasoning=reasoning,
                   answer=answer, valid_json=valid_json, note=problem or note)


def check_answer(sample: Sample, answer: str) -> tuple[bool, bool | None, str]:
    """(correct, valid_json or None when not applicable, note)."""
    exp = sample.expected
    if sample.family == "arithmetic":
        numbers = NUMBER_RE.findall(answer)
        ok = bool(numbers) and int(numbers[-1]) == exp["number"]
        return ok, None, "" if ok else f"expected {exp['number']}"
    if sample.family == "comparison":
        return answer == sample.answer, None, "" if answer == sample.answer else f"expected {sample.answer!r}"
    if sample.family == "json":
        try:
            value = json.loads(answer)
        except json.JSONDecodeError:
            return False, False, "invalid JSON"
        if "json" in exp:
            return value == exp["json"], True, "" if value == exp["json"] else f"expected {exp['json']}"
        types = {"str": str, "int": int}
        ok = (isinstance(value, dict) and set(value) == set(exp["keys"])
              and all(isinstance(value[k], types[t]) and not isinstance(value[k], bool)
                      for k, t in exp["keys"].items()))
        return ok, True, "" if ok else "wrong keys or types"
    if sample.family == "tool_call":
        calls = parse_tool_calls(answer)
        if calls is None or not calls:
            return False, False, "no valid tool call"
        exact = TOOL_CALL_RE.sub("", answer).strip() == ""
        ok = exact and calls == [exp["call"]]
        return ok, True, "" if ok else f"expected {exp['call']}"
    if sample.family in ("tool_followup", "no_tool"):
        ok = all(word in answer for word in exp["contains"]) and "<tool_call>" not in answer
        return ok, None, "" if ok else f"expected mention of {exp['contains']}"
    if sample.family == "echo":
        return answer == exp["text"], None, "" if answer == exp["text"] else f"expected {exp['text']!r}"
    return bool(answer), None, ""
