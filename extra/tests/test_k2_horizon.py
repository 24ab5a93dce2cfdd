"""K2-Horizon: the template prefills `<ifm|think…>`; which one (and its end marker) the request's
reasoning_effort chooses. Each request's stream uses its own markers, also when one instance
serves several requests at once (LMDeploy) or is built with the request's kwargs (vLLM)."""

from __future__ import annotations

import pytest

from conformance._drive import Split, per_char, per_token, regroup
from conformance._drivers import DRIVERS
from conformance._subject import Context, Settings, Subject
from reasoning_plugins import get_parser
from reasoning_plugins_extra.effort import K2HorizonParser

CALL = '<ifm|tool_calls>[{"name": "get_weather", "arguments": {"city": "Paris"}}]'
LEVELS = [("high", "</ifm|think>"), ("medium", "</ifm|think_fast>"), ("low", "</ifm|think_faster>")]


def _request(effort: str | None, top_level: bool = False) -> dict | None:
    if effort is None:
        return None
    return {"reasoning_effort": effort} if top_level else {"chat_template_kwargs": {"reasoning_effort": effort}}


def _stream(parser, chunks, **context):
    stream = parser.start_stream(**context)
    pieces = [stream.feed(text, ids) for text, ids in chunks] + [stream.finish()]
    return (
        "".join(p.reasoning_content for p in pieces if p and p.reasoning_content) or None,
        "".join(p.content for p in pieces if p and p.content) or None,
    )


@pytest.mark.parametrize(("effort", "end"), LEVELS)
@pytest.mark.parametrize("top_level", [False, True])
def test_each_level_splits_at_its_own_end_marker(effort, end, top_level):
    request = _request(effort, top_level)
    output = f"The user wants the capital.\n{end}\n\nParis."
    parser = get_parser("k2-horizon")
    assert parser.parse(output, request=request) == ("The user wants the capital.\n", "\n\nParis.")
    assert _stream(parser, per_char(output), request=request) == ("The user wants the capital.\n", "\n\nParis.")
    # another level's end marker is text: reasoning goes on
    other = "</ifm|think_fast>" if effort != "medium" else "</ifm|think>"
    assert parser.parse(f"r{other}c", request=request) == (f"r{other}c", None)


def test_default_level_is_high_and_a_written_start_is_removed():
    parser = get_parser("k2_horizon")
    assert parser.parse("<ifm|think>r</ifm|think>c") == ("r", "c")
    assert parser.parse("r</ifm|think_faster>c") == ("r</ifm|think_faster>c", None)


@pytest.mark.parametrize(("effort", "end"), LEVELS)
def test_tool_call_ends_reasoning_at_every_level(effort, end):
    parser = get_parser("k2-horizon")
    assert parser.parse("I should call it." + CALL, request=_request(effort)) == ("I should call it.", CALL)


def test_an_unknown_level_is_a_clear_error():
    with pytest.raises(ValueError, match="unsupported reasoning_effort 'max'.*high, low, medium"):
        get_parser("k2-horizon").parse("x", request=_request("max"))
    with pytest.raises(ValueError, match="reasoning_effort"):
        K2HorizonParser(None, chat_template_kwargs={"reasoning_effort": "max"})


def test_one_instance_serves_requests_of_different_levels_interleaved():
    """LMDeploy shares one instance between requests: each keeps its own markers."""
    parser = get_parser("k2-horizon")
    fast = parser.start_stream(_request("medium"))
    deep = parser.start_stream(_request("high"))
    out_fast, out_deep = [], []
    for a, b in zip("r1</ifm|think_fast>c1", "r2</ifm|think>c2xxxxx"):
        out_fast.append(fast.feed(a))
        out_deep.append(deep.feed(b))
    out_fast.append(fast.finish())
    out_deep.append(deep.finish())

    def split(pieces):
        return ("".join(p.reasoning_content or "" for p in pieces if p) or None,
                "".join(p.content or "" for p in pieces if p) or None)

    assert split(out_fast) == ("r1", "c1")
    assert split(out_deep) == ("r2", "c2xxxxx")


def test_built_with_the_request_kwargs_as_vllm_does():
    parser = K2HorizonParser(None, chat_template_kwargs={"reasoning_effort": "low"})
    assert parser.extract_reasoning_content("r</ifm|think_faster>c") == ("r", "c")


