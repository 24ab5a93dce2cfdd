"""The seed (vLLM / LMDeploy / FastDeploy) parser interface works as their documents show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Tuple, Union

import pytest

from reasoning_plugins import (
    ReasoningParser,
    ReasoningParserManager,
    UnknownPluginError,
    get_parser,
    list_parsers,
)
from reasoning_plugins.protocol import ChatCompletionRequest, DeltaMessage

from .conftest import collect

OUTPUT = "I compare 9.11 and 9.8.\n</think>\n\n9.8 is greater."


def _drive(parser_factory, chunks, ids=None):
    """Call extract_reasoning_content_streaming the way engines do, with full previous/current text."""
    previous_text, previous_ids, out = "", [], []
    parser = parser_factory()
    for index, delta in enumerate(chunks):
        delta_ids = ids[index] if ids else []
        current_text, current_ids = previous_text + delta, previous_ids + delta_ids
        out.append(parser.extract_reasoning_content_streaming(
            previous_text, current_text, delta, previous_ids, current_ids, delta_ids))
        previous_text, previous_ids = current_text, current_ids
    out.append(parser.finish())
    return collect(out)


@pytest.mark.parametrize("name", ["deepseek-r1", "ernie-x1", "ernie-45-vl-thinking"])
def test_seed_streaming_matches_non_streaming(name):
    """The seed streaming method plus finish() equals extract_reasoning_content, per character."""
    parser = get_parser(name)
    assert _drive(lambda: parser, list(OUTPUT)) == parser.extract_reasoning_content(OUTPUT, ChatCompletionRequest())


@pytest.mark.parametrize("name", ["deepseek-r1", "ernie-x1"])
def test_fresh_instance_per_call_resynchronises(name):
    """An engine that creates a new parser for every delta still gets the right split."""
    instances = []

    def fresh():
        instances.append(get_parser(name))
        return instances[-1]

    previous, out = "", []
    for ch in OUTPUT:
        parser = fresh()
        out.append(parser.extract_reasoning_content_streaming(previous, previous + ch, ch, [], [], []))
        previous += ch
    # the last instance holds whatever was held back
    out.append(instances[-1].finish())
    assert collect(out) == get_parser(name).parse(OUTPUT)


def test_fresh_instance_past_the_end_marker_sees_content():
    """A new instance whose previous_text is already past `</think>` sends the delta as content."""
    parser = get_parser("deepseek-r1")
    previous = "reasoning</think>answer "
    message = parser.extract_reasoning_content_streaming(previous, previous + "more", "more", [], [], [])
    assert message.content == "more" and message.reasoning_content is None


def test_same_instance_reused_for_a_new_stream_restarts():
    """When previous_text is empty again, the instance starts a new stream instead of continuing."""
    parser = get_parser("deepseek-r1")
    assert _drive(lambda: parser, ["a</think>", "b"]) == ("a", "b")
    assert _drive(lambda: parser, ["c", "</think>d"]) == ("c", "d")


def test_is_reasoning_end_and_content_ids(tiny_tokenizer):
    """Token-level helpers find where reasoning ends in the ids."""
    parser = get_parser("deepseek-r1", tiny_tokenizer)
    ids = tiny_tokenizer.encode("abc\n</think>\n\nxyz", add_special_tokens=False)
    end = ids.index(tiny_tokenizer.convert_tokens_to_ids("</think>"))
    assert not parser.is_reasoning_end(ids[:end])
    assert parser.is_reasoning_end(ids[: end + 1])
    assert parser.extract_content_ids(ids) == ids[end + 1 :]
    assert tiny_tokenizer.decode(parser.extract_content_ids(ids)) == "\n\nxyz"


# The LMDeploy document's ExampleParser with only its import lines changed.
@ReasoningParserManager.register_module(["example"])
class ExampleParser(ReasoningParser):
    def __init__(self, tokenizer: object):
        super().__init__(tokenizer)

    def extract_reasoning_content_streaming(
        self,
        previous_text: str,
        current_text: str,
        delta_text: str,
        previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int],
        delta_token_ids: Sequence[int],
    ) -> Union[DeltaMessage, None]:
        """
        Instance method that should be implemented for extracting reasoning
        from an incomplete response.
        """

    def extract_reasoning_content(
        self, model_output: str, request: ChatCompletionRequest
    ) -> Tuple[Optional[str], Optional[str]]:
        """
        Extract reasoning content from a complete model-generated string.
        """


@ReasoningParserManager.register_module(["Colon_Split", "colon-split-alias"])
class ColonSplitParser(ReasoningParser):
    """A working seed-style parser: everything before the first ':' is reasoning."""

    def extract_reasoning_content_streaming(self, previous_text, current_text, delta_text,
                                            previous_token_ids, current_token_ids, delta_token_ids):
        if ":" in previous_text:
            return DeltaMessage(content=delta_text)
        head, sep, tail = delta_text.partition(":")
        return DeltaMessage(reasoning_content=head or None, content=tail or None)

    def extract_reasoning_content(self, model_output, request):
        head, sep, tail = model_output.partition(":")
        return (head, tail) if sep else (model_output, None)


def test_seed_example_parser_registers_and_runs():
    """The seed's ExampleParser, registered with the decorator, is found by name and can be called."""
    parser = get_parser("example", tokenizer=None)
    assert isinstance(parser, ExampleParser)
    assert parser.extract_reasoning_content_streaming("", "x", "x", [], [], []) is None
    names = {info.name: info for info in list_parsers()}
    assert names["example"].status == "ok"
    assert names["example"].plugin == __name__


def test_seed_parser_runs_through_the_native_interfaces():
    """A parser written only against the seed methods streams and parses through the host's interfaces."""
    parser = get_parser("colon_split")
    assert parser.parse("think:say") == ("think", "say")
    stream = parser.start_stream()
    assert collect([stream.feed("thi"), stream.feed("nk:s"), stream.feed("ay"), stream.finish()]) == ("think", "say")
    assert type(get_parser("COLON-SPLIT-ALIAS")) is ColonSplitParser


def test_get_reasoning_parser_classmethod():
    """`ReasoningParserManager.get_reasoning_parser(name)` returns the registered class."""
    assert ReasoningParserManager.get_reasoning_parser("Deepseek_R1").__name__ == "DeepSeekR1ReasoningParser"
    with pytest.raises(UnknownPluginError, match="deepseek-r1"):
        ReasoningParserManager.get_reasoning_parser("deepsek-r1")
