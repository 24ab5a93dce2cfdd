"""gpt-oss Harmony: channels split into reasoning and content, streamed at any boundary and
under every engine driver; tool calls stay out of the reasoning, verbatim in the content."""

from __future__ import annotations

import random

import pytest

from conformance._drive import Split, per_char, per_token, regroup
from conformance._drivers import DRIVERS
from conformance._subject import Context, Settings, Subject
from reasoning_plugins import get_parser
from reasoning_plugins_extra.harmony import HEADER_LIMIT, HarmonyParser

CALL = ('<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>'
        '{"city": "Paris"}<|call|>')
CALL_ROLE_RECIPIENT = ('<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>'
                       '{"city": "Paris"}<|call|>')

# (output, reasoning, content): outputs as gpt-oss writes them after `<|start|>assistant`
OUTPUTS = [
    ("<|channel|>analysis<|message|>User asks the capital of France. Answer: Paris.<|end|>"
     "<|start|>assistant<|channel|>final<|message|>The capital of France is Paris.<|return|>",
     "User asks the capital of France. Answer: Paris.", "The capital of France is Paris."),
    # without <|return|> (vLLM stops on it and leaves it out of the text)
    ("<|channel|>analysis<|message|>Simple.<|end|><|start|>assistant<|channel|>final<|message|>Paris.",
     "Simple.", "Paris."),
    # no analysis at all
    ("<|channel|>final<|message|>Paris.<|return|>", None, "Paris."),
    # a function call after reasoning: the whole message is content, for the tool-call parser
    ("<|channel|>analysis<|message|>Need the weather tool.<|end|>" + CALL, "Need the weather tool.", CALL),
    ("<|channel|>analysis<|message|>Need the weather tool.<|end|>" + CALL_ROLE_RECIPIENT,
     "Need the weather tool.", CALL_ROLE_RECIPIENT),
    # a preamble to the user (commentary without recipient) is content, then the call
    ("<|channel|>analysis<|message|>Look it up.<|end|><|start|>assistant<|channel|>commentary<|message|>"
     "Checking the weather.<|end|>" + CALL, "Look it up.", "Checking the weather." + CALL),
    # a built-in tool (recipient in the analysis channel) is a tool call too, not reasoning
    ("<|channel|>analysis<|message|>Search.<|end|><|start|>assistant<|channel|>analysis to=browser.search "
     'code<|message|>{"query": "Paris"}<|call|>', "Search.",
     '<|start|>assistant<|channel|>analysis to=browser.search code<|message|>{"query": "Paris"}<|call|>'),
    # two analysis messages: both are reasoning
    ("<|channel|>analysis<|message|>First.<|end|><|start|>assistant<|channel|>analysis<|message|> Second.<|end|>"
     "<|start|>assistant<|channel|>final<|message|>Done.<|return|>", "First. Second.", "Done."),
    # cut off while thinking (max_tokens)
    ("<|channel|>analysis<|message|>Still think", "Still think", None),
    # marker-like text that is not a header stays text of its section
    ("<|channel|>analysis<|message|>I read <|channel|>xyz there and a <| sign.<|end|>"
     "<|start|>assistant<|channel|>final<|message|>Use 1 < 2.", "I read <|channel|>xyz there and a <| sign.", "Use 1 < 2."),
    # unicode
    ("<|channel|>analysis<|message|>日本の首都は東京 🗼<|end|><|start|>assistant<|channel|>final<|message|>東京です。",
     "日本の首都は東京 🗼", "東京です。"),
]


def _stream(parser, chunks, **context):
    stream = parser.start_stream(**context)
    pieces = [stream.feed(text, ids) for text, ids in chunks] + [stream.finish()]
    reasoning = "".join(p.reasoning_content for p in pieces if p and p.reasoning_content) or None
    content = "".join(p.content for p in pieces if p and p.content) or None
    return reasoning, content


@pytest.mark.parametrize(("output", "reasoning", "content"), OUTPUTS)
def test_split_whole_and_streamed_at_any_boundary(output, reasoning, content):
    parser = get_parser("gpt-oss")
    assert parser.parse(output) == (reasoning, content)
    assert _stream(parser, per_char(output)) == (reasoning, content)
    rng = random.Random(output)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(output)), min(6, len(output) - 1)))
        chunks = [(output[a:b], None) for a, b in zip([0, *cuts], [*cuts, len(output)])]
        assert _stream(parser, chunks) == (reasoning, content), cuts


