"""Cohere Command 3 and Command 4: `<|START_THINKING|>R<|END_THINKING|>`, then the answer in a
wrapper that is markup (`<|START_RESPONSE|>` / `<|START_TEXT|>`) or an action block that stays in
the content for the tool-call parser.

Token-level tests use the stand-in tokenizer the parsers declare (Qwen's tokenizer with Cohere's
markers as single tokens: Cohere's own tokenizer is not available offline).
"""

from __future__ import annotations

import json

import pytest

from conformance._drive import Split, per_char, per_token, regroup
from conformance._drivers import DRIVERS
from conformance._subject import Context, Settings, Subject
from conformance.tokenizers import load_tokenizer
from reasoning_plugins import DeclarativeParser, get_parser, get_reasoner
from reasoning_plugins_extra.cohere import COMMAND3, STAND_IN_TOKENIZER

PLAN = "I will look up the weather in Paris, then answer."
CALL = (
    '<|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "get_weather", '
    '"parameters": {"city": "Paris"}}\n]<|END_ACTION|>'
)
THOUGHT = "The user asks for the capital of France. That is Paris."
ANSWER = "The capital of France is **Paris**."

# Command 3 (Command A Reasoning): the model opens <|START_THINKING|> itself
COMMAND3_OUTPUTS = [
    (f"<|START_THINKING|>{THOUGHT}<|END_THINKING|><|START_RESPONSE|>{ANSWER}<|END_RESPONSE|>", THOUGHT, ANSWER),
    # reasoning off (or skipped): the answer directly
    (f"<|START_RESPONSE|>{ANSWER}<|END_RESPONSE|>", None, ANSWER),
    # newlines after <|END_THINKING|> and after the wrapper are markup
    (f"<|START_THINKING|>{THOUGHT}<|END_THINKING|>\n<|START_RESPONSE|>{ANSWER}<|END_RESPONSE|>\n", THOUGHT, ANSWER),
    # a tool plan, then the call: the action block is the tool parser's
    (f"<|START_THINKING|>{PLAN}<|END_THINKING|>{CALL}", PLAN, CALL),
    (CALL, None, CALL),
    # the action opened before <|END_THINKING|> still ends reasoning
    (f"<|START_THINKING|>{PLAN}{CALL}", PLAN, CALL),
    # cut off while thinking (max_tokens), or inside the answer
    (f"<|START_THINKING|>{THOUGHT}", THOUGHT, None),
    (f"<|START_THINKING|>{THOUGHT}<|END_THINKING|><|START_RESPONSE|>The capital", THOUGHT, "The capital"),
]

# Command 4 (Command A+): the template opened <|START_THINKING|>
COMMAND4_OUTPUTS = [
    (f"{THOUGHT}<|END_THINKING|><|START_TEXT|>{ANSWER}<|END_TEXT|>", THOUGHT, ANSWER),
    (f"{PLAN}<|END_THINKING|>{CALL}", PLAN, CALL),
    # the model skipped <|END_THINKING|>: the answer's or the action's opener ends reasoning
    (f"{THOUGHT}<|START_TEXT|>{ANSWER}<|END_TEXT|>", THOUGHT, ANSWER),
    (f"{PLAN}{CALL}", PLAN, CALL),
    # reasoning off, the prompt not shown to the parser: the wrapper decides
    (f"<|START_TEXT|>{ANSWER}<|END_TEXT|>", None, ANSWER),
    # a checkpoint that echoes the prefilled start marker
    (f"<|START_THINKING|>{THOUGHT}<|END_THINKING|><|START_TEXT|>{ANSWER}<|END_TEXT|>", THOUGHT, ANSWER),
    (THOUGHT, THOUGHT, None),
]
CASES = [("cohere-command3", *case) for case in COMMAND3_OUTPUTS] + [
    ("cohere-command4", *case) for case in COMMAND4_OUTPUTS
]
THINKING_MARKERS = ("<|START_THINKING|>", "<|END_THINKING|>", "<|START_RESPONSE|>", "<|END_RESPONSE|>",
                    "<|START_TEXT|>", "<|END_TEXT|>")


@pytest.fixture(scope="module")
def cohere():
    return load_tokenizer(STAND_IN_TOKENIZER)


