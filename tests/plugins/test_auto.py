"""`auto`: the parser chosen from a model's own files, and the response_template round trip.

Real tokenizers only. The bundled model's tokenizer ships its chat template. The `qwen` and
`deepseek` conformance tokenizers ship none, so each gets the generation-prompt part of its
family's public chat template, quoted from the published templates (found in the stored public
sources: Qwen3's `{%- if add_generation_prompt %}` block with the `enable_thinking` switch, and the
DeepSeek-R1 distills' `{{'<｜Assistant｜><think>\\n'}}`), behind a plain message loop of our own.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from reasoning_plugins import DeclarativeParser, ReasoningFormat, get_parser, get_reasoner, reload_plugins
from reasoning_plugins._auto import (
    AutoParserError,
    choose_parser,
    format_from_response_template,
    parser_from_response_template,
    response_template_from_format,
)

tokenizers = pytest.importorskip("conformance.tokenizers")

QWEN3_GENERATION_PROMPT = (
    "{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n"
    "    {%- if enable_thinking is defined and enable_thinking is false %}\n"
    "        {{- '<think>\\n\\n</think>\\n\\n' }}\n    {%- endif %}\n{%- endif %}\n"
)
QWEN3_TOOLS = (
    "{%- if tools %}{{- '<|im_start|>system\\nFor each function call, return a json object with function "
    "name and arguments within <tool_call></tool_call> XML tags<|im_end|>\\n' }}{%- endif %}"
)
QWEN_MESSAGES = ("{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content"
                 " + '<|im_end|>\\n' }}{%- endfor %}")
DEEPSEEK_R1_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}{{'<｜User｜>' + message['content']}}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{'<｜Assistant｜><think>\\n'}}{% endif %}"
)
SAMPLES = ["R\n</think>\n\nA", "just an answer", "<think>R</think>A", " R </think> A ", "R</think>"]


def _tokenizer(name: str, chat_template: str | None = None, response_template: dict | None = None):
    try:
        tok = copy.deepcopy(tokenizers.load_tokenizer(name))
    except tokenizers.TokenizerUnavailable as exc:
        pytest.skip(str(exc))
    if chat_template is not None:
        tok.chat_template = chat_template
    if response_template is not None:
        tok.response_template = response_template
    return tok


def test_bundled_model_gets_deepseek_r1():
    """The tiny model's template prefills <think> and reads enable_thinking: deepseek-r1, with a reason."""
    tok = _tokenizer("tiny")
    choice = choose_parser(tok)
    assert choice.name == "deepseek-r1"
    assert "prefills <think>" in choice.reason and "enable_thinking" in choice.reason
    parser = get_parser("auto", tok)
    assert parser.auto_choice == choice
    prompt = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)
    assert parser.parse("R\n</think>\n\nA", prompt_text=prompt) == ("R\n", "\n\nA")


def test_deepseek_r1_template_gets_the_r1_family():
    """A generation prompt ending <think>\\n with no switch: deepseek-r1, qwq named as equivalent."""
    choice = choose_parser(_tokenizer("deepseek", DEEPSEEK_R1_TEMPLATE))
    assert choice.name == "deepseek-r1"
    assert "qwq" in choice.reason and "prefills <think>" in choice.reason


def test_qwen3_template_gets_qwen3():
    """enable_thinking, no prefill and a <tool_call> opener: qwen3 (if installed), reason says so."""
    tok = _tokenizer("qwen", QWEN3_TOOLS + QWEN_MESSAGES + QWEN3_GENERATION_PROMPT)
    choice = choose_parser(tok)
    if choice.name != "qwen3":
        pytest.skip("reasoning-plugins-extra (qwen3) is not installed")
    assert "<tool_call>" in choice.reason and "writes <think> itself" in choice.reason


