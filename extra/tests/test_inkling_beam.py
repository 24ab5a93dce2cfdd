"""Inkling's typed blocks and Beam's channel messages: split whole and streamed (per character, at
random cuts, token by token on the stand-in tokenizers under every engine driver); tool calls
stay out of the reasoning, verbatim in the content; the reasoners start the grammar where the
answer opens and force the end of reasoning with a budget."""

from __future__ import annotations

import random

import pytest

from conformance._drive import Split, per_char, per_token, regroup
from conformance._drivers import DRIVERS
from conformance._subject import Context, Settings, Subject
from conformance.tokenizers import load_tokenizer
from reasoning_plugins import MissingMarkerError, get_parser, get_reasoner
from reasoning_plugins_extra.beam import BeamParser, BeamReasoner
from reasoning_plugins_extra.inkling import MARKERS as INKLING_MARKERS
from reasoning_plugins_extra.inkling import InklingParser, InklingReasoner

# -- outputs as the models write them -------------------------------------------------------------

INKLING_CALL = ('<|message_model|>get_weather<|content_invoke_tool_json|>'
                '{"name":"get_weather","args":{"city":"Paris","unit":"celsius"}}<|end_message|>')

# (output, reasoning, content), the prompt ending after the previous message (SGLang's rendering)
INKLING_OUTPUTS = [
    ("<|message_model|><|content_thinking|>The user wants the capital of France. It is Paris.<|end_message|>"
     "<|message_model|><|content_text|>The capital of France is Paris.<|end_message|>",
     "The user wants the capital of France. It is Paris.", "The capital of France is Paris."),
    # closed by the end-of-sampling token instead of <|end_message|>
    ("<|message_model|><|content_thinking|>Short.<|end_message|><|message_model|><|content_text|>Paris."
     "<|content_model_end_sampling|>", "Short.", "Paris."),
    # no thinking block: the model answers directly
    ("<|message_model|><|content_text|>Paris.<|end_message|>", None, "Paris."),
    # a tool call after thinking: the whole block, header to closer, is content for the tool parser
    ("<|message_model|><|content_thinking|>I need the weather tool.<|end_message|>" + INKLING_CALL,
     "I need the weather tool.", INKLING_CALL),
    # a tool call with no thinking
    (INKLING_CALL + "<|content_model_end_sampling|>", None, INKLING_CALL),
    # a tool call opened inside the thinking block (no <|end_message|> first): reasoning ends there
    ('<|message_model|><|content_thinking|>Call it.<|content_invoke_tool_json|>{"name":"f","args":{}}<|end_message|>',
     "Call it.", '<|content_invoke_tool_json|>{"name":"f","args":{}}<|end_message|>'),
    # a raw-text tool block is a call too
    ("<|message_model|>shell<|content_invoke_tool_text|>ls -la<|end_message|>", None,
     "<|message_model|>shell<|content_invoke_tool_text|>ls -la<|end_message|>"),
    # two thinking blocks around a text block: every thinking block is reasoning (both engines)
    ("<|message_model|><|content_thinking|>First.<|end_message|><|message_model|><|content_text|>Answer."
     "<|end_message|><|message_model|><|content_thinking|> Second.<|end_message|>",
     "First. Second.", "Answer."),
    # whitespace between blocks is markup; the header of a text block too
    ("<|message_model|><|content_thinking|>Hmm.<|end_message|>\n<|message_model|>user<|content_text|>Hi!<|end_message|>\n",
     "Hmm.", "Hi!"),
    # cut off while thinking (max_tokens)
    ("<|message_model|><|content_thinking|>Still thinking about", "Still thinking about", None),
    # marker-like text that is no marker stays text of its block; whitespace inside blocks is kept
    ("<|message_model|><|content_thinking|>a <| b <|end of it\n\n<|end_message|><|message_model|><|content_text|>"
     "\n1 < 2\n<|end_message|>", "a <| b <|end of it\n\n", "\n1 < 2\n"),
    # a new message before the closer of the open block: the block ends there
    ("<|message_model|><|content_thinking|>Done thinking.<|message_model|><|content_text|>Paris.",
     "Done thinking.", "Paris."),
    # unicode
    ("<|message_model|><|content_thinking|>日本の首都は東京 🗼<|end_message|><|message_model|><|content_text|>東京です。",
     "日本の首都は東京 🗼", "東京です。"),
    # output without any framing is plain content, markers and all (the first word decides)
    ("Paris. <|end_message|>", None, "Paris. <|end_message|>"),
]

