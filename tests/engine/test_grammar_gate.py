"""The grammar gate for every reasoning mode and parser: the answer always matches its grammar.

Parsers: ``deepseek-r1`` (the bundled model's), ``qwen3`` (reasoning-plugins-extra: ``<think>`` may be
written by the model, ``<tool_call>`` ends reasoning implicitly) and ``ernie-x1`` (built in: no start
marker, ``<tool_call>`` ends reasoning implicitly), all on the bundled model, whose tokenizer has
``<think>``, ``</think>`` and ``<tool_call>`` as single tokens. Modes: reasoning (the template opened
``<think>``), content (``enable_thinking: False``), and await-start (a prompt without the opened
block, the reasoner started with ``mode="await_start"``: the model's first word decides).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import torch

from core_engine import EngineConfig, GuidedDecodingParams, LLMEngine, SamplingParams
from core_engine.reasoning import load_parser

from .conftest import run_to_completion
from .test_guided import WEATHER_SCHEMA, assert_weather

pytest.importorskip("reasoning_plugins_extra", reason="the qwen3 parser comes with reasoning-plugins-extra (extra/)")

QUESTION = [{"role": "user", "content": "What is the weather in Paris? Answer in JSON."}]
PARSERS = ("deepseek-r1", "qwen3", "ernie-x1")
_engines: dict[str, LLMEngine] = {}


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, LLMEngine]]:
    for name in PARSERS:
        _engines[name] = LLMEngine(EngineConfig(reasoning_parser=name, num_kv_blocks=256, max_num_seqs=16,
                                                max_model_len=512))
    yield _engines
    for engine in _engines.values():
        assert not engine.has_unfinished()


def _prompt(engine: LLMEngine, mode: str) -> list[int]:
    kwargs = {"enable_thinking": False} if mode == "content" else None
    prompt = engine.build_prompt(QUESTION, chat_template_kwargs=kwargs)
    if mode == "await_start":
        opened = engine.tokenizer.encode("<think>\n", add_special_tokens=False)
        assert prompt[-len(opened):] == opened
        prompt = prompt[:-len(opened)]
    return prompt


def _run(engine: LLMEngine, mode: str, params: list[SamplingParams]) -> list[tuple[str, str | None, list[int]]]:
    """(text, content, token ids) per request, split by the engine's own parser in ``mode``."""
    prompt = _prompt(engine, mode)
    request_ids = []
    for i, p in enumerate(params):
        request = engine.make_request(f"{mode}-{i}", prompt, p)
        if mode == "await_start":
            request.tracker = engine.reasoner.start(prompt, mode="await_start")
        engine.enqueue(request)
        request_ids.append(request.request_id)
    results = run_to_completion(engine)
    parser = load_parser(engine.reasoning_parser, engine.tokenizer)
    out = []
    for rid in request_ids:
        result = results[rid]
        _reasoning, content = parser.parse(result.text, prompt_token_ids=prompt,
                                           mode=mode if mode != "content" else None)
        assert result.finish_reason == "stop", (rid, result.text)
        out.append((result.text, content, result.token_ids))
    return out


MODES = [(parser, mode) for parser in PARSERS for mode in ("reasoning", "content", "await_start")
         if not (parser == "ernie-x1" and mode == "await_start")]   # ERNIE has no start marker to wait for


@pytest.mark.parametrize(("parser", "mode"), MODES)
@pytest.mark.parametrize("budget", [0, 6])
def test_json_answers_validate_in_every_mode(engines: dict[str, LLMEngine], parser: str, mode: str,
                                             budget: int) -> None:
    """At temperature 1 the content is schema-valid JSON and never holds the forced end marker."""
    engine = engines[parser]
    params = [SamplingParams(max_tokens=140, temperature=1.0, seed=seed, reasoning_max_tokens=budget,
                             guided=GuidedDecodingParams(json_schema=WEATHER_SCHEMA)) for seed in range(6)]
    for text, content, _ids in _run(engine, mode, params):
        assert content is not None and "</think>" not in content, text
        assert_weather(content.strip())
        if mode == "content":
            assert text == content