def _stream(parser, chunks, **context):
    stream = parser.start_stream(**context)
    pieces = [stream.feed(text, ids) for text, ids in chunks] + [stream.finish()]
    return (
        "".join(p.reasoning_content for p in pieces if p and p.reasoning_content) or None,
        "".join(p.content for p in pieces if p and p.content) or None,
    )


def test_stand_in_tokenizer_has_the_markers_as_single_tokens(cohere):
    for marker in (*THINKING_MARKERS, "<|START_ACTION|>", "<|END_ACTION|>", "<|CHATBOT_TOKEN|>",
                   "<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>", "<|USER_TOKEN|>"):
        assert len(cohere.encode(marker, add_special_tokens=False)) == 1, marker


@pytest.mark.parametrize(("name", "output", "reasoning", "content"), CASES)
def test_split_and_stream_by_text_and_by_token(cohere, name, output, reasoning, content):
    parser = get_parser(name, cohere)
    assert parser.parse(output) == (reasoning, content)
    assert _stream(get_parser(name), per_char(output)) == (reasoning, content)
    text, deltas = per_token(cohere, output)
    assert text == output
    assert _stream(parser, deltas) == (reasoning, content)
    assert _stream(parser, regroup(deltas, [2, 5])) == (reasoning, content)


@pytest.mark.parametrize(("name", "output", "reasoning", "content"),
                         [c for c in CASES if "<|START_ACTION|>" not in c[1] and "|>\n" not in c[1]])
def test_markers_as_ids_without_their_text(cohere, name, output, reasoning, content):
    """An engine decoding with skip_special_tokens sends the markers' ids and no text."""
    hidden_ids = {cohere.convert_tokens_to_ids(m) for m in THINKING_MARKERS}
    _text, deltas = per_token(cohere, output)
    hidden = [("" if ids[0] in hidden_ids else piece, ids) for piece, ids in deltas]
    assert not any(m in "".join(piece for piece, _ in hidden) for m in THINKING_MARKERS)
    assert _stream(get_parser(name, cohere), hidden) == (reasoning, content)


@pytest.mark.parametrize(("name", "output", "reasoning", "content"), CASES)
def test_under_every_engine_driver(name, output, reasoning, content):
    subject = Subject.from_name(name, Settings())
    assert subject.tokenizer_name == STAND_IN_TOKENIZER
    text, deltas = per_token(subject.tokenizer, output)
    want = Split(reasoning, content)
    seen = set()
    # and the explicit mode FastDeploy passes (derived from the prompt): reasoning when the model
    # (Command 3) or the template (Command 4) opened it, else content
    thinks = name == "cohere-command4" or output.startswith("<|START_THINKING|>")
    explicit = "reasoning" if thinks else "content"
    for ctx in (Context("default"), Context(f"mode={explicit}", mode=explicit)):
        for driver in DRIVERS.values():
            if driver.unavailable(subject) or not driver.supports(subject, ctx):
                continue
            assert driver.expected(subject, ctx, text) == want, driver.name
            for chunks in (deltas, regroup(deltas, [3])):
                for sent in driver.runs(subject, ctx, chunks):
                    assert sent.streamed.split == want, sent.label
            seen.add(driver.name)
    assert seen == set(DRIVERS)


# Cohere's Command 4 template ends the prompt with these (thinking on / reasoning=false)
CMD4_ON = "<|START_OF_TURN_TOKEN|><|USER_TOKEN|><|START_TEXT|>Capital of France?<|END_TEXT|><|END_OF_TURN_TOKEN|>" \
          "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|><|START_THINKING|>"
CMD4_OFF = CMD4_ON + "<|END_THINKING|>"


def test_command4_switch_turns_thinking_off(cohere):
    """vLLM's reasoning_type="disabled": an answer written without its wrapper is content."""
    parser = get_parser("cohere-command4", cohere)
    assert parser.parse("Paris.") == ("Paris.", None)  # thinking is on by default
    request = {"chat_template_kwargs": {"reasoning_type": "disabled"}}
    assert parser.parse("Paris.", request=request) == (None, "Paris.")
    assert parser.parse("<|START_TEXT|>Paris.<|END_TEXT|>", request=request) == (None, "Paris.")
    on = {"chat_template_kwargs": {"reasoning_type": "enabled"}}
    assert parser.parse(f"{THOUGHT}<|END_THINKING|>Paris.", request=on) == (THOUGHT, "Paris.")
    # the template's reasoning=false writes the closed block into the prompt, and the model then
    # answers in its wrapper: either shows that thinking is off
    off = {"chat_template_kwargs": {"reasoning": False}}
    assert parser.parse("<|START_TEXT|>Paris.<|END_TEXT|>", request=off) == (None, "Paris.")
    assert parser.parse("Paris.", request=off, prompt_text=CMD4_OFF) == (None, "Paris.")


