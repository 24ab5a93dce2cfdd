"""Our parsers inside the real LMDeploy package (scripts/engines/lmdeploy.sh builds .venv-lmdeploy).

LMDeploy changed its reasoning-parser interface in 0.13, so the same file runs twice:

    .venv-lmdeploy/bin/python -m pytest tests/adapters/test_lmdeploy.py         # lmdeploy 0.18.0
    PYTHONPATH=.venv-lmdeploy/lmdeploy-0.12 .venv-lmdeploy/bin/python -m pytest tests/adapters/test_lmdeploy.py

The first uses LMDeploy's own response parser (``ResponseParserManager.get("default")``, its
``set_parsers``, ``stream_chunk`` and ``parse_complete``); the second LMDeploy 0.12.3's registry
and its server's way of calling the one shared parser (``ReasoningParserManager.get(name)
(tokenizer)`` at start, then ``extract_reasoning_content_streaming`` with
``current_text = current_text + delta`` per request, interleaved). Nothing of LMDeploy is
mocked; tests of the interface that is not installed are skipped.
"""

from __future__ import annotations

import logging
import random
from importlib.metadata import PackageNotFoundError, version

import pytest

from reasoning_plugins import get_parser
from reasoning_plugins.adapters import UnsupportedEngineError

try:
    LMDEPLOY = version("lmdeploy")
except PackageNotFoundError:
    LMDEPLOY = None
_MAJOR_MINOR = tuple(int(p) for p in LMDEPLOY.split(".")[:2]) if LMDEPLOY else None
needs_seed = pytest.mark.skipif(
    not LMDEPLOY or _MAJOR_MINOR >= (0, 13),
    reason=f"needs lmdeploy <= 0.12 (installed: {LMDEPLOY}); run with PYTHONPATH=.venv-lmdeploy/lmdeploy-0.12",
)
needs_declarations = pytest.mark.skipif(
    not LMDEPLOY or _MAJOR_MINOR < (0, 13), reason=f"needs lmdeploy >= 0.13 (installed: {LMDEPLOY})"
)

OUTPUTS = {
    "seed-oss": "<seed:think>Add 2 and 2.</seed:think>It is 4.",
    "iquest-q1": "<think>Add 2 and 2.</think>It is 4.",
    "ernie-45-vl": "A cat on a mat.\n</think>\n\nIt is a cat.",
    "kimi-vl": "◁think▷look closely◁/think▷A cat.",
    "ours:deepseek-r1": "Okay, 2+2=4.\n</think>\n\nThe answer is 4.",
    "ernie-x1": "Two plus two.\n</think>\n\n<response>\nIt is 4.\n</response>\n",
}


@pytest.fixture(scope="module")
def installed():
    from reasoning_plugins.adapters import lmdeploy

    return lmdeploy.install()


@pytest.mark.skipif(LMDEPLOY is not None, reason="lmdeploy is installed: this checks the error without it")
def test_install_without_lmdeploy_names_the_supported_versions():
    """install() without LMDeploy raises UnsupportedEngineError naming the supported versions."""
    from reasoning_plugins.adapters import lmdeploy

    with pytest.raises(UnsupportedEngineError, match=r"LMDeploy is not installed.*0\.12\.3.*0\.18\.0"):
        lmdeploy.install()


# -- lmdeploy <= 0.12: one shared instance, seed interface --------------------------------------


def _shared_instance_serving(parser, outputs, seed=0):
    """LMDeploy 0.12's server: one parser, requests' deltas interleaved, text rebuilt per request."""
    rng = random.Random(seed)
    pending = {}
    for rid, text in enumerate(outputs):
        cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(1, 10))))
        pending[rid] = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    state = {rid: {"previous_text": "", "current_text": "", "reasoning": "", "content": ""} for rid in pending}
    while pending:
        rid = rng.choice(sorted(pending))
        delta = pending[rid].pop(0)
        if not pending[rid]:
            del pending[rid]
        s = state[rid]
        s["current_text"] = s["current_text"] + delta
        message = parser.extract_reasoning_content_streaming(
            previous_text=s["previous_text"], current_text=s["current_text"], delta_text=delta,
            previous_token_ids=[], current_token_ids=[], delta_token_ids=[],
        )
        if message is not None:
            s["reasoning"] += message.reasoning_content or ""
            s["content"] += message.content or ""
        s["previous_text"] = s["current_text"]
    return [(state[rid]["reasoning"], state[rid]["content"]) for rid in range(len(outputs))]


