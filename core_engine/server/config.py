"""Server settings, validated once when they are built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .controls import DEFAULT_EFFORTS, EffortLevel

__all__ = ["DEFAULT_MAX_MESSAGES", "DEFAULT_MAX_REGEX_LENGTH", "DEFAULT_MAX_REQUEST_BYTES",
           "DEFAULT_MAX_SCHEMA_BYTES", "REASONING_FIELDS", "ServerConfig"]

DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_MESSAGES = 1000
DEFAULT_MAX_SCHEMA_BYTES = 64 * 1024
DEFAULT_MAX_REGEX_LENGTH = 4096

DeltaKeys = Literal["full", "sparse"]
ReasoningField = Literal["both", "reasoning_content", "reasoning"]

# --reasoning-field -> the message/delta keys that carry the reasoning
REASONING_FIELDS: dict[str, tuple[str, ...]] = {
    "both": ("reasoning_content", "reasoning"),
    "reasoning_content": ("reasoning_content",),
    "reasoning": ("reasoning",),
}


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
    ``reasoning_field`` names the key(s) that carry the reasoning in messages and deltas:
    ``reasoning_content`` (LMDeploy, FastDeploy, older vLLM), ``reasoning`` (vLLM, OpenRouter) or
    ``both``. ``reasoning_efforts`` maps each ``reasoning_effort`` level to a switch and a budget.
    ``max_messages``, ``max_schema_bytes`` (each JSON schema: ``response_format``, ``guided_json``,
    a tool's ``parameters``) and ``max_regex_length`` (``guided_regex``) cap what one request may ask.
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
    max_messages: int = DEFAULT_MAX_MESSAGES
    max_schema_bytes: int = DEFAULT_MAX_SCHEMA_BYTES
    max_regex_length: int = DEFAULT_MAX_REGEX_LENGTH
    reasoning_field: ReasoningField = "both"
    reasoning_efforts: dict[str, EffortLevel] = field(default_factory=lambda: dict(DEFAULT_EFFORTS))

    @property
    def reasoning_keys(self) -> tuple[str, ...]:
        return REASONING_FIELDS[self.reasoning_field]
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
        for name in ("max_messages", "max_schema_bytes", "max_regex_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        timeout = self.request_timeout
        if timeout is not None and (not isinstance(timeout, (int, float)) or isinstance(timeout, bool)
                                    or not timeout > 0):
            raise ValueError(f"request_timeout must be a positive number of seconds or None, got {timeout!r}")
        unknown = set(self.sampling_defaults) - {"temperature", "top_p", "top_k"}
        if unknown:
            raise ValueError(f"sampling_defaults may set temperature, top_p and top_k, not {sorted(unknown)}")
        if self.reasoning_field not in REASONING_FIELDS:
            raise ValueError(f"reasoning_field must be one of {', '.join(REASONING_FIELDS)}, got {self.reasoning_field!r}")
        if not self.reasoning_efforts or not all(isinstance(v, EffortLevel) for v in self.reasoning_efforts.values()):
            raise ValueError("reasoning_efforts must map at least one level name to an EffortLevel")
        if self.delta_keys not in ("full", "sparse"):
            raise ValueError(f"delta_keys must be 'full' or 'sparse', got {self.delta_keys!r}")
