"""Continuous batching: results do not depend on what else runs, and the scheduler respects its limits."""

from __future__ import annotations

from core_engine import EngineConfig, LLMEngine, SamplingParams

from .conftest import chat_prompt, run_to_completion

QUESTIONS = ["What is 2 + 3?", "Name a colour.", "What is the weather in Paris?", "Spell cat backwards.",
             "Give me a JSON object with a key a.", "Count to five.", "Hello!", "Which is larger, 7 or 9?"]


def _greedy(max_tokens: int) -> SamplingParams:
    return SamplingParams(max_tokens=max_tokens, temperature=0.0, ignore_eos=True)


def test_greedy_alone_equals_batched_with_joins_and_leaves(clean_engine: LLMEngine) -> None:
    """Greedy tokens are identical whether a request runs alone or among requests joining and leaving."""
    engine = clean_engine
    specs = [(f"q{i}", chat_prompt(engine, q), _greedy(12 + 7 * (i % 4))) for i, q in enumerate(QUESTIONS)]
    alone = {rid: run_to_completion(engine, {0: [(rid, prompt, params)]})[rid].token_ids
             for rid, prompt, params in specs}
    joins = {0: specs[:3], 2: specs[3:5], 5: specs[5:7], 11: specs[7:]}
    batched = run_to_completion(engine, joins)
    for rid, _prompt, params in specs:
        assert batched[rid].token_ids == alone[rid], rid
        assert len(alone[rid]) == params.max_tokens


def test_chunked_prefill_matches_whole_prefill(engine: LLMEngine) -> None:
    """A prompt read in chunks under a small token budget yields the same greedy tokens as read at once."""
    small_budget = LLMEngine(EngineConfig(num_kv_blocks=64, max_num_batched_tokens=7, max_num_seqs=4, max_model_len=256))
    prompt = chat_prompt(engine, "Please think about the number seventeen and then tell me if it is prime.")
    assert len(prompt) > 3 * 7
    whole = run_to_completion(engine, {0: [("w", prompt, _greedy(16))]})["w"].token_ids
    chunked = run_to_completion(small_budget, {0: [("c", prompt, _greedy(16))]})["c"].token_ids
    assert chunked == whole


def test_max_num_seqs_limits_running_requests(engine: LLMEngine) -> None:
    """No more than max_num_seqs requests run at once; the rest wait and still finish."""
    limited = LLMEngine(EngineConfig(num_kv_blocks=64, max_num_seqs=2, max_model_len=256))
    prompt = chat_prompt(limited, "Hello!")
    for i in range(5):
        limited.add_request(f"r{i}", prompt, _greedy(4))
    seen_running = 0
    finished = 0
    while limited.has_unfinished():
        finished += sum(out.finished for out in limited.step())
        seen_running = max(seen_running, limited.stats()["num_running"])
    assert seen_running == 2
    assert finished == 5
