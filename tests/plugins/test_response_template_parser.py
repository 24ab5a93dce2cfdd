"""`response-template` (alias `hf`): the parser and reasoner a model declares in its own
tokenizer_config.json, built with its tokenizer; a clear error when there is nothing to build from.

The tokenizers are real: the bundled model's tokenizer files copied into a temporary directory
with a `response_template` added to tokenizer_config.json, loaded by transformers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reasoning_plugins import (
    DeclarativeParser,
    MissingMarkerError,
    get_parser,
    get_reasoner,
    response_template_from_format,
)
from reasoning_plugins._auto import format_from_response_template
from reasoning_plugins.parsers.response_template import ResponseTemplateParser

transformers = pytest.importorskip("transformers")

BUNDLED = Path(__file__).resolve().parents[2] / "core_engine" / "models" / "tiny-reasoner"
# reasoning in <think>...</think>, the answer wrapped in <answer>...</answer> (text markers here)
TEMPLATE = {
    "version": 1,
    "fields": {
        "reasoning_content": {"open": "<think>", "close": "</think>", "content": "text"},
        "content": {"open": "<answer>", "close": "</answer>", "content": "text"},
    },
}
OUTPUT = "<think>The user greets me.</think><answer>Hello!</answer>"


def _tokenizer_dir(tmp_path: Path, template: dict | None) -> Path:
    target = tmp_path / "tokenizer"
    target.mkdir(exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(BUNDLED / name, target / name)
    config = json.loads((target / "tokenizer_config.json").read_text(encoding="utf-8"))
    if template is not None:
        config["response_template"] = template
    (target / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


def _load(tmp_path: Path, template: dict | None = TEMPLATE):
    return transformers.AutoTokenizer.from_pretrained(_tokenizer_dir(tmp_path, template), local_files_only=True)


@pytest.mark.parametrize("name", ["response-template", "response_template", "hf", "HF"])
def test_every_name_builds_the_declared_parser(name, tmp_path):
    """The instance is a declarative parser of exactly the template's format."""
    tokenizer = _load(tmp_path)
    parser = get_parser(name, tokenizer)
    assert isinstance(parser, DeclarativeParser)
    assert parser.format == format_from_response_template(TEMPLATE)
    assert parser.parse(OUTPUT) == ("The user greets me.", "Hello!")


def test_streams_as_it_parses(tmp_path):
    tokenizer = _load(tmp_path)
    stream = get_parser("hf", tokenizer).start_stream()
    pieces = [stream.feed(OUTPUT[i : i + 3]) for i in range(0, len(OUTPUT), 3)] + [stream.finish()]
    reasoning = "".join(p.reasoning_content for p in pieces if p and p.reasoning_content)
    content = "".join(p.content for p in pieces if p and p.content)
    assert (reasoning, content) == ("The user greets me.", "Hello!")


def test_behaves_as_auto_does_with_a_response_template(tmp_path):
    """`auto` also reads the response_template first: both split every output the same way."""
    tokenizer = _load(tmp_path)
    named, auto = get_parser("hf", tokenizer), get_parser("auto", tokenizer)
    for text in (OUTPUT, "no markers at all", "<think>cut off", "<think>a</think>plain"):
        assert named.parse(text) == auto.parse(text)


def test_an_exported_declaration_round_trips(tmp_path):
    """`reasoning-plugins export deepseek-r1` written into the tokenizer gives deepseek-r1's split."""
    exported = response_template_from_format(type(get_parser("deepseek-r1")).format)
    tokenizer = _load(tmp_path, exported)
    prompt = tokenizer.encode("<|im_start|>assistant\n<think>\n", add_special_tokens=False)
    text = "Two plus two.\n</think>\n\n4"
    assert get_parser("hf", tokenizer).parse(text, prompt_token_ids=prompt) == \
        get_parser("deepseek-r1", tokenizer).parse(text, prompt_token_ids=prompt)