def test_command4_prompt_decides(cohere):
    parser = get_parser("cohere-command4", cohere)
    reasoner = get_reasoner("cohere-command4", cohere)
    for prompt, reasoning, content in ((CMD4_ON, "Paris.", None), (CMD4_OFF, None, "Paris.")):
        ids = cohere.encode(prompt, add_special_tokens=False)
        assert parser.parse("Paris.", prompt_token_ids=ids) == (reasoning, content)
        assert parser.parse("Paris.", prompt_text=prompt) == (reasoning, content)
        tracker = reasoner.start(ids)
        assert tracker.in_reasoning is (reasoning is not None)


def test_command3_needs_no_switch(cohere):
    """Command 3 shows in its first token whether it thinks; reasoning=false changes nothing."""
    parser = get_parser("cohere-command3", cohere)
    off = {"chat_template_kwargs": {"reasoning": False}}
    assert parser.parse(f"<|START_RESPONSE|>{ANSWER}<|END_RESPONSE|>", request=off) == (None, ANSWER)
    thought = f"<|START_THINKING|>{THOUGHT}<|END_THINKING|><|START_RESPONSE|>{ANSWER}<|END_RESPONSE|>"
    assert parser.parse(thought, request=off) == (THOUGHT, ANSWER)
    assert parser.parse(ANSWER) == (None, ANSWER)  # no marker at all: content, as melody has it


# A Command 3 conversation whose previous assistant turn thought: its <|END_THINKING|> is in the
# prompt's last tokens, but this turn starts after the last <|CHATBOT_TOKEN|>.
CMD3_SECOND_TURN = (
    "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Hi<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>"
    "<|START_THINKING|>Greet.<|END_THINKING|><|START_RESPONSE|>Hello!<|END_RESPONSE|><|END_OF_TURN_TOKEN|>"
    "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Thanks!<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>"
)


def test_command3_prompt_is_read_from_the_current_turn(cohere):
    output = "<|START_THINKING|>Reply politely.<|END_THINKING|><|START_RESPONSE|>You're welcome!<|END_RESPONSE|>"
    ids = cohere.encode(CMD3_SECOND_TURN, add_special_tokens=False)
    out_ids = cohere.encode(output, add_special_tokens=False)
    parser = get_parser("cohere-command3", cohere)
    assert parser.parse(output, token_ids=out_ids, prompt_token_ids=ids) == ("Reply politely.", "You're welcome!")
    assert parser.parse(output, prompt_text=CMD3_SECOND_TURN) == ("Reply politely.", "You're welcome!")
    # a parser reading the prompt's last tokens as they come would take the earlier turn's end
    # marker: this turn's reasoning would become content
    class Unturned(DeclarativeParser):
        format = COMMAND3
    assert Unturned(cohere).parse(output, prompt_token_ids=ids)[0] is None
    # the reasoner follows the same turn
    reasoner = get_reasoner("cohere-command3", cohere)
    tracker = reasoner.start(ids)
    end = out_ids.index(cohere.convert_tokens_to_ids("<|END_THINKING|>"))
    assert [tracker.feed(t) for t in out_ids] == [True] * (end + 1) + [False] * (len(out_ids) - end - 1)
    assert reasoner.bind(prompt_token_ids=ids).extract_content_ids(out_ids) == out_ids[end + 1:]


@pytest.fixture(scope="module")
def xgrammar():
    return pytest.importorskip("xgrammar")


def _wrapped_json_matcher(xgrammar, tokenizer, opener: str, closer: str):
    """A grammar for a JSON answer inside the model's answer wrapper (vLLM builds Cohere's
    structured outputs as such a structural tag)."""
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer), stop_token_ids=[stop])
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    tag = {"type": "structural_tag", "format": {
        "type": "tag", "begin": opener, "content": {"type": "json_schema", "json_schema": schema}, "end": closer}}
    compiled = xgrammar.GrammarCompiler(info).compile_structural_tag(json.dumps(tag))
    return xgrammar.GrammarMatcher(compiled), stop


