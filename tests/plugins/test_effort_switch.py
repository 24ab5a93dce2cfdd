"""``reasoning_effort`` as a declared thinking switch: off at "none" / "no_think", on at any
other level, read from chat_template_kwargs before the request's own field."""

from __future__ import annotations

import pytest

from conformance.tokenizers import load_tokenizer
from reasoning_plugins import DeclarativeParser, DeclarativeReasoner, Mode, ReasoningFormat, choose_parser

EFFORT = ReasoningFormat(start="<think>", end="</think>", start_in_output=True, default_mode=Mode.REASONING,
                         switches=("reasoning_effort",))


class EffortParser(DeclarativeParser):
    format = EFFORT


class EffortReasoner(DeclarativeReasoner):
    format = EFFORT


@pytest.mark.parametrize(("request_", "want"), [
    (None, ("r", "c")),
    ({"reasoning_effort": "none"}, (None, "r</think>c")),
    ({"reasoning_effort": "No_Think"}, (None, "r</think>c")),
    ({"reasoning_effort": "low"}, ("r", "c")),
    ({"chat_template_kwargs": {"reasoning_effort": "none"}}, (None, "r</think>c")),
    ({"chat_template_kwargs": {"reasoning_effort": "max"}, "reasoning_effort": "none"}, ("r", "c")),
    ({"chat_template_kwargs": {"reasoning_effort": None}, "reasoning_effort": "none"}, (None, "r</think>c")),
    ({"reasoning_effort": ""}, ("r", "c")),
    ({"reasoning_effort": 3}, ("r", "c")),
])
def test_levels_switch_thinking(request_, want):
    """A level decides on/off; an empty or non-string value leaves the default."""
    assert EffortParser().parse("r</think>c", request=request_) == want


def test_the_prompt_outranks_the_level():
    """A prompt that opened reasoning wins over reasoning_effort "none", as for every switch."""
    assert EffortParser().parse("r</think>c", request={"reasoning_effort": "none"}, prompt_text="<think>") == ("r", "c")


def test_the_reasoner_follows_the_level():
    qwen = load_tokenizer("qwen")
    reasoner = EffortReasoner.from_tokenizer(qwen)
    answer = qwen.encode("answer", add_special_tokens=False)
    assert not reasoner.start((), request={"reasoning_effort": "no_think"}).in_reasoning
    assert reasoner.start((), request={"reasoning_effort": "high"}).in_reasoning
    assert reasoner.bind({"reasoning_effort": "none"}).extract_content_ids(answer) == answer


def test_auto_does_not_exclude_formats_for_a_template_reading_an_effort_level():
    """gpt-oss and K2-Horizon templates read reasoning_effort as a level: Qwen3's markers still
    choose a parser that does not declare the switch."""
    import copy

    qwen = copy.deepcopy(load_tokenizer("qwen"))
    qwen.chat_template = (
        "{%- if reasoning_effort %}Reasoning: {{ reasoning_effort }}{%- endif %}"
        "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endfor %}"
        "{%- if add_generation_prompt %}<|im_start|>assistant\n<think>\n{%- endif %}"
        "{# the model closes it with </think> #}"
    )
    choice = choose_parser(qwen)
    assert choice.name in ("deepseek-r1", "qwq")
