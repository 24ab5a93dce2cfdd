"""Sampling parameters at the edge of what a float holds still sample a real token.

API fuzzing sent ``top_p: 5e-324`` and a ``temperature`` of 5e-324: both are 0 once in float32,
so top-p masked every token (a draw from nothing gave token id -1) and the temperature divided the
logits by 0; the next step's embedding lookup failed and the engine aborted every running request.
Both limits are the greedy choice, and that is what the engine now samples.
"""

from __future__ import annotations

import pytest

from core_engine import LLMEngine, SamplingParams

from .conftest import chat_prompt, run_to_completion


@pytest.mark.parametrize(("temperature", "top_p"), [(1.5, 5e-324), (1.5, 1e-46), (5e-324, 1.0), (1e-40, 1.0),
                                                    (1e-40, 5e-324)],
                         ids=["top_p-denormal", "top_p-under-float32", "temperature-denormal",
                              "temperature-overflows", "both"])
def test_vanishing_temperature_or_top_p_samples_the_greedy_tokens(clean_engine: LLMEngine, temperature: float,
                                                                   top_p: float) -> None:
    """The request finishes with the greedy tokens, and a request beside it is not disturbed."""
    engine = clean_engine
    prompt = chat_prompt(engine, "What is 2 + 2?")
    greedy = SamplingParams(max_tokens=12, temperature=0.0, ignore_eos=True)
    extreme = SamplingParams(max_tokens=12, temperature=temperature, top_p=top_p, ignore_eos=True)
    neighbour = SamplingParams(max_tokens=12, temperature=1.0, seed=7, ignore_eos=True)
    alone = run_to_completion(engine, {0: [("n", prompt, neighbour)]})["n"].token_ids
    results = run_to_completion(engine, {0: [("g", prompt, greedy), ("x", prompt, extreme), ("n", prompt, neighbour)]})
    assert results["x"].token_ids == results["g"].token_ids
    assert len(results["x"].token_ids) == 12
    assert results["n"].token_ids == alone