BEAM_CALL = ('<|start|>assistant to=get_weather<|channel|>analysis <|constrain|>xml<|message|>'
             '<rfl:parameter name="city">\nParis\n</rfl:parameter><|call|>')

# (output, reasoning, content), the prompt ending with <|start|>assistant
BEAM_OUTPUTS = [
    ("<|channel|>analysis<|message|>The user asks the capital of France: Paris.<|end|>"
     "<|start|>assistant<|channel|>final<|message|>The capital of France is Paris.<|return|>",
     "The user asks the capital of France: Paris.", "The capital of France is Paris."),
    # without <|return|> (an engine that stops on it leaves it out)
    ("<|channel|>analysis<|message|>Simple.<|end|><|start|>assistant<|channel|>final<|message|>Paris.",
     "Simple.", "Paris."),
    # thinking off: the answer directly
    ("<|channel|>final<|message|>Paris.<|return|>", None, "Paris."),
    # a call after reasoning: the message addressed to the function, role to <|call|>, is content
    ("<|channel|>analysis<|message|>Need the weather tool.<|end|>" + BEAM_CALL, "Need the weather tool.", BEAM_CALL),
    # a call opened inside the analysis message, before its <|end|>: reasoning ends there
    ("<|channel|>analysis<|message|>Need it." + BEAM_CALL, "Need it.", BEAM_CALL),
    # two calls
    ("<|channel|>analysis<|message|>Both cities.<|end|>" + BEAM_CALL.replace("<|call|>", "<|end|>") + BEAM_CALL,
     "Both cities.", BEAM_CALL.replace("<|call|>", "<|end|>") + BEAM_CALL),
    # a call first, right after the prompt's role: from " to=" on
    (BEAM_CALL[len("<|start|>assistant"):], None, BEAM_CALL[len("<|start|>assistant"):]),
    # two analysis messages are both reasoning
    ("<|channel|>analysis<|message|>First.<|end|><|start|>assistant<|channel|>analysis<|message|> Second.<|end|>"
     "<|start|>assistant<|channel|>final<|message|>Done.<|return|>", "First. Second.", "Done."),
    # cut off while thinking
    ("<|channel|>analysis<|message|>Still think", "Still think", None),
    # marker-like text stays text of its message
    ("<|channel|>analysis<|message|>I read <|channel|>xyz there and a <| sign.<|end|>"
     "<|start|>assistant<|channel|>final<|message|>Use 1 < 2.", "I read <|channel|>xyz there and a <| sign.",
     "Use 1 < 2."),
    # headerless output continues the message the prompt opened: Beam reasons first
    ("Let me think. 6 * 7 = 42", "Let me think. 6 * 7 = 42", None),
    ("<|channel|>analysis<|message|>日本の首都は東京 🗼<|end|><|start|>assistant<|channel|>final<|message|>東京です。",
     "日本の首都は東京 🗼", "東京です。"),
]

CASES = [("inkling", *case) for case in INKLING_OUTPUTS] + [("beam", *case) for case in BEAM_OUTPUTS]


def _stream(parser, chunks, **context):
    stream = parser.start_stream(**context)
    pieces = [stream.feed(text, ids) for text, ids in chunks] + [stream.finish()]
    reasoning = "".join(p.reasoning_content for p in pieces if p and p.reasoning_content) or None
    content = "".join(p.content for p in pieces if p and p.content) or None
    return reasoning, content


