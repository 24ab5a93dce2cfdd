"""Kimi K3 (XTML channels), Muse and Muse Glimmer (recipient channels), Step 5 (R1 layout).

Kimi K3's and Muse's tokenizers are not available offline: their token-level tests use the
stand-ins their parsers declare (Qwen's tokenizer with `<|open|>`, `<|close|>`, `<|sep|>`, and
with `<|start|>`, `<|message|>`, `<|eom|>`, `<|eot|>`, as single tokens, which they are in the
families' own vocabularies). Step 5 runs on Qwen's tokenizer (`<think>` = 151667, `</think>` =
151668, `<tool_call>` = 151657).
"""

from __future__ import annotations

import pytest

from conformance.tokenizers import TokenizerUnavailable, load_tokenizer
from reasoning_plugins import MissingMarkerError, get_parser, get_reasoner

OPEN, CLOSE = "<|open|>think<|sep|>", "<|close|>think<|sep|>"
RESPONSE_OPEN, RESPONSE_CLOSE = "<|open|>response<|sep|>", "<|close|>response<|sep|>"
MESSAGE_CLOSE = "<|close|>message<|sep|>"
K3_CALL = (
    '<|open|>tools<|sep|><|open|>call tool="get_weather" index="1"<|sep|>'
    '<|open|>argument key="city" type="string"<|sep|>Paris<|close|>argument<|sep|>'
    "<|close|>call<|sep|><|close|>tools<|sep|>"
)
K3_PROMPT = "<|open|>user<|sep|>Weather in Paris?<|close|>message<|sep|><|open|>assistant<|sep|>"
ANSWER = '{"city": "Paris"}'


def _load(name: str):
    try:
        return load_tokenizer(name)
    except TokenizerUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def k3_tok():
    return _load(get_parser("kimi-k3").conformance_tokenizer)


@pytest.fixture(scope="module")
def muse_tok():
    return _load(get_parser("muse").conformance_tokenizer)


@pytest.fixture(scope="module")
def qwen_tok():
    return _load("qwen")


