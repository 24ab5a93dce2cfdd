"""Hunyuan HY v3 / HY v4: the markers' suffix comes from the tokenizer, thinking from
reasoning_effort, and a tool-call section opened inside reasoning ends it.

Hy tokenizers are not available offline; the tokenizers here are Qwen's real one plus the Hy
release's structural tokens as added single tokens (``<think:opensource>`` for Hy3,
``<think:6124c78e>`` for HY v4), as the conformance suite's stand-in declares them. Prompts end
the way the Hy chat template ends them: ``<think:S>`` when the request thinks, the closed
``<think:S></think:S>`` when it does not.
"""

from __future__ import annotations

import pytest

from conformance._drive import Split, per_token, regroup
from conformance._drivers import DRIVERS
from conformance._subject import Context, Settings, Subject
from conformance.tokenizers import load_tokenizer
from reasoning_plugins import MissingMarkerError, get_parser, get_reasoner
from reasoning_plugins_extra.hunyuan import (
    HyV3Reasoner,
    HyV3ReasoningParser,
    HyV4Reasoner,
    HyV4ReasoningParser,
    token_suffix,
)

# (name, parser class, the release's suffix, where output starts when the request names no effort)
FAMILIES = [
    ("hy-v3", HyV3ReasoningParser, ":opensource", "content"),
    ("hy-v4", HyV4ReasoningParser, ":6124c78e", "reasoning"),
]
EFFORTS_ON = ["minimal", "low", "medium", "high", "xhigh", "max"]
EFFORTS_OFF = ["none", "no_think"]
REASONING = "The user asks for the weather in Paris; I should call the tool."
ANSWER = "It is sunny in Paris."


def _tokenizer(parser_cls):
    return load_tokenizer(parser_cls.conformance_tokenizer)


def _prompt(s: str, thinking: bool) -> str:
    head = f"<｜hy_begin_of_sentence{s}｜><｜hy_User{s}｜>What is the weather in Paris?<｜hy_Assistant{s}｜>"
    return head + (f"<think{s}>" if thinking else f"<think{s}></think{s}>")


def _call(s: str) -> str:
    return (f"<tool_calls{s}>\n<tool_call{s}>get_weather<tool_sep{s}>\n<arg_key{s}>city</arg_key{s}>\n"
            f"<arg_value{s}>Paris</arg_value{s}>\n</tool_call{s}>\n</tool_calls{s}>")


def _stream(parser, deltas, **context):
    stream = parser.start_stream(**context)
    pieces = [stream.feed(text, ids) for text, ids in deltas] + [stream.finish()]
    return (
        "".join(p.reasoning_content for p in pieces if p and p.reasoning_content) or None,
        "".join(p.content for p in pieces if p and p.content) or None,
    )


def _effort(level: str, top_level: bool = False) -> dict:
    return {"reasoning_effort": level} if top_level else {"chat_template_kwargs": {"reasoning_effort": level}}


# -- the suffix -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_markers_are_the_tokenizers_suffixed_single_tokens(name, parser_cls, suffix, default):
    """Built with a Hy tokenizer, parser and reasoner use its spelling, matched by id."""
    tokenizer = _tokenizer(parser_cls)
    assert token_suffix(tokenizer) == suffix
    parser, reasoner = get_parser(name, tokenizer), get_reasoner(name, tokenizer)
    assert parser.id_format.start == f"<think{suffix}>" and parser.id_format.end == f"</think{suffix}>"
    assert parser.id_format.implicit_ends == (f"<tool_calls{suffix}>",)
    ids = tokenizer.convert_tokens_to_ids([f"<think{suffix}>", f"</think{suffix}>"])
    assert (reasoner.start_token_id, reasoner.end_token_id) == tuple(ids)
    assert reasoner.implicit_end_ids == {tokenizer.convert_tokens_to_ids(f"<tool_calls{suffix}>")}


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_the_other_familys_spelling_is_read_from_the_tokenizer(name, parser_cls, suffix, default):
    """One class serves every checkpoint: HY v4's parser on a Hy3 tokenizer uses <think:opensource>."""
    other = next(f for f in FAMILIES if f[0] != name)
    tokenizer = _tokenizer(other[1])
    parser = get_parser(name, tokenizer)
    assert isinstance(parser, parser_cls)
    assert parser.id_format.end == f"</think{other[2]}>"
    output = f"{REASONING}</think{other[2]}>{ANSWER}"
    assert parser.parse(output, prompt_text=_prompt(other[2], True)) == (REASONING, ANSWER)
    # the family's own spelling is plain text for this tokenizer
    assert parser.parse(f"{REASONING}</think{suffix}>{ANSWER}", request=_effort("high"))[1] is None


