"""Turn synthetic samples into token ids with a loss mask.

The prompt is the chat template's rendering (with the generation prompt); the completion is what
the model must write after it. A reasoning-budget sample cuts the reasoning after a random number of
tokens and inserts the end marker the engine would force; the forced ids carry no loss, so the model
learns to continue correctly after a forced end without learning to end reasoning early itself.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from _tiny_artifacts import CHAT_TEMPLATE, IM_END, THINK_END
from _tiny_tasks import Sample


class TemplateError(ValueError):
    """The chat template refused the messages (raise_exception in the template)."""


def _raise(message: str) -> None:
    raise TemplateError(message)


@lru_cache(maxsize=1)
def _template():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x: json.dumps(x, ensure_ascii=False)
    env.globals["raise_exception"] = _raise
    return env.from_string(CHAT_TEMPLATE)


def render_prompt(sample: Sample) -> str:
    """The prompt text exactly as ``tokenizer.apply_chat_template`` renders it."""
    kwargs: dict[str, Any] = {"messages": sample.messages, "add_generation_prompt": True}
    if sample.tools:
        kwargs["tools"] = sample.tools
    if not sample.enable_thinking:
        kwargs["enable_thinking"] = False
    return _template().render(**kwargs)


def completion_text(sample: Sample) -> str:
    """What the model writes after the prompt, reasoning included."""
    if not sample.enable_thinking:
        return sample.answer + IM_END
    return f"{sample.reasoning}\n{THINK_END}\n\n{sample.answer}{IM_END}"


def full_text(sample: Sample) -> str:
    return render_prompt(sample) + completion_text(sample)


@dataclass(slots=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]  # -100 where no loss applies


def encode(sample: Sample, tok: Any, rng: random.Random, *, truncate_rate: float = 0.30,
           empty_rate: float = 0.15) -> Encoded:
    """Token ids and labels; thinking samples may get a forced (loss-free) end of reasoning."""
    prompt = tok.encode(render_prompt(sample), add_special_tokens=False)
    if not sample.enable_thinking:
        target = tok.encode(completion_text(sample), add_special_tokens=False)
        return Encoded(prompt + target, [-100] * len(prompt) + target)
    end_id = tok.convert_tokens_to_ids(THINK_END)
    reasoning = tok.encode(sample.reasoning, add_special_tokens=False)
    answer = tok.encode("\n\n" + sample.answer + IM_END, add_special_tokens=False)
    draw = rng.random()
    if draw < empty_rate:
        kept = []
    elif draw < empty_rate + truncate_rate:
        kept = reasoning[: rng.randint(1, max(1, len(reasoning) - 1))]
    else:
        full = tok.encode(completion_text(sample), add_special_tokens=False)
        return Encoded(prompt + full, [-100] * len(prompt) + full)
    # forced end: the engine appends `</think>` (sometimes with the newline before it)
    forced = [end_id]
    if rng.random() < 0.3:
        forced = tok.encode("\n", add_special_tokens=False) + forced
    ids = prompt + kept + forced + answer
    labels = [-100] * len(prompt) + kept + [-100] * len(forced) + answer
    return Encoded(ids, labels)
