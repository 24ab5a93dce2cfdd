"""Sampling: seeds reproduce whatever the batch, top-k/top-p limits, and the CPU sampling kernels."""

from __future__ import annotations

import torch

from core_engine import LLMEngine, SamplingParams
from core_engine.cuda import cupy_available, sample_from_probs
from core_engine.cuda.sampling import sample_from_probs_torch

from .conftest import chat_prompt, run_to_completion


def test_seeded_request_is_reproducible_alone_and_in_any_batch(clean_engine: LLMEngine) -> None:
    """A seeded request samples the same tokens alone and among other seeded and unseeded requests."""
    engine = clean_engine
    prompt = chat_prompt(engine, "Write a short poem.")
    seeded = SamplingParams(max_tokens=30, temperature=1.0, top_p=0.95, seed=1234, ignore_eos=True)
    alone = run_to_completion(engine, {0: [("s", prompt, seeded)]})["s"].token_ids
    others = [(f"o{i}", chat_prompt(engine, f"Other question {i}"),
               SamplingParams(max_tokens=10 + i, temperature=1.2, seed=i if i % 2 else None, ignore_eos=True))
              for i in range(5)]
    mixed = run_to_completion(engine, {0: others[:2], 1: [("s", prompt, seeded)], 3: others[2:]})
    assert mixed["s"].token_ids == alone
    again = run_to_completion(engine, {0: [("s", prompt, seeded)]})["s"].token_ids
    assert again == alone
    other_seed = SamplingParams(max_tokens=30, temperature=1.0, top_p=0.95, seed=4321, ignore_eos=True)
    assert run_to_completion(engine, {0: [("d", prompt, other_seed)]})["d"].token_ids != alone


def test_top_k_one_and_tiny_top_p_equal_greedy(clean_engine: LLMEngine) -> None:
    """top_k=1, or a top_p smaller than the best token's probability, leaves only the greedy choice."""
    engine = clean_engine
    prompt = chat_prompt(engine, "What is 2 + 2?")
    greedy = SamplingParams(max_tokens=20, temperature=0.0, ignore_eos=True)
    top_k = SamplingParams(max_tokens=20, temperature=1.5, top_k=1, ignore_eos=True)
    top_p = SamplingParams(max_tokens=20, temperature=1.5, top_p=1e-6, ignore_eos=True)
    results = run_to_completion(engine, {0: [("g", prompt, greedy), ("k", prompt, top_k), ("p", prompt, top_p)]})
    assert results["k"].token_ids == results["g"].token_ids == results["p"].token_ids


def test_top_k_restricts_choices(clean_engine: LLMEngine) -> None:
    """With top_k=2 every first token is one of the two most likely under the plain transformers model."""
    from transformers import AutoModelForCausalLM

    engine = clean_engine
    prompt = chat_prompt(engine, "Hello")
    reference = AutoModelForCausalLM.from_pretrained(engine.config.model_dir, attn_implementation="sdpa")
    with torch.inference_mode():
        top2 = set(reference(torch.tensor([prompt])).logits[0, -1].topk(2).indices.tolist())
    firsts = {run_to_completion(engine, {0: [(f"k{s}", prompt, SamplingParams(
        max_tokens=1, temperature=2.0, top_k=2, seed=s))]})[f"k{s}"].token_ids[0] for s in range(12)}
    assert firsts <= top2


def test_inverse_cdf_sampling_matches_probabilities_exactly() -> None:
    """Evenly spaced uniforms pick each token in proportion to its probability and never a zero one."""
    probs = torch.tensor([[0.5, 0.0, 0.3, 0.2, 0.0]] * 1000)
    uniforms = (torch.arange(1000, dtype=torch.float32) + 0.5) / 1000
    picks = sample_from_probs(probs, uniforms)
    counts = torch.bincount(picks, minlength=5).tolist()
    assert counts == [500, 0, 300, 200, 0]


def test_inverse_cdf_handles_unnormalised_rows_and_edge_uniforms() -> None:
    """Rows need not sum to one; u close to 1 still lands on the last token with mass."""
    probs = torch.tensor([[2.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 7.0], [1.0, 0.0, 0.0, 0.0]])
    uniforms = torch.tensor([0.999999, 0.0, 0.9999999])
    assert sample_from_probs_torch(probs, uniforms).tolist() == [2, 3, 0]


def test_cpu_tensors_use_the_torch_fallback() -> None:
    """Without a CUDA device the kernels run their torch fallback and give the same picks."""
    generator = torch.Generator().manual_seed(0)
    probs = torch.rand(8, 300, generator=generator)
    probs[probs < 0.7] = 0
    uniforms = torch.rand(8, generator=generator)
    assert not cupy_available() or not probs.is_cuda
    assert torch.equal(sample_from_probs(probs, uniforms), sample_from_probs_torch(probs, uniforms))
    picks = sample_from_probs(probs, uniforms)
    assert bool((probs.gather(1, picks[:, None]) > 0).all())
