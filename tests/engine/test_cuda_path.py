"""The CUDA path's CPU-checkable behaviour: fallbacks, non-finite rows, in-place masking, budgets, start-up errors."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
import torch

from core_engine import EngineConfig, LLMEngine, ModelLoadError, SamplingParams
from core_engine.cuda import _cupy, apply_token_bitmask_, cupy_problem, sample_from_probs
from core_engine.cuda.bitmask import apply_token_bitmask_torch_
from core_engine.cuda.sampling import sample_from_probs_torch
from core_engine.kv_cache import KVLayout, attention_scratch_bytes, auto_num_blocks
from core_engine.loader import resolve_device
from core_engine.model_runner import _split_by_blocks
from core_engine.sampler import NonFiniteLogitsError, sample

from .conftest import chat_prompt, run_to_completion


def test_a_kernel_that_fails_to_build_falls_back_once_with_a_warning(monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Simulated NVRTC failure (no GPU here): the torch path runs, one warning, no second build attempt."""
    monkeypatch.setattr(_cupy, "_disabled", {})
    attempts = []

    def failing_build() -> str:
        attempts.append(1)
        raise _cupy.KernelBuildError("simulated: nvrtc: error: identifier \"__int_as_float\" is undefined")

    with caplog.at_level(logging.WARNING, logger="core_engine"):
        assert _cupy.guarded("apply_bitmask", failing_build, lambda: "torch") == "torch"
        assert _cupy.guarded("apply_bitmask", failing_build, lambda: "torch") == "torch"
    assert len(attempts) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "apply_bitmask could not be built" in warnings[0] and "simulated" in warnings[0]
    assert "apply_bitmask" in _cupy.disabled_kernels()
    # Another kernel is unaffected, and errors other than build failures propagate.
    assert _cupy.guarded("sample_inverse_cdf", lambda: "kernel", lambda: "torch") == "kernel"
    with pytest.raises(ZeroDivisionError):
        _cupy.guarded("sample_inverse_cdf", lambda: 1 // 0, lambda: "torch")


def test_sampling_gives_no_mass_to_nan_inf_and_negative_entries() -> None:
    """NaN, +-inf, zero and negative probabilities are never drawn; a row without mass gives -1."""
    nan, inf = float("nan"), float("inf")
    probs = torch.tensor([[nan, 0.5, inf, 0.5, -1.0],
                          [nan, nan, nan, nan, nan],
                          [0.0, -inf, 0.0, 0.0, 0.0],
                          [inf, 0.0, 0.0, 2.0, nan]])
    for u in (0.0, 0.3, 0.7, 0.9999999):
        uniforms = torch.full((4,), u)
        picks = sample_from_probs_torch(probs, uniforms).tolist()
        assert picks[0] == (1 if u < 0.5 else 3) and picks[1] == -1 and picks[2] == -1 and picks[3] == 3
        assert sample_from_probs(probs, uniforms).tolist() == picks


def test_non_finite_logits_raise_naming_the_request(clean_engine: LLMEngine) -> None:
    """A NaN or +inf logit, or a fully masked row, is an error naming that request, greedy or sampled."""
    engine = clean_engine
    requests = [engine.make_request(f"r{i}", [1, 2, 3], SamplingParams(temperature=t)) for i, t in
                enumerate((0.0, 1.0, 0.0, 1.0))]
    logits = torch.randn(4, engine.vocab_size)
    logits[1, 7] = float("nan")
    logits[2, 9] = float("inf")
    logits[3] = float("-inf")
    with pytest.raises(NonFiniteLogitsError, match="r1, r2, r3") as info:
        sample(logits, requests, torch.Generator().manual_seed(0))
    assert info.value.request_ids == ["r1", "r2", "r3"]
    assert sample(logits[:1], requests[:1], torch.Generator().manual_seed(0)) == [int(logits[0].argmax())]


@pytest.mark.parametrize("vocab", [31, 32, 100, 1536])
def test_bitmask_rows_are_masked_in_place(vocab: int) -> None:
    """Mask row i applies to logits row indices[i] in the caller's tensor; other rows are untouched."""
    generator = torch.Generator().manual_seed(vocab)
    logits = torch.randn(6, vocab, generator=generator)
    original = logits.clone()
    words = (vocab + 31) // 32
    bitmask = torch.randint(-2**31, 2**31 - 1, (3, words), generator=generator, dtype=torch.int64).to(torch.int32)
    indices = [4, 0, 2]
    storage = logits.data_ptr()
    apply_token_bitmask_(logits, bitmask, indices)
    assert logits.data_ptr() == storage
    for slot, row in enumerate(indices):
        expected = original[row:row + 1].clone()
        apply_token_bitmask_torch_(expected, bitmask[slot:slot + 1])
        assert torch.equal(logits[row], expected[0])
    for row in (1, 3, 5):
        assert torch.equal(logits[row], original[row])
    with pytest.raises(ValueError, match="one bitmask row per index"):
        apply_token_bitmask_(logits, bitmask, [1, 2])


def test_attention_scratch_is_counted_in_the_kv_budget() -> None:
    """Blocks x (KV + gathered K/V of one layer) + masks fit the budget; one more block would not."""
    layout = KVLayout(num_layers=4, num_kv_heads=2, head_dim=32, dtype=torch.float32)
    budget = 32 << 20
    args = dict(max_num_batched_tokens=256, query_groups=2, num_windows=1)
    blocks = auto_num_blocks(layout, 16, 64, 1024, torch.device("cpu"), budget, **args)

    def total(n: int) -> int:
        return n * 16 * layout.bytes_per_token + attention_scratch_bytes(layout, 16, n, 64, 256, 1024, 2, 1)

    assert total(blocks) <= budget < total(blocks + 1)
    # Gathered K and V of one layer add 1/num_layers to each block; the masks are a fixed amount.
    assert attention_scratch_bytes(layout, 16, 10, 64, 256, 1024, 2, 0) - attention_scratch_bytes(
        layout, 16, 0, 64, 256, 1024, 2, 0) == 10 * 16 * layout.bytes_per_token // 4
    with pytest.raises(ValueError, match="attention masks"):
        auto_num_blocks(layout, 16, 64, 1024, torch.device("cpu"), 8 << 20, **args)


def test_attention_groups_never_gather_more_blocks_than_the_pool() -> None:
    """Padded block tables are cut so that rows x longest table stays within the pool."""
    lengths = [40, 1, 1, 1, 1, 30, 2, 2]
    ranges = _split_by_blocks(lengths, 64)
    assert [i for lo, hi in ranges for i in range(lo, hi)] == list(range(len(lengths)))
    assert all((hi - lo) * max(lengths[lo:hi]) <= 64 for lo, hi in ranges)
    assert _split_by_blocks([3, 3, 3], 64) == [(0, 3)]


def test_a_long_request_batched_with_short_ones_in_a_small_pool() -> None:
    """A pool too small for the padded decode group still decodes every request like it runs alone."""
    small = LLMEngine(EngineConfig(num_kv_blocks=24, max_model_len=256, max_num_seqs=8))
    long_prompt = chat_prompt(small, "Tell me a long story about " + "the sea and the sky, " * 12)
    short = chat_prompt(small, "Hi")
    params = SamplingParams(max_tokens=8, temperature=0.0, ignore_eos=True)
    joins = {0: [("long", long_prompt, params)] + [(f"s{i}", short, params) for i in range(5)]}
    together = run_to_completion(small, joins)
    alone = run_to_completion(small, {0: [("long", long_prompt, params)]})["long"]
    assert together["long"].token_ids == alone.token_ids
    assert small.pool._gather_k.shape[0] <= small.pool.num_blocks


def test_cuda_device_without_cuda_is_a_clear_error() -> None:
    """On this CPU-only torch, device='cuda' names what is missing and how to install it."""
    if torch.cuda.is_available():
        pytest.skip("this machine has a usable GPU")
    for device in ("cuda", "cuda:1"):
        with pytest.raises(ModelLoadError, match=r"device 'cuda.*' was requested but .*(CPU-only build|no usable GPU)"
                                                 r".*(pip install torch|nvidia-smi)"):
            resolve_device(device)
    problem = cupy_problem()
    if problem is not None:
        assert "pip install 'reasoning-plugins[cuda]'" in problem or "CuPy is installed" in problem


def test_server_refuses_cuda_at_start_up() -> None:
    """``python -m core_engine.server --device cuda`` exits with the reason instead of serving."""
    if torch.cuda.is_available():
        pytest.skip("this machine has a usable GPU")
    result = subprocess.run([sys.executable, "-m", "core_engine.server", "--device", "cuda", "--engine-in-process",
                             "--port", "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "could not load the model: device 'cuda' was requested but" in result.stderr
    assert "pip install torch" in result.stderr or "nvidia-smi" in result.stderr
