"""The engine core: a request that fails mid-step ends alone, and grammars compile off the step loop.

The broken tracker below is a real object standing in for a reasoning plugin's tracker (the server
tests install a real broken plugin distribution); it raises from ``feed`` like a buggy plugin would.
"""

from __future__ import annotations

import json
import random
import string
import time
from collections.abc import Iterator
from typing import Any

import pytest

from core_engine import GuidedDecodingParams, LLMEngine, SamplingParams
from core_engine.outputs import RequestOutput

from .conftest import chat_prompt, run_to_completion


class BrokenTracker:
    """Delegates to a real tracker; ``feed`` raises on its ``after``-th call."""

    def __init__(self, inner: Any, after: int) -> None:
        self._inner = inner
        self._after = after
        self._fed = 0

    @property
    def in_reasoning(self) -> bool:
        return self._inner.in_reasoning

    def feed(self, token_id: int) -> bool:
        self._fed += 1
        if self._fed >= self._after:
            raise KeyError("tracker state lost")
        return self._inner.feed(token_id)


def test_a_request_finishing_in_the_failing_step_is_delivered(clean_engine: LLMEngine) -> None:
    """Another request's failure in the step where a request finishes: that one is still delivered, unchanged."""
    engine = clean_engine
    prompt = chat_prompt(engine, "What is 2 + 3?")
    params = SamplingParams(max_tokens=3, temperature=0.0, ignore_eos=True)
    alone = run_to_completion(engine, {0: [("alone", prompt, params)]})["alone"]
    engine.add_request("done", prompt, params)
    broken = engine.make_request("broken", chat_prompt(engine, "Hi!"), SamplingParams(max_tokens=50))
    broken.tracker = BrokenTracker(broken.tracker, after=3)
    engine.enqueue(broken)
    engine.add_request("later", prompt, SamplingParams(max_tokens=6, temperature=0.0, ignore_eos=True))
    steps: list[list[RequestOutput]] = []
    while engine.has_unfinished():
        steps.append(engine.step())
    third = {out.request_id: out for out in steps[2]}
    assert third["done"].finished and third["done"].finish_reason == "length"
    assert third["broken"].finished and third["broken"].finish_reason == "error"
    assert third["broken"].error_kind == "reasoner"
    assert "request broken failed in the reasoner" in third["broken"].error and "tracker state lost" in third["broken"].error
    assert [t for step in steps for out in step if out.request_id == "done" for t in out.new_token_ids] == alone.token_ids
    later = [out for step in steps for out in step if out.request_id == "later"]
    assert later[-1].finished and later[-1].completion_tokens == 6
    assert engine.stats()["num_failed_reasoner"] >= 1


def _alternation(count: int) -> str:
    rng = random.Random(0)
    return "(" + "|".join("".join(rng.choice(string.ascii_lowercase) for _ in range(10)) for _ in range(count)) + ")"


@pytest.fixture()
def short_compile_timeout(clean_engine: LLMEngine) -> Iterator[LLMEngine]:
    saved = clean_engine.guided.compile_timeout
    clean_engine.guided.compile_timeout = 0.3
    yield clean_engine
    clean_engine.guided.compile_timeout = saved


def test_a_slow_regex_times_out_while_others_decode(short_compile_timeout: LLMEngine) -> None:
    """A regex that compiles for seconds fails alone with a compile-timeout error; decoding never waits for it."""
    engine = short_compile_timeout
    prompt = chat_prompt(engine, "Hello!")
    params = SamplingParams(max_tokens=400, temperature=0.0, ignore_eos=True)
    errors_before = engine.stats()["num_grammar_errors"]
    engine.add_request("busy", prompt, params)
    engine.step()
    engine.submit("slow", prompt, SamplingParams(guided=GuidedDecodingParams(regex=_alternation(20000))))
    assert engine.stats()["num_compiling"] == 1
    tokens_while_compiling = 0
    failure = None
    while failure is None:
        for out in engine.step():
            if out.request_id == "slow":
                failure = out
            else:
                tokens_while_compiling += len(out.new_token_ids)
    assert failure.finish_reason == "error" and failure.error_kind == "invalid_grammar"
    assert "took longer than 0.3 s to compile" in (failure.error or "")
    assert isinstance(failure.exception(), ValueError)
    assert tokens_while_compiling > 0      # the busy request kept decoding during the compile
    assert engine.stats()["num_grammar_errors"] == errors_before + 1
    # the compiler still serves other requests while the slow compile runs on, set aside
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    engine.submit("next", chat_prompt(engine, "Give x.", enable_thinking=False),
                  SamplingParams(max_tokens=30, temperature=0.0, guided=GuidedDecodingParams(json_schema=schema)))
    started = time.monotonic()
    done = run_to_completion(engine)
    assert time.monotonic() - started < 60
    assert isinstance(json.loads(done["next"].text)["x"], int)
    assert done["busy"].finish_reason == "length"
