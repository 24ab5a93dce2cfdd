"""gpt-oss Harmony's reasoner: a grammar sees only the final message, and a reasoning budget forces
the tokens that close the analysis and open the answer, from wherever the request stands.

Tokenizer: Qwen's plus Harmony's seven tokens as added tokens (gpt-oss's o200k_harmony is not
available offline; its Harmony markers are single tokens as here). The engine test extends the
bundled model with the same tokens (new embedding rows) so the reference engine runs the reasoner
with a real xgrammar matcher, end to end.
"""

from __future__ import annotations

import json

import pytest

from conformance.tokenizers import TokenizerUnavailable, load_tokenizer
from reasoning_plugins import MissingMarkerError, get_parser, get_reasoner
from reasoning_plugins_extra.harmony import FINAL_HEADER, TOKENS
from reasoning_plugins_extra.harmony_reasoner import HarmonyReasoner

PROMPT = "<|start|>user<|message|>Weather in Paris? Answer in JSON.<|end|><|start|>assistant"
ANSWER = '{"city": "Paris"}'
SCHEMA = ('{"type": "object", "properties": {"city": {"enum": ["Paris", "Rome", "Oslo"]}}, "required": ["city"], '
          '"additionalProperties": false}')
CALL = ('<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>'
        '{"city": "Paris"}<|call|>')


@pytest.fixture(scope="module")
def tokenizer():
    try:
        return load_tokenizer(HarmonyReasoner.conformance_tokenizer)
    except TokenizerUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def reasoner(tokenizer):
    return get_reasoner("gpt-oss", tokenizer)


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False)


def _run(reasoner, tokenizer, output: str, prompt: str = PROMPT):
    """(tracker, per-token feed results, per-token in_reasoning after, ids) for ``output``."""
    tracker = reasoner.start(_ids(tokenizer, prompt))
    ids = _ids(tokenizer, output)
    fed, open_after = [], []
    for token in ids:
        fed.append(tracker.feed(token))
        open_after.append(tracker.in_reasoning)
    return tracker, fed, open_after, ids


@pytest.mark.parametrize("name", ["gpt-oss", "gpt_oss", "openai-gptoss", "harmony"])
def test_every_name_has_the_reasoner(name, tokenizer):
    assert isinstance(get_reasoner(name, tokenizer), HarmonyReasoner)


@pytest.mark.parametrize("analysis", [
    "<|channel|>analysis<|message|>The user wants JSON.<|end|>",
    "<|channel|>analysis<|message|>First.<|end|><|start|>assistant<|channel|>analysis<|message|>Second.<|end|>",
    "",  # straight to the answer
])
def test_grammar_sees_only_the_final_message(analysis, reasoner, tokenizer):
    """Analysis messages, their <|end|> and the answer's header are kept from the grammar; a real
    xgrammar matcher then accepts the final message whole."""
    xgrammar = pytest.importorskip("xgrammar")
    output = f"{analysis}<|start|>assistant<|channel|>final<|message|>{ANSWER}"
    if not analysis:
        output = f"<|channel|>final<|message|>{ANSWER}"
    tracker, fed, open_after, ids = _run(reasoner, tokenizer, output)
    for_grammar = [t for t, reasoning in zip(ids, fed) if not reasoning]
    assert tokenizer.decode(for_grammar) == ANSWER
    # reasoning ends exactly on the <|message|> that completes the final header
    header_end = ids.index(tokenizer.convert_tokens_to_ids("<|message|>"), len(ids) - len(_ids(tokenizer, ANSWER)) - 1)
    assert open_after == [i < header_end for i in range(len(ids))]
    stop = tokenizer.convert_tokens_to_ids("<|return|>")
    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer), stop_token_ids=[stop])
    matcher = xgrammar.GrammarMatcher(xgrammar.GrammarCompiler(info).compile_json_schema(SCHEMA))
    assert all(matcher.accept_token(t) for t in [*for_grammar, stop]) and matcher.is_terminated()
    # without the gate the analysis header is already outside the grammar
    fresh = xgrammar.GrammarMatcher(xgrammar.GrammarCompiler(info).compile_json_schema(SCHEMA))
    assert not fresh.accept_token(ids[0])
    assert reasoner.extract_content_ids(ids) == for_grammar


def test_an_analysis_message_end_does_not_end_reasoning(reasoner, tokenizer):
    """<|end|> closes the analysis message, but another analysis message may follow: reasoning
    stays open until the answer's header is complete."""
    tracker, fed, open_after, ids = _run(reasoner, tokenizer, "<|channel|>analysis<|message|>Hmm.<|end|><|start|>assistant")
    assert all(fed) and all(open_after)
    assert not reasoner.is_reasoning_end(ids)