@pytest.mark.parametrize(("name", "output", "reasoning", "content"), CASES)
def test_split_whole_and_streamed_at_any_boundary(name, output, reasoning, content):
    parser = get_parser(name)
    assert parser.parse(output) == (reasoning, content)
    assert _stream(parser, per_char(output)) == (reasoning, content)
    rng = random.Random(output)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(output)), min(6, len(output) - 1)))
        chunks = [(output[a:b], None) for a, b in zip([0, *cuts], [*cuts, len(output)])]
        assert _stream(parser, chunks) == (reasoning, content), cuts


@pytest.fixture(scope="module")
def subjects():
    return {name: Subject.from_name(name, Settings()) for name in ("inkling", "beam")}


@pytest.mark.parametrize(("name", "output", "reasoning", "content"), CASES)
def test_token_by_token_under_every_engine_driver(subjects, name, output, reasoning, content):
    """On the stand-in tokenizer (Qwen's plus the family's special tokens), per token with ids and
    in 3-token deltas, as each engine calls the parser."""
    _under_every_driver(subjects[name], Context("default"), output, Split(reasoning, content),
                        # FastDeploy always passes a model_status, which it derives from think
                        # tokens these prompts do not have: see the test below
                        skip={"fastdeploy"})


def _under_every_driver(subject, ctx, output, want, skip=frozenset(), only=None):
    text, deltas = per_token(subject.tokenizer, output)
    assert text == output
    seen = set()
    for driver in DRIVERS.values():
        if driver.unavailable(subject) or not driver.supports(subject, ctx):
            continue
        assert driver.expected(subject, ctx, text) == want, driver.name
        for chunks in (deltas, regroup(deltas, [3])):
            for sent in driver.runs(subject, ctx, chunks):
                assert sent.streamed.split == want, sent.label
        seen.add(driver.name)
    assert seen == (set(only) if only is not None else set(DRIVERS) - set(skip))


@pytest.mark.parametrize(("name", "output", "want"), [
    ("inkling", "the rest of the thought<|end_message|><|message_model|><|content_text|>Paris.<|end_message|>",
     Split("the rest of the thought", "Paris.")),
    ("inkling", "still thinking<|content_invoke_tool_json|>{}<|end_message|>",
     Split("still thinking", "<|content_invoke_tool_json|>{}<|end_message|>")),
    ("beam", "the rest of the thought<|end|><|start|>assistant<|channel|>final<|message|>Paris.<|return|>",
     Split("the rest of the thought", "Paris.")),
    ("beam", "still thinking<|end|>" + BEAM_CALL, Split("still thinking", BEAM_CALL)),
])
def test_continuing_a_thought_under_every_engine_driver(subjects, name, output, want):
    """A request whose thinking block is already open (FastDeploy's think_start, an explicit mode:
    the engines that can say so)."""
    _under_every_driver(subjects[name], Context("mode=reasoning", mode="reasoning"), output, want,
                        only={"fastdeploy", "ours"})


def test_inkling_markers_are_single_tokens_of_the_stand_in():
    tokenizer = load_tokenizer(InklingParser.conformance_tokenizer)
    for marker in INKLING_MARKERS:
        assert len(tokenizer.encode(marker, add_special_tokens=False)) == 1, marker


def test_inkling_reasoning_is_released_as_it_is_written():
    stream = get_parser("inkling").start_stream()
    assert stream.feed("<|message_model|><|content_thin") is None
    assert stream.feed("king|>Think").reasoning_content == "Think"
    assert stream.feed("ing <|end_mes").reasoning_content == "ing "  # may be <|end_message|>
    assert stream.feed("sage|><|message_model|>") is None
    assert stream.feed("<|content_text|>Par").content == "Par"


def test_inkling_tool_header_is_held_until_its_kind_arrives():
    stream = get_parser("inkling").start_stream()
    stream.feed("<|message_model|><|content_thinking|>x<|end_message|>")
    assert stream.feed("<|message_model|>get_weather") is None  # a header: markup unless a call follows
    assert stream.feed("<|content_invoke_tool_json|>{").content == "<|message_model|>get_weather<|content_invoke_tool_json|>{"


