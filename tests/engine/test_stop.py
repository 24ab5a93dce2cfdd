"""Stop conditions: stop strings across token boundaries, stop token ids, max tokens, end of sequence."""

from __future__ import annotations

from core_engine import GuidedDecodingParams, LLMEngine, SamplingParams

from .conftest import chat_prompt, run_to_completion

GREEDY = SamplingParams(max_tokens=40, temperature=0.0, ignore_eos=True)


def _reference(engine: LLMEngine, prompt: list[int]) -> tuple[list[int], str]:
    result = run_to_completion(engine, {0: [("ref", prompt, GREEDY)]})["ref"]
    return result.token_ids, result.text


def _piece(engine: LLMEngine, token_id: int) -> str:
    return engine.tokenizer.decode([token_id])


def test_stop_string_across_a_token_boundary_is_cut_and_not_emitted(clean_engine: LLMEngine) -> None:
    """A stop string spanning two tokens ends the request; neither the final text nor any delta contains it."""
    engine = clean_engine
    prompt = chat_prompt(engine, "Tell me about the sea.")
    ids, text = _reference(engine, prompt)
    # Pick a stop string made of the end of one token and the start of the next (both plain text).
    for k in range(4, len(ids) - 1):
        left, right = _piece(engine, ids[k]), _piece(engine, ids[k + 1])
        if len(left) >= 2 and len(right) >= 2 and left.isprintable() and right.isprintable():
            stop = left[-2:] + right[:2]
            break
    else:
        raise AssertionError(f"no two printable multi-character tokens in {text!r}")
    expected = text[:text.index(stop)]
    params = SamplingParams(max_tokens=40, temperature=0.0, ignore_eos=True, stop=["zzzz-never", stop])
    result = run_to_completion(engine, {0: [("s", prompt, params)]})["s"]
    assert result.finish_reason == "stop"
    assert result.text == expected
    assert "".join(result.deltas) == expected
    assert all(stop not in delta for delta in result.deltas)


def test_stop_token_id_ends_the_request_without_text(clean_engine: LLMEngine) -> None:
    """A stop token id ends generation; the token is reported in the ids but its text is not emitted."""
    engine = clean_engine
    prompt = chat_prompt(engine, "Tell me about the sea.")
    ids, _text = _reference(engine, prompt)
    stop_id = ids[6]
    first = ids.index(stop_id)
    params = SamplingParams(max_tokens=40, temperature=0.0, ignore_eos=True, stop_token_ids=[stop_id])
    result = run_to_completion(engine, {0: [("t", prompt, params)]})["t"]
    assert result.finish_reason == "stop"
    assert result.token_ids == ids[:first + 1]
    assert result.text == engine.tokenizer.decode(ids[:first])
    assert result.completion_tokens == first + 1


def test_max_tokens_gives_length(clean_engine: LLMEngine) -> None:
    """max_tokens caps the completion and reports finish_reason 'length'."""
    engine = clean_engine
    prompt = chat_prompt(engine, "Count to twenty.")
    result = run_to_completion(engine, {0: [("m", prompt, SamplingParams(max_tokens=5, ignore_eos=True))]})["m"]
    assert result.finish_reason == "length" and len(result.token_ids) == 5 and result.completion_tokens == 5


def test_end_of_sequence_stops_and_is_not_in_the_text(clean_engine: LLMEngine) -> None:
    """When the answer's grammar completes, end-of-sequence is the only choice: it stops the request silently."""
    engine = clean_engine
    prompt = chat_prompt(engine, "Yes or no?", enable_thinking=False)
    params = SamplingParams(max_tokens=20, temperature=1.0, seed=1, guided=GuidedDecodingParams(regex="(yes|no)!"))
    result = run_to_completion(engine, {0: [("e", prompt, params)]})["e"]
    assert result.finish_reason == "stop"
    assert result.token_ids[-1] in engine.eos_token_ids
    assert result.text in ("yes!", "no!")


def test_context_limit_gives_length(engine: LLMEngine) -> None:
    """A request that reaches the model's context ends with 'length' even below max_tokens."""
    from core_engine import EngineConfig

    short = LLMEngine(EngineConfig(num_kv_blocks=16, max_model_len=48))
    prompt = chat_prompt(short, "Hi")
    result = run_to_completion(short, {0: [("c", prompt, SamplingParams(max_tokens=500, ignore_eos=True))]})["c"]
    assert result.finish_reason == "length"
    assert len(prompt) + len(result.token_ids) == 48
