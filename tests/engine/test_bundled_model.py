"""The bundled tiny reasoning model: tokenizer, chat template and greedy answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

MODEL_DIR = Path(__file__).resolve().parents[2] / "core_engine" / "models" / "tiny-reasoner"
MARKERS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "</tool_call>"]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Determine weather in my location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state e.g. San Francisco, CA"},
                "unit": {"type": "string", "enum": ["c", "f"]},
            },
            "additionalProperties": False,
            "required": ["location", "unit"],
        },
        "strict": True,
    },
}


VLLM_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City and state, e.g., 'San Francisco, CA'"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location", "unit"],
        },
    },
}


@pytest.fixture(scope="module")
def tok():
    return transformers.AutoTokenizer.from_pretrained(MODEL_DIR)


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(2)
    return transformers.AutoModelForCausalLM.from_pretrained(MODEL_DIR, dtype=torch.float32).eval()


def render(tok, messages, **kwargs) -> str:
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)


def complete(tok, model, messages, max_new_tokens: int = 120, **kwargs) -> str:
    ids = tok.encode(render(tok, messages, **kwargs), add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             max_new_tokens=max_new_tokens, do_sample=False,
                             eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    return tok.decode(out[0, len(ids):].tolist(), skip_special_tokens=False)


def split_thinking(text: str) -> tuple[str, str]:
    assert text.endswith("<|im_end|>"), text
    reasoning, sep, answer = text[: -len("<|im_end|>")].partition("\n</think>\n\n")
    assert sep and reasoning.strip() and "</think>" not in answer, text
    return reasoning, answer


def test_directory_is_small_and_complete():
    """The shipped model directory has every file transformers needs and stays under 10 MB."""
    names = {p.name for p in MODEL_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "generation_config.json"} <= names
    assert sum(p.stat().st_size for p in MODEL_DIR.iterdir()) < 10 * 1024 * 1024


def test_unicode_round_trips_through_bytes(tok):
    """Any text, CJK and emoji included, encodes and decodes back unchanged."""
    for text in ["北京今天天气怎么样？", "emoji 😀🚀👩‍💻 ok", "naïve café Ω≈ç√", "한국어 текст عربى",
                 "tabs\tand\nnewlines  ", "\x00\x7f control", "9.11 and 9.8"]:
        ids = tok.encode(text, add_special_tokens=False)
        assert tok.decode(ids) == text
    assert max(tok.encode("𝔘𐍈😀", add_special_tokens=False)) < len(tok)


def test_markers_are_single_special_ids(tok):
    """Chat and reasoning markers are single ids, also when glued to text, and eos/pad are set."""
    ids = {m: tok.encode(m, add_special_tokens=False) for m in MARKERS}
    assert all(len(v) == 1 for v in ids.values())
    assert len({v[0] for v in ids.values()}) == len(MARKERS)
    glued = tok.encode("x</think>\n\ny", add_special_tokens=False)
    assert ids["</think>"][0] in glued
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    config = json.loads((MODEL_DIR / "config.json").read_text())
    assert config["eos_token_id"] == tok.eos_token_id
    assert config["vocab_size"] >= len(tok)


def test_template_thinking_on_by_default(tok):
    """The generation prompt opens the reasoning block, R1 style."""
    text = render(tok, [{"role": "user", "content": "Hi"}])
    assert text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n"
    assert render(tok, [{"role": "user", "content": "Hi"}], enable_thinking=True) == text


def test_template_thinking_disabled_closes_block(tok):
    """enable_thinking=False ends the prompt with an empty, closed reasoning block."""
    text = render(tok, [{"role": "user", "content": "Hi"}], enable_thinking=False)
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_template_lists_tools_in_system_part(tok):
    """Tools appear in the system turn, after the user's system prompt, before the first user turn."""
    text = render(tok, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "北京今天天气怎么样？"}],
                  tools=[WEATHER_TOOL])
    system, _, rest = text.partition("<|im_end|>\n")
    assert system.startswith("<|im_start|>system\nBe brief.\n\n")
    assert json.dumps(WEATHER_TOOL["function"], ensure_ascii=False) in system
    assert rest.startswith("<|im_start|>user\n北京今天天气怎么样？<|im_end|>")
    no_system = render(tok, [{"role": "user", "content": "hi"}], tools=[WEATHER_TOOL])
    assert no_system.startswith("<|im_start|>system\n# Tools\n")


