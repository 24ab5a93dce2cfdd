"""Every model the engine loads is computed right, or refused at load with the config field named.

Small random-weight models are built from the shapes of real configs (Mistral, Qwen2 with sliding
windows, Gemma 2/3, gpt-oss, DeepSeek V3) with the bundled model's tokenizer, saved as ordinary
model directories and loaded through the engine. Greedy tokens must equal transformers' own
``generate`` on the same weights, over prompts several times longer than the window, and the same
``generate`` without the window must give different tokens (so the window is what is tested).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from core_engine import EngineConfig, LLMEngine, ModelLoadError, SamplingParams
from core_engine.config import BUNDLED_MODEL_DIR

from .conftest import run_to_completion

WINDOW = 6
VOCAB = 1536   # the bundled tokenizer's
SMALL = {"vocab_size": VOCAB, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
         "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 256, "initializer_range": 0.2,
         "bos_token_id": 1529, "eos_token_id": 1531, "pad_token_id": 1529, "tie_word_embeddings": False}


def _save(tmp_path: Path, model_type: str, **fields: Any) -> Path:
    """A model directory with random weights (seeded) for ``model_type`` and the bundled tokenizer."""
    config = AutoConfig.for_model(model_type, **{**SMALL, **fields})
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    path = tmp_path / model_type
    model.save_pretrained(path)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(BUNDLED_MODEL_DIR / name, path / name)
    return path


# name -> (model_type, config fields as in the real configs, shrunk; overrides that remove the window)
SUPPORTED: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    # Mistral-7B-v0.1: one window for every layer.
    "mistral": ("mistral", {"num_hidden_layers": 2, "sliding_window": WINDOW}, {"sliding_window": None}),
    # Qwen2 with use_sliding_window: layers from max_window_layers on use the window.
    "qwen2-max-window-layers": ("qwen2", {"num_hidden_layers": 3, "use_sliding_window": True,
                                          "sliding_window": WINDOW, "max_window_layers": 1},
                                {"use_sliding_window": False, "layer_types": ["full_attention"] * 3}),
    # Newer Qwen2 configs list each layer's kind in layer_types.
    "qwen2-layer-types": ("qwen2", {"num_hidden_layers": 3, "use_sliding_window": True, "sliding_window": WINDOW,
                                    "layer_types": ["sliding_attention", "full_attention", "sliding_attention"]},
                          {"use_sliding_window": False, "layer_types": ["full_attention"] * 3}),
    # Gemma 3: sliding and full layers interleaved, no score soft-capping.
    "gemma3": ("gemma3_text", {"num_hidden_layers": 2, "sliding_window": WINDOW, "query_pre_attn_scalar": 16,
                               "layer_types": ["sliding_attention", "full_attention"]},
               {"layer_types": ["full_attention"] * 2}),
}


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_sliding_window_models_match_transformers_generate(tmp_path: Path, name: str) -> None:
    """Greedy tokens equal generate() on the same weights; without the window generate() differs."""
    model_type, fields, no_window = SUPPORTED[name]
    path = _save(tmp_path, model_type, **fields)
    generator = torch.Generator().manual_seed(1)
    prompts = [torch.randint(0, 1500, (n,), generator=generator).tolist() for n in (5 * WINDOW, 3 * WINDOW + 1, 4)]
    params = SamplingParams(max_tokens=16, temperature=0.0, ignore_eos=True)
    joins = {0: [(f"p{i}", p, params) for i, p in enumerate(prompts)]}
    # The whole prompt in one step, and in chunks of 5 tokens that straddle the window.
    ours = []
    for batched in (2048, 5):
        engine = LLMEngine(EngineConfig(model=path, num_kv_blocks=64, max_model_len=128, max_num_seqs=4,
                                        max_num_batched_tokens=batched))
        assert engine.runner.sliding_windows == (WINDOW,)
        ours.append({rid: r.token_ids for rid, r in run_to_completion(engine, joins).items()})
    assert ours[0] == ours[1]

    def generate(**overrides: Any) -> list[list[int]]:
        model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="sdpa", **overrides).eval()
        outs = []
        for prompt in prompts:
            with torch.inference_mode():
                out = model.generate(torch.tensor([prompt]), max_new_tokens=16, min_new_tokens=16, do_sample=False,
                                     pad_token_id=0)
            outs.append(out[0, len(prompt):].tolist())
        return outs

    reference = generate()
    assert [ours[0][f"p{i}"] for i in range(len(prompts))] == reference
    without_window = generate(**no_window)
    assert without_window[:2] != reference[:2], "the window did not change generate()'s tokens: the test is blind"


REFUSED: dict[str, tuple[str, dict[str, Any], str]] = {
    # Gemma 2 soft-caps attention scores (50.0 in every released config).
    "gemma2": ("gemma2", {"num_hidden_layers": 2, "sliding_window": WINDOW, "query_pre_attn_scalar": 16,
                          "attn_logit_softcapping": 50.0}, "attn_logit_softcapping=50.0"),
    # gpt-oss adds a learned sink logit per head (no config field: the probe sees s_aux=).
    "gpt-oss": ("gpt_oss", {"num_hidden_layers": 2, "sliding_window": WINDOW, "num_local_experts": 2,
                            "num_experts_per_tok": 1, "layer_types": ["sliding_attention", "full_attention"]},
                "s_aux= .*attention sinks"),
    # DeepSeek V3: multi-head latent attention, K and V of different head sizes.
    "deepseek-v3": ("deepseek_v3", {"num_hidden_layers": 2, "kv_lora_rank": 32, "q_lora_rank": None,
                                    "qk_rope_head_dim": 8, "qk_nope_head_dim": 16, "v_head_dim": 16,
                                    "n_routed_experts": 2, "num_experts_per_tok": 1, "first_k_dense_replace": 2,
                                    "n_group": 1, "topk_group": 1, "moe_intermediate_size": 32},
                    "kv_lora_rank=32"),
    # BLOOM adds ALiBi biases in its own attention code, outside transformers' AttentionInterface.
    "bloom": ("bloom", {"n_layer": 2, "n_head": 4, "hidden_size": 64}, "(AttentionInterface|probe forward pass)"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_models_the_attention_cannot_compute_are_refused_at_load(tmp_path: Path, name: str) -> None:
    """Soft-capping, attention sinks and latent attention fail at load, naming the field and an alternative."""
    model_type, fields, named = REFUSED[name]
    path = _save(tmp_path, model_type, **fields)
    with pytest.raises(ModelLoadError, match=f"cannot be served by core_engine: .*{named}.*vLLM or SGLang"):
        LLMEngine(EngineConfig(model=path, num_kv_blocks=64, max_model_len=128))


def test_gemma2_without_soft_capping_is_served(tmp_path: Path) -> None:
    """The refusal is about the field, not the family: Gemma 2 with attn_logit_softcapping=None loads."""
    path = _save(tmp_path, "gemma2", num_hidden_layers=2, sliding_window=WINDOW, query_pre_attn_scalar=16,
                 attn_logit_softcapping=None, final_logit_softcapping=30.0)
    engine = LLMEngine(EngineConfig(model=path, num_kv_blocks=64, max_model_len=128))
    prompt = torch.randint(0, 1500, (4 * WINDOW,), generator=torch.Generator().manual_seed(2)).tolist()
    ours = run_to_completion(engine, {0: [("g", prompt, SamplingParams(max_tokens=8, temperature=0.0,
                                                                      ignore_eos=True))]})["g"].token_ids
    # transformers has no SDPA path for Gemma 2; its eager attention is the reference.
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="eager").eval()
    with torch.inference_mode():
        out = model.generate(torch.tensor([prompt]), max_new_tokens=8, min_new_tokens=8, do_sample=False,
                             pad_token_id=0)
    assert ours == out[0, len(prompt):].tolist()