def test_bare_think_tokens_of_a_preview_tokenizer():
    """A tokenizer with only <think>/</think> (Hy3-preview; here Qwen's): the unsuffixed markers."""
    qwen = load_tokenizer("qwen")
    assert token_suffix(qwen) == ""
    parser = get_parser("hy-v3", qwen)
    assert parser.parse("r</think>c", request=_effort("high")) == ("r", "c")
    assert parser.parse("r<tool_calls>x", request=_effort("high")) == ("r", "<tool_calls>x")
    assert get_reasoner("hunyuan", qwen).end_token_id == 151668


def test_declared_token_suffix_wins_and_several_undeclared_spellings_are_refused():
    """token_suffix in the tokenizer's config (vLLM's hy_v3 reads it) chooses among spellings."""
    from transformers import PreTrainedTokenizerFast

    both = load_tokenizer("qwen+<think:opensource> </think:opensource> <think:6124c78e> </think:6124c78e>")
    with pytest.raises(ValueError, match=r"several spellings.*<think:6124c78e>, <think:opensource>.*token_suffix"):
        get_parser("hy-v3", both)
    declared = PreTrainedTokenizerFast(tokenizer_object=both.backend_tokenizer, token_suffix=":6124c78e")
    assert get_parser("hy-v3", declared).id_format.end == "</think:6124c78e>"
    wrong = PreTrainedTokenizerFast(tokenizer_object=both.backend_tokenizer, token_suffix=":abc")
    with pytest.raises(MissingMarkerError, match=r"'\:abc'.*no tokens <think:abc> and </think:abc>"):
        get_reasoner("hy-v4", wrong)


