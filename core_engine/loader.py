"""Load a model, its tokenizer and its chat template from a local Hugging Face directory.

Nothing is ever downloaded: every ``from_pretrained`` call is local-only, and a directory that lacks
a required file is rejected with an error naming that file before transformers is asked to read it.
A single ``.gguf`` file (or a directory holding one and no config.json) loads through transformers'
GGUF reader, dequantised, when the ``gguf`` package is installed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .attention import ATTN_IMPLEMENTATION
from .model_support import UnsupportedModelError, check_config, probe_attention

logger = logging.getLogger("core_engine")

_TOKENIZER_VOCAB_FILES = ("tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")
_DIR_LAYOUT = ("a Hugging Face model directory holds config.json, model.safetensors (or "
               "model.safetensors.index.json and its shards), tokenizer.json (or tokenizer_config.json with "
               "its vocabulary files) and a chat template (chat_template.jinja or 'chat_template' in "
               "tokenizer_config.json)")


class ModelLoadError(ValueError):
    """The model directory is missing, incomplete or unreadable."""


@dataclass(slots=True)
class LoadedModel:
    model: Any
    tokenizer: Any
    name: str
    path: Path
    eos_token_ids: list[int]
    vocab_size: int
    max_model_len: int
    device: torch.device
    dtype: torch.dtype
    sliding_windows: tuple[int, ...] = ()   # distinct sliding windows of the model's layers


def find_gguf(path: Path) -> tuple[Path, str | None]:
    """(directory, GGUF file name) for a ``.gguf`` file or a directory holding one and no config.json.

    Returns ``(path, None)`` for an ordinary Hugging Face directory.
    """
    if path.is_file() and path.suffix == ".gguf":
        return path.parent, path.name
    if path.is_dir() and not (path / "config.json").is_file():
        found = sorted(p.name for p in path.glob("*.gguf"))
        if len(found) > 1:
            raise ModelLoadError(f"{str(path)!r} holds several GGUF files ({', '.join(found)}); pass the path "
                                 "of the one to load")
        if found:
            return path, found[0]
    return path, None


def check_model_dir(path: Path) -> None:
    """Raise ModelLoadError naming the first required file that ``path`` lacks."""
    if not path.exists():
        raise ModelLoadError(f"model directory {str(path)!r} does not exist; pass the path of a local "
                             f"model directory ({_DIR_LAYOUT}). Models are never downloaded.")
    if not path.is_dir():
        raise ModelLoadError(f"model path {str(path)!r} is not a directory; {_DIR_LAYOUT}")
    missing: list[str] = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    index = path / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, KeyError) as exc:
            raise ModelLoadError(f"{index} is not a valid safetensors index ({exc}); re-export the model") from exc
        missing += [shard for shard in shards if not (path / shard).is_file()]
    elif not (path / "model.safetensors").is_file():
        missing.append("model.safetensors")
    if not (path / "tokenizer.json").is_file():
        if not (path / "tokenizer_config.json").is_file():
            missing.append("tokenizer.json")
        elif not any((path / name).is_file() for name in _TOKENIZER_VOCAB_FILES):
            missing.append("tokenizer.json (or one of " + ", ".join(_TOKENIZER_VOCAB_FILES) + ")")
    if missing:
        raise ModelLoadError(f"model directory {str(path)!r} is incomplete: missing {', '.join(missing)}; "
                             f"{_DIR_LAYOUT}")


def resolve_device(device: str) -> torch.device:
    """The torch device for ``device``; an explicit CUDA device must be usable with its CuPy kernels.

    ``auto`` takes the ``CORE_ENGINE_DEVICE`` environment variable when it is set (the test suite
    sets ``cpu``: its references are float32 CPU results), else CUDA when torch sees a GPU (the CuPy
    kernels are then used if CuPy is installed, their torch fallbacks otherwise); ``cuda`` /
    ``cuda:N`` without a usable GPU or without CuPy is an error naming what is missing and how to
    install it.
    """
    if device == "auto":
        chosen = os.environ.get("CORE_ENGINE_DEVICE", "").strip()
        if chosen and chosen != "auto":
            return resolve_device(chosen)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        problem = cuda_problem(device)
        if problem:
            raise ModelLoadError(f"device {device!r} was requested but {problem}")
    return torch.device(device)


def cuda_problem(device: str) -> str | None:
    """What is missing for ``device`` (``cuda`` or ``cuda:N``) to run the engine, or None."""
    from .cuda import cupy_problem

    if torch.version.cuda is None:
        return (f"the installed torch {torch.__version__} is a CPU-only build; install a CUDA build of torch "
                "(pip install torch --index-url https://download.pytorch.org/whl/cu126) or use device='cpu'")
    if not torch.cuda.is_available():
        return ("torch (CUDA " + str(torch.version.cuda) + ") sees no usable GPU (no device, or the NVIDIA driver is "
                "missing or too old; check nvidia-smi and CUDA_VISIBLE_DEVICES); use device='cpu'")
    index = torch.device(device).index
    if index is not None and index >= torch.cuda.device_count():
        return f"only {torch.cuda.device_count()} CUDA device(s) are visible (cuda:0 ...); pick one of them"
    problem = cupy_problem()
    if problem:
        return problem + "; or use device='auto' to run the torch fallbacks of the GPU kernels"
    return None


def resolve_dtype(dtype: str, device: torch.device, config_dtype: Any) -> torch.dtype:
    if dtype != "auto":
        return getattr(torch, dtype)
    if device.type == "cpu":
        # Half precision on CPU is slower than float32 for matmul-bound small models.
        return torch.float32
    if isinstance(config_dtype, str):
        config_dtype = getattr(torch, config_dtype, None)
    return config_dtype if config_dtype in (torch.float16, torch.bfloat16) else torch.bfloat16


def _eos_ids(path: Path, tokenizer: Any, config: Any) -> list[int]:
    ids: list[int] = []
    sources: list[Any] = [getattr(config, "eos_token_id", None), tokenizer.eos_token_id]
    gen_path = path / "generation_config.json"
    if gen_path.is_file():
        try:
            sources.insert(0, json.loads(gen_path.read_text()).get("eos_token_id"))
        except ValueError:
            logger.warning("ignoring unreadable %s", gen_path)
    for source in sources:
        for value in source if isinstance(source, list) else [source]:
            if isinstance(value, int) and value not in ids:
                ids.append(value)
    return ids


_SMALL_MODEL_PARAMS = 100_000_000


def load_model(path: Path, *, device: str, dtype: str, attn_implementation: str,
               max_model_len: int | None, num_threads: int | None = None) -> LoadedModel:
    """Load the model and tokenizer at ``path`` (local files only) and switch its attention."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    path, gguf_file = find_gguf(path.expanduser().resolve())
    if gguf_file is None:
        check_model_dir(path)
        name = path.name
        extra: dict[str, Any] = {}
    else:
        try:
            import gguf  # noqa: F401 - transformers needs it to read GGUF files
        except ImportError as exc:
            raise ModelLoadError(f"loading {gguf_file} needs the gguf package: pip install gguf") from exc
        name = gguf_file.removesuffix(".gguf")
        extra = {"gguf_file": gguf_file}
    started = time.perf_counter()
    logger.info("loading model from %s", path / gguf_file if gguf_file else path)
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True, **extra)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, **extra)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"could not read the config or tokenizer in {str(path)!r}: {exc}") from exc
    try:
        check_config(config)
    except UnsupportedModelError as exc:
        raise ModelLoadError(f"{str(path)!r} cannot be served by core_engine: {exc}") from exc
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device, getattr(config, "dtype", None))
    try:
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=torch_dtype, **extra)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"could not load the weights in {str(path)!r} as a causal language model: {exc}") from exc
    model.to(torch_device)
    model.eval()
    model.set_attn_implementation(attn_implementation)
    windows: tuple[int, ...] = ()
    if attn_implementation == ATTN_IMPLEMENTATION:
        try:
            windows = probe_attention(model, torch_device, torch_dtype)
        except UnsupportedModelError as exc:
            raise ModelLoadError(f"{str(path)!r} cannot be served by core_engine: {exc}") from exc
    if windows:
        logger.info("sliding-window attention: window(s) %s", ", ".join(map(str, windows)))
    params = sum(p.numel() for p in model.parameters())
    if torch_device.type == "cpu":
        if num_threads is None and params < _SMALL_MODEL_PARAMS:
            num_threads = 1
        if num_threads is not None and torch.get_num_threads() != num_threads:
            logger.info("using %d CPU thread(s) for torch", num_threads)
            torch.set_num_threads(num_threads)
    context = getattr(config, "max_position_embeddings", None) or 2048
    if max_model_len is not None:
        if max_model_len > context:
            logger.warning("max_model_len=%d exceeds the model's max_position_embeddings=%d", max_model_len, context)
        context = max_model_len
    vocab_size = model.get_output_embeddings().weight.shape[0]
    logger.info("loaded %s: %.2fM parameters, %s on %s, vocabulary %d, context %d tokens, in %.1fs",
                name, params / 1e6, str(torch_dtype).removeprefix("torch."), torch_device, vocab_size,
                context, time.perf_counter() - started)
    eos_ids = _eos_ids(path, tokenizer, config)
    outside = [i for i in eos_ids if i >= vocab_size]
    if outside:
        logger.warning("ignoring end-of-sequence id(s) %s: outside the model's vocabulary of %d",
                       ", ".join(map(str, outside)), vocab_size)
        eos_ids = [i for i in eos_ids if i < vocab_size]
    return LoadedModel(model=model, tokenizer=tokenizer, name=name, path=path,
                       eos_token_ids=eos_ids, vocab_size=vocab_size,
                       max_model_len=int(context), device=torch_device, dtype=torch_dtype, sliding_windows=windows)
