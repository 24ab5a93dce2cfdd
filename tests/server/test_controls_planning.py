"""Planning a chat request's reasoning controls against the model's real tokenizer and parser.

The engine here only builds prompts (the bundled model's tokenizer and chat template, or that
template with its thinking switch removed); nothing is generated, which is what planning covers.
"""

from __future__ import annotations

from typing import Any

import pytest
from transformers import AutoTokenizer

from core_engine.chat import build_prompt
from core_engine.config import BUNDLED_MODEL_DIR
from core_engine.server.config import ServerConfig
from core_engine.server.errors import ApiError
from core_engine.server.planning import plan_chat
from core_engine.server.protocol import ServerChatRequest
from reasoning_plugins import get_parser

SWITCH = "{%- if enable_thinking is defined and enable_thinking is false -%}{{- '\\n</think>\\n\\n' -}}{%- endif -%}"


class PromptOnlyEngine:
    """The planning side of the engine: a real tokenizer and chat template, no generation."""

    model_name = "tiny-reasoner"
    max_model_len = 2048

    def __init__(self, tokenizer: Any, has_reasoner: bool) -> None:
        self.tokenizer = tokenizer
        self.has_reasoner = has_reasoner

    def build_prompt(self, messages: Any, tools: Any = None, chat_template_kwargs: Any = None) -> list[int]:
        return build_prompt(self.tokenizer, messages, tools, chat_template_kwargs, self.model_name)


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return AutoTokenizer.from_pretrained(BUNDLED_MODEL_DIR)


@pytest.fixture(scope="module")
def switchless(tokenizer: Any) -> Any:
    """The bundled tokenizer with a chat template that always opens the reasoning (as QwQ's does)."""
    copy = AutoTokenizer.from_pretrained(BUNDLED_MODEL_DIR)
    assert SWITCH in tokenizer.chat_template
    copy.chat_template = tokenizer.chat_template.replace(SWITCH, "")
    return copy


def plan(tokenizer: Any, body: dict[str, Any], *, has_reasoner: bool = True) -> Any:
    request = ServerChatRequest.model_validate({"messages": [{"role": "user", "content": "Hi"}], **body})
    config = ServerConfig(reasoning_parser="deepseek-r1")
    return plan_chat(request, PromptOnlyEngine(tokenizer, has_reasoner), config, "tiny-reasoner", None,
                     get_parser("deepseek-r1", tokenizer))


def test_effort_none_closes_thinking_in_the_prompt(tokenizer: Any) -> None:
    """Where the template has the switch, reasoning_effort none closes the block; no budget is needed."""
    planned = plan(tokenizer, {"reasoning_effort": "none"})
    assert tokenizer.decode(planned.prompt_ids).endswith("<think>\n\n</think>\n\n")
    assert planned.params.reasoning_max_tokens is None
    assert planned.request.chat_template_kwargs == {"enable_thinking": False, "thinking": False}


def test_effort_none_without_a_template_switch_falls_back_to_budget_zero(switchless: Any) -> None:
    """A template that cannot close the reasoning gets a budget of 0: it ends at once, nothing counted."""
    planned = plan(switchless, {"reasoning_effort": "none"})
    assert switchless.decode(planned.prompt_ids).endswith("<think>\n")
    assert planned.params.reasoning_max_tokens == 0


def test_thinking_off_without_switch_or_reasoner_is_a_400(switchless: Any) -> None:
    """Neither a template switch nor a reasoner: thinking off cannot be honoured, a 400 names the parser."""
    with pytest.raises(ApiError) as info:
        plan(switchless, {"reasoning": {"enabled": False}}, has_reasoner=False)
    assert info.value.status == 400 and info.value.param == "reasoning.enabled"
    assert "'deepseek-r1'" in info.value.message


def test_effort_level_budget_reaches_the_engine(tokenizer: Any) -> None:
    """reasoning_effort low becomes the engine's reasoning_max_tokens (256 by default), thinking on."""
    planned = plan(tokenizer, {"reasoning_effort": "low"})
    assert planned.params.reasoning_max_tokens == 256
    assert tokenizer.decode(planned.prompt_ids).endswith("<think>\n")
    assert planned.controls.thinking is True