@pytest.mark.parametrize(("output", "content"), [
    ("<|channel|>analysis<|message|>Need the tool.<|end|>" + CALL, CALL),
    # a preamble to the user is content too, as the parser reads it
    ("<|channel|>analysis<|message|>Look.<|end|><|start|>assistant<|channel|>commentary<|message|>Checking.<|end|>",
     "Checking."),
])
def test_tool_calls_and_preambles_end_reasoning_where_the_parser_makes_content(output, content, reasoner, tokenizer):
    """The tool call never stays inside the reasoning: the tracker ends reasoning on the token
    completing " to=", where the parser starts the content."""
    parser = get_parser("gpt-oss", tokenizer)
    assert parser.parse(output)[1] == content
    tracker, fed, open_after, ids = _run(reasoner, tokenizer, output)
    assert not tracker.in_reasoning
    decoded = tokenizer.decode([t for t, reasoning in zip(ids, fed) if not reasoning])
    # the content tokens carry the parser's content (a call's from the token completing " to=")
    assert content.endswith(decoded.removesuffix("<|end|>")) and len(decoded) > len(content) // 2
    stream = parser.start_stream(prompt_token_ids=_ids(tokenizer, PROMPT))
    text = ""
    for token, still_open in zip(ids, open_after):
        piece = stream.feed(tokenizer.decode([token]), [token])
        if piece is not None and piece.content:
            assert not still_open, f"content {piece.content!r} while the reasoner counts reasoning"
            text += piece.content
    piece = stream.finish()
    assert text + (piece.content or "" if piece else "") == content


def test_only_analysis_text_counts_as_reasoning(reasoner, tokenizer):
    """Headers and terminators are markup: ``last_counted`` marks the analysis text alone."""
    output = ("<|channel|>analysis<|message|>One two.<|end|><|start|>assistant<|channel|>analysis<|message|>Three."
              "<|end|><|start|>assistant<|channel|>final<|message|>Done.")
    tracker = reasoner.start(_ids(tokenizer, PROMPT))
    counted = []
    for token in _ids(tokenizer, output):
        tracker.feed(token)
        if tracker.last_counted:
            counted.append(token)
    assert tokenizer.decode(counted) == "One two.Three."


def _forced_run(reasoner, tokenizer, written: str):
    """Write ``written``, then force what the tracker says ends reasoning, then answer."""
    prompt = _ids(tokenizer, PROMPT)
    tracker = reasoner.start(prompt)
    ids = _ids(tokenizer, written)
    for token in ids:
        assert tracker.feed(token)
    forced = tracker.force_end_token_ids
    assert all(tracker.feed(t) for t in forced)
    assert not tracker.in_reasoning
    answer = _ids(tokenizer, ANSWER)
    assert not any(tracker.feed(t) for t in answer)
    text = tokenizer.decode([*ids, *forced, *answer], skip_special_tokens=False)
    return tokenizer.decode(forced, skip_special_tokens=False), get_parser("gpt-oss", tokenizer).parse(text, prompt_token_ids=prompt)


@pytest.mark.parametrize(("written", "forced", "reasoning"), [
    # nothing written after the template's <|start|>assistant: open the final channel
    ("", "<|channel|>final<|message|>", None),
    # inside the analysis message: close it and open the answer
    ("<|channel|>analysis<|message|>Let me think", "<|end|>" + FINAL_HEADER, "Let me think"),
    # after a message's end
    ("<|channel|>analysis<|message|>Done thinking.<|end|>", FINAL_HEADER, "Done thinking."),
    # the answer's header half written: finish it
    ("<|channel|>analysis<|message|>Ok.<|end|><|start|>assistant<|channel|>", "final<|message|>", "Ok."),
    # another analysis header half written: open it empty, close it, open the answer
    ("<|channel|>analysis<|message|>Ok.<|end|><|start|>assistant<|channel|>analysis",
     "<|message|><|end|>" + FINAL_HEADER, "Ok."),
])
def test_budget_forces_the_answer_header_from_where_the_request_stands(written, forced, reasoning, reasoner, tokenizer):
    """The forced tokens are valid Harmony: the parser reads the written reasoning and the answer,
    nothing of the markup leaks into either."""
    got, split = _forced_run(reasoner, tokenizer, written)
    assert got == forced
    assert split == (reasoning, ANSWER)


def test_the_reasoners_forced_end_closes_an_analysis_message(reasoner, tokenizer):
    assert tokenizer.decode(reasoner.force_end_token_ids, skip_special_tokens=False) == "<|end|>" + FINAL_HEADER


def test_the_prompt_decides_where_output_starts(reasoner, tokenizer):
    """A prompt that opened the final channel starts in the answer (the grammar from the first
    token); one that opened the analysis channel starts in reasoning."""
    final = reasoner.start(_ids(tokenizer, PROMPT + "<|channel|>final<|message|>"))
    assert not final.in_reasoning and not final.feed(_ids(tokenizer, "{")[0])
    analysis = reasoner.start(_ids(tokenizer, PROMPT + "<|channel|>analysis<|message|>"))
    assert analysis.in_reasoning
    assert tokenizer.decode(analysis.force_end_token_ids, skip_special_tokens=False) == "<|end|>" + FINAL_HEADER
    assert not reasoner.start([], mode="content").in_reasoning