def test_await_start_first_token_is_the_start_marker_or_the_grammars(engines: dict[str, LLMEngine]) -> None:
    """Undecided output: the first token opens reasoning or is the grammar's first token, never prose."""
    engine = engines["qwen3"]
    guided = GuidedDecodingParams(json_schema=WEATHER_SCHEMA)
    first = _grammar_first_tokens(engine, guided)
    params = [SamplingParams(max_tokens=80, temperature=1.0, seed=seed, reasoning_max_tokens=6, guided=guided)
              for seed in range(4)]
    for text, content, ids in _run(engine, "await_start", params):
        # The bundled model answers a prompt without "<think>\n" in prose ("The ..."): unmasked, the
        # first token would be a word and the JSON would start one token late.
        assert ids[0] == engine.reasoner.start_token_id or (ids[0] in first and text.startswith("{"))
        assert_weather(content)


def _step_with_logits(engine: LLMEngine, request, favoured: int) -> int:
    """One pipeline step for ``request`` over random logits where ``favoured`` scores highest."""
    logits = torch.randn(1, engine.vocab_size, generator=torch.Generator().manual_seed(len(request.token_ids)))
    logits[0, favoured] = 50.0
    with torch.inference_mode():   # as in LLMEngine.step
        [token], failed = engine.pipeline.next_tokens(logits, [request], engine.generator)
    assert not failed
    request.token_ids.append(token)
    return token


