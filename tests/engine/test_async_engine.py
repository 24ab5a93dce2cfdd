"""AsyncLLMEngine: streaming from a background thread, aborts on close, errors before queueing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from core_engine import AsyncLLMEngine, EngineConfig, LLMEngine, RequestOutput, SamplingParams

from .conftest import chat_prompt, run_to_completion


@pytest.fixture(scope="module")
def async_engine() -> Iterator[AsyncLLMEngine]:
    engine = AsyncLLMEngine(EngineConfig(num_kv_blocks=256, max_num_seqs=16))
    yield engine
    engine.shutdown()


async def _collect(engine: AsyncLLMEngine, request_id: str, prompt: list[int],
                   params: SamplingParams) -> list[RequestOutput]:
    return [out async for out in engine.generate(request_id, prompt, params)]


async def _wait_idle(engine: AsyncLLMEngine) -> dict[str, int]:
    for _ in range(500):   # up to 5 s on a loaded machine
        stats = engine.stats()
        if stats["num_running"] == stats["num_waiting"] == 0 and stats["kv_blocks_free"] == stats["kv_blocks_total"]:
            return stats
        await asyncio.sleep(0.01)
    return engine.stats()


def test_streams_match_the_synchronous_engine(async_engine: AsyncLLMEngine, engine: LLMEngine) -> None:
    """Concurrent streams yield the same greedy tokens and text as the engine core, and end with usage."""
    prompts = [chat_prompt(engine, q) for q in ("Hi!", "What is 3 + 4?", "Name a city.")]
    params = SamplingParams(max_tokens=15, temperature=0.0, ignore_eos=True)
    expected = run_to_completion(engine, {0: [(f"e{i}", p, params) for i, p in enumerate(prompts)]})

    async def main() -> list[list[RequestOutput]]:
        return await asyncio.gather(*[_collect(async_engine, f"a{i}", p, params) for i, p in enumerate(prompts)])

    for i, outputs in enumerate(asyncio.run(main())):
        assert [t for o in outputs for t in o.new_token_ids] == expected[f"e{i}"].token_ids
        assert "".join(o.new_text for o in outputs) == expected[f"e{i}"].text
        last = outputs[-1]
        assert last.finished and last.finish_reason == "length"
        assert last.prompt_tokens == len(prompts[i]) and last.completion_tokens == 15
        assert not any(o.finished for o in outputs[:-1])


def test_closing_the_stream_aborts_and_frees_blocks(async_engine: AsyncLLMEngine) -> None:
    """Leaving the loop early (client gone) aborts the request and frees its KV blocks."""
    prompt = async_engine.build_prompt([{"role": "user", "content": "Tell me a long story."}])

    async def main() -> dict[str, int]:
        stream = async_engine.generate("closed", prompt, SamplingParams(max_tokens=500, ignore_eos=True))
        async for out in stream:
            if out.completion_tokens >= 3:
                break
        await stream.aclose()
        return await _wait_idle(async_engine)

    stats = asyncio.run(main())
    assert stats["kv_blocks_free"] == stats["kv_blocks_total"] and stats["num_running"] == 0


def test_cancelled_task_aborts(async_engine: AsyncLLMEngine) -> None:
    """Cancelling the task that iterates a stream aborts the request."""
    prompt = async_engine.build_prompt([{"role": "user", "content": "Go on forever."}])

    async def main() -> dict[str, int]:
        task = asyncio.create_task(_collect(async_engine, "cancelled", prompt,
                                            SamplingParams(max_tokens=1000, ignore_eos=True)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await _wait_idle(async_engine)

    stats = asyncio.run(main())
    assert stats["kv_blocks_free"] == stats["kv_blocks_total"] and stats["num_running"] == 0


def test_abort_ends_the_stream_with_abort(async_engine: AsyncLLMEngine) -> None:
    """engine.abort(id) ends that request's stream with finish_reason 'abort'."""
    prompt = async_engine.build_prompt([{"role": "user", "content": "Keep talking."}])

    async def main() -> RequestOutput:
        last = None
        async for out in async_engine.generate("to-abort", prompt, SamplingParams(max_tokens=1000, ignore_eos=True)):
            last = out
            if out.completion_tokens == 2:
                await async_engine.abort("to-abort")
        assert last is not None
        return last

    last = asyncio.run(main())
    assert last.finished and last.finish_reason == "abort" and last.completion_tokens < 1000


def test_invalid_request_raises_before_queueing(async_engine: AsyncLLMEngine) -> None:
    """A too-long prompt raises ValueError from generate() and the engine stays idle."""
    too_long = [1] * async_engine.max_model_len

    async def main() -> None:
        with pytest.raises(ValueError, match="context"):
            await _collect(async_engine, "long", too_long, SamplingParams())
        with pytest.raises(ValueError, match="invalid regex"):
            from core_engine import GuidedDecodingParams

            await _collect(async_engine, "bad", [1, 2], SamplingParams(guided=GuidedDecodingParams(regex="(")))

    asyncio.run(main())
    stats = async_engine.stats()
    assert stats["num_running"] == stats["num_waiting"] == 0


def test_attributes_for_the_server(async_engine: AsyncLLMEngine) -> None:
    """The server relies on tokenizer, model_name, max_model_len and stats()."""
    assert async_engine.model_name == "tiny-reasoner"
    assert async_engine.max_model_len > 0 and async_engine.tokenizer is not None
    assert set(async_engine.stats()) >= {"num_running", "num_waiting", "kv_blocks_free", "kv_blocks_total"}