def test_a_tokenizer_without_think_tokens_is_a_clear_error():
    """No spelling of the markers at all: the error names the markers and the tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "think": 2}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]")
    for build in (get_parser, get_reasoner):
        with pytest.raises(MissingMarkerError) as caught:
            build("hy-v4", tokenizer)
        message = str(caught.value)
        assert "hy-v4" in message and "<think>" in message and "<think:opensource>" in message
        assert type(tokenizer).__name__ in message and "3 tokens" in message


def test_without_a_tokenizer_the_release_spelling_is_used():
    """Engines that build parsers without a tokenizer (TensorRT-LLM) get the released markers."""
    assert get_parser("hy-v3").parse("r</think:opensource>c", request=_effort("low")) == ("r", "c")
    assert get_parser("hy-v4").parse("r</think:6124c78e>c") == ("r", "c")
    with pytest.raises(MissingMarkerError, match="needs the model's tokenizer"):
        HyV4Reasoner.from_tokenizer(None)


# -- realistic output, streamed token by token ------------------------------------------------


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_thinking_splits_at_the_end_marker_streamed_or_not(name, parser_cls, suffix, default):
    """Prompt ends with <think:S>: reasoning until </think:S>, whitespace kept exactly, with the
    marker tokens' text or without it (skip_special_tokens)."""
    tokenizer = _tokenizer(parser_cls)
    prompt_ids = tokenizer.encode(_prompt(suffix, True), add_special_tokens=False)
    output = f"{REASONING}\n</think{suffix}>\n\n{ANSWER}"
    expected = (f"{REASONING}\n", f"\n\n{ANSWER}")
    parser = get_parser(name, tokenizer)
    ids = tokenizer.encode(output, add_special_tokens=False)
    assert tokenizer.convert_tokens_to_ids(f"</think{suffix}>") in ids
    assert parser.parse(output, token_ids=ids, prompt_token_ids=prompt_ids) == expected
    _, deltas = per_token(tokenizer, output)
    assert _stream(parser, deltas, prompt_token_ids=prompt_ids) == expected
    hidden = [("" if text == f"</think{suffix}>" else text, token) for text, token in deltas]
    assert _stream(parser, hidden, prompt_token_ids=prompt_ids) == expected


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_no_think_prompt_makes_it_all_content(name, parser_cls, suffix, default):
    """The template closed the block (reasoning_effort no_think): the answer is content, whatever
    the family's default and whatever the request says."""
    tokenizer = _tokenizer(parser_cls)
    prompt_ids = tokenizer.encode(_prompt(suffix, False), add_special_tokens=False)
    parser = get_parser(name, tokenizer)
    _, deltas = per_token(tokenizer, ANSWER)
    for request in (None, _effort("high")):
        assert parser.parse(ANSWER, request=request, prompt_token_ids=prompt_ids) == (None, ANSWER)
        assert _stream(parser, deltas, request=request, prompt_token_ids=prompt_ids) == (None, ANSWER)


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_tool_call_opened_inside_reasoning_ends_it(name, parser_cls, suffix, default):
    """<tool_calls:S> before </think:S>: the whole call reaches the content, verbatim."""
    tokenizer = _tokenizer(parser_cls)
    prompt_ids = tokenizer.encode(_prompt(suffix, True), add_special_tokens=False)
    call = _call(suffix)
    output = f"{REASONING}\n{call}"
    parser = get_parser(name, tokenizer)
    _, deltas = per_token(tokenizer, output)
    for split in (parser.parse(output, prompt_token_ids=prompt_ids),
                  _stream(parser, deltas, prompt_token_ids=prompt_ids)):
        assert split == (f"{REASONING}\n", call)
    # after </think:S> the call is the answer's, and a tool call inside a finished block is not
    closed = f"{REASONING}</think{suffix}>\n{call}"
    assert parser.parse(closed, prompt_token_ids=prompt_ids) == (REASONING, f"\n{call}")


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
@pytest.mark.parametrize("top_level", [False, True])
@pytest.mark.parametrize("level", EFFORTS_ON + EFFORTS_OFF)
def test_each_reasoning_effort_level(name, parser_cls, suffix, default, level, top_level):
    """Without a prompt the request decides: none / no_think answer directly, every other level
    thinks; in chat_template_kwargs (vLLM) or as the request's field (SGLang, ours)."""
    tokenizer = _tokenizer(parser_cls)
    parser = get_parser(name, tokenizer)
    thinking = level in EFFORTS_ON
    output = f"{REASONING}</think{suffix}>{ANSWER}" if thinking else ANSWER
    want = (REASONING, ANSWER) if thinking else (None, ANSWER)
    request = _effort(level, top_level)
    assert parser.parse(output, request=request) == want
    assert _stream(parser, per_token(tokenizer, output)[1], request=request) == want
    if not top_level:  # vLLM builds a parser per request with its chat_template_kwargs
        built = parser_cls(tokenizer, chat_template_kwargs=request["chat_template_kwargs"])
        assert built.extract_reasoning_content(output, None) == want


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_default_follows_the_template(name, parser_cls, suffix, default):
    """No prompt, no effort: Hy3's template answers directly (no_think), HY v4's thinks (high);
    chat_template_kwargs outrank the request's field; a written <think:S> is removed."""
    tokenizer = _tokenizer(parser_cls)
    parser = get_parser(name, tokenizer)
    output = f"{REASONING}</think{suffix}>{ANSWER}"
    assert parser.parse(output) == ((REASONING, ANSWER) if default == "reasoning" else (None, output))
    both = {"reasoning_effort": "high", "chat_template_kwargs": {"reasoning_effort": "no_think"}}
    assert parser.parse(ANSWER, request=both) == (None, ANSWER)
    assert parser.parse(f"<think{suffix}>{output}", request=_effort("high")) == (REASONING, ANSWER)


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_under_every_engine_driver(name, parser_cls, suffix, default):
    """Per token with ids and in 3-token deltas, as each engine calls the parser: a thinking
    request whose reasoning ends in a tool call, and one that answers directly."""
    subject = Subject.from_name(name, Settings())
    tokenizer = subject.tokenizer
    call = _call(suffix)
    cases = []
    for label, thinking, request, mode in [
        ("effort high", True, _effort("high"), None),
        ("effort no_think", False, _effort("no_think"), None),
        ("think_start", True, None, "think_start"),
        ("think_end", False, None, "think_end"),
        ("default", default == "reasoning", None, None),
    ]:
        output = f"{REASONING}{call}" if thinking else ANSWER
        want = Split(REASONING, call) if thinking else Split(None, ANSWER)
        cases.append((Context(label, request=request, mode=mode), output, want))
    seen = set()
    for ctx, output, want in cases:
        text, deltas = per_token(tokenizer, output)
        ids = [i for _, d in deltas for i in d or ()]
        for driver in DRIVERS.values():
            if driver.unavailable(subject) or not driver.supports(subject, ctx):
                continue
            assert driver.expected(subject, ctx, text, ids if driver.passes_ids else None) == want, driver.name
            for chunks in (deltas, regroup(deltas, [3])):
                for sent in driver.runs(subject, ctx, chunks):
                    assert sent.streamed.split == want, (ctx.label, sent.label)
            seen.add(driver.name)
    assert seen == set(DRIVERS)