def per_token(tokenizer, text: str) -> list[tuple[str, list[int]]]:
    """One delta per token, with the text that token adds (as an engine detokenizes)."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    deltas, done = [], ""
    for k in range(1, len(ids) + 1):
        decoded = tokenizer.decode(ids[:k], skip_special_tokens=False)
        if decoded.endswith("\ufffd"):
            deltas.append(("", [ids[k - 1]]))
            continue
        deltas.append((decoded[len(done):], [ids[k - 1]]))
        done = decoded
    assert "".join(t for t, _ in deltas) == text
    return deltas


def streamed(parser, deltas, **context) -> tuple[str | None, str | None]:
    stream = parser.start_stream(**context)
    pieces = [stream.feed(text, ids) for text, ids in deltas] + [stream.finish()]
    reasoning = "".join(p.reasoning_content for p in pieces if p and p.reasoning_content)
    content = "".join(p.content for p in pieces if p and p.content)
    return reasoning or None, content or None


def assert_splits(parser, tokenizer, text, expected, **context):
    """Whole, per token with ids, per token without ids and per character: the same split."""
    assert parser.parse(text, **context) == expected
    deltas = per_token(tokenizer, text)
    assert streamed(parser, deltas, **context) == expected
    assert streamed(parser, [(t, None) for t, _ in deltas], **context) == expected
    assert streamed(parser, [(ch, None) for ch in text], **context) == expected


# -- Kimi K3 ------------------------------------------------------------------------------------

K3_OUTPUTS = [
    # thinking on: the template prefilled the think element
    (f"The user wants JSON.{CLOSE}{RESPONSE_OPEN}{ANSWER}{RESPONSE_CLOSE}{MESSAGE_CLOSE}",
     "The user wants JSON.", ANSWER),
    # the model opens the think element itself
    (f"{OPEN}The user wants JSON.\n{CLOSE}{RESPONSE_OPEN}{ANSWER}{RESPONSE_CLOSE}{MESSAGE_CLOSE}",
     "The user wants JSON.\n", ANSWER),
    # an empty think element
    (f"{CLOSE}{RESPONSE_OPEN}Paris.{RESPONSE_CLOSE}{MESSAGE_CLOSE}", None, "Paris."),
    # a tool call after the reasoning, with a short answer before it
    (f"I need the weather.{CLOSE}{RESPONSE_OPEN}Checking.{RESPONSE_CLOSE}{K3_CALL}{MESSAGE_CLOSE}",
     "I need the weather.", f"Checking.{K3_CALL}{MESSAGE_CLOSE}"),
    # a tools channel opened inside reasoning ends it: the call reaches the tool-call parser
    (f"I need the weather.{K3_CALL}{MESSAGE_CLOSE}", "I need the weather.", f"{K3_CALL}{MESSAGE_CLOSE}"),
    # the response channel opened without closing the think element also ends reasoning
    (f"Easy.{RESPONSE_OPEN}Paris.{RESPONSE_CLOSE}{MESSAGE_CLOSE}", "Easy.", "Paris."),
    # cut off while thinking (max_tokens)
    ("Still thinking about", "Still thinking about", None),
]


@pytest.mark.parametrize(("text", "reasoning", "content"), K3_OUTPUTS)
def test_k3_splits_alike_streamed_or_not(k3_tok, text, reasoning, content):
    """Kimi K3 output splits the same whole, token by token (ids or not) and per character."""
    parser = get_parser("kimi_k3", k3_tok)
    assert_splits(parser, k3_tok, text, (reasoning, content))
    prompt = K3_PROMPT + OPEN
    assert_splits(parser, k3_tok, text, (reasoning, content),
                  prompt_token_ids=k3_tok.encode(prompt, add_special_tokens=False))


@pytest.mark.parametrize("switch", ["thinking", "enable_thinking"])
def test_k3_thinking_off_is_all_content(k3_tok, switch):
    """With thinking off the reply is content, without its response wrapper or message close."""
    parser = get_parser("kimi-k3", k3_tok)
    text = f"{RESPONSE_OPEN}The capital is Paris.{RESPONSE_CLOSE}{MESSAGE_CLOSE}"
    request = {"chat_template_kwargs": {switch: False}}
    assert_splits(parser, k3_tok, text, (None, "The capital is Paris."), request=request)
    # a prompt whose think element is closed says the same without the switch
    closed = k3_tok.encode(K3_PROMPT + OPEN + CLOSE, add_special_tokens=False)
    assert_splits(parser, k3_tok, text, (None, "The capital is Paris."), prompt_token_ids=closed)
    # ... and its tail outranks the switch
    opened = k3_tok.encode(K3_PROMPT + OPEN, add_special_tokens=False)
    assert parser.parse(f"R{CLOSE}{text}", request=request, prompt_token_ids=opened) == ("R", "The capital is Paris.")


def test_k3_markers_are_three_tokens_of_the_stand_in(k3_tok):
    """`<|open|>`, `<|close|>`, `<|sep|>` are single tokens; the word between them is ordinary."""
    ids = k3_tok.encode(CLOSE, add_special_tokens=False)
    assert len(ids) == 3
    assert k3_tok.convert_ids_to_tokens([ids[0], ids[2]]) == ["<|close|>", "<|sep|>"]


def test_k3_id_methods_flip_on_the_token_completing_the_close_marker(k3_tok):
    """is_reasoning_end turns True on the close marker's last token; the content ids follow it."""
    parser, reasoner = get_parser("kimi-k3", k3_tok), get_reasoner("kimi-k3", k3_tok)
    reasoning_ids = k3_tok.encode("The user wants JSON.", add_special_tokens=False)
    close_ids = k3_tok.encode(CLOSE, add_special_tokens=False)
    answer_ids = k3_tok.encode(ANSWER, add_special_tokens=False)
    ids = [*reasoning_ids, *close_ids, *answer_ids]
    last = len(reasoning_ids) + len(close_ids)
    for judge in (parser, reasoner):
        assert [judge.is_reasoning_end(ids[:k]) for k in range(len(ids) + 1)] == [k >= last for k in range(len(ids) + 1)]
        assert k3_tok.decode(judge.extract_content_ids(ids)) == ANSWER
    # thinking off: everything is content from the first token
    parser.bind({"chat_template_kwargs": {"thinking": False}})
    assert parser.is_reasoning_end(answer_ids) and parser.extract_content_ids(answer_ids) == answer_ids


