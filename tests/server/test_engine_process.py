"""The engine in its own process behind AsyncLLMEngine's interface, with the bundled model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from core_engine import SamplingParams
from core_engine.server.engine_process import EngineStoppedError, ProcessEngine

MESSAGES = [{"role": "user", "content": "What is 4 + 4?"}]


@pytest.fixture(scope="module")
def engine() -> Iterator[ProcessEngine]:
    engine = ProcessEngine()
    yield engine
    engine.shutdown()


async def collect(engine: ProcessEngine, request_id: str, params: SamplingParams,
                  delay: float = 0.0) -> list[object]:
    prompt = engine.build_prompt(MESSAGES)
    outputs = []
    async for out in engine.generate(request_id, prompt, params):
        outputs.append(out)
        if delay:
            await asyncio.sleep(delay)
    return outputs


def test_slow_consumer_gets_merged_outputs_with_the_same_text(engine: ProcessEngine) -> None:
    """A consumer that falls behind receives fewer, merged outputs carrying exactly the same tokens."""
    params = SamplingParams(max_tokens=48, temperature=0, ignore_eos=True)
    fast = asyncio.run(collect(engine, "fast", params))
    slow = asyncio.run(collect(engine, "slow", params, delay=0.05))
    assert len(slow) < len(fast) and len(slow) <= 24
    for outputs in (fast, slow):
        assert outputs[-1].finished and outputs[-1].completion_tokens == 48
    assert [t for o in slow for t in o.new_token_ids] == [t for o in fast for t in o.new_token_ids]
    assert "".join(o.new_text for o in slow) == "".join(o.new_text for o in fast)


def test_invalid_request_raises_the_engines_value_error(engine: ProcessEngine) -> None:
    """A prompt longer than the context is refused with the engine's ValueError, nothing queued."""
    async def run() -> None:
        async for _ in engine.generate("too-long", [1] * (engine.max_model_len + 5), SamplingParams(max_tokens=2)):
            pass

    with pytest.raises(ValueError, match="context"):
        asyncio.run(run())
    assert engine.stats()["num_running"] == 0


def test_closing_the_stream_aborts_and_frees_blocks(engine: ProcessEngine) -> None:
    """Leaving a stream early aborts the request in the engine process and frees its KV blocks."""
    async def run() -> None:
        stream = engine.generate("left", engine.build_prompt(MESSAGES),
                                 SamplingParams(max_tokens=1000, ignore_eos=True))
        async for out in stream:
            if out.completion_tokens >= 5:
                break
        await stream.aclose()

    asyncio.run(run())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stats = engine.stats()
        if stats["num_running"] == 0 and stats["kv_blocks_free"] == stats["kv_blocks_total"]:
            break
        time.sleep(0.02)
    assert stats["num_running"] == 0 and stats["kv_blocks_free"] == stats["kv_blocks_total"]


def test_shutdown_ends_running_requests_with_an_error() -> None:
    """Shutting down fails a running request with EngineStoppedError, and later calls say so."""
    engine = ProcessEngine()

    async def run() -> None:
        async for out in engine.generate("r", engine.build_prompt(MESSAGES),
                                         SamplingParams(max_tokens=1500, ignore_eos=True)):
            if out.completion_tokens == 3:
                engine.shutdown()

    with pytest.raises(EngineStoppedError):
        asyncio.run(run())
    with pytest.raises(EngineStoppedError):
        engine.stats()
