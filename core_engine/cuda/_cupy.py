"""Lazy CuPy import: CuPy is optional and only used for tensors that live on a CUDA device."""

from __future__ import annotations

import functools
from typing import Any

import torch


@functools.cache
def _cupy() -> Any:
    try:
        import cupy
    except ImportError:
        return None
    try:
        return cupy if cupy.cuda.is_available() else None
    except Exception:  # noqa: BLE001 - a broken CUDA runtime means "no GPU path", never a crash
        return None


def cupy_problem() -> str | None:
    """Why the CuPy kernels cannot run (what is missing and how to install it), or None."""
    try:
        import cupy
    except ImportError:
        return ("CuPy is not installed, and the engine's GPU kernels need it: pip install "
                "'reasoning-plugins[cuda]' (cupy-cuda12x)")
    try:
        if not cupy.cuda.is_available():
            return "CuPy is installed but sees no CUDA device (check the NVIDIA driver and CUDA_VISIBLE_DEVICES)"
    except Exception as exc:  # noqa: BLE001 - report any runtime failure as the reason
        return f"CuPy is installed but cannot use CUDA ({type(exc).__name__}: {exc}); reinstall cupy-cuda12x"
    return None


def cupy_available() -> bool:
    """True when CuPy is installed and sees a CUDA device."""
    return _cupy() is not None


def cupy_for(tensor: torch.Tensor) -> Any:
    """The cupy module when ``tensor`` can be handled on the GPU path, else None."""
    if not tensor.is_cuda:
        return None
    return _cupy()


@functools.cache
def raw_kernel(source: str, name: str) -> Any:
    """Compile (once) and return a CuPy RawKernel."""
    cupy = _cupy()
    return cupy.RawKernel(source, name)


def current_stream(tensor: torch.Tensor) -> Any:
    """torch's current CUDA stream for ``tensor``'s device, as a CuPy stream."""
    cupy = _cupy()
    return cupy.cuda.ExternalStream(torch.cuda.current_stream(tensor.device).cuda_stream)