@pytest.mark.parametrize(("effort", "end"), LEVELS)
def test_under_every_engine_driver(effort, end):
    """Per token (with ids) and in 3-token deltas; FastDeploy with think_start."""
    subject = Subject.from_name("k2-horizon", Settings(tokenizer="qwen"))
    output = f"Think first.{end}Answer."
    text, deltas = per_token(subject.tokenizer, output)
    want = Split("Think first.", "Answer.")
    seen = set()
    # the request's top-level reasoning_effort (SGLang's field), and in chat_template_kwargs (vLLM's)
    contexts = [Context(effort, request=_request(effort, top_level=True)),
                Context(f"{effort} kwargs", request=_request(effort)),
                Context("think_start", request=_request(effort, top_level=True), mode="reasoning")]
    if effort == "high":
        contexts += [Context("default"), Context("think_start default", mode="reasoning")]
    for ctx in contexts:
        for driver in DRIVERS.values():
            if driver.unavailable(subject) or not driver.supports(subject, ctx):
                continue
            if driver.name == "vllm" and ctx.request is not None and "kwargs" not in ctx.label:
                continue  # vLLM hands a parser's streaming method the effort only as chat_template_kwargs
            if driver.name in ("lmdeploy", "fastdeploy") and ctx.request is not None:
                continue  # their streaming calls carry no request: only the default level
            assert driver.expected(subject, ctx, text) == want, driver.name
            for chunks in (deltas, regroup(deltas, [3])):
                for sent in driver.runs(subject, ctx, chunks):
                    assert sent.streamed.split == want, sent.label
            seen.add(driver.name)
    assert seen == (set(DRIVERS) if effort == "high" else set(DRIVERS) - {"lmdeploy", "fastdeploy"})


# -- the reasoner: each request's tracker follows and forces its own level's end marker ----------

from conformance.tokenizers import load_tokenizer  # noqa: E402
from reasoning_plugins import get_reasoner  # noqa: E402
from reasoning_plugins_extra.effort import K2_HORIZON_STAND_IN  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(K2_HORIZON_STAND_IN)


def _ids(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False)


@pytest.mark.parametrize(("effort", "end"), LEVELS)
def test_reasoner_tracks_the_requests_level(tokenizer, effort, end):
    """Reasoning ends at the request's own end marker; another level's is reasoning text there."""
    reasoner = get_reasoner("k2-horizon", tokenizer)
    others = "".join(e for _, e in LEVELS if e != end)
    ids = _ids(tokenizer, f"Think {others} more.{end}Paris.")
    tracker = reasoner.start([], request=_request(effort))
    for_grammar = [not tracker.feed(t) for t in ids]
    content_from = ids.index(tokenizer.convert_tokens_to_ids(end)) + 1
    assert for_grammar == [k >= content_from for k in range(len(ids))]
    assert tracker.force_end_token_ids == [tokenizer.convert_tokens_to_ids(end)]
    bound = reasoner.bind(_request(effort))
    assert bound.is_reasoning_end(ids) and bound.extract_content_ids(ids) == ids[content_from:]
    assert not bound.is_reasoning_end(ids[:content_from - 1])


def test_reasoner_ends_at_a_tool_call_at_every_level(tokenizer):
    for effort, _end in LEVELS:
        ids = _ids(tokenizer, "I will look it up." + CALL)
        tracker = get_reasoner("k2-horizon", tokenizer).start([], request=_request(effort, top_level=True))
        opener = ids.index(tokenizer.convert_tokens_to_ids("<ifm|tool_calls>"))
        assert [not tracker.feed(t) for t in ids] == [k >= opener for k in range(len(ids))]


def test_reasoner_refuses_an_unknown_level(tokenizer):
    reasoner = get_reasoner("k2-horizon", tokenizer)
    with pytest.raises(ValueError, match="unsupported reasoning_effort 'max'"):
        reasoner.start([], request=_request("max"))
    with pytest.raises(ValueError, match="high, low, medium"):
        reasoner.bind(_request("max"))


def test_forced_end_lets_a_real_grammar_take_the_answer(tokenizer):
    """A budget spent at effort low forces </ifm|think_faster>; a JSON grammar then accepts the
    answer, and the forced marker was never given to it."""
    xgrammar = pytest.importorskip("xgrammar")
    reasoner = get_reasoner("k2-horizon", tokenizer)
    tracker = reasoner.start([], request=_request("low"))
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer), stop_token_ids=[stop])
    matcher = xgrammar.GrammarMatcher(xgrammar.GrammarCompiler(info).compile_json_schema(
        '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}'))
    for t in _ids(tokenizer, "Two words"):
        assert tracker.feed(t)
    for t in tracker.force_end_token_ids:
        assert tracker.feed(t)  # the end marker is not for the grammar
    assert not tracker.in_reasoning
    answer = _ids(tokenizer, '{"city": "Paris"}') + [stop]
    assert all(not tracker.feed(t) and matcher.accept_token(t) for t in answer)
    assert matcher.is_terminated()