def test_unknown_template_is_an_error_naming_candidates():
    """A template with no reasoning markers: an error naming the closest parsers and why they fail."""
    tok = _tokenizer("tiny", QWEN_MESSAGES + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    tok.get_added_vocab = lambda: {}
    with pytest.raises(AutoParserError, match="no installed parser fits.*deepseek-r1: </think> is neither"):
        choose_parser(tok)


@pytest.fixture
def trimming_r1_installed():
    """A second plugin parser with R1's markers but a trim: it splits R1 outputs differently."""
    class TrimmingR1(DeclarativeParser):
        format = ReasoningFormat(start="<think>", end="</think>", switches=("enable_thinking",),
                                 trim_newline_before_end=True)

    reload_plugins().register("reasoning parser", "trimming-r1", TrimmingR1)
    yield
    reload_plugins()


def test_ambiguous_template_is_an_error_listing_candidates(trimming_r1_installed):
    """Two parsers that split differently fit equally: both are named, nothing is chosen."""
    with pytest.raises(AutoParserError, match="several parsers.*deepseek-r1 \\(.*trimming-r1 \\("):
        choose_parser(_tokenizer("tiny"))


def test_no_template_at_all():
    """No response_template and no chat template: a clear error, never a guess."""
    tok = _tokenizer("qwen")
    tok.chat_template = None
    with pytest.raises(AutoParserError, match="neither a response_template nor a chat_template"):
        get_parser("auto", tok)


def test_response_template_wins_over_chat_template():
    """A tokenizer's response_template decides first: a parser built from it, the reason says so."""
    template = response_template_from_format(get_parser("qwq").format)
    tok = _tokenizer("tiny", response_template=template)
    choice = choose_parser(tok)
    assert choice.reason.startswith("response_template: reasoning_content <think> ... </think>")
    assert choice.reason.endswith("; a parser built from it")
    assert "deepseek-r1" in choice.reason
    assert get_parser("auto", tok).parse("R</think>A", prompt_text="<think>\n") == ("R", "A")
    assert get_reasoner("auto", tok).is_reasoning_end(tok.encode("R</think>", add_special_tokens=False))


def test_transformers_own_response_template():
    """transformers' Qwen3 response_template (its fallback table) gives <think>/</think>, no wrapper."""
    fallbacks = pytest.importorskip("transformers.cli.serving.utils")._RESPONSE_TEMPLATE_FALLBACKS
    qwen = next(v for k, v in fallbacks.items() if "qwen3" in k)
    fmt = format_from_response_template(qwen)
    assert (fmt.start, fmt.end, fmt.content_wrapper) == ("<think>", "</think>", None)


@pytest.mark.parametrize("name", ["deepseek-r1", "qwq"])
def test_export_round_trip(name):
    """export NAME -> parser built from it -> the same splits, and transformers agrees (it strips)."""
    done = subprocess.run([sys.executable, "-m", "reasoning_plugins", "export", name],
                          capture_output=True, text=True, check=True)
    template = json.loads(done.stdout)
    tok = _tokenizer("tiny")
    ours, built = get_parser(name, tok), parser_from_response_template(template)(tok)
    for thinking in (True, False):
        prefix = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False,
                                         add_generation_prompt=True, enable_thinking=thinking)
        for out in SAMPLES:
            expected = ours.parse(out, prompt_text=prefix)
            assert built.parse(out, prompt_text=prefix) == expected, (out, thinking)
            if "<think>" not in out:  # transformers keeps a written <think> or reopens there; we drop it
                hf = tok.parse_response(out, template, prefix=prefix)
                strip = [s.strip() or None if s else None for s in expected]
                assert [hf.get("reasoning_content"), hf.get("content")] == strip, (out, thinking)


def test_export_notes_what_is_lost_and_refuses_startless_formats():
    """qwen3's implicit end is noted on stderr; ernie-x1 (no start marker) cannot be exported."""
    run = [sys.executable, "-m", "reasoning_plugins", "export"]
    done = subprocess.run([*run, "ernie-x1"], capture_output=True, text=True)
    assert done.returncode == 2 and "without a start marker" in done.stderr
    done = subprocess.run([*run, "qwen3", "--wrap", "--start-anchor", "<|im_start|>assistant\n"],
                          capture_output=True, text=True)
    if done.returncode == 0:
        assert "implicit ends <tool_call>" in done.stderr
        assert json.loads(done.stdout)["response_template"]["start_anchor"] == "<|im_start|>assistant\n"


def test_regex_markers_are_refused():
    """A reasoning field with a real regex as its close cannot become a parser: the error says why."""
    with pytest.raises(ValueError, match="regular expression"):
        format_from_response_template({"fields": {"reasoning_content": {"open": "<t>", "close_pattern": "</t+>"}}})


def test_export_unknown_name_lists_installed():
    """export of a name nobody registered: exit 2 with the installed names."""
    done = subprocess.run([sys.executable, "-m", "reasoning_plugins", "export", "deepseek-r3"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "deepseek-r1" in done.stderr