# -- reasoners --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xgrammar():
    return pytest.importorskip("xgrammar")


def _matcher(xgrammar, tokenizer):
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer), stop_token_ids=[stop])
    schema = '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}'
    return xgrammar.GrammarMatcher(xgrammar.GrammarCompiler(info).compile_json_schema(schema)), stop


JSON_ANSWER = '{"city": "Paris"}'


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_grammar_sees_only_the_answer(name, parser_cls, suffix, default, xgrammar):
    """A thinking prompt: the tracker keeps reasoning and </think:S> from the grammar, which
    then accepts the answer whole; without the gate the first reasoning token is refused."""
    tokenizer = _tokenizer(parser_cls)
    reasoner = get_reasoner(name, tokenizer)
    ids = tokenizer.encode(f"{REASONING}\n</think{suffix}>{JSON_ANSWER}", add_special_tokens=False)
    tracker = reasoner.start(tokenizer.encode(_prompt(suffix, True), add_special_tokens=False))
    for_grammar = [t for t in ids if not tracker.feed(t)]
    assert tokenizer.decode(for_grammar) == JSON_ANSWER
    matcher, stop = _matcher(xgrammar, tokenizer)
    assert all(matcher.accept_token(t) for t in [*for_grammar, stop]) and matcher.is_terminated()
    assert not _matcher(xgrammar, tokenizer)[0].accept_token(ids[0])


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_budget_forces_the_suffixed_end_marker(name, parser_cls, suffix, default, xgrammar):
    """A budget of 3 tokens: the forced "\\n</think:S>" ends reasoning by id; the answer follows."""
    tokenizer = _tokenizer(parser_cls)
    reasoner = get_reasoner(name, tokenizer)
    forced = reasoner.force_end_token_ids
    assert forced[-1] == tokenizer.convert_tokens_to_ids(f"</think{suffix}>")
    assert tokenizer.decode(forced) == f"\n</think{suffix}>"
    tracker = reasoner.start((), request=_effort("low"))
    reasoning = tokenizer.encode(REASONING, add_special_tokens=False)[:3]
    assert all(tracker.feed(t) for t in [*reasoning, *forced]) and not tracker.in_reasoning
    answer = tokenizer.encode(JSON_ANSWER, add_special_tokens=False)
    assert not any(tracker.feed(t) for t in answer)
    matcher, stop = _matcher(xgrammar, tokenizer)
    assert all(matcher.accept_token(t) for t in [*answer, stop]) and matcher.is_terminated()
    parsed = get_parser(name, tokenizer).parse(tokenizer.decode([*reasoning, *forced, *answer]), request=_effort("low"))
    assert parsed == (tokenizer.decode(reasoning) + "\n", JSON_ANSWER)


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
@pytest.mark.parametrize("level", EFFORTS_OFF)
def test_reasoner_follows_the_request_when_thinking_is_off(name, parser_cls, suffix, default, level, xgrammar):
    """reasoning_effort none / no_think without a prompt: the grammar applies from the first token."""
    tokenizer = _tokenizer(parser_cls)
    reasoner = get_reasoner(name, tokenizer)
    answer = tokenizer.encode(JSON_ANSWER, add_special_tokens=False)
    tracker = reasoner.start((), request=_effort(level, top_level=True))
    assert not tracker.in_reasoning and not any(tracker.feed(t) for t in answer)
    assert reasoner.bind(_effort(level)).extract_content_ids(answer) == answer
    matcher, stop = _matcher(xgrammar, tokenizer)
    assert all(matcher.accept_token(t) for t in [*answer, stop]) and matcher.is_terminated()


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_reasoner_and_parser_agree_that_a_tool_call_ends_reasoning(name, parser_cls, suffix, default):
    """The tool-call opener is one token: reasoning ends on it, and it is the content's first."""
    tokenizer = _tokenizer(parser_cls)
    ids = tokenizer.encode(f"{REASONING}{_call(suffix)}", add_special_tokens=False)
    at = ids.index(tokenizer.convert_tokens_to_ids(f"<tool_calls{suffix}>"))
    prompt_ids = tokenizer.encode(_prompt(suffix, True), add_special_tokens=False)
    reasoner = get_reasoner(name, tokenizer).bind(prompt_token_ids=prompt_ids)
    parser = get_parser(name, tokenizer).bind(prompt_token_ids=prompt_ids)
    tracker = reasoner.start(prompt_ids)
    assert [tracker.feed(t) for t in ids] == [True] * at + [False] * (len(ids) - at)
    for judge in (reasoner, parser):
        assert [judge.is_reasoning_end(ids[:k]) for k in range(len(ids) + 1)] == [k > at for k in range(len(ids) + 1)]
        assert judge.extract_content_ids(ids) == ids[at:]
    assert tokenizer.decode(ids[at:], skip_special_tokens=False) == _call(suffix)


