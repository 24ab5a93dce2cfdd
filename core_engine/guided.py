"""Guided decoding with xgrammar: compile once per request, mask the answer tokens.

A request's constrained part runs in three phases: the literal ``prefix`` is forced token by token,
then the grammar masks every sampled token, and once the grammar accepts a stop token the literal
``suffix`` is forced followed by end-of-sequence. JSON (``json_schema``, and ``json_object``, which
means any JSON object) is held to one line with ``", "`` and ``": "`` separators, as ``json.dumps``
writes it. The grammar never sees reasoning tokens (the engine
asks the reasoner whether the next token is reasoning before filling a mask), forced tokens, or the
stop token that ends it.
"""

from __future__ import annotations

import re
import threading
from enum import IntEnum
from typing import Any

import torch

from .sampling_params import GuidedDecodingParams

_XGRAMMAR_LOG_PREFIX = re.compile(r"^\[[0-9:]+\] \S+:\d+: ")


class GuidedPhase(IntEnum):
    PREFIX = 0
    GRAMMAR = 1
    DONE = 2


class GuidedState:
    """One request's position in its constrained part."""

    __slots__ = ("matcher", "prefix_ids", "suffix_ids", "phase", "tokens_before_decision", "implicit_end_allowed")

    def __init__(self, matcher: Any, prefix_ids: list[int], suffix_ids: list[int]) -> None:
        self.matcher = matcher
        self.prefix_ids = prefix_ids
        self.suffix_ids = suffix_ids
        self.phase = GuidedPhase.PREFIX
        # Whitespace tokens the grammar accepted while the output could still open reasoning; taken
        # back from the matcher if the start marker follows.
        self.tokens_before_decision = 0
        # Which of the reasoner's implicit-end markers may begin the content (None: not yet asked).
        self.implicit_end_allowed: frozenset[int] | None = None


class GuidedDecoding:
    """Per-engine xgrammar objects: the tokenizer info and compiler are built once, on first use."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_token_ids: list[int]) -> None:
        self._tokenizer = tokenizer
        self.vocab_size = vocab_size
        self._stop_token_ids = stop_token_ids
        self._compiler: Any = None
        self._lock = threading.Lock()

    def _get_compiler(self) -> Any:
        with self._lock:
            if self._compiler is None:
                try:
                    import xgrammar
                except ImportError as exc:
                    raise ValueError("guided decoding needs xgrammar: pip install xgrammar --no-deps "
                                     "apache-tvm-ffi (see the engine extra)") from exc
                info = xgrammar.TokenizerInfo.from_huggingface(self._tokenizer, vocab_size=self.vocab_size,
                                                               stop_token_ids=self._stop_token_ids or None)
                self._compiler = xgrammar.GrammarCompiler(info, cache_enabled=True)
            return self._compiler

    def compile(self, params: GuidedDecodingParams) -> Any:
        """Compile the grammar; an invalid schema or regex raises ValueError saying what is wrong."""
        compiler = self._get_compiler()
        try:
            if params.regex is not None:
                return compiler.compile_regex(params.regex)
            schema = '{"type": "object"}' if params.json_object else params.schema_text
            # One-line JSON with json.dumps' default separators: free whitespace lets small models
            # loop on newlines until max_tokens cuts the JSON short.
            return compiler.compile_json_schema(schema, any_whitespace=False)
        except RuntimeError as exc:
            kind = "regex" if params.regex is not None else "JSON schema"
            detail = _XGRAMMAR_LOG_PREFIX.sub("", str(exc).strip())
            raise ValueError(f"invalid {kind} for guided decoding: {detail}. Fix the {kind} and resend the "
                             "request; nothing was generated.") from exc

    def new_state(self, params: GuidedDecodingParams, compiled: Any) -> GuidedState:
        import xgrammar

        encode = self._tokenizer.encode
        prefix = encode(params.prefix, add_special_tokens=False) if params.prefix else []
        suffix = encode(params.suffix, add_special_tokens=False) if params.suffix else []
        return GuidedState(xgrammar.GrammarMatcher(compiled), prefix, suffix)

    def allocate_bitmask(self, rows: int) -> torch.Tensor:
        return torch.zeros((rows, (self.vocab_size + 31) // 32), dtype=torch.int32)