@needs_seed
def test_lmdeploys_registry_resolves_our_names(installed):
    """LMDeploy 0.12's ReasoningParserManager builds our parsers for names it does not ship."""
    from lmdeploy.serve.openai.reasoning_parser import ReasoningParserManager

    for name in ("ernie-x1", "seed-oss", "ernie-45-vl-thinking", "ours:deepseek-r1"):
        assert name in ReasoningParserManager.module_dict
        assert ReasoningParserManager.get(name) is installed[name]
    assert "glm-4.5" not in ReasoningParserManager.module_dict  # dotted names cannot resolve there


@needs_seed
@pytest.mark.parametrize("seed", range(8))
def test_one_shared_instance_serves_interleaved_requests(installed, seed):
    """One instance, many interleaved requests: each gets what a stream of its own sends.

    LMDeploy never calls finish(), so a request cut off inside a possible marker (the third)
    loses only the held-back tail; complete outputs lose nothing.
    """
    from lmdeploy.serve.openai.reasoning_parser import ReasoningParserManager

    for name in ("ernie-x1", "seed-oss", "ours:deepseek-r1"):
        shared = ReasoningParserManager.get(name)(None)
        texts = [OUTPUTS[name], OUTPUTS[name].replace("4", "four"), OUTPUTS[name][:-3]]
        expected = []
        for text in texts:
            stream = get_parser(name.removeprefix("ours:")).start_stream()
            sent = stream.feed(text, None)
            expected.append(((sent and sent.reasoning_content) or "", (sent and sent.content) or ""))
            if text is not texts[2]:
                assert stream.finish() is None
        assert _shared_instance_serving(shared, texts, seed) == expected


@needs_seed
def test_non_stream_with_lmdeploys_request(installed):
    """extract_reasoning_content(text, request) with LMDeploy's own request type."""
    from lmdeploy.serve.openai.protocol import ChatCompletionRequest
    from lmdeploy.serve.openai.reasoning_parser import ReasoningParserManager

    request = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "2+2?"}])
    parser = ReasoningParserManager.get("ernie-x1")(None)
    assert parser.extract_reasoning_content(OUTPUTS["ernie-x1"], request) == ("Two plus two.\n", "\nIt is 4.\n")
    off = ChatCompletionRequest(model="m", messages=[], chat_template_kwargs={"enable_thinking": False})
    assert ReasoningParserManager.get("seed-oss")(None).extract_reasoning_content("Just 4.", off) == (None, "Just 4.")


@needs_seed
def test_clash_keeps_lmdeploys_parser_and_override(installed):
    """deepseek-r1 stays LMDeploy's (ours is ours:deepseek-r1); override swaps, a plain install restores."""
    from lmdeploy.serve.openai.reasoning_parser import DeepSeekR1ReasoningParser, ReasoningParserManager

    from reasoning_plugins.adapters import lmdeploy

    assert ReasoningParserManager.get("deepseek-r1") is DeepSeekR1ReasoningParser
    try:
        lmdeploy.install(override="deepseek-r1")
        assert ReasoningParserManager.get("deepseek-r1") is installed["ours:deepseek-r1"]
    finally:
        lmdeploy.install(override=())
    assert ReasoningParserManager.get("deepseek-r1") is DeepSeekR1ReasoningParser


# -- lmdeploy >= 0.13: declarations, LMDeploy's own response parser -----------------------------


def _response_parser(name, **request_fields):
    from lmdeploy.serve.openai.protocol import ChatCompletionRequest
    from lmdeploy.serve.parsers import ResponseParserManager

    cls = ResponseParserManager.get("default")
    cls.set_parsers(reasoning_parser_name=name, tokenizer=None)
    request = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "2+2?"}], **request_fields)
    return cls(request)