@pytest.mark.parametrize(("output", "reasoning", "content"), OUTPUTS)
def test_under_every_engine_driver(output, reasoning, content):
    """Per token (with ids) and in 3-token deltas, as each engine calls the parser, previous
    text and ids as the engines pass them."""
    subject = Subject.from_name("gpt-oss", Settings(tokenizer="qwen"))
    text, deltas = per_token(subject.tokenizer, output)
    assert text == output
    want = Split(reasoning, content)
    seen = set()
    # the default request, and FastDeploy's think_start (it always passes a model_status)
    for ctx in (Context("default"), Context("mode=reasoning", mode="reasoning")):
        for driver in DRIVERS.values():
            if driver.unavailable(subject) or not driver.supports(subject, ctx):
                continue
            assert driver.expected(subject, ctx, text) == want, driver.name
            for chunks in (deltas, regroup(deltas, [3])):
                for sent in driver.runs(subject, ctx, chunks):
                    assert sent.streamed.split == want, sent.label
            seen.add(driver.name)
    assert seen == set(DRIVERS)


def test_reasoning_is_released_as_it_is_written():
    """Nothing of the analysis body waits for the message to end; only a possible marker does."""
    stream = get_parser("gpt-oss").start_stream()
    assert stream.feed("<|channel|>analy") is None  # could be a header
    assert stream.feed("sis<|message|>Think").reasoning_content == "Think"
    assert stream.feed("ing <|e").reasoning_content == "ing "  # "<|e" may be <|end|>
    assert stream.feed("nd|>") is None
    piece = stream.feed("<|start|>assistant<|channel|>final<|message|>Par")
    assert (piece.reasoning_content, piece.content) == (None, "Par")


def test_tool_call_header_is_content_as_soon_as_it_names_a_recipient():
    stream = get_parser("gpt-oss").start_stream()
    stream.feed("<|channel|>analysis<|message|>x<|end|>")
    assert stream.feed("<|start|>assistant<|channel|>commentary to") is None  # may still be a header
    assert stream.feed("=functions.f").content == "<|start|>assistant<|channel|>commentary to=functions.f"


def test_an_overlong_header_is_text():
    text = "<|channel|>analysis" + " json" * (HEADER_LIMIT // 5 + 1)
    assert get_parser("gpt-oss").parse(text) == (text, None)
    assert _stream(get_parser("gpt-oss"), per_char(text)) == (text, None)


def test_prompt_decides_where_output_starts():
    parser = get_parser("gpt-oss")
    # the template opened the final channel: the answer
    assert parser.parse("Paris.", prompt_text="<|start|>assistant<|channel|>final<|message|>") == (None, "Paris.")
    # the template opened the analysis channel: reasoning
    assert parser.parse("Hmm.<|end|>", prompt_text="<|start|>assistant<|channel|>analysis<|message|>") == ("Hmm.", None)
    assert parser.parse("Paris.", mode="content") == (None, "Paris.")


@pytest.mark.parametrize("name", ["gpt-oss", "gpt_oss", "openai_gptoss", "harmony"])
def test_engine_names(name):
    assert isinstance(get_parser(name), HarmonyParser)


def test_a_conversations_end_tokens_in_the_prompt_do_not_close_reasoning():
    """The chat template ends with `<|start|>assistant` after earlier messages' `<|end|>`: the
    output still starts in the analysis channel; a prompt that ends after a terminator starts
    outside any message."""
    parser = get_parser("gpt-oss")
    prompt = "<|start|>user<|message|>Hi<|end|><|start|>assistant"
    assert parser.parse("Thinking.<|end|><|start|>assistant<|channel|>final<|message|>Hello.", prompt_text=prompt) == (
        "Thinking.", "Hello.")
    assert parser.parse("Hello.", prompt_text="<|start|>user<|message|>Hi<|end|>") == (None, "Hello.")
    # a recipient after the role: the prompt opened a tool call
    opened_call = "<|start|>assistant to=functions.f<|channel|>commentary json<|message|>"
    assert parser.parse('{"a": 1}<|call|>', prompt_text=opened_call) == (None, '{"a": 1}<|call|>')
