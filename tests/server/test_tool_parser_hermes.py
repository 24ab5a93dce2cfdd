"""The hermes tool-call parser: whole outputs, every chunking, guided-decoding schemas."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reasoning_plugins import get_tool_parser
from reasoning_plugins.tool_parsers import HermesToolParser, ToolParseResult
from reasoning_plugins.tool_parsers.base import merge_deltas

WEATHER = '<tool_call>\n{"name": "get_weather", "arguments": {"location": "Paris", "unit": "c"}}\n</tool_call>'
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"location": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["location", "unit"]}}},
    {"type": "function", "function": {"name": "get_time"}},
]

CASES = [
    "\n\n" + WEATHER,
    "Plain answer with trailing space. ",
    "",
    "Sure. " + WEATHER + "\n" + WEATHER.replace("Paris", "Rome") + " done",
    '<tool_call>{"arguments": {}, "name": "late_name"}</tool_call>',
    '<tool_call>{"name": "no_args"}</tool_call>',
    "<tool_call>not json</tool_call>",
    '<tool_call>{"name": "f", "arguments": "{\\"a\\": 1}"}</tool_call>',
    '<tool_call>{"name": "f", "arguments": {"a": [1, {"b": "}\\\\\\"]"}]',
    '<tool_call>{"na',
    "text ending in a partial <tool",
    '<tool_call>{"name": "f", "arguments": {"a": 1}</tool_call>after',
    '<tool_call>{"name": "caf\\u00e9", "arguments": {"q": "日本語 🙂"}}</tool_call>',
]


def parse(text: str) -> ToolParseResult:
    return HermesToolParser().parse(text)


def summary(result: ToolParseResult) -> tuple[str | None, list[tuple[str, str]]]:
    return result.content, [(c.name, c.arguments) for c in result.tool_calls]


def stream_in(text: str, cuts: list[int]) -> ToolParseResult:
    stream = HermesToolParser().start_stream()
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(text))), len(text)]
    pieces = [stream.feed(text[a:b]) for a, b in zip(bounds, bounds[1:])]
    pieces.append(stream.finish())
    return merge_deltas(pieces)


def test_registered_under_hermes() -> None:
    """The plugin host hands out fresh HermesToolParser instances for "hermes"."""
    first, second = get_tool_parser("hermes"), get_tool_parser("Hermes")
    assert isinstance(first, HermesToolParser) and first is not second


def test_model_format_becomes_one_call_and_no_content() -> None:
    """The bundled model's tool-call format yields one call, its arguments as JSON text, no content."""
    result = parse("\n\n" + WEATHER)
    assert result.content is None
    [call] = result.tool_calls
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"location": "Paris", "unit": "c"}
    assert call.id.startswith("call_") and len(call.id) == 29


def test_text_without_calls_is_unchanged() -> None:
    """An answer without tool calls comes back exactly, whitespace included."""
    assert summary(parse(" hi there \n")) == (" hi there \n", [])
    assert summary(parse("")) == (None, [])


def test_two_calls_and_surrounding_text() -> None:
    """Several calls keep their order; text around them stays content."""
    content, calls = summary(parse(CASES[3]))
    assert content == "Sure.done"
    assert [name for name, _ in calls] == ["get_weather", "get_weather"]
    assert json.loads(calls[1][1])["location"] == "Rome"


def test_other_key_order_and_missing_arguments() -> None:
    """A call object with keys in another order, or without arguments, still parses."""
    assert summary(parse(CASES[4])) == (None, [("late_name", "{}")])
    assert summary(parse(CASES[5])) == (None, [("no_args", "{}")])


def test_invalid_block_is_kept_as_content() -> None:
    """A block that is not a call object is returned as content, nothing lost."""
    assert summary(parse(CASES[6])) == ("<tool_call>not json</tool_call>", [])


def test_string_arguments_are_unwrapped() -> None:
    """Arguments written as a JSON string are passed through as that string."""
    assert summary(parse(CASES[7])) == (None, [("f", '{"a": 1}')])


def test_truncated_outputs() -> None:
    """A call cut off keeps its partial arguments; a cut-off header stays content."""
    assert summary(parse(CASES[8])) == (None, [("f", '{"a": [1, {"b": "}\\\\\\"]"}]')])
    assert summary(parse(CASES[9])) == ('<tool_call>{"na', [])
    assert summary(parse(CASES[10])) == ("text ending in a partial <tool", [])


