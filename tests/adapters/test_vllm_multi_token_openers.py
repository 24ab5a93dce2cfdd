"""The vLLM adapter's id methods see a tool-call opener that is several tokens (Kimi K2's on Qwen's
real tokenizer) end reasoning on the token completing it, as the parser and reasoner do.

vLLM is not installed in this environment: its ReasoningParser base class and DeltaMessage are
stood in for by the two minimal classes below (the methods tested use neither). With vLLM
installed, tests/adapters/test_vllm.py drives the adapter inside vLLM itself.
"""

from __future__ import annotations

import pytest

from conformance.tokenizers import load_tokenizer
from reasoning_plugins import get_parser, get_reasoner
from reasoning_plugins.adapters import vllm as adapter

pytest.importorskip("reasoning_plugins_extra")

OUTPUT = ("<think>I should call it.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
          '<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>')
OPENER = "<|tool_calls_section_begin|>"


class _StandInVllmBase:
    """Stands in for vllm.reasoning.ReasoningParser (not installed here)."""

    def __init__(self, tokenizer, *args, **kwargs):
        self.model_tokenizer = tokenizer


class _StandInDeltaMessage:
    """Stands in for vLLM's DeltaMessage (not installed here)."""

    model_fields = {"reasoning": None, "content": None}


@pytest.fixture()
def kimi(monkeypatch):
    monkeypatch.setattr(adapter, "_delta_message", _StandInDeltaMessage)
    tokenizer = load_tokenizer("qwen")
    cls = type("KimiK2Adapter", (adapter._DeltaParser, _StandInVllmBase),
               {"parser_class": type(get_parser("kimi-k2")), "parser_name": "kimi-k2"})
    return cls(tokenizer), tokenizer


def test_id_methods_end_reasoning_on_the_token_completing_the_opener(kimi):
    parser, tokenizer = kimi
    ids = tokenizer.encode(OUTPUT, add_special_tokens=False)
    assert len(tokenizer.encode(OPENER, add_special_tokens=False)) > 1
    at = next(k for k in range(len(ids)) if OPENER in tokenizer.decode(ids[: k + 1]))
    # vLLM asks is_reasoning_end_streaming(all ids so far, the new ids) after every step
    flips = [parser.is_reasoning_end_streaming(ids[: k + 1], ids[k : k + 1]) for k in range(len(ids))]
    assert flips.index(True) == at
    # in one multi-token step (speculative decoding) too
    assert parser.is_reasoning_end_streaming(ids[: at + 3], ids[at - 2 : at + 3])
    assert not parser.is_reasoning_end_streaming(ids[:at], ids[at - 3 : at])
    assert parser.extract_content_ids(ids) == ids[at:]
    assert parser.count_reasoning_tokens(ids) == at
    reasoner = get_reasoner("kimi-k2", tokenizer)
    assert reasoner.extract_content_ids(ids) == ids[at:]


def _adapter(name: str, monkeypatch):
    monkeypatch.setattr(adapter, "_delta_message", _StandInDeltaMessage)
    return type(f"{name}Adapter", (adapter._DeltaParser, _StandInVllmBase),
                {"parser_class": type(get_parser(name)), "parser_name": name})


def test_k2_horizon_ids_follow_the_requested_effort(monkeypatch):
    """vLLM builds the adapter per request with its chat_template_kwargs: the end token of that
    request's effort level ends reasoning, another level's does not."""
    from conformance.tokenizers import qwen_tokenizer

    markers = ("<ifm|think>", "</ifm|think>", "<ifm|think_fast>", "</ifm|think_fast>")
    tokenizer = qwen_tokenizer(markers)
    cls = _adapter("k2-horizon", monkeypatch)
    fast_end = tokenizer.convert_tokens_to_ids("</ifm|think_fast>")
    deep_end = tokenizer.convert_tokens_to_ids("</ifm|think>")
    ids = tokenizer.encode("Think.</ifm|think_fast>Answer.", add_special_tokens=False)
    at = ids.index(fast_end)
    medium = cls(tokenizer, chat_template_kwargs={"reasoning_effort": "medium"})
    assert [medium.is_reasoning_end_streaming(ids[: k + 1], ids[k : k + 1]) for k in range(len(ids))] == \
        [k == at for k in range(len(ids))]
    assert medium.extract_content_ids(ids) == ids[at + 1 :]
    high = cls(tokenizer)
    assert not any(high.is_reasoning_end_streaming(ids[: k + 1], ids[k : k + 1]) for k in range(len(ids)))
    assert high.is_reasoning_end_streaming([deep_end], [deep_end])


def test_harmony_gates_nothing_by_id_and_counts_reasoning_from_the_text(monkeypatch):
    """No single token ends Harmony's reasoning: the adapter never says so by id (a grammar is
    not started on the analysis channel's <|end|>); the reasoning tokens are counted from the text."""
    tokenizer = load_tokenizer("qwen")
    parser = _adapter("gpt-oss", monkeypatch)(tokenizer)
    output = ("<|channel|>analysis<|message|>Two words.<|end|><|start|>assistant<|channel|>final<|message|>"
              "Paris.<|return|>")
    ids = tokenizer.encode(output, add_special_tokens=False)
    assert not any(parser.is_reasoning_end_streaming(ids[: k + 1], ids[k : k + 1]) for k in range(len(ids)))
    assert not parser.is_reasoning_end(ids)
    assert parser.count_reasoning_tokens(ids) == len(tokenizer.encode("Two words.", add_special_tokens=False))
