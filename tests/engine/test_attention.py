"""The registered paged attention reproduces the unmodified transformers model."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM

from core_engine import LLMEngine, SamplingParams
from core_engine.attention import ATTN_IMPLEMENTATION

from .conftest import chat_prompt, run_to_completion


def test_model_runs_unmodified_with_the_registered_attention(engine: LLMEngine) -> None:
    """The engine's model is the stock transformers class, switched to the registered implementation."""
    assert type(engine.model).__module__.startswith("transformers.models.")
    assert engine.model.config._attn_implementation == ATTN_IMPLEMENTATION


def test_greedy_tokens_match_transformers_generate(clean_engine: LLMEngine) -> None:
    """Batched greedy decoding gives the tokens transformers' own generate() gives for each prompt alone."""
    engine = clean_engine
    reference = AutoModelForCausalLM.from_pretrained(engine.config.model_dir, attn_implementation="sdpa").eval()
    prompts = [chat_prompt(engine, q) for q in ("What is 5 + 6?", "Hello there!", "Describe the sky.")]
    params = SamplingParams(max_tokens=24, temperature=0.0, ignore_eos=True)
    ours = run_to_completion(engine, {0: [(f"p{i}", p, params) for i, p in enumerate(prompts)]})
    for i, prompt in enumerate(prompts):
        with torch.inference_mode():
            generated = reference.generate(torch.tensor([prompt]), max_new_tokens=24, min_new_tokens=24,
                                           do_sample=False, pad_token_id=engine.eos_token_ids[0])
        assert ours[f"p{i}"].token_ids == generated[0, len(prompt):].tolist()
