"""Our deepseek-r1 inside vLLM, next to vLLM's own qwen3 parser, through vLLM's streaming path.

Both run through what vLLM's chat serving calls per chunk: the parser class vLLM composes
(``ParserManager.get_parser``) and its ``DelegatingParser.parse_delta``, one token per call,
on the same reasoning trace (real Qwen token ids: ``reasoning ... \\n</think>\\n\\nanswer`` after
a prompt ending ``<think>\\n``). vLLM's ``qwen3`` is its engine-based parser (vllm/parser/qwen3.py),
the fastest one it ships. Every figure is a ratio of runs measured side by side, alternating, in
one process; each ratio is the median of the paired rounds.

- ours costs at most what vLLM's qwen3 costs per token, at 2k and at 32k tokens, counting the
  parser vLLM makes for each request and counting the deltas alone;
- growth: on the deltas alone, 32k tokens cost at most 20x what 2k tokens cost (linear is 16x).

Run with (needs scripts/engines/vllm.sh):

    .venv-vllm/bin/python -m pytest benchmarks/bench_vllm_adapter.py --benchmark-only --benchmark-disable-gc
"""

from __future__ import annotations

import functools
import gc
import random
import statistics
import time

import pytest

pytest.importorskip("vllm.parser.parser_manager", reason="vllm is not installed (scripts/engines/vllm.sh)")

OURS, THEIRS = "deepseek-r1", "qwen3"
WORDS = [" the", " value", " is", " greater", " than", " 9", ".", "11", ",", " so", " we", " compare",
         " digits", "\n", " First", " let", "'s", " check", " <", " x", "2", " =", " 4", " (", ")", "\n\n"]
ROUNDS = 5


@functools.lru_cache(maxsize=1)
def _setup():
    import vllm.plugins
    from conformance.tokenizers import load_tokenizer
    from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest

    vllm.plugins.load_general_plugins()
    tokenizer = load_tokenizer("qwen")
    request = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    prompt = tokenizer.encode("<|im_start|>assistant\n<think>\n", add_special_tokens=False)
    return tokenizer, request, prompt


@functools.lru_cache(maxsize=None)
def _parser_class(name: str):
    from vllm.parser.parser_manager import ParserManager

    tokenizer, _request, _prompt = _setup()
    return ParserManager.get_parser(reasoning_parser_name=name, tokenizer=tokenizer)


@functools.lru_cache(maxsize=None)
def trace(n_tokens: int, seed: int = 0) -> tuple[tuple[str, list[int]], ...]:
    """``n_tokens`` reasoning tokens, then ``\\n</think>\\n\\n`` and a short answer, as (text, ids)."""
    tokenizer, _request, _prompt = _setup()
    vocabulary = []
    for word in WORDS:
        ids = tokenizer.encode(word, add_special_tokens=False)
        if len(ids) == 1:
            vocabulary.append((word, ids))
    rng = random.Random(seed)
    tokens = [rng.choice(vocabulary) for _ in range(n_tokens)]
    for text in ("\n", "</think>", "\n\n", "9.8", " is greater."):
        tokens.append((text, tokenizer.encode(text, add_special_tokens=False)))
    return tuple(tokens)


def new_parser(name: str):
    """What vLLM's chat serving makes for each request (and choice)."""
    tokenizer, _request, _prompt = _setup()
    return _parser_class(name)(tokenizer, None, chat_template_kwargs={}, model_config=None)


def stream(parser, tokens) -> tuple[str, str]:
    """One streamed request through vLLM's parse_delta, one token per call."""
    _tokenizer, request, prompt = _setup()
    parse_delta = parser.parse_delta
    last = len(tokens) - 1
    reasoning, content = [], []
    for index, (text, ids) in enumerate(tokens):
        delta = parse_delta(text, ids, request, prompt, finished=index == last)
        if delta is not None:
            if delta.reasoning:
                reasoning.append(delta.reasoning)
            if delta.content:
                content.append(delta.content)
    return "".join(reasoning), "".join(content)


def serve(name: str, tokens) -> tuple[str, str]:
    return stream(new_parser(name), tokens)


def timed(name: str, tokens, with_setup: bool) -> float:
    """Seconds for one request: with the parser's construction, or the deltas alone."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        parser = new_parser(name)
        if not with_setup:
            start = time.perf_counter()
        stream(parser, tokens)
        return time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()


def paired(a, b, rounds=ROUNDS) -> tuple[float, float, float]:
    """Median over rounds of time(a) / time(b) run back to back, and the best time of each."""
    ratios, best_a, best_b = [], float("inf"), float("inf")
    for _ in range(rounds):
        ta, tb = min(timed(*a) for _ in range(2)), min(timed(*b) for _ in range(2))
        ratios.append(ta / tb)
        best_a, best_b = min(best_a, ta), min(best_b, tb)
    return statistics.median(ratios), best_a, best_b


def test_same_split():
    """Both parsers split the trace the same way (so the timings compare like with like)."""
    tokens = trace(2_000)
    ours, theirs = serve(OURS, tokens), serve(THEIRS, tokens)
    assert ours == theirs
    assert ours[1] == "\n\n9.8 is greater."


@pytest.mark.parametrize("n_tokens", [2_000, 32_000])
def test_ours_vs_vllm_qwen3_per_token(benchmark, n_tokens):
    """Per token through vLLM's parse_delta, ours costs at most vLLM's own qwen3 engine parser:
    per request (the parser made per request, as vLLM does) and on the deltas alone."""
    tokens = trace(n_tokens)
    benchmark.pedantic(serve, args=(OURS, tokens), rounds=ROUNDS, iterations=1)
    ratio, ours, theirs = paired((OURS, tokens, True), (THEIRS, tokens, True))
    steady, ours_steady, theirs_steady = paired((OURS, tokens, False), (THEIRS, tokens, False))
    per_token = 1e6 / len(tokens)
    benchmark.extra_info.update({
        "ours_us_per_token": round(ours * per_token, 2),
        "vllm_qwen3_us_per_token": round(theirs * per_token, 2),
        "ours_over_vllm_qwen3": round(ratio, 3),
        "deltas_only_ours_us_per_token": round(ours_steady * per_token, 2),
        "deltas_only_vllm_qwen3_us_per_token": round(theirs_steady * per_token, 2),
        "deltas_only_ours_over_vllm_qwen3": round(steady, 3),
    })
    assert ratio <= 1.0, f"at {n_tokens} tokens ours costs {ratio:.2f}x vLLM's qwen3 per request"
    assert steady <= 1.0, f"at {n_tokens} tokens ours costs {steady:.2f}x vLLM's qwen3 per delta"


@pytest.mark.parametrize("name", [OURS, THEIRS])
def test_growth_2k_to_32k(benchmark, name):
    """On the deltas alone, 32k tokens cost at most 20x what 2k tokens cost (linear is 16x)."""
    small, large = trace(2_000, seed=1), trace(32_000, seed=1)
    benchmark.pedantic(serve, args=(name, small), rounds=ROUNDS * 2, iterations=1)
    growth, _large, _small = paired((name, large, False), (name, small, False))
    benchmark.extra_info.update({"growth_32k_over_2k": round(growth, 2)})
    if name == OURS:
        assert growth <= 20.0, f"{name}: 32k/2k = {growth:.1f}x"
