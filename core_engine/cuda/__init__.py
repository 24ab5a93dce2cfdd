"""GPU kernels written with CuPy, sharing memory with torch through DLPack.

Each kernel has a torch fallback with identical results; the fallback runs whenever the tensors are
not on a CUDA device or CuPy is not installed (``pip install reasoning-plugins[cuda]``).
"""

from __future__ import annotations

from ._cupy import cupy_available, cupy_problem
from .bitmask import apply_token_bitmask_
from .sampling import sample_from_probs

__all__ = [
    "apply_token_bitmask_",
    "cupy_available",
    "cupy_problem",
    "sample_from_probs",
]