def test_inkling_prompt_decides_where_output_starts():
    parser = get_parser("inkling")
    # SGLang's force_reasoning (thinking requested) puts output in reasoning: the header the model
    # samples still reads as markup
    assert parser.parse(INKLING_OUTPUTS[0][0], mode="reasoning") == INKLING_OUTPUTS[0][1:]
    # vLLM prefills <|message_model|>: output starts in a header
    assert parser.parse("<|content_thinking|>Hmm.<|end_message|>", prompt_text="...<|message_model|>") == ("Hmm.", None)
    # a prompt ending inside a thinking block continues the reasoning, inside a text block the answer
    assert parser.parse("still thinking<|end_message|>", prompt_text="<|message_model|><|content_thinking|>") == (
        "still thinking", None)
    assert parser.parse("Paris.<|end_message|>", prompt_text="<|message_model|><|content_text|>") == (None, "Paris.")
    assert parser.parse("Paris.", mode="reasoning") == ("Paris.", None)


def test_beam_prompt_and_switch_decide_where_output_starts():
    parser = get_parser("beam")
    assert parser.parse("Paris.", request={"chat_template_kwargs": {"enable_thinking": False}}) == (None, "Paris.")
    assert parser.parse("Paris.<|return|>", prompt_text="<|start|>assistant<|channel|>final<|message|>") == (
        None, "Paris.")
    # the prompt's role, then a headerless answer with thinking off; a header still decides
    off = {"chat_template_kwargs": {"enable_thinking": False}}
    assert parser.parse("<|channel|>analysis<|message|>Hmm.<|end|>", request=off) == ("Hmm.", None)


def test_beam_call_first_with_thinking_on():
    """SGLang passes force_reasoning when thinking is on: a call the model makes before any
    reasoning is still a call."""
    output = BEAM_CALL[len("<|start|>assistant"):]
    assert get_parser("beam").parse(output, mode="reasoning") == (None, output)
    assert get_parser("beam").parse(BEAM_OUTPUTS[0][0], mode="reasoning") == BEAM_OUTPUTS[0][1:]


def test_beam_newlines_after_a_terminator_are_markup():
    output = "<|channel|>analysis<|message|>R<|end|>\n\nloose text"
    assert get_parser("beam").parse(output) == ("R", "loose text")


# -- the reasoners (guided decoding) on the stand-in tokenizers ---------------------------------


def _ids(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False)


def _decode(tokenizer, ids):
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def _gate(reasoner, tokenizer, output, **start):
    """The tokens the tracker gives the grammar, decoded; and whether reasoning ended."""
    tracker = reasoner.start(**start)
    ids = _ids(tokenizer, output)
    grammar = [token for token in ids if not tracker.feed(token)]
    return _decode(tokenizer, grammar), tracker.in_reasoning


@pytest.mark.parametrize(("name", "output", "grammar"), [
    ("inkling", INKLING_OUTPUTS[0][0], "The capital of France is Paris.<|end_message|>"),
    ("inkling", "<|message_model|><|content_thinking|>Weather.<|end_message|>" + INKLING_CALL,
     INKLING_CALL[len("<|message_model|>get_weather"):]),
    ("inkling", "<|message_model|><|content_text|>Paris.", "Paris."),
    ("beam", BEAM_OUTPUTS[0][0], "The capital of France is Paris.<|return|>"),
    ("beam", "<|channel|>final<|message|>Paris.", "Paris."),
])
def test_reasoner_gives_the_grammar_only_the_answer(name, output, grammar):
    tokenizer = load_tokenizer(get_parser(name).conformance_tokenizer)
    reasoner = get_reasoner(name, tokenizer)
    given, in_reasoning = _gate(reasoner, tokenizer, output)
    assert not in_reasoning
    # a tool call's opener is several tokens on Beam's stand-in: it is content from the token completing it
    assert given == grammar
    ids = _ids(tokenizer, output)
    assert _decode(tokenizer, reasoner.extract_content_ids(ids)) == grammar
    assert reasoner.is_reasoning_end(ids)
    assert get_parser(name, tokenizer).extract_content_ids(ids) == reasoner.extract_content_ids(ids)