@pytest.mark.parametrize(("name", "prompt", "output", "opener", "closer"), [
    ("cohere-command4", CMD4_ON, '{t}<|END_THINKING|><|START_TEXT|>{a}<|END_TEXT|>', "<|START_TEXT|>", "<|END_TEXT|>"),
    ("cohere-command3", CMD3_SECOND_TURN, '<|START_THINKING|>{t}<|END_THINKING|><|START_RESPONSE|>{a}<|END_RESPONSE|>',
     "<|START_RESPONSE|>", "<|END_RESPONSE|>"),
])
def test_reasoner_gates_a_real_grammar(cohere, xgrammar, name, prompt, output, opener, closer):
    """The tracker keeps the reasoning and <|END_THINKING|> from the grammar, which then accepts
    the wrapped answer whole; the parser's content is the JSON alone."""
    answer = '{"city": "Paris"}'
    text = output.format(t=THOUGHT, a=answer)
    ids = cohere.encode(text, add_special_tokens=False)
    reasoner = get_reasoner(name, cohere)
    tracker = reasoner.start(cohere.encode(prompt, add_special_tokens=False))
    for_grammar = [t for t in ids if not tracker.feed(t)]
    assert cohere.decode(for_grammar) == f"{opener}{answer}{closer}"
    matcher, stop = _wrapped_json_matcher(xgrammar, cohere, opener, closer)
    assert all(matcher.accept_token(t) for t in [*for_grammar, stop])
    assert matcher.is_terminated()
    ungated, _stop = _wrapped_json_matcher(xgrammar, cohere, opener, closer)
    assert not all(ungated.accept_token(t) for t in ids[:3])  # the reasoning is outside the grammar
    assert get_parser(name, cohere).parse(text, token_ids=ids) == (THOUGHT, answer)


def test_reasoner_gates_a_direct_answer_and_a_budget_forces_the_end(cohere, xgrammar):
    reasoner = get_reasoner("cohere-command3", cohere)
    direct = cohere.encode('<|START_RESPONSE|>{"city": "Paris"}<|END_RESPONSE|>', add_special_tokens=False)
    tracker = reasoner.start(cohere.encode(CMD3_SECOND_TURN, add_special_tokens=False))
    assert [tracker.feed(t) for t in direct] == [False] * len(direct)  # no thinking: all for the grammar
    matcher, stop = _wrapped_json_matcher(xgrammar, cohere, "<|START_RESPONSE|>", "<|END_RESPONSE|>")
    assert all(matcher.accept_token(t) for t in [*direct, stop])
    # a budget runs out while Command 4 thinks: the forced <|END_THINKING|> ends it by id
    command4 = get_reasoner("cohere-command4", cohere)
    assert cohere.decode(command4.force_end_token_ids) == "<|END_THINKING|>"
    tracker = command4.start(cohere.encode(CMD4_ON, add_special_tokens=False))
    thought = cohere.encode(THOUGHT, add_special_tokens=False)[:3]
    assert all(tracker.feed(t) for t in [*thought, *command4.force_end_token_ids])
    assert not tracker.in_reasoning


def test_tool_call_ids(cohere):
    """An action opened inside the reasoning: is_reasoning_end flips on <|START_ACTION|>, which
    is the first content id (for the tool parser)."""
    reasoner = get_reasoner("cohere-command4", cohere)
    parser = get_parser("cohere-command4", cohere)
    ids = cohere.encode(f"{PLAN}{CALL}", add_special_tokens=False)
    at = ids.index(cohere.convert_tokens_to_ids("<|START_ACTION|>"))
    for judge in (reasoner, parser):
        assert [judge.is_reasoning_end(ids[:i]) for i in range(len(ids) + 1)] == [i > at for i in range(len(ids) + 1)]
        assert cohere.decode(judge.extract_content_ids(ids)) == CALL


@pytest.mark.parametrize(("name", "cls"), [
    ("cohere_command3", "CohereCommand3ReasoningParser"),
    ("cohere_command4", "CohereCommand4ReasoningParser"),
    ("Cohere-Command4", "CohereCommand4ReasoningParser"),
])
def test_engine_names(name, cls):
    assert type(get_parser(name)).__name__ == cls