@needs_declarations
@pytest.mark.parametrize("name", ["iquest-q1", "ernie-45-vl", "kimi-vl", "ours:deepseek-r1"])
def test_lmdeploys_response_parser_splits_our_formats(installed, name):
    """LMDeploy's own parse_complete and stream_chunk split our declared formats as our parser does.

    The start marker arrives whole (a single token of these models' tokenizers): LMDeploy's own
    parser, already in reasoning, does not hold back a start marker split across deltas.
    """
    text = OUTPUTS[name]
    start = get_parser(name.removeprefix("ours:")).format.start or ""
    whole_start = range(len(start) + 1, len(text)) if text.startswith(start) and start else range(1, len(text))
    reasoning, content = get_parser(name.removeprefix("ours:")).parse(text)
    complete, tool_calls, complete_reasoning = _response_parser(name).parse_complete(text)
    assert (complete_reasoning, complete, tool_calls) == (reasoning, content, None)
    rng = random.Random(3)
    for _ in range(20):
        cuts = sorted(rng.sample(whole_start, k=rng.randint(1, 6)))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
        parser = _response_parser(name)
        deltas = [m for i, c in enumerate(chunks) for m, _ in parser.stream_chunk(c, [], final=i == len(chunks) - 1)]
        assert "".join(m.reasoning_content or "" for m in deltas) == reasoning
        assert "".join(m.content or "" for m in deltas) == content


@needs_declarations
def test_thinking_switch_decides_where_lmdeploy_starts(installed):
    """starts_in_reasoning_mode follows our parser's mode for the request's chat_template_kwargs."""
    on = _response_parser("iquest-q1").parse_complete("Add.</think>4")
    off = _response_parser("iquest-q1", chat_template_kwargs={"enable_thinking": False}).parse_complete("Just 4.")
    assert on == ("4", None, "Add.")
    assert off == ("Just 4.", None, None)


@needs_declarations
def test_formats_beyond_tags_are_not_offered(installed):
    """ernie-x1 needs a content wrapper and trims, seed-oss a tool-call opener that ends reasoning:
    neither is registered, and LMDeploy rejects the name; tag-only formats are."""
    from lmdeploy.serve.parsers.response_parser import validate_parser_names

    # Kimi K2's tool-call section ends reasoning implicitly: LMDeploy's tag pairs cannot say that
    assert "ernie-x1" not in installed and "seed-oss" not in installed and "kimi-k2" not in installed
    assert "iquest-q1" in installed
    with pytest.raises(ValueError, match="ernie-x1"):
        validate_parser_names("ernie-x1")
    assert "glm-4.5" not in installed


@needs_declarations
def test_clash_reported_once_and_prefix(installed, caplog):
    """A name LMDeploy ships (deepseek-v3 is not ours; deepseek-r1 is a legacy alias of its
    default) keeps LMDeploy's meaning; ours is reachable as ours:deepseek-r1."""
    from lmdeploy.serve.parsers.reasoning_parser import ReasoningParserManager

    from reasoning_plugins.adapters import lmdeploy

    with caplog.at_level(logging.WARNING, logger="reasoning_plugins.adapters.lmdeploy"):
        lmdeploy.install()
    assert "ours:deepseek-r1" in ReasoningParserManager.module_dict
    assert ReasoningParserManager.get("deepseek-v3").__module__.startswith("lmdeploy.")
    assert not caplog.records  # reported at the first install, not again


@needs_declarations
def test_unknown_interface_registers_nothing(installed, monkeypatch):
    """An LMDeploy whose declarations lack starts_in_reasoning_mode gets one error, nothing registered.

    The real class with one method removed stands for an LMDeploy version whose interface differs.
    """
    from lmdeploy.serve.parsers.reasoning_parser import ReasoningParser, ReasoningParserManager

    from reasoning_plugins.adapters import lmdeploy

    before = dict(ReasoningParserManager.module_dict)
    monkeypatch.delattr(ReasoningParser, "starts_in_reasoning_mode")
    with pytest.raises(UnsupportedEngineError, match=r"LMDeploy 0\.18\.0 .*starts_in_reasoning_mode.*supports lmdeploy"):
        lmdeploy.install(override="*")
    assert dict(ReasoningParserManager.module_dict) == before
