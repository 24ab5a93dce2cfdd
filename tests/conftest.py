"""Test-wide settings: engines built with ``device="auto"`` run on the CPU.

The engine tests compare with float32 CPU references and assert CPU batch invariance; the CUDA path
has its own tests (``tests/engine/test_cuda_*.py``), which pass ``device="cuda"`` explicitly.
"""

from __future__ import annotations

import os

os.environ.setdefault("CORE_ENGINE_DEVICE", "cpu")
