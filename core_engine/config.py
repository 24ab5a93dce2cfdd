"""Engine configuration, validated once when it is built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_DEVICES = ("auto", "cpu", "cuda")
_DTYPES = ("auto", "float32", "float16", "bfloat16")

BUNDLED_MODEL_DIR = Path(__file__).resolve().parent / "models" / "tiny-reasoner"


@dataclass(slots=True)
class EngineConfig:
    """How to load the model and size the scheduler and the KV pool.

    ``model=None`` selects the tiny reasoning model shipped in ``core_engine/models/tiny-reasoner``.
    ``num_kv_blocks=None`` sizes the pool automatically; ``max_model_len=None`` takes the context
    length from the model's config. ``grammar_compile_timeout`` (seconds) fails a request whose JSON
    schema or regex takes longer to compile. ``num_threads`` sets torch's CPU thread count for the process;
    None picks 1 for models under 100M parameters (their steps are a chain of tiny operations, where
    thread hand-offs cost more than they save) and leaves torch's default otherwise.
    """

    model: str | Path | None = None
    reasoning_parser: str | None = None
    max_num_seqs: int = 64
    max_num_batched_tokens: int = 2048
    kv_block_size: int = 16
    num_kv_blocks: int | None = None
    max_model_len: int | None = None
    device: str = "auto"
    dtype: str = "auto"
    seed: int = 0
    kv_cache_memory_bytes: int | None = None
    num_threads: int | None = None
    grammar_compile_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.model is not None and not isinstance(self.model, (str, Path)):
            raise ValueError(f"model must be a local directory path (str or Path) or None, got {type(self.model).__name__}")
        if self.reasoning_parser is not None and (not isinstance(self.reasoning_parser, str) or not self.reasoning_parser):
            raise ValueError("reasoning_parser must be a non-empty parser name such as 'deepseek-r1', or None")
        for name in ("max_num_seqs", "max_num_batched_tokens", "kv_block_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("num_kv_blocks", "max_model_len", "kv_cache_memory_bytes", "num_threads"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None (automatic), got {value!r}")
        if self.device not in _DEVICES and not str(self.device).startswith("cuda:"):
            raise ValueError(f"device must be one of {', '.join(_DEVICES)} or 'cuda:N', got {self.device!r}")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, got {self.dtype!r}")
        timeout = self.grammar_compile_timeout
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout > 0:
            raise ValueError(f"grammar_compile_timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

    @property
    def model_dir(self) -> Path:
        """The model directory this config points at (the bundled model when ``model`` is None)."""
        return BUNDLED_MODEL_DIR if self.model is None else Path(self.model).expanduser()