def test_beam_tool_call_ends_reasoning_for_the_grammar():
    tokenizer = load_tokenizer(BeamParser.conformance_tokenizer)
    given, in_reasoning = _gate(get_reasoner("beam", tokenizer), tokenizer,
                                "<|channel|>analysis<|message|>Weather.<|end|>" + BEAM_CALL)
    assert not in_reasoning
    assert BEAM_CALL.endswith(given) and given.startswith("=get_weather")


@pytest.mark.parametrize("name", ["inkling", "beam"])
def test_budget_forces_the_answer_open(name):
    """A reasoning budget that runs out mid-thought forces the end: the grammar applies next, and
    the parser reads what follows as the answer."""
    tokenizer = load_tokenizer(get_parser(name).conformance_tokenizer)
    reasoner = get_reasoner(name, tokenizer)
    opener = "<|message_model|><|content_thinking|>" if name == "inkling" else "<|channel|>analysis<|message|>"
    thought = _ids(tokenizer, opener + "Let me think about 6 * 7")
    tracker = reasoner.start()
    assert all(tracker.feed(token) for token in thought)
    force = reasoner.force_end_token_ids
    assert all(tracker.feed(token) for token in force)
    assert not tracker.in_reasoning
    answer = _ids(tokenizer, '{"answer": 42}')
    assert not any(tracker.feed(token) for token in answer)
    text = _decode(tokenizer, thought + force + answer)
    assert get_parser(name, tokenizer).parse(text) == ("Let me think about 6 * 7", '{"answer": 42}')


def test_inkling_reasoner_follows_the_prompt():
    tokenizer = load_tokenizer(InklingReasoner.conformance_tokenizer)
    reasoner = get_reasoner("inkling", tokenizer)
    inside = _ids(tokenizer, "<|message_model|><|content_thinking|>")
    assert reasoner.start(inside).in_reasoning
    assert not reasoner.start(_ids(tokenizer, "<|message_model|><|content_text|>")).in_reasoning
    # vLLM's prefilled <|message_model|>: undecided until the block's kind
    tracker = reasoner.start(_ids(tokenizer, "<|end_message|><|message_model|>"))
    assert tracker.in_reasoning and tracker.feed(_ids(tokenizer, "<|content_text|>")[0])
    assert not tracker.in_reasoning


def test_inkling_reasoner_names_the_missing_markers():
    qwen = load_tokenizer("qwen")
    with pytest.raises(MissingMarkerError) as raised:
        InklingReasoner.from_tokenizer(qwen)
    message = str(raised.value)
    assert "has no token for <|message_model|>" in message and type(qwen).__name__ in message
    assert "151,669 tokens" in message or f"{len(qwen):,} tokens" in message
    with pytest.raises(MissingMarkerError, match="tokenizer"):
        BeamReasoner.from_tokenizer(None)


@pytest.mark.parametrize(("name", "cls"), [("inkling", InklingParser), ("beam", BeamParser)])
def test_engine_names(name, cls):
    assert isinstance(get_parser(name), cls)
    assert isinstance(get_parser(name.upper()), cls)


@pytest.mark.parametrize("lag", [0, 1, 3, 8])
def test_inkling_markers_left_out_of_the_text_are_put_back_from_their_ids(lag):
    """An engine decoding with skip_special_tokens sends a marker's id without its text, and
    with stop strings its text lags the ids: the split is the same."""
    from conformance._drive import blank_tokens
    from conformance._drivers import lag_text

    tokenizer = load_tokenizer(InklingParser.conformance_tokenizer)
    output = INKLING_OUTPUTS[3][0] + "<|message_model|><|content_text|>Checking the weather in 東京 🗼.<|end_message|>"
    text, deltas = per_token(tokenizer, output)
    marker_ids = frozenset(tokenizer.convert_tokens_to_ids(m) for m in INKLING_MARKERS)
    quiet = blank_tokens(deltas, marker_ids)
    assert "".join(t for t, _ in quiet) == output.replace("<|message_model|>", "").replace(
        "<|content_thinking|>", "").replace("<|end_message|>", "").replace("<|content_invoke_tool_json|>", "").replace(
        "<|content_text|>", "")
    want = get_parser("inkling").parse(output)
    assert want == ("I need the weather tool.", INKLING_CALL + "Checking the weather in 東京 🗼.")
    for chunks in (quiet, regroup(quiet, [3])):
        sent = lag_text(chunks, lag) if lag else chunks
        assert _stream(InklingParser(tokenizer), sent) == want