def test_reasoner_classes_resolve_per_tokenizer():
    """HyV3Reasoner.from_tokenizer on a HY v4 tokenizer answers in that tokenizer's ids."""
    tokenizer = _tokenizer(HyV4ReasoningParser)
    reasoner = HyV3Reasoner.from_tokenizer(tokenizer)
    assert isinstance(reasoner, HyV3Reasoner)
    assert reasoner.end_token_id == tokenizer.convert_tokens_to_ids("</think:6124c78e>")


# -- auto -------------------------------------------------------------------------------------


def _hy_template(suffix: str, default_effort: str) -> str:
    """A chat template in the Hy layout: the effort in the system turn, the tool-call markup in the
    tool instructions, the generation prompt opening (or closing) the think block."""
    s = suffix
    return (
        "{%- set effort = reasoning_effort if reasoning_effort else '" + default_effort + "' -%}"
        "<｜hy_begin_of_sentence" + s + "｜>"
        "{%- if tools %}# Tools\nFor function call returns, you should first print <tool_calls" + s + ">\n"
        "<tool_call" + s + ">{function-name}<tool_sep" + s + ">...</tool_call" + s + ">\n"
        "At the end of function call returns, you should print </tool_calls" + s + ">{%- endif %}"
        "<｜reasoning_mode" + s + "｜>reasoning_effort:{{ effort }}"
        "{%- for m in messages %}<｜hy_User" + s + "｜>{{ m.content }}{%- endfor %}"
        "{%- if add_generation_prompt %}<｜hy_Assistant" + s + "｜>"
        "{%- if effort == 'no_think' %}<think" + s + "></think" + s + ">{%- else %}<think" + s + ">{%- endif %}"
        "{%- endif %}"
    )


@pytest.mark.parametrize(("name", "parser_cls", "suffix", "default"), FAMILIES)
def test_auto_names_the_family_from_its_chat_template(name, parser_cls, suffix, default):
    """--reasoning-parser auto on a Hy template: the released spelling names the family."""
    import copy

    from reasoning_plugins import choose_parser

    tokenizer = copy.deepcopy(_tokenizer(parser_cls))
    tokenizer.chat_template = _hy_template(suffix, "no_think" if default == "content" else "high")
    choice = choose_parser(tokenizer)
    assert choice.name == name
    assert f"<tool_calls{suffix}> in the template" in choice.reason
