"""Shared fixtures: the bundled model loaded once, and helpers that run requests to completion."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from core_engine import LLM, EngineConfig, LLMEngine, SamplingParams


@dataclass
class Finished:
    """Everything a request produced, gathered from its step outputs."""

    token_ids: list[int] = field(default_factory=list)
    text: str = ""
    finish_reason: str | None = None
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    deltas: list[str] = field(default_factory=list)


def run_to_completion(engine: LLMEngine, joins: dict[int, list[tuple[str, list[int], SamplingParams]]] | None = None,
                      max_steps: int = 10_000) -> dict[str, Finished]:
    """Step until idle; ``joins[k]`` lists requests added just before step ``k``."""
    joins = joins or {}
    results: dict[str, Finished] = {}
    step = 0
    while step <= max(joins, default=0) or engine.has_unfinished():
        for request_id, prompt, params in joins.get(step, []):
            engine.add_request(request_id, prompt, params)
            results[request_id] = Finished()
        for out in engine.step():
            entry = results.setdefault(out.request_id, Finished())
            entry.token_ids += out.new_token_ids
            entry.text += out.new_text
            entry.deltas.append(out.new_text)
            if out.finished:
                entry.finish_reason = out.finish_reason
                entry.completion_tokens = out.completion_tokens
                entry.reasoning_tokens = out.reasoning_tokens
        step += 1
        assert step < max_steps, "the engine did not finish its requests"
    return results


@pytest.fixture(scope="session")
def engine() -> Iterator[LLMEngine]:
    """The bundled tiny reasoning model with a small KV pool (512 blocks of 16 tokens)."""
    eng = LLMEngine(EngineConfig(num_kv_blocks=512, max_num_seqs=32))
    yield eng
    assert not eng.has_unfinished()


@pytest.fixture()
def clean_engine(engine: LLMEngine) -> Iterator[LLMEngine]:
    """The shared engine, checked to hold no request and no KV block after the test."""
    yield engine
    for request_id in list(engine.requests):
        engine.abort(request_id)
    stats = engine.stats()
    assert stats["kv_blocks_free"] == stats["kv_blocks_total"]


def chat_prompt(engine: LLMEngine, text: str, **template_kwargs: object) -> list[int]:
    return engine.build_prompt([{"role": "user", "content": text}], chat_template_kwargs=template_kwargs or None)


@pytest.fixture(scope="session")
def llm() -> LLM:
    """The offline API over the bundled model (reasoning parser deepseek-r1 by default)."""
    return LLM(num_kv_blocks=512, max_num_seqs=32)