@pytest.mark.parametrize("lag", [0, 3, 8])
def test_beam_tokens_left_out_of_the_text_are_put_back_from_their_ids(lag):
    from conformance._drive import blank_tokens
    from conformance._drivers import lag_text
    from reasoning_plugins_extra.beam import TOKENS

    tokenizer = load_tokenizer(BeamParser.conformance_tokenizer)
    output = BEAM_OUTPUTS[3][0]
    _text, deltas = per_token(tokenizer, output)
    quiet = blank_tokens(deltas, frozenset(tokenizer.convert_tokens_to_ids(t) for t in TOKENS))
    assert "<|" not in "".join(t for t, _ in quiet)
    for chunks in (quiet, regroup(quiet, [3])):
        sent = lag_text(chunks, lag) if lag else chunks
        assert _stream(BeamParser(tokenizer), sent) == BEAM_OUTPUTS[3][1:]


_PIECES = {
    "inkling": [*INKLING_MARKERS, "get_weather", '{"a": 1}', "think", " ", "\n", "<", "<|", "<|content", "x y", "東京"],
    "beam": ["<|start|>", "<|channel|>", "<|message|>", "<|constrain|>", "<|end|>", "<|return|>", "<|call|>",
             "assistant", " to=", "f", "analysis", "final", " ", "\n", "<", "<|", "<|chan", "xml", "x y", "東京"],
}


@pytest.mark.parametrize("name", ["inkling", "beam"])
def test_streaming_equals_parsing_for_any_mixture_of_markup(name):
    """Random mixtures of every marker, header word and fragment: streamed per character and at
    random cuts, the split is the one parse() gives."""
    rng = random.Random(name)
    for _ in range(300):
        output = "".join(rng.choice(_PIECES[name]) for _ in range(rng.randint(1, 14)))
        want = get_parser(name).parse(output)
        assert _stream(get_parser(name), per_char(output)) == want, output
        cuts = sorted(rng.sample(range(1, len(output)), min(4, len(output) - 1))) if len(output) > 1 else []
        chunks = [(output[a:b], None) for a, b in zip([0, *cuts], [*cuts, len(output)])]
        assert _stream(get_parser(name), chunks) == want, (output, cuts)


@pytest.mark.parametrize(("name", "opened", "answer_opener"), [
    ("inkling", "<|message_model|><|content_thinking|>", "<|end_message|><|message_model|><|content_text|>"),
    ("beam", "<|channel|>analysis<|message|>", "<|end|><|start|>assistant<|channel|>final<|message|>"),
])
def test_a_real_grammar_sees_only_the_answer(name, opened, answer_opener):
    """Gated by the tracker, an xgrammar JSON-schema matcher accepts the answer whole; ungated, the
    first token of the reasoning is already outside the grammar."""
    xgrammar = pytest.importorskip("xgrammar")
    tokenizer = load_tokenizer(get_parser(name).conformance_tokenizer)
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer), stop_token_ids=[stop])
    compiled = xgrammar.GrammarCompiler(info).compile_json_schema(
        '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}')
    answer = '{"city": "Paris"}'
    ids = _ids(tokenizer, f"{opened}The user wants JSON about Paris.{answer_opener}{answer}")
    tracker = get_reasoner(name, tokenizer).start()
    for_grammar = [token for token in ids if not tracker.feed(token)]
    assert _decode(tokenizer, for_grammar) == answer
    matcher = xgrammar.GrammarMatcher(compiled)
    assert all(matcher.accept_token(token) for token in [*for_grammar, stop]) and matcher.is_terminated()
    assert not xgrammar.GrammarMatcher(compiled).accept_token(ids[0])
    assert get_parser(name, tokenizer).parse(_decode(tokenizer, ids)) == ("The user wants JSON about Paris.", answer)