def test_parser_and_reasoner_agree_on_every_prefix(reasoner, tokenizer):
    output = ("<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>"
              + ANSWER + "<|return|>")
    ids = _ids(tokenizer, output)
    parser = get_parser("gpt-oss", tokenizer)
    flags = [reasoner.is_reasoning_end(ids[:k]) for k in range(len(ids) + 1)]
    assert flags == [parser.is_reasoning_end(ids[:k]) for k in range(len(ids) + 1)]
    assert flags.index(True) == len(ids) - len(_ids(tokenizer, ANSWER)) - 1
    assert tokenizer.decode(parser.extract_content_ids(ids)) == ANSWER + "<|return|>"


def test_a_tokenizer_without_harmony_tokens_is_a_clear_error():
    try:
        qwen = load_tokenizer("qwen")
    except TokenizerUnavailable as exc:
        pytest.skip(str(exc))
    with pytest.raises(MissingMarkerError) as caught:
        get_reasoner("gpt-oss", qwen)
    message = str(caught.value)
    assert "'<|start|>'" in message and f"{len(qwen):,} tokens" in message and "o200k_harmony" in message


# -- the reference engine ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def harmony_engine(tmp_path_factory):
    """The bundled model with Harmony's tokens added (new embedding rows), run with gpt-oss."""
    transformers = pytest.importorskip("transformers")
    core_engine = pytest.importorskip("core_engine")
    from core_engine.config import BUNDLED_MODEL_DIR

    target = tmp_path_factory.mktemp("tiny-harmony")
    tok = transformers.AutoTokenizer.from_pretrained(BUNDLED_MODEL_DIR)
    tok.add_special_tokens({"additional_special_tokens": list(TOKENS)})
    model = transformers.AutoModelForCausalLM.from_pretrained(BUNDLED_MODEL_DIR)
    model.resize_token_embeddings(len(tok))
    model.save_pretrained(target)
    tok.save_pretrained(target)
    return core_engine.LLMEngine(core_engine.EngineConfig(model=target, reasoning_parser="gpt-oss", num_kv_blocks=64,
                                                          max_num_seqs=4, max_model_len=256))


@pytest.mark.parametrize("budget", [0, 3, 9])
def test_engine_forces_the_answer_header_and_the_grammar_holds_the_answer(harmony_engine, budget):
    """A budget of N analysis tokens: the engine forces the answer's header, counts N reasoning
    tokens at most, and the final message matches the schema."""
    from core_engine import GuidedDecodingParams, SamplingParams

    engine = harmony_engine
    tok = engine.tokenizer
    prompt = tok.encode(PROMPT + ("" if budget == 0 else "<|channel|>analysis<|message|>"), add_special_tokens=False)
    params = SamplingParams(max_tokens=80, temperature=1.0, seed=budget, reasoning_max_tokens=budget,
                            guided=GuidedDecodingParams(json_schema=SCHEMA))
    engine.add_request(f"h{budget}", prompt, params)
    ids: list[int] = []
    reasoning_tokens = None
    while engine.has_unfinished():
        for out in engine.step():
            ids += out.new_token_ids
            if out.finished:
                reasoning_tokens = out.reasoning_tokens
    text = tok.decode(ids, skip_special_tokens=False)
    header = "<|channel|>final<|message|>" if budget == 0 else "<|end|>" + FINAL_HEADER
    assert header in text
    reasoning, content = get_parser("gpt-oss", tok).parse(text, prompt_token_ids=prompt)
    assert reasoning_tokens == budget
    if budget:
        assert len(tok.encode(reasoning, add_special_tokens=False)) <= budget + 1  # re-encoding may merge
    else:
        assert text.startswith(header) and reasoning is None
    assert json.loads(content.removesuffix(tok.eos_token)) in ({"city": "Paris"}, {"city": "Rome"}, {"city": "Oslo"})


def test_parser_without_harmony_tokens_reads_no_ids():
    """With a tokenizer whose Harmony markers are plain text, no id says where reasoning ends:
    the parser's id methods answer as for an output still reasoning, and the text path is unchanged."""
    try:
        qwen = load_tokenizer("qwen")
    except TokenizerUnavailable as exc:
        pytest.skip(str(exc))
    parser = get_parser("gpt-oss", qwen)
    ids = _ids(qwen, "<|channel|>analysis<|message|>x<|end|><|start|>assistant<|channel|>final<|message|>y")
    assert not parser.is_reasoning_end(ids)
    assert parser.parse(qwen.decode(ids)) == ("x", "y")
