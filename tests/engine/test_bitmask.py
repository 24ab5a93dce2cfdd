"""Token bitmask application (the torch fallback of the CuPy kernel) against a bit-by-bit reference."""

from __future__ import annotations

import pytest
import torch

from core_engine.cuda import apply_token_bitmask_
from core_engine.cuda.bitmask import apply_token_bitmask_torch_


def _reference(logits: torch.Tensor, bitmask: torch.Tensor) -> torch.Tensor:
    out = logits.clone()
    for row in range(logits.shape[0]):
        for token in range(logits.shape[1]):
            word = int(bitmask[row, token // 32]) & 0xFFFFFFFF
            if not (word >> (token % 32)) & 1:
                out[row, token] = float("-inf")
    return out


@pytest.mark.parametrize("vocab", [32, 100, 333])
def test_bitmask_fallback_matches_bit_by_bit_reference(vocab: int) -> None:
    """Each bit (little-endian in int32 words, sign bit included) allows exactly its token."""
    generator = torch.Generator().manual_seed(vocab)
    logits = torch.randn(5, vocab, generator=generator)
    words = (vocab + 31) // 32
    bitmask = torch.randint(-2**31, 2**31 - 1, (5, words), generator=generator, dtype=torch.int64).to(torch.int32)
    bitmask[0] = -1   # every token allowed
    bitmask[1] = 0    # none allowed
    expected = _reference(logits, bitmask)
    got = logits.clone()
    apply_token_bitmask_(got, bitmask)
    assert torch.equal(got, expected)
    other = logits.clone()
    apply_token_bitmask_torch_(other, bitmask)
    assert torch.equal(other, expected)


def test_bitmask_shape_errors_are_clear() -> None:
    """Mismatched shapes raise ValueError saying what was expected."""
    with pytest.raises(ValueError, match="equal rows"):
        apply_token_bitmask_(torch.zeros(2, 64), torch.zeros(3, 2, dtype=torch.int32))
    with pytest.raises(ValueError, match="covers 32 tokens"):
        apply_token_bitmask_(torch.zeros(2, 64), torch.zeros(2, 1, dtype=torch.int32))