def test_unicode_names_and_arguments() -> None:
    """Escaped and non-ASCII text in names and arguments survives."""
    assert summary(parse(CASES[12])) == (None, [("café", '{"q": "日本語 🙂"}')])


def test_streamed_call_starts_with_id_and_name_then_fragments() -> None:
    """Streaming sends id, type and name first, then argument fragments that add up."""
    stream = HermesToolParser().start_stream()
    pieces = [stream.feed(ch) for ch in WEATHER] + [stream.finish()]
    deltas = [d for p in pieces for d in p.tool_calls]
    first = deltas[0].to_openai()
    assert first["index"] == 0 and first["type"] == "function" and first["id"].startswith("call_")
    assert first["function"]["name"] == "get_weather" and first["function"]["arguments"] in ("", "{")
    assert all(d.id is None and d.name is None for d in deltas[1:])
    assert "".join(d.arguments or "" for d in deltas) == '{"location": "Paris", "unit": "c"}'
    assert len(deltas) > 10          # incremental, not one piece at the end
    assert all(p.content is None for p in pieces)


@pytest.mark.parametrize("text", CASES)
def test_per_character_stream_equals_whole(text: str) -> None:
    """Feeding one character at a time gives the non-streaming result."""
    assert summary(stream_in(text, list(range(len(text))))) == summary(parse(text))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CASES), st.lists(st.integers(min_value=1, max_value=200), max_size=30))
def test_any_chunking_equals_whole(text: str, cuts: list[int]) -> None:
    """Every split of the output into deltas gives the non-streaming result."""
    assert summary(stream_in(text, cuts)) == summary(parse(text))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('<tool_call>/{}[]"\\: ,namegus\n')), max_size=80),
       st.lists(st.integers(min_value=1, max_value=80), max_size=10))
def test_arbitrary_text_never_raises_and_loses_nothing_without_calls(text: str, cuts: list[int]) -> None:
    """Random marker-like text never raises; chunking never changes the result."""
    whole = parse(text)
    assert summary(stream_in(text, cuts)) == summary(whole)
    if not whole.tool_calls:
        assert (whole.content or "") == text


@pytest.mark.parametrize("template", [
    '<tool_call>{"name": "f", "arguments": {"t": "%s"}}</tool_call>',     # streamed arguments
    '<tool_call>{"name": "f", "arguments": "%s"}</tool_call>',            # buffered string arguments
    '<tool_call>{"arguments": {"t": "%s"}, "name": "f"}</tool_call>',     # buffered whole block
])
def test_per_delta_cost_is_linear(template: str) -> None:
    """Long calls streamed a few characters at a time cost O(delta): 8x the text, < 16x the time."""
    import time

    def run(n: int) -> float:
        text = template % ("ab\\\"c " * n)
        stream = HermesToolParser().start_stream()
        start = time.process_time()       # CPU time: other processes on the machine do not count
        for i in range(0, len(text), 3):
            stream.feed(text[i:i + 3])
        stream.finish()
        return time.process_time() - start

    run(200)
    small = min(run(4_000) for _ in range(5))
    large = min(run(32_000) for _ in range(5))
    assert large < 16 * small


def test_call_schema_for_required_and_named() -> None:
    """The guided-decoding schema covers every tool, or just the named one."""
    parser = HermesToolParser()
    both = parser.call_schema(TOOLS)
    assert [v["properties"]["name"]["const"] for v in both["anyOf"]] == ["get_weather", "get_time"]
    named = parser.call_schema(TOOLS, "get_weather")
    assert named["properties"]["arguments"]["required"] == ["location", "unit"]
    assert named["required"] == ["name", "arguments"]
    assert parser.call_schema(TOOLS, "get_time")["properties"]["arguments"] == {"type": "object"}
    with pytest.raises(ValueError, match="not among the tools offered"):
        parser.call_schema(TOOLS, "nope")
    with pytest.raises(ValueError, match="no tools"):
        parser.call_schema([])


def test_malformed_tool_definition_is_a_clear_error() -> None:
    """A tool without a function name is rejected with a message saying what it should look like."""
    with pytest.raises(ValueError, match="non-empty string 'name'"):
        HermesToolParser().call_schema([{"type": "function", "function": {"parameters": {}}}])