def test_template_multi_turn_drops_reasoning_and_renders_tools(tok):
    """Earlier assistant turns keep only their answer; tool calls and tool results are rendered."""
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {"role": "assistant", "content": "I should call the tool.\n</think>\n\n",
         "tool_calls": [{"id": "c1", "type": "function",
                         "function": {"name": "get_weather", "arguments": '{"location": "Paris", "unit": "c"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"temperature": 21}'},
        {"role": "assistant", "content": "It is 21 degrees.", "reasoning_content": "hidden"},
        {"role": "user", "content": "Thanks"},
    ]
    text = render(tok, messages, tools=[WEATHER_TOOL])
    assert "I should call the tool" not in text and "hidden" not in text
    assert ('<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": '
            '{"location": "Paris", "unit": "c"}}\n</tool_call><|im_end|>\n') in text
    assert '<|im_start|>tool\n{"temperature": 21}<|im_end|>\n' in text
    assert "<|im_start|>assistant\nIt is 21 degrees.<|im_end|>\n" in text
    assert "<|im_start|>user\nWeather in Paris?<|im_end|>" in text
    dict_args = [dict(messages[1], tool_calls=[{"function": {"name": "f", "arguments": {"a": 1}}}])]
    assert '{"name": "f", "arguments": {"a": 1}}' in render(tok, messages[:1] + dict_args)


def test_template_rejects_image_parts_and_unknown_roles(tok):
    """Non-text content and unknown roles fail with a message that says what is accepted."""
    with pytest.raises(Exception, match="text-only"):
        render(tok, [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])
    with pytest.raises(Exception, match="unknown message role 'bot'"):
        render(tok, [{"role": "bot", "content": "x"}])


def test_model_compares_decimals(tok, model):
    """The reference prompt gets reasoning, `</think>`, the right answer and eos."""
    reasoning, answer = split_thinking(complete(tok, model, [{"role": "user", "content": "9.11 and 9.8, which is greater?"}]))
    assert answer == "9.8 is greater than 9.11."
    held_out = complete(tok, model, [{"role": "user", "content": "Which is greater, 2.25 or 2.5?"}])
    assert split_thinking(held_out)[1] == "2.5 is greater than 2.25."


def test_model_writes_json_person(tok, model):
    """A JSON request is answered with a JSON object holding a string name and an integer age."""
    _, answer = split_thinking(complete(tok, model, [{"role": "user", "content": "Generate a JSON with the name and age of one random person."}]))
    value = json.loads(answer)
    assert set(value) == {"name", "age"} and isinstance(value["name"], str) and isinstance(value["age"], int)


def parse_call(answer: str) -> dict:
    assert answer.startswith("<tool_call>\n") and answer.endswith("\n</tool_call>"), answer
    return json.loads(answer[len("<tool_call>\n"): -len("\n</tool_call>")])


def test_model_calls_offered_tool(tok, model):
    """With a weather tool offered, the model answers with one well-formed tool call."""
    _, answer = split_thinking(complete(tok, model, [{"role": "user", "content": "北京今天天气怎么样？"}], tools=[WEATHER_TOOL]))
    assert parse_call(answer) == {"name": "get_weather", "arguments": {"location": "北京", "unit": "c"}}
    _, answer = split_thinking(complete(tok, model, [{"role": "user", "content": "What is the weather in Vienna today?"}],
                                        tools=[VLLM_WEATHER_TOOL]))
    assert parse_call(answer) == {"name": "get_weather", "arguments": {"location": "Vienna", "unit": "celsius"}}


def test_model_answers_directly_when_thinking_disabled(tok, model):
    """With thinking disabled the model writes only the answer (or the tool call), then eos."""
    text = complete(tok, model, [{"role": "user", "content": "Which is greater, 2.25 or 2.5?"}], enable_thinking=False)
    assert text == "2.5 is greater than 2.25.<|im_end|>"
    text = complete(tok, model, [{"role": "user", "content": "What is the weather in Vienna today?"}],
                    enable_thinking=False, tools=[VLLM_WEATHER_TOOL])
    assert text.endswith("<|im_end|>") and "</think>" not in text
    assert parse_call(text[: -len("<|im_end|>")]) == {
        "name": "get_weather", "arguments": {"location": "Vienna", "unit": "celsius"}}


def test_model_reasons_digit_by_digit(tok, model):
    """Arithmetic reasoning restates the problem and works through the ones and tens digits."""
    reasoning, answer = split_thinking(complete(tok, model, [{"role": "user", "content": "What is 23 + 57?"}]))
    assert reasoning.startswith("23 + 57. Ones: 3 + 7 = ") and " Tens: 2 + 5" in reasoning
    assert answer.rstrip(".").split()[-1].isdigit()


def test_model_answers_after_forced_end_of_reasoning(tok, model):
    """When `</think>` is forced right away (budget 0), the model still answers in format."""
    prompt = render(tok, [{"role": "user", "content": "Give me a JSON object for a person named Oscar who is 25 years old."}])
    ids = tok.encode(prompt + "</think>", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             max_new_tokens=60, do_sample=False, eos_token_id=tok.eos_token_id,
                             pad_token_id=tok.pad_token_id)
    text = tok.decode(out[0, len(ids):].tolist(), skip_special_tokens=False)
    assert text.startswith("\n\n") and text.endswith("<|im_end|>") and text.count("<|im_end|>") == 1
    value = json.loads(text[2: -len("<|im_end|>")])
    assert set(value) == {"name", "age"} and isinstance(value["name"], str) and isinstance(value["age"], int)
