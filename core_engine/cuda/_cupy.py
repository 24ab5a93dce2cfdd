"""Lazy CuPy import and kernel launching: CuPy is optional and only used for CUDA tensors.

Every launch runs in the tensor's own device context and on torch's current stream for that
device, so kernels order correctly with torch's work on ``cuda:N``. A kernel that fails to build
(NVRTC compile error, missing CUDA headers) is disabled for the process with one warning, and its
torch implementation runs instead from then on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import torch

logger = logging.getLogger("core_engine")

T = TypeVar("T")

_disabled: dict[str, str] = {}   # kernel name -> why it could not be built


class KernelBuildError(RuntimeError):
    """A kernel could not be compiled or loaded (raised by CuPy as its own exception types)."""


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
    """A CuPy RawKernel (compiled on first launch, once per device)."""
    cupy = _cupy()
    return cupy.RawKernel(source, name)


def _build_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [KernelBuildError]
    try:
        from cupy.cuda.compiler import CompileException

        errors.append(CompileException)
    except ImportError:
        pass
    try:
        from cupy_backends.cuda.libs.nvrtc import NVRTCError

        errors.append(NVRTCError)
    except ImportError:
        pass
    return tuple(errors)


def launch_or_fallback(name: str, tensor: torch.Tensor, launch: Callable[[Any], T], fallback: Callable[[], T]) -> T:
    """Run ``launch(cupy)`` in ``tensor``'s device context on torch's current stream, or ``fallback()``.

    ``fallback`` runs for tensors off the GPU path, and through ``guarded`` when the kernel cannot
    be built.
    """
    cupy = cupy_for(tensor)
    if cupy is None:
        return fallback()

    def run() -> T:
        with cupy.cuda.Device(tensor.device.index), current_stream(tensor):
            return launch(cupy)

    return guarded(name, run, fallback)


def guarded(name: str, run: Callable[[], T], fallback: Callable[[], T]) -> T:
    """``run()``, unless kernel ``name`` cannot be built: then ``fallback()``, with one warning per process.

    A build failure raises before the kernel touches memory, so the fallback sees the inputs unchanged.
    """
    if name in _disabled:
        return fallback()
    try:
        return run()
    except _build_errors() as exc:
        _disabled[name] = f"{type(exc).__name__}: {exc}"
        logger.warning("the CUDA kernel %s could not be built (%s); using its torch implementation from now on",
                       name, _disabled[name].splitlines()[0])
        return fallback()


def disabled_kernels() -> dict[str, str]:
    """Kernels that failed to build in this process, with the reason."""
    return dict(_disabled)


def current_stream(tensor: torch.Tensor) -> Any:
    """torch's current CUDA stream for ``tensor``'s device, as a CuPy stream."""
    cupy = _cupy()
    return cupy.cuda.ExternalStream(torch.cuda.current_stream(tensor.device).cuda_stream, tensor.device.index)
