"""The CuPy kernels and the engine on a CUDA device (skipped without a GPU and CuPy).

Kernels are compared with their torch implementations on the same device, on fresh random inputs
(never zeros), for vocabulary sizes that are and are not multiples of 32 and for float32, bfloat16
and float16 logits: the bitmask kernel bit for bit; the sampling kernel token for token, except
where the target lies within float32 rounding of an interval's edge (its sums are ordered
differently from ``torch.cumsum``). Engine tests compare bfloat16 results with tolerances: bitwise
batch invariance is asserted only on the CPU float32 path (the other test files), since batched
bfloat16 GEMMs on a GPU accumulate in an order that depends on the batch shape.
"""

from __future__ import annotations

import json

import pytest
import torch

from core_engine import EngineConfig, GuidedDecodingParams, LLMEngine, SamplingParams
from core_engine.cuda import apply_token_bitmask_, cupy_available, sample_from_probs
from core_engine.cuda._cupy import disabled_kernels
from core_engine.cuda.bitmask import apply_token_bitmask_torch_
from core_engine.cuda.sampling import sample_from_probs_torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
    pytest.mark.skipif(not cupy_available(), reason="needs CuPy: pip install 'reasoning-plugins[cuda]'"),
]

VOCABS = [1, 31, 32, 33, 1000, 1536, 32001, 151936]
DTYPES = [torch.float32, torch.bfloat16, torch.float16]


def _devices() -> list[torch.device]:
    return [torch.device("cuda", i) for i in range(min(torch.cuda.device_count(), 2))]


def _random_bitmask(rows: int, vocab: int, generator: torch.Generator) -> torch.Tensor:
    words = (vocab + 31) // 32
    mask = torch.randint(-2**31, 2**31 - 1, (rows, words), generator=generator, dtype=torch.int64).to(torch.int32)
    mask[0] = -1 if rows > 1 else mask[0]
    return mask


