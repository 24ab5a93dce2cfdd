"""Random interleavings of add, abort and step keep the engine consistent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core_engine import EngineConfig, GuidedDecodingParams, LLMEngine, SamplingParams

_ENGINE: list[LLMEngine] = []


def _engine() -> LLMEngine:
    # A pool small enough that mixes of requests run out of blocks and get preempted.
    if not _ENGINE:
        _ENGINE.append(LLMEngine(EngineConfig(num_kv_blocks=24, kv_block_size=8, max_num_seqs=6,
                                              max_num_batched_tokens=40, max_model_len=96)))
    return _ENGINE[0]


params_strategy = st.builds(
    SamplingParams,
    max_tokens=st.integers(1, 30),
    temperature=st.sampled_from([0.0, 0.7, 1.5]),
    top_p=st.sampled_from([1.0, 0.9]),
    top_k=st.sampled_from([0, 5]),
    seed=st.one_of(st.none(), st.integers(0, 100)),
    stop=st.sampled_from([None, ["e"], ["</think>"]]),
    ignore_eos=st.booleans(),
    reasoning_max_tokens=st.sampled_from([None, 0, 2]),
    guided=st.sampled_from([None, GuidedDecodingParams(regex="[a-c]{1,4}"),
                            GuidedDecodingParams(json_object=True, prefix="<tool_call>", suffix="</tool_call>")]),
)
action = st.one_of(
    st.tuples(st.just("add"), st.integers(1, 40), params_strategy),
    st.tuples(st.just("abort"), st.integers(0, 20)),
    st.tuples(st.just("step"), st.integers(1, 6)),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(action, min_size=1, max_size=25))
def test_any_interleaving_finishes_and_frees_every_block(actions: list[tuple]) -> None:
    """Whatever the order of adds, aborts and steps, every request finishes once and all blocks return."""
    engine = _engine()
    prompt_base = engine.build_prompt([{"role": "user", "content": "Tell me something."}])
    added: list[str] = []
    finished: set[str] = set()
    for entry in actions:
        if entry[0] == "add":
            request_id = f"r{len(added)}"
            prompt = (prompt_base * 4)[:entry[1]]
            engine.add_request(request_id, prompt, entry[2])
            added.append(request_id)
        elif entry[0] == "abort" and added:
            final = engine.abort(added[entry[1] % len(added)])
            if final is not None:
                assert final.request_id not in finished
                finished.add(final.request_id)
        else:
            for _ in range(entry[1]):
                for out in engine.step():
                    assert out.request_id not in finished
                    if out.finished:
                        finished.add(out.request_id)
        stats = engine.stats()
        assert 0 <= stats["kv_blocks_free"] <= stats["kv_blocks_total"]
    while engine.has_unfinished():
        for out in engine.step():
            assert out.request_id not in finished
            if out.finished:
                finished.add(out.request_id)
    assert finished == set(added)
    stats = engine.stats()
    assert stats["kv_blocks_free"] == stats["kv_blocks_total"] and not engine.requests
