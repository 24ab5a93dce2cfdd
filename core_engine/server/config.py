"""Server settings, validated once when they are built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "ServerConfig"]

DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024

DeltaKeys = Literal["full", "sparse"]


@dataclass(slots=True)
class ServerConfig:
    """What the HTTP layer needs to know; the engine has its own ``EngineConfig``.

    ``served_model_name`` defaults to the model directory's name. ``delta_keys`` decides which
    keys a streamed ``delta`` carries: ``"full"`` sends ``content`` and (with a reasoning parser)
    ``reasoning_content`` in every chunk, ``null`` when empty, so ``delta.reasoning_content`` can
    be read directly (LMDeploy, FastDeploy); ``"sparse"`` sends only the keys that have text, so
    ``hasattr(delta, "reasoning_content")`` tells the sections apart (vLLM).
    ``sampling_defaults`` (``temperature``, ``top_p``, ``top_k``) apply when a request leaves
    them out; the CLI reads them from the model's ``generation_config.json``.
    ``stream_interval`` sends streamed text every N engine outputs (1: every token) after the
    first, which is always sent at once; larger values mean fewer, larger writes under load.
    ``request_timeout`` (seconds, None = no limit) aborts a request that has not finished that long
    after it arrived, queue time included, and answers it with an error (504, or an error event).
    """

    reasoning_parser: str | None = None
    tool_call_parser: str | None = None
    served_model_name: str | None = None
    strict_model_name: bool = False
    api_key: str | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_tokens_limit: int | None = None
    delta_keys: DeltaKeys = "full"
    sampling_defaults: dict[str, float] = field(default_factory=dict)
    stream_interval: int = 1
    request_timeout: float | None = None

    def __post_init__(self) -> None:
        for name in ("reasoning_parser", "tool_call_parser", "served_model_name", "api_key"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name} must be a non-empty string or None, got {value!r}")
        if not isinstance(self.max_request_bytes, int) or isinstance(self.max_request_bytes, bool) \
                or self.max_request_bytes < 1024:
            raise ValueError(f"max_request_bytes must be an integer >= 1024, got {self.max_request_bytes!r}")
        if self.max_tokens_limit is not None and (not isinstance(self.max_tokens_limit, int)
                                                  or isinstance(self.max_tokens_limit, bool)
                                                  or self.max_tokens_limit < 1):
            raise ValueError(f"max_tokens_limit must be a positive integer or None, got {self.max_tokens_limit!r}")
        if not isinstance(self.stream_interval, int) or isinstance(self.stream_interval, bool) \
                or self.stream_interval < 1:
            raise ValueError(f"stream_interval must be an integer >= 1, got {self.stream_interval!r}")
        timeout = self.request_timeout
        if timeout is not None and (not isinstance(timeout, (int, float)) or isinstance(timeout, bool)
                                    or not timeout > 0):
            raise ValueError(f"request_timeout must be a positive number of seconds or None, got {timeout!r}")
        unknown = set(self.sampling_defaults) - {"temperature", "top_p", "top_k"}
        if unknown:
            raise ValueError(f"sampling_defaults may set temperature, top_p and top_k, not {sorted(unknown)}")
        if self.delta_keys not in ("full", "sparse"):
            raise ValueError(f"delta_keys must be 'full' or 'sparse', got {self.delta_keys!r}")
