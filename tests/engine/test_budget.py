"""Reasoning budgets: a hard cap on reasoning tokens, enforced by forcing the reasoner's end tokens."""

from __future__ import annotations

import pytest

from core_engine import EngineConfig, LLMEngine, SamplingParams

from .conftest import chat_prompt, run_to_completion


@pytest.mark.parametrize("budget", [0, 1, 3, 4, 8])
def test_budget_is_a_hard_cap(clean_engine: LLMEngine, budget: int) -> None:
    """Reasoning tokens never exceed the budget, a forced newline included; the answer follows."""
    engine = clean_engine
    force = engine.reasoner.force_end_token_ids
    end_id = force[-1]
    prompt = chat_prompt(engine, "What is 12 + 30?")
    results = run_to_completion(engine, {0: [
        (f"b{seed}", prompt, SamplingParams(max_tokens=40, temperature=1.0, seed=seed, reasoning_max_tokens=budget,
                                            ignore_eos=True)) for seed in range(4)]})
    for result in results.values():
        ids = result.token_ids
        assert end_id in ids
        end_at = ids.index(end_id)
        # every token before the end marker is reasoning, and the marker is not counted
        assert result.reasoning_tokens == end_at <= budget
        assert len(ids) == 40


def test_budget_forces_a_newline_before_the_marker_when_there_is_room(clean_engine: LLMEngine) -> None:
    """With room left, the forced end is the model's own layout: the newline counts, the marker does not."""
    engine = clean_engine
    force = engine.reasoner.force_end_token_ids
    assert len(force) == 2    # "\n", "</think>"
    prompt = chat_prompt(engine, "What is 37 + 45?")
    result = run_to_completion(engine, {0: [("n", prompt, SamplingParams(max_tokens=20, temperature=0.0,
                                                                           reasoning_max_tokens=4))]})["n"]
    assert result.token_ids[3:5] == force
    assert result.reasoning_tokens == 4


def test_budget_zero_starts_with_the_end_marker(clean_engine: LLMEngine) -> None:
    """reasoning_max_tokens=0 forces the end marker as the very first token: no reasoning token at all."""
    engine = clean_engine
    force = engine.reasoner.force_end_token_ids
    prompt = chat_prompt(engine, "Say hi.")
    result = run_to_completion(engine, {0: [("z", prompt, SamplingParams(max_tokens=10, temperature=0.0,
                                                                           reasoning_max_tokens=0))]})["z"]
    assert result.token_ids[0] == force[-1]
    assert result.reasoning_tokens == 0


def test_budget_is_ignored_when_thinking_is_closed_in_the_prompt(clean_engine: LLMEngine) -> None:
    """With thinking turned off by the template nothing is forced and no token counts as reasoning."""
    engine = clean_engine
    prompt = chat_prompt(engine, "Say hi.", enable_thinking=False)
    result = run_to_completion(engine, {0: [("c", prompt, SamplingParams(max_tokens=8, temperature=0.0,
                                                                           reasoning_max_tokens=0))]})["c"]
    assert result.reasoning_tokens == 0
    assert engine.reasoner.force_end_token_ids[-1] not in result.token_ids


def test_budget_needs_a_reasoning_parser() -> None:
    """A budget on an engine without a reasoning parser is a clear error."""
    from core_engine.config import BUNDLED_MODEL_DIR

    plain = LLMEngine(EngineConfig(model=BUNDLED_MODEL_DIR, num_kv_blocks=32, max_model_len=128))
    assert plain.reasoner is None
    with pytest.raises(ValueError, match="reasoning_max_tokens needs a reasoning parser"):
        plain.add_request("x", [1, 2, 3], SamplingParams(reasoning_max_tokens=2))
    assert not plain.has_unfinished()