def test_k3_tool_call_inside_reasoning_ends_it_for_the_reasoner(k3_tok):
    """A tools channel opened inside reasoning ends it for the tracker too, on its opener."""
    reasoner = get_reasoner("kimi-k3", k3_tok)
    ids = k3_tok.encode(f"I need the weather.{K3_CALL}", add_special_tokens=False)
    tracker = reasoner.start(k3_tok.encode(K3_PROMPT + OPEN, add_special_tokens=False))
    flags = [tracker.feed(t) for t in ids]
    first_content = flags.index(False)
    assert k3_tok.decode(ids[:first_content]) == "I need the weather.<|open|>tools"
    assert not any(flags[first_content:]) and not tracker.in_reasoning


@pytest.fixture(scope="module")
def xgrammar():
    return pytest.importorskip("xgrammar")


def _matcher(xgrammar, tokenizer):
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer), stop_token_ids=[stop])
    schema = '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}'
    return xgrammar.GrammarMatcher(xgrammar.GrammarCompiler(info).compile_json_schema(schema)), stop


def test_k3_grammar_sees_only_the_answer(k3_tok, xgrammar):
    """The tracker keeps reasoning and the three-token close marker from the grammar."""
    reasoner = get_reasoner("kimi-k3", k3_tok)
    ids = k3_tok.encode(f"The user wants JSON.\n{CLOSE}{ANSWER}", add_special_tokens=False)
    tracker = reasoner.start(k3_tok.encode(K3_PROMPT + OPEN, add_special_tokens=False))
    for_grammar = [t for t in ids if not tracker.feed(t)]
    assert k3_tok.decode(for_grammar) == ANSWER
    matcher, stop = _matcher(xgrammar, k3_tok)
    assert all(matcher.accept_token(t) for t in [*for_grammar, stop]) and matcher.is_terminated()
    # ungated, the close marker's first token is already outside the grammar
    assert not _matcher(xgrammar, k3_tok)[0].accept_token(k3_tok.convert_tokens_to_ids("<|close|>"))


def test_k3_budget_forces_the_close_marker(k3_tok, xgrammar):
    """A 3-token budget: the forced close marker ends reasoning and the answer follows."""
    reasoner = get_reasoner("kimi-k3", k3_tok)
    forced = reasoner.force_end_token_ids
    assert k3_tok.decode(forced) == CLOSE
    tracker = reasoner.start(k3_tok.encode(K3_PROMPT + OPEN, add_special_tokens=False))
    reasoning = k3_tok.encode("The user wants JSON.", add_special_tokens=False)[:3]
    assert all(tracker.feed(t) for t in [*reasoning, *forced]) and not tracker.in_reasoning
    answer = k3_tok.encode(ANSWER, add_special_tokens=False)
    assert not any(tracker.feed(t) for t in answer)
    matcher, stop = _matcher(xgrammar, k3_tok)
    assert all(matcher.accept_token(t) for t in [*answer, stop]) and matcher.is_terminated()
    parsed = get_parser("kimi-k3", k3_tok).parse(k3_tok.decode([*reasoning, *forced, *answer]))
    assert parsed == (k3_tok.decode(reasoning), ANSWER)


