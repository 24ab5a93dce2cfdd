"""The engine says which stop string ended a request (what Anthropic's ``stop_sequence`` reports)."""

from __future__ import annotations

from core_engine import LLMEngine, SamplingParams
from core_engine.stop_text import StopTextBuffer

from .conftest import chat_prompt


def _last_output(engine: LLMEngine, prompt: list[int], params: SamplingParams):  # type: ignore[no-untyped-def]
    engine.add_request("r", prompt, params)
    while True:
        for out in engine.step():
            if out.finished:
                return out


def test_buffer_records_the_earliest_stop_string() -> None:
    """With several stop strings in one delta, the one found first in the text is recorded."""
    buffer = StopTextBuffer(["world", "lo w"])
    text, stopped = buffer.push("hello world")
    assert stopped and text == "hel" and buffer.matched == "lo w"
    assert StopTextBuffer(["x"]).matched is None


def test_output_names_the_stop_string(clean_engine: LLMEngine) -> None:
    """A request cut by a stop string reports it; one ending by length or eos reports None."""
    prompt = chat_prompt(clean_engine, "What is 2 + 3?")
    greedy = dict(max_tokens=60, temperature=0.0)
    whole = _last_output(clean_engine, prompt, SamplingParams(**greedy))   # type: ignore[arg-type]
    assert whole.stop_string is None
    stopped = _last_output(clean_engine, prompt, SamplingParams(stop=["never-written", "Tens"], **greedy))  # type: ignore[arg-type]
    assert stopped.finish_reason == "stop" and stopped.stop_string == "Tens"
    short = _last_output(clean_engine, prompt, SamplingParams(max_tokens=3, temperature=0.0))
    assert short.finish_reason == "length" and short.stop_string is None