def _grammar_first_tokens(engine: LLMEngine, guided: GuidedDecodingParams) -> set[int]:
    state = engine.guided.new_state(guided, engine.guided.compile(guided))
    row = engine.guided.allocate_bitmask(1)
    state.matcher.fill_next_token_bitmask(row, 0)
    return {t for t in range(engine.vocab_size) if (int(row[0, t // 32]) >> (t % 32)) & 1}


def test_await_start_allows_exactly_the_start_marker_and_the_grammar(engines: dict[str, LLMEngine]) -> None:
    """The first mask is the grammar's first tokens plus <think>; whitespace fed before <think> is taken back."""
    engine = engines["qwen3"]
    start = engine.reasoner.start_token_id
    guided = GuidedDecodingParams(regex=r"\s?[yn]")
    newline = engine.tokenizer.encode("\n", add_special_tokens=False)[0]
    first = _grammar_first_tokens(engine, guided)
    assert newline in first and start not in first
    prompt = _prompt(engine, "await_start")
    request = engine.make_request("gate", prompt, SamplingParams(temperature=0.0, guided=guided))
    request.tracker = engine.reasoner.start(prompt, mode="await_start")
    # A word outside the grammar scores highest: the best token of grammar + <think> is taken instead.
    word = engine.tokenizer.encode("The", add_special_tokens=False)[0]
    logits = torch.randn(1, engine.vocab_size, generator=torch.Generator().manual_seed(0))
    logits[0, word] = 50.0
    allowed = first | {start}
    best_allowed = max(allowed, key=lambda t: float(logits[0, t]))
    with torch.inference_mode():   # as in LLMEngine.step
        [token], failed = engine.pipeline.next_tokens(logits.clone(), [request], engine.generator)
    assert not failed
    assert token == best_allowed
    # Whitespace (allowed by this grammar) keeps the decision open; then <think> opens reasoning and the
    # grammar is back at its start.
    request = engine.make_request("gate2", prompt, SamplingParams(temperature=0.0, guided=guided))
    request.tracker = engine.reasoner.start(prompt, mode="await_start")
    assert _step_with_logits(engine, request, newline) == newline
    assert request.tracker.awaiting_start and request.guided.tokens_before_decision == 1
    assert _step_with_logits(engine, request, start) == start
    assert request.tracker.in_reasoning and request.guided.tokens_before_decision == 0
    assert _step_with_logits(engine, request, engine.reasoner.end_token_id) == engine.reasoner.end_token_id
    yes = engine.tokenizer.encode("yes", add_special_tokens=False)[0]
    assert _step_with_logits(engine, request, newline) == newline   # the grammar's one leading whitespace
    assert _step_with_logits(engine, request, yes) == yes
    # One leading whitespace only: the second newline passed because the first was taken back.
    assert request.guided.matcher.accept_token(engine.eos_token_ids[0])


def test_await_start_budget_zero_bans_the_start_marker(engines: dict[str, LLMEngine]) -> None:
    """With the budget spent before reasoning opened, <think> is masked and nothing is forced."""
    engine = engines["qwen3"]
    start = engine.reasoner.start_token_id
    prompt = _prompt(engine, "await_start")
    for guided in (None, GuidedDecodingParams(json_schema=WEATHER_SCHEMA)):
        request = engine.make_request("b0", prompt, SamplingParams(temperature=0.0, reasoning_max_tokens=0,
                                                                   guided=guided))
        request.tracker = engine.reasoner.start(prompt, mode="await_start")
        token = _step_with_logits(engine, request, start)
        assert token != start and token not in engine.reasoner.force_end_token_ids
        assert not request.tracker.in_reasoning and not request.forced


def test_implicit_end_marker_is_fed_to_the_grammar(engines: dict[str, LLMEngine]) -> None:
    """ERNIE: <tool_call> inside reasoning ends it and is the grammar's first token, or is masked."""
    engine = engines["ernie-x1"]
    tool_call = engine.tokenizer.convert_tokens_to_ids("<tool_call>")
    prompt = _prompt(engine, "reasoning")
    # A grammar that begins with <tool_call>: the marker ends reasoning and advances the grammar.
    opens = GuidedDecodingParams(regex=r"<tool_call>(yes|no)")
    request = engine.make_request("imp", prompt, SamplingParams(temperature=0.0, guided=opens))
    assert request.tracker.in_reasoning
    assert _step_with_logits(engine, request, tool_call) == tool_call
    assert not request.tracker.in_reasoning
    no = engine.tokenizer.encode("no", add_special_tokens=False)[0]
    word = engine.tokenizer.encode("The", add_special_tokens=False)[0]
    token = _step_with_logits(engine, request, word)   # masked: only y.../n... are allowed now
    assert engine.tokenizer.decode([token]) in ("y", "ye", "yes", "n", "no") or token == no
    # A JSON grammar cannot begin with <tool_call>: the marker is masked while reasoning.
    json_guided = GuidedDecodingParams(json_schema=WEATHER_SCHEMA)
    request = engine.make_request("imp2", prompt, SamplingParams(temperature=0.0, guided=json_guided))
    assert _step_with_logits(engine, request, tool_call) != tool_call and request.tracker.in_reasoning
    # With prefix "<tool_call>" the marker is the prefix's start: allowed, and not written twice.
    prefixed = GuidedDecodingParams(json_schema={"type": "object", "properties": {"name": {"const": "get_weather"}},
                                                 "required": ["name"], "additionalProperties": False},
                                    prefix="<tool_call>", suffix="</tool_call>")
    engine.add_request("imp3", prompt, SamplingParams(temperature=0.0, max_tokens=60, guided=prefixed))
    request = engine.requests["imp3"]
    assert _step_with_logits(engine, request, tool_call) == tool_call
    engine.abort("imp3")


def test_ernie_tool_call_answers_match_the_grammar(engines: dict[str, LLMEngine]) -> None:
    """End to end with ERNIE: every answer matches a grammar that opens with <tool_call>."""
    engine = engines["ernie-x1"]
    regex = r'<tool_call>\{"name": "get_weather", "arguments": \{"city": "(Paris|Rome)"\}\}</tool_call>'
    params = [SamplingParams(max_tokens=120, temperature=1.0, seed=seed, reasoning_max_tokens=budget,
                             guided=GuidedDecodingParams(regex=regex))
              for seed in range(4) for budget in (0, 5, 12)]
    for text, content, _ids in _run(engine, "reasoning", params):
        assert content is not None and re.fullmatch(regex, content.strip()), text
        assert json.loads(content.strip()[len("<tool_call>"):-len("</tool_call>")])["name"] == "get_weather"