def test_k3_reasoner_needs_the_xtml_tokens(qwen_tok):
    """On a tokenizer without `<|open|>` as a token the reasoner says which token and tokenizer."""
    with pytest.raises(MissingMarkerError) as caught:
        get_reasoner("kimi-k3", qwen_tok)
    assert "'<|open|>'" in str(caught.value) and f"{len(qwen_tok):,} tokens" in str(caught.value)
    # the parser reads text and needs no token
    assert get_parser("kimi-k3", qwen_tok).parse(f"R{CLOSE}{RESPONSE_OPEN}C{RESPONSE_CLOSE}") == ("R", "C")


# -- Muse and Muse Glimmer ------------------------------------------------------------------------

SELF, USER = " to=self<|message|>", "<|start|>assistant to=user<|message|>"
ATEM = ('<atem:function_calls><atem:invoke name="get_weather"><atem:parameter name="city">Paris'
        "</atem:parameter></atem:invoke></atem:function_calls>")
TOOL = "<|start|>assistant to=functions.get_weather<|message|>" + ATEM + "<|eom|>"
MUSE_PROMPT = "<|start|>user<|message|>Weather in Paris?<|eot|><|start|>assistant"

# (output, Spark's split, Glimmer's split)
MUSE_OUTPUTS = [
    (f"{SELF}The user wants JSON.<|eom|>{USER}{ANSWER}<|eot|>",
     ("The user wants JSON.", ANSWER), ("The user wants JSON.", ANSWER)),
    # no reasoning: the model answers the user straight away
    (f" to=user<|message|>{ANSWER}<|eot|>", (None, ANSWER), (None, ANSWER)),
    # no header at all
    ("Paris is the capital.", (None, "Paris is the capital."), (None, "Paris is the capital.")),
    # a tool call after reasoning: verbatim in the content, header to terminator
    (f"{SELF}I need the weather.<|eom|>{TOOL}", ("I need the weather.", TOOL), ("I need the weather.", TOOL)),
    # the model leaves reasoning for a tool without <|eom|>: the call still reaches the content
    (f"{SELF}I need the weather. to=functions.get_weather<|message|>{ATEM}<|eom|>",
     ("I need the weather.", f" to=functions.get_weather<|message|>{ATEM}<|eom|>"),
     ("I need the weather.", f" to=functions.get_weather<|message|>{ATEM}<|eom|>")),
    # two reasoning messages, then a preamble to commentary (an answer for Spark, a tool channel
    # for Glimmer) and the answer
    (f"{SELF}First.<|eom|>{SELF}Second.<|eom|><|start|>assistant to=commentary<|message|>Looking.<|eom|>"
     f"{USER}Done.<|eot|>",
     ("First.Second.", "Looking.Done."),
     ("First.Second.", "<|start|>assistant to=commentary<|message|>Looking.<|eom|>Done.")),
    # a header without recipient: reasoning for Spark, text for Glimmer
    (f"<|message|>Hmm.<|eom|>{USER}Yes.<|eot|>", ("Hmm.", "Yes."), (None, "<|message|>Hmm.<|eom|>Yes.")),
    # cut off while reasoning, inside a recipient name and inside a marker
    (f"{SELF}Still thinking", ("Still thinking", None), ("Still thinking", None)),
    (f"{SELF}Done.<|eom|><|start|>assistant to=us", ("Done.", "<|start|>assistant to=us"),
     ("Done.", "<|start|>assistant to=us")),
    # "to=" and "<|" in prose are text
    (f"{SELF}Set x to=5 and use <|x.<|eom|>{USER}ok<|eot|>", ("Set x to=5 and use <|x.", "ok"),
     ("Set x to=5 and use <|x.", "ok")),
]


@pytest.mark.parametrize(("name", "index"), [("muse", 1), ("musespark1x", 1), ("muse_glimmer", 2)])
@pytest.mark.parametrize("case", MUSE_OUTPUTS, ids=range(len(MUSE_OUTPUTS)))
def test_muse_splits_alike_streamed_or_not(muse_tok, name, index, case):
    """Each Muse output splits the same whole, token by token and per character."""
    parser = get_parser(name, muse_tok)
    assert_splits(parser, muse_tok, case[0], case[index])