@pytest.mark.parametrize("vocab", VOCABS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bitmask_kernel_equals_torch_bit_for_bit(vocab: int, dtype: torch.dtype) -> None:
    """Every row, with and without row indices, on each device, on a side stream."""
    for device in _devices():
        generator = torch.Generator().manual_seed(vocab * 7 + DTYPES.index(dtype))
        logits = (torch.randn(9, vocab, generator=generator) * 4 + 0.5).to(dtype).to(device)
        bitmask = _random_bitmask(9, vocab, generator)
        for indices in (None, [8, 0, 3, 5]):
            mask = bitmask if indices is None else bitmask[:len(indices)]
            expected = logits.clone()
            apply_token_bitmask_torch_(expected, mask, indices)
            got = logits.clone()
            stream = torch.cuda.Stream(device)
            with torch.cuda.device(device), torch.cuda.stream(stream):
                apply_token_bitmask_(got, mask, indices)
            stream.synchronize()
            bits = torch.int32 if dtype == torch.float32 else torch.int16
            assert torch.equal(got.view(bits), expected.view(bits)), (device, indices)
    assert "apply_bitmask" not in disabled_kernels()


@pytest.mark.parametrize("vocab", VOCABS)
def test_sampling_kernel_matches_torch(vocab: int) -> None:
    """Same token as the torch path unless the target is within rounding of an edge; -1 rows agree."""
    for device in _devices():
        generator = torch.Generator().manual_seed(vocab)
        logits = torch.randn(64, vocab, generator=generator) * 3
        logits[torch.rand(64, vocab, generator=generator) < 0.5] = float("-inf")
        logits[:, 0] = 1.0   # every row keeps some mass
        probs = logits.softmax(dim=-1)
        probs[1] = float("nan")      # no mass: -1
        probs[2, : vocab // 2] = float("nan")
        uniforms = torch.rand(64, generator=generator)
        probs, uniforms = probs.to(device), uniforms.to(device)
        expected = sample_from_probs_torch(probs, uniforms).cpu()
        with torch.cuda.device(device):
            got = sample_from_probs(probs, uniforms).cpu()
        assert got[1] == expected[1] == -1
        weights = torch.where(torch.isfinite(probs) & (probs > 0), probs, 0).double().cpu()
        cdf = weights.cumsum(-1)
        for row in (got != expected).nonzero().flatten().tolist():
            target = float(uniforms[row]) * float(cdf[row, -1])
            edge = float(cdf[row, min(int(got[row]), int(expected[row]))])
            assert abs(target - edge) <= 1e-5 * float(cdf[row, -1]), (row, int(got[row]), int(expected[row]))
        assert bool((weights.gather(1, got.clamp_min(0)[:, None]) > 0).flatten()[torch.arange(64) != 1].all())
    assert "sample_inverse_cdf" not in disabled_kernels()


@pytest.fixture(scope="module")
def gpu_engine() -> LLMEngine:
    return LLMEngine(EngineConfig(device="cuda", dtype="bfloat16", num_kv_blocks=256, max_num_seqs=16,
                                  max_model_len=512))


def _prefill_logits(engine: LLMEngine, prompts: list[list[int]]) -> torch.Tensor:
    """Logits of each prompt's last token, all prompts in one engine step."""
    for i, prompt in enumerate(prompts):
        engine.add_request(f"l{i}", prompt, SamplingParams(max_tokens=1))
    batch = engine.scheduler.schedule()
    order = [r.request_id for r in batch.requests]   # the scheduler puts longer prefills first
    logits = engine.runner.execute(batch, [order.index(f"l{i}") for i in range(len(prompts))])
    for i in range(len(prompts)):
        engine.abort(f"l{i}")
    return logits


def test_bf16_logits_match_transformers_within_bf16_tolerance(gpu_engine: LLMEngine) -> None:
    """Paged attention vs transformers' SDPA on the same bf16 GPU model: equal within bf16 rounding."""
    engine = gpu_engine
    prompts = [engine.build_prompt([{"role": "user", "content": q}]) for q in ("What is 5 + 6?", "Hello there!")]
    ours = _prefill_logits(engine, prompts)
    implementation = engine.model.config._attn_implementation
    engine.model.set_attn_implementation("sdpa")
    try:
        with torch.inference_mode():
            reference = torch.stack([engine.model(torch.tensor([p], device="cuda")).logits[0, -1].float()
                                     for p in prompts])
    finally:
        engine.model.set_attn_implementation(implementation)
    scale = float(reference.abs().max())
    assert float((ours - reference).abs().max()) <= 0.03 * scale + 0.05
    # Batched vs alone: equal within the same tolerance (not bitwise, see the module docstring).
    alone = torch.cat([_prefill_logits(engine, [p]) for p in prompts])
    assert float((ours - alone).abs().max()) <= 0.03 * scale + 0.05


def test_guided_json_on_the_gpu(gpu_engine: LLMEngine) -> None:
    """The grammar mask and the sampling kernel on the GPU: answers at temperature 1 are valid JSON."""
    engine = gpu_engine
    prompt = engine.build_prompt([{"role": "user", "content": "Weather in Paris as JSON?"}])
    schema = {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Rome"]},
                                               "temp": {"type": "integer"}},
              "required": ["city", "temp"], "additionalProperties": False}
    for seed in range(8):
        engine.add_request(f"g{seed}", prompt, SamplingParams(max_tokens=100, temperature=1.0, seed=seed,
                                                              reasoning_max_tokens=8,
                                                              guided=GuidedDecodingParams(json_schema=schema)))
    texts: dict[str, str] = {}
    reasons: dict[str, str | None] = {}
    while engine.has_unfinished():
        for out in engine.step():
            texts[out.request_id] = texts.get(out.request_id, "") + out.new_text
            reasons[out.request_id] = out.finish_reason
    for rid, text in texts.items():
        assert reasons[rid] == "stop"
        value = json.loads(text.split("</think>", 1)[1])
        assert value["city"] in ("Paris", "Rome") and isinstance(value["temp"], int)