def test_the_reasoner_follows_the_declaration_by_token_id(tmp_path):
    """<think> and </think> are single tokens of the bundled tokenizer: the reasoner ends
    reasoning on </think> and a budget forces it."""
    tokenizer = _load(tmp_path)
    reasoner = get_reasoner("hf", tokenizer)
    end_id = tokenizer.convert_tokens_to_ids("</think>")
    assert reasoner.end_token_id == end_id and reasoner.force_end_token_ids[-1] == end_id
    ids = tokenizer.encode("<think>Hmm.</think>Hi", add_special_tokens=False)
    tracker = reasoner.start([], mode="await_start")
    fed = [tracker.feed(t) for t in ids]
    assert tokenizer.decode([t for t, r in zip(ids, fed) if not r]) == "Hi"
    assert reasoner.is_reasoning_end(ids) and not reasoner.is_reasoning_end(ids[:2])


def test_without_a_tokenizer_the_error_says_what_to_pass():
    with pytest.raises(MissingMarkerError) as caught:
        get_parser("hf")
    message = str(caught.value)
    assert "no tokenizer was given" in message and "get_parser('response-template', tokenizer)" in message
    assert "auto" in message and "reasoning-plugins list" in message


def test_a_tokenizer_without_a_response_template_names_what_is_missing(tmp_path):
    tokenizer = _load(tmp_path, None)
    for build in (lambda: get_parser("hf", tokenizer), lambda: get_reasoner("response-template", tokenizer)):
        with pytest.raises(MissingMarkerError) as caught:
            build()
        message = str(caught.value)
        assert "needs a response_template in the model's tokenizer_config.json" in message
        assert "--reasoning-parser auto" in message and "`reasoning-plugins list`" in message


def test_an_unusable_response_template_says_why(tmp_path):
    tokenizer = _load(tmp_path, {"version": 1, "fields": {"content": {"content": "text"}}})
    with pytest.raises(MissingMarkerError, match="has no reasoning field"):
        get_parser("hf", tokenizer)


def test_the_class_is_shared_per_template(tmp_path):
    """A server builds one parser per request: the class is built once per distinct template."""
    tokenizer = _load(tmp_path)
    assert type(get_parser("hf", tokenizer)) is type(get_parser("hf", tokenizer))
    assert ResponseTemplateParser.class_for_tokenizer(tokenizer) is type(get_parser("hf", tokenizer))


def test_through_the_vllm_adapters_construction(tmp_path, monkeypatch):
    """vLLM builds the adapter class per request with its tokenizer: the markers, the id methods
    and the split are the declaration's. (vLLM is not installed here: its ReasoningParser base and
    DeltaMessage are stood in for; tests/adapters/test_response_template_engines.py runs the real one.)"""
    from reasoning_plugins.adapters import vllm as adapter

    class StandInBase:  # vllm.reasoning.ReasoningParser
        def __init__(self, tokenizer, *args, **kwargs):
            self.model_tokenizer = tokenizer

    class StandInDeltaMessage:  # vLLM's DeltaMessage
        model_fields = {"reasoning": None, "content": None}

    monkeypatch.setattr(adapter, "_delta_message", StandInDeltaMessage)
    cls = type("HfAdapter", (adapter._DeltaParser, StandInBase),
               {"parser_class": ResponseTemplateParser, "parser_name": "response-template"})
    tokenizer = _load(tmp_path, response_template_from_format(type(get_parser("deepseek-r1")).format))
    parser = cls(tokenizer)
    assert (parser.reasoning_start_str, parser.reasoning_end_str) == ("<think>", "</think>")
    ids = tokenizer.encode("<think>Hmm.</think>Hi", add_special_tokens=False)
    end = ids.index(tokenizer.convert_tokens_to_ids("</think>"))
    assert [parser.is_reasoning_end_streaming(ids[: k + 1], ids[k : k + 1]) for k in range(len(ids))] == \
        [k == end for k in range(len(ids))]
    assert parser.extract_reasoning("<think>Hmm.</think>Hi") == ("Hmm.", "Hi")