def test_muse_prompt_that_opened_reasoning(muse_tok):
    """A template that prefilled `to=self<|message|>` starts the output inside reasoning."""
    parser = get_parser("muse", muse_tok)
    text = f"The user wants JSON.<|eom|>{USER}{ANSWER}<|eot|>"
    assert_splits(parser, muse_tok, text, ("The user wants JSON.", ANSWER), prompt_text=MUSE_PROMPT + SELF)
    assert_splits(parser, muse_tok, text, ("The user wants JSON.", ANSWER), mode="reasoning")
    opened = muse_tok.encode(MUSE_PROMPT + SELF, add_special_tokens=False)
    assert_splits(parser, muse_tok, text, ("The user wants JSON.", ANSWER), prompt_token_ids=opened)
    # a template that opened the answer, or a tool message
    answer = muse_tok.encode(MUSE_PROMPT + " to=user<|message|>", add_special_tokens=False)
    assert_splits(parser, muse_tok, f"{ANSWER}<|eot|>", (None, ANSWER), prompt_token_ids=answer)
    call = muse_tok.encode(MUSE_PROMPT + " to=functions.get_weather<|message|>", add_special_tokens=False)
    assert_splits(parser, muse_tok, f"{ATEM}<|eom|>", (None, f"{ATEM}<|eom|>"), prompt_token_ids=call)
    # a prompt that ends at <|start|>assistant: the model writes the header
    plain = muse_tok.encode(MUSE_PROMPT, add_special_tokens=False)
    assert_splits(parser, muse_tok, SELF + text, ("The user wants JSON.", ANSWER), prompt_token_ids=plain)


def test_muse_shared_instance_keeps_requests_apart(muse_tok):
    """One instance serving two interleaved requests (LMDeploy's pattern) splits each correctly."""
    parser = get_parser("muse", muse_tok)
    first = f"{SELF}Thinking about Paris.<|eom|>{USER}Paris.<|eot|>"
    second = f"{SELF}Thinking about Rome.<|eom|>{TOOL}"
    texts = {"a": "", "b": ""}
    out = {"a": ["", ""], "b": ["", ""]}
    streams = {"a": per_token(muse_tok, first), "b": per_token(muse_tok, second)}
    for step in range(max(len(s) for s in streams.values())):
        for key, deltas in streams.items():
            if step >= len(deltas):
                continue
            text, ids = deltas[step]
            previous, current = texts[key], texts[key] + text
            message = parser.extract_reasoning_content_streaming(previous, current, text, [], [], ids)
            texts[key] = current
            if message:
                out[key][0] += message.reasoning_content or ""
                out[key][1] += message.content or ""
    for key in out:
        last = parser.finish(texts[key])
        if last:
            out[key][0] += last.reasoning_content or ""
            out[key][1] += last.content or ""
    assert out["a"] == ["Thinking about Paris.", "Paris."]
    assert out["b"] == ["Thinking about Rome.", TOOL]


# -- Step 5 ---------------------------------------------------------------------------------------

STEP_PROMPT = "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n<think>\n"
STEP_CALL = '<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>'


@pytest.mark.parametrize(("text", "expected"), [
    (f"The user wants JSON.\n</think>\n\n{ANSWER}", ("The user wants JSON.\n", f"\n\n{ANSWER}")),
    (f"<think>\nThe user wants JSON.\n</think>\n\n{ANSWER}", ("\nThe user wants JSON.\n", f"\n\n{ANSWER}")),
    (f"I need the weather.\n{STEP_CALL}", ("I need the weather.\n", STEP_CALL)),
    (f"I need the weather.\n</think>\n\n{STEP_CALL}", ("I need the weather.\n", f"\n\n{STEP_CALL}")),
    ("Still thinking", ("Still thinking", None)),
])
def test_step5_splits_alike_streamed_or_not(qwen_tok, text, expected):
    """Step 5: R1's layout; a tool call opened inside reasoning ends it."""
    parser = get_parser("step5", qwen_tok)
    assert_splits(parser, qwen_tok, text, expected)
    assert_splits(parser, qwen_tok, text, expected,
                  prompt_token_ids=qwen_tok.encode(STEP_PROMPT, add_special_tokens=False))


