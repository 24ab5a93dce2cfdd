"""MiniMax M2 append-think: no reasoning section, the whole output is content with ``<think>``
put back in front, streamed or not, under every engine driver; guided decoding still starts
after ``</think>`` (real xgrammar), and the conformance suite certifies it as pass-through."""

from __future__ import annotations

import pytest

from conformance import Settings, Subject, run_checks
from conformance._drive import Split, per_token, regroup
from conformance._drivers import DRIVERS
from conformance._subject import Context
from conformance.tokenizers import load_tokenizer
from reasoning_plugins import Capability, get_parser, get_reasoner, list_parsers

OUTPUTS = [
    "Let me think.\n</think>\n\nParis.",
    "<think>\nLet me think.\n</think>Paris.",
    "still thinking",
    "",
    "</think>",
    "Answer first</think>then <think>again</think>",
    '<minimax:tool_call>\n<invoke name="get_weather"></invoke>\n</minimax:tool_call>',
]


@pytest.fixture(scope="module")
def qwen():
    return load_tokenizer("qwen")


def test_both_engines_names_resolve():
    """vLLM's ``minimax_m2_append_think`` and SGLang's ``minimax-append-think``."""
    for name in ("minimax_m2_append_think", "minimax-append-think", "MiniMax-M2-Append-Think"):
        assert type(get_parser(name)).__name__ == "AppendThinkParser"
    listed = {p.name: p for p in list_parsers()}
    assert "minimax-append-think" in listed["minimax-m2-append-think"].aliases


@pytest.mark.parametrize("output", OUTPUTS)
def test_content_is_think_plus_the_output_under_every_driver(qwen, output):
    """Non-streamed, streamed per token with ids, in 3-token groups and per character: reasoning
    None, content ``<think>`` + output exactly."""
    subject = Subject.from_name("minimax-m2-append-think", Settings(tokenizer="qwen"))
    text, deltas = per_token(qwen, output)
    want = Split(None, "<think>" + output)
    assert get_parser("minimax-m2-append-think").parse(output) == (None, "<think>" + output)
    ran = set()
    # FastDeploy always passes a model_status: the prompt's, here one that opened thinking
    for ctx in (Context("default"), Context("model_status=think_start", mode="think_start")):
        for driver in DRIVERS.values():
            if driver.unavailable(subject) or not driver.supports(subject, ctx):
                continue
            assert driver.expected(subject, ctx, text) == want, driver.name
            for chunks in (deltas, regroup(deltas, [3]), [(c, None) for c in text]):
                for sent in driver.runs(subject, ctx, chunks):
                    assert sent.streamed.split == want, sent.label
                    ran.add(sent.label.split()[0])
    assert set(DRIVERS) == ran


def test_requests_and_prompts_change_nothing():
    """Neither engine's append-think parser reads the request or the prompt: nor does this one."""
    parser = get_parser("minimax-m2-append-think")
    for kwargs in ({"mode": "content"}, {"prompt_text": "<think>\n\n</think>\n\n"},
                   {"request": {"chat_template_kwargs": {"enable_thinking": False}}}):
        assert parser.parse("R</think>C", **kwargs) == (None, "<think>R</think>C"), kwargs


def test_the_first_delta_with_text_carries_the_prefix():
    """Streaming clients see ``<think>`` at once, then the deltas as they come."""
    stream = get_parser("minimax-m2-append-think").start_stream()
    assert stream.feed("", [1]) is None
    assert stream.feed("Hi", None).content == "<think>Hi"
    assert stream.feed(" there", None).content == " there"
    assert stream.finish() is None


def test_guided_decoding_starts_after_the_end_marker(qwen):
    """The reasoner and the parser's id methods say where the thinking ends; a real xgrammar
    matcher fed only the tokens after </think> accepts the JSON answer."""
    xgrammar = pytest.importorskip("xgrammar")
    answer = '{"city": "Paris"}'
    ids = qwen.encode(f"Let me think.\n</think>{answer}", add_special_tokens=False)
    end = ids.index(qwen.convert_tokens_to_ids("</think>"))
    reasoner = get_reasoner("minimax-m2-append-think", qwen)
    tracker = reasoner.start([])
    grammar_ids = [t for t in ids if not tracker.feed(t)]
    assert grammar_ids == ids[end + 1:] == reasoner.extract_content_ids(ids)
    parser = get_parser("minimax-m2-append-think", qwen)
    assert [parser.is_reasoning_end(ids[:k]) for k in range(len(ids) + 1)] == [k > end for k in range(len(ids) + 1)]
    assert parser.extract_content_ids(ids) == ids  # all of the output is content
    info = xgrammar.TokenizerInfo.from_huggingface(qwen, vocab_size=len(qwen))
    compiled = xgrammar.GrammarCompiler(info).compile_builtin_json_grammar()
    matcher = xgrammar.GrammarMatcher(compiled)
    assert all(matcher.accept_token(t) for t in grammar_ids)
    assert not xgrammar.GrammarMatcher(compiled).accept_token(ids[0])  # reasoning is not JSON


def test_conformance_certifies_it_as_pass_through(qwen):
    """Every core check ran and passed; the checks that assume a reasoning section held it to
    what it promises instead, and the one that cannot apply is a skip, never a pass."""
    report = run_checks(["minimax-m2-append-think"], settings=Settings(examples=10))
    verdict = report.verdicts["minimax-m2-append-think"]
    assert verdict.certified, verdict
    status = {r.check: r for r in report.results}
    assert status["marker_id_without_text"].status == "skip"
    assert status["marker_id_without_text"].capability == Capability.PASS_THROUGH
    for name in ("lossless", "no_marker_leak", "reasoner_agrees", "reasoning_end_ids", "mode_no_markers"):
        assert status[name].status == "pass", (name, status[name].reason)


def test_auto_never_chooses_it():
    """A template cannot say "return no reasoning section": `auto` leaves this parser out."""
    from reasoning_plugins._auto import _installed

    candidates = {c.name for c in _installed()}
    assert "minimax-m2" in candidates and "minimax-m2-append-think" not in candidates
