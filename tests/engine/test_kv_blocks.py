"""The paged KV pool: aborts free every block, and exhaustion makes requests wait or be preempted."""

from __future__ import annotations

from core_engine import EngineConfig, LLMEngine, SamplingParams

from .conftest import chat_prompt, run_to_completion


def test_abort_frees_every_block_running_and_waiting() -> None:
    """Aborting running and waiting requests returns every KV block and reports finish_reason 'abort'."""
    engine = LLMEngine(EngineConfig(num_kv_blocks=64, max_num_seqs=2, max_model_len=256))
    prompt = chat_prompt(engine, "Tell me a long story about a fox.")
    for i in range(4):
        engine.add_request(f"r{i}", prompt, SamplingParams(max_tokens=100, ignore_eos=True))
    for _ in range(5):
        engine.step()
    stats = engine.stats()
    assert stats["num_running"] == 2 and stats["num_waiting"] == 2
    assert stats["kv_blocks_free"] < stats["kv_blocks_total"]
    finals = [engine.abort(f"r{i}") for i in range(4)]
    assert all(f is not None and f.finished and f.finish_reason == "abort" for f in finals)
    assert engine.abort("r0") is None
    stats = engine.stats()
    assert stats["kv_blocks_free"] == stats["kv_blocks_total"]
    assert stats["num_running"] == stats["num_waiting"] == 0
    assert not engine.has_unfinished()


def test_exhausted_pool_preempts_and_everything_finishes_correctly(engine: LLMEngine) -> None:
    """With too few KV blocks, requests are preempted and recomputed, and their greedy tokens are unchanged."""
    tight = LLMEngine(EngineConfig(num_kv_blocks=20, kv_block_size=8, max_num_seqs=8, max_model_len=160))
    prompts = [chat_prompt(engine, f"Question number {i}: what is {i} times {i}?") for i in range(6)]
    params = SamplingParams(max_tokens=60, temperature=0.0, ignore_eos=True)
    specs = [(f"p{i}", prompt, params) for i, prompt in enumerate(prompts)]
    roomy = run_to_completion(engine, {0: specs})
    squeezed = run_to_completion(tight, {0: specs})
    assert tight.stats()["num_preemptions"] > 0
    for rid, _prompt, _params in specs:
        assert squeezed[rid].finish_reason == "length"
        assert squeezed[rid].token_ids == roomy[rid].token_ids, rid
        assert squeezed[rid].text == roomy[rid].text
    assert tight.stats()["kv_blocks_free"] == 20


def test_blocks_are_returned_after_normal_completion(clean_engine: LLMEngine) -> None:
    """Requests that finish by length or stop give all their blocks back."""
    engine = clean_engine
    before = engine.stats()["kv_blocks_free"]
    prompt = chat_prompt(engine, "Hi")
    run_to_completion(engine, {0: [("a", prompt, SamplingParams(max_tokens=40)),
                                   ("b", prompt, SamplingParams(max_tokens=3, temperature=0))]})
    assert engine.stats()["kv_blocks_free"] == before