def test_step5_reasoner_gates_the_grammar(qwen_tok, xgrammar):
    """Step 5's reasoner finds </think> at 151668 and the grammar sees only the answer."""
    reasoner = get_reasoner("step5", qwen_tok)
    assert (reasoner.start_token_id, reasoner.end_token_id) == (151667, 151668)
    ids = qwen_tok.encode(f"The user wants JSON.\n</think>{ANSWER}", add_special_tokens=False)
    tracker = reasoner.start(qwen_tok.encode(STEP_PROMPT, add_special_tokens=False))
    for_grammar = [t for t in ids if not tracker.feed(t)]
    assert qwen_tok.decode(for_grammar) == ANSWER
    matcher, stop = _matcher(xgrammar, qwen_tok)
    assert all(matcher.accept_token(t) for t in [*for_grammar, stop]) and matcher.is_terminated()
    # a tool call inside reasoning ends it on <tool_call> (151657), which is content
    tracker = reasoner.start(qwen_tok.encode(STEP_PROMPT, add_special_tokens=False))
    call_ids = qwen_tok.encode(f"I need the weather.\n{STEP_CALL}", add_special_tokens=False)
    flags = [tracker.feed(t) for t in call_ids]
    assert call_ids[flags.index(False)] == 151657 and not any(flags[flags.index(False):])


# -- through the vLLM adapter ---------------------------------------------------------------------


class _StandInVllmBase:
    """Stands in for vllm.reasoning.ReasoningParser: vLLM is not installed in this environment
    (tests/adapters/test_vllm.py drives the adapter inside vLLM where it is)."""

    def __init__(self, tokenizer, *args, **kwargs):
        self.model_tokenizer = tokenizer


class _StandInDeltaMessage:
    """Stands in for vLLM's DeltaMessage (not installed here)."""

    model_fields = {"reasoning": None, "content": None}

    def __init__(self, reasoning=None, content=None):
        self.reasoning, self.content = reasoning, content


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("kimi-k3", f"The user wants JSON.{CLOSE}{RESPONSE_OPEN}{ANSWER}{RESPONSE_CLOSE}{MESSAGE_CLOSE}",
     ("The user wants JSON.", ANSWER)),
    ("muse", f"{SELF}The user wants JSON.<|eom|>{USER}{ANSWER}<|eot|>", ("The user wants JSON.", ANSWER)),
])
def test_vllm_adapter_reads_the_text(monkeypatch, name, text, expected):
    """Through the vLLM adapter the split streams as it parses, no marker id is taken for the end
    of reasoning (none is one token), and reasoning tokens are counted from the text."""
    from reasoning_plugins.adapters import vllm as adapter

    monkeypatch.setattr(adapter, "_delta_message", _StandInDeltaMessage)
    tokenizer = _load(get_parser(name).conformance_tokenizer)
    cls = type("Adapter", (adapter._DeltaParser, _StandInVllmBase),
               {"parser_class": type(get_parser(name)), "parser_name": name})
    parser = cls(tokenizer)
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert parser.extract_reasoning(text) == expected
    reasoning, content = "", ""
    for k, (piece, token) in enumerate(per_token(tokenizer, text)):
        message = parser.extract_reasoning_streaming("", "", piece, [], ids[: k + 1], token)
        assert not parser.is_reasoning_end_streaming(ids[: k + 1], token)
        if message is not None:
            reasoning += message.reasoning or ""
            content += message.content or ""
    last = parser.finish_streaming()
    if last is not None:
        reasoning += last.reasoning or ""
        content += last.content or ""
    assert (reasoning, content) == expected
    assert parser.count_reasoning_tokens(ids) == len(tokenizer.encode(expected[0], add_special_tokens=False))
