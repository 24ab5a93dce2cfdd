"""Per-request generation settings: sampling, stop conditions, reasoning budget, guided decoding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(slots=True)
class GuidedDecodingParams:
    """Constrain the answer (the part after reasoning) to a grammar.

    Exactly one of ``json_schema`` (a dict or a JSON string), ``regex`` or ``json_object`` (any JSON
    object). ``prefix`` and ``suffix`` are literal texts forced before and after the constrained part,
    for example ``prefix="<tool_call>"``, ``suffix="</tool_call>"``. Whether a schema or regex compiles
    is checked when the request is added, before anything is generated.
    """

    json_schema: dict[str, Any] | str | None = None
    regex: str | None = None
    json_object: bool = False
    prefix: str = ""
    suffix: str = ""

    def __post_init__(self) -> None:
        chosen = [name for name, on in (("json_schema", self.json_schema is not None),
                                        ("regex", self.regex is not None),
                                        ("json_object", bool(self.json_object))) if on]
        if len(chosen) != 1:
            got = ", ".join(chosen) if chosen else "none"
            raise ValueError(f"GuidedDecodingParams needs exactly one of json_schema, regex, json_object; got {got}")
        if self.json_schema is not None:
            if isinstance(self.json_schema, str):
                try:
                    parsed = json.loads(self.json_schema)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"json_schema is not valid JSON: {exc}; pass a dict or a JSON string") from exc
                if not isinstance(parsed, (dict, bool)):
                    raise ValueError("json_schema must be a JSON object (a dict), got a JSON "
                                     f"{type(parsed).__name__}")
            elif not isinstance(self.json_schema, dict):
                raise ValueError(f"json_schema must be a dict or a JSON string, got {type(self.json_schema).__name__}")
        if self.regex is not None and (not isinstance(self.regex, str) or not self.regex):
            raise ValueError("regex must be a non-empty string")
        if not isinstance(self.json_object, bool):
            raise ValueError(f"json_object must be True or False, got {self.json_object!r}")
        for name in ("prefix", "suffix"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string (literal text), got {type(getattr(self, name)).__name__}")

    @property
    def schema_text(self) -> str | None:
        """The JSON schema as a string, or None when this is not a schema constraint."""
        if self.json_schema is None:
            return None
        return self.json_schema if isinstance(self.json_schema, str) else json.dumps(self.json_schema)


# the seeds a torch.Generator takes
SEED_MIN, SEED_MAX = -(2**63), 2**64 - 1


@dataclass(slots=True)
class SamplingParams:
    """How one request samples and when it stops.

    ``temperature=0`` is greedy. ``top_k=0`` turns top-k off. ``stop`` strings end generation and are
    not part of the output. ``reasoning_max_tokens`` caps the reasoning: once reached, the reasoner's
    end tokens are forced (0 ends reasoning at once). ``seed`` makes one request's samples
    reproducible whatever else runs in the same batch.
    """

    max_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    stop: list[str] | None = None
    stop_token_ids: list[int] | None = None
    ignore_eos: bool = False
    reasoning_max_tokens: int | None = None
    guided: GuidedDecodingParams | None = None

    def __post_init__(self) -> None:
        if not _is_int(self.max_tokens) or self.max_tokens < 1:
            raise ValueError(f"max_tokens must be an integer >= 1, got {self.max_tokens!r}")
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)) \
                or not 0.0 <= float(self.temperature) <= 100.0:
            raise ValueError(f"temperature must be a number in [0, 100] (0 = greedy), got {self.temperature!r}")
        self.temperature = float(self.temperature)
        if isinstance(self.top_p, bool) or not isinstance(self.top_p, (int, float)) or not 0.0 < float(self.top_p) <= 1.0:
            raise ValueError(f"top_p must be a number in (0, 1], got {self.top_p!r}")
        self.top_p = float(self.top_p)
        if not _is_int(self.top_k) or self.top_k < 0:
            raise ValueError(f"top_k must be an integer >= 0 (0 = off), got {self.top_k!r}")
        if self.seed is not None and (not _is_int(self.seed) or not SEED_MIN <= self.seed <= SEED_MAX):
            raise ValueError(f"seed must be an integer in [-2**63, 2**64 - 1] or None, got {self.seed!r}")
        if isinstance(self.stop, str):
            self.stop = [self.stop]
        if self.stop is not None:
            if not isinstance(self.stop, (list, tuple)) or not all(isinstance(s, str) and s for s in self.stop):
                raise ValueError(f"stop must be a list of non-empty strings, got {self.stop!r}")
            self.stop = list(self.stop)
        if self.stop_token_ids is not None:
            if not isinstance(self.stop_token_ids, (list, tuple)) or not all(_is_int(t) and t >= 0 for t in self.stop_token_ids):
                raise ValueError(f"stop_token_ids must be a list of non-negative integers, got {self.stop_token_ids!r}")
            self.stop_token_ids = list(self.stop_token_ids)
        if not isinstance(self.ignore_eos, bool):
            raise ValueError(f"ignore_eos must be True or False, got {self.ignore_eos!r}")
        if self.reasoning_max_tokens is not None and (not _is_int(self.reasoning_max_tokens) or self.reasoning_max_tokens < 0):
            raise ValueError(f"reasoning_max_tokens must be an integer >= 0 or None, got {self.reasoning_max_tokens!r}")
        if self.guided is not None and not isinstance(self.guided, GuidedDecodingParams):
            raise ValueError(f"guided must be a GuidedDecodingParams or None, got {type(self.guided).__name__}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0
