"""Sampling parameters at the edge of what a float or an int64 holds still sample a real token.

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


def test_top_k_beyond_the_vocabulary_is_off(clean_engine: LLMEngine) -> None:
    """A top_k of 2**80 overflowed the sampler's int64 tensor and failed the step; any k of at
    least the vocabulary keeps every token, so the seeded draw equals the one without top_k."""
    engine = clean_engine
    prompt = chat_prompt(engine, "Write a short poem.")
    runs = {name: SamplingParams(max_tokens=10, temperature=1.0, top_k=k, seed=11, ignore_eos=True)
            for name, k in (("off", 0), ("huge", 2**80))}
    results = run_to_completion(engine, {0: [(name, prompt, params) for name, params in runs.items()]})
    assert results["huge"].token_ids == results["off"].token_ids


@pytest.mark.parametrize("seed", [2**64, -(2**63) - 1, 2**80])
def test_seed_outside_a_generators_range_is_refused(seed: int) -> None:
    """The request is refused when it is made, naming the range, not when the engine seeds it."""
    with pytest.raises(ValueError, match=r"seed must be an integer in \[-2\*\*63, 2\*\*64 - 1\]"):
        SamplingParams(seed=seed)
    assert SamplingParams(seed=2**64 - 1).seed == 2**64 - 1
    assert SamplingParams(seed=-(2**63)).seed == -(2**63)
