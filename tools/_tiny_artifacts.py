"""Tokenizer, chat template and config files of the bundled tiny reasoning model.

The tokenizer is a byte-level BPE trained in-process on the synthetic corpus: any unicode text
(CJK, emoji) encodes through its bytes, digits are split one per token (so arithmetic sees every
digit), and the chat markers are single added tokens.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
END_OF_TEXT = "<|endoftext|>"
THINK_START = "<think>"
THINK_END = "</think>"
TOOL_CALL_START = "<tool_call>"
TOOL_CALL_END = "</tool_call>"
SPECIAL_TOKENS = [END_OF_TEXT, IM_START, IM_END]
MARKER_TOKENS = [THINK_START, THINK_END, TOOL_CALL_START, TOOL_CALL_END]

# Pre-tokenisation in the style of Qwen2: letters runs, single digits, punctuation runs, newlines.
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Jinja chat template. ChatML turns; tools listed in the system part; earlier assistant turns keep
# only their answer (reasoning dropped); the generation prompt opens the reasoning block
# (R1/QwQ style) or, with enable_thinking=false, closes it empty (Qwen3 style).
CHAT_TEMPLATE = r"""{%- macro text_of(content) -%}
{%- if content is none -%}
{%- elif content is string -%}{{- content -}}
{%- else -%}
{%- for part in content -%}
{%- if part is string -%}{{- part -}}
{%- elif part.type is defined and part.type == 'text' -%}{{- part.text -}}
{%- else -%}{{- raise_exception("tiny-reasoner is a text-only model: a message content part of type '" ~ (part.type if part.type is defined else 'unknown') ~ "' is not supported; send the content as a string or as {'type': 'text', 'text': ...} parts.") -}}
{%- endif -%}
{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- set ns = namespace(first=0) -%}
{%- if messages and messages[0].role == 'system' -%}{%- set ns.first = 1 -%}{%- endif -%}
{%- if ns.first == 1 or tools -%}
{{- '<|im_start|>system\n' -}}
{%- if ns.first == 1 -%}{{- text_of(messages[0].content) -}}{%- endif -%}
{%- if tools -%}
{%- if ns.first == 1 -%}{{- '\n\n' -}}{%- endif -%}
{{- '# Tools\nTo call a function, reply with <tool_call>\n{"name": <name>, "arguments": <json object>}\n</tool_call>\n<tools>' -}}
{%- for tool in tools -%}
{{- '\n' -}}{{- (tool.function if tool.function is defined else tool) | tojson -}}
{%- endfor -%}
{{- '\n</tools>' -}}
{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- endif -%}
{%- for message in messages[ns.first:] -%}
{%- if message.role == 'user' or message.role == 'system' -%}
{{- '<|im_start|>' + message.role + '\n' + text_of(message.content) + '<|im_end|>\n' -}}
{%- elif message.role == 'assistant' -%}
{%- set answer = text_of(message.content) -%}
{%- if '</think>' in answer -%}{%- set answer = answer.split('</think>')[-1].lstrip('\n') -%}{%- endif -%}
{{- '<|im_start|>assistant\n' + answer -}}
{%- if message.tool_calls is defined and message.tool_calls -%}
{%- for call in message.tool_calls -%}
{%- set fn = call.function if call.function is defined else call -%}
{%- if answer or not loop.first -%}{{- '\n' -}}{%- endif -%}
{{- '<tool_call>\n{"name": "' + fn.name + '", "arguments": ' -}}
{%- if fn.arguments is string -%}{{- fn.arguments -}}{%- else -%}{{- fn.arguments | tojson -}}{%- endif -%}
{{- '}\n</tool_call>' -}}
{%- endfor -%}
{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- elif message.role == 'tool' -%}
{{- '<|im_start|>tool\n' + text_of(message.content) + '<|im_end|>\n' -}}
{%- else -%}
{{- raise_exception("tiny-reasoner: unknown message role '" ~ message.role ~ "'; expected one of system, user, assistant, tool.") -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n<think>\n' -}}
{%- if enable_thinking is defined and enable_thinking is false -%}{{- '\n</think>\n\n' -}}{%- endif -%}
{%- endif -%}"""


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """Byte-level BPE over ``texts``; the 7 special tokens take the last ids."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    n_special = len(SPECIAL_TOKENS) + len(MARKER_TOKENS)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - n_special,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # markers never occur inside BPE pieces: strip them from the training text
    def clean(stream: Iterable[str]) -> Iterable[str]:
        for text in stream:
            for marker in SPECIAL_TOKENS + MARKER_TOKENS:
                text = text.replace(marker, "\n")
            yield text

    tok.train_from_iterator(clean(texts), trainer=trainer)
    tok.add_special_tokens(SPECIAL_TOKENS + MARKER_TOKENS)
    return tok


def tokenizer_config() -> dict:
    """tokenizer_config.json: eos/pad tokens and the chat template."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 2048,
        "bos_token": None,
        "eos_token": IM_END,
        "pad_token": END_OF_TEXT,
        "unk_token": None,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": False,
        "chat_template": CHAT_TEMPLATE,
    }


def model_config(tok: Tokenizer, *, hidden: int = 128, layers: int = 4, heads: int = 4,
                 kv_heads: int = 2, head_dim: int = 32, intermediate: int = 384,
                 max_positions: int = 2048) -> dict:
    """config.json of a tiny Qwen3 with tied embeddings; vocab rounded up to a multiple of 64."""
    vocab = -(-tok.get_vocab_size() // 64) * 64
    return {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": vocab,
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": max_positions,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "tie_word_embeddings": True,
        "use_cache": True,
        "torch_dtype": "float32",
        "bos_token_id": tok.token_to_id(END_OF_TEXT),
        "eos_token_id": tok.token_to_id(IM_END),
        "pad_token_id": tok.token_to_id(END_OF_TEXT),
    }


def generation_config(tok: Tokenizer) -> dict:
    return {
        "eos_token_id": tok.token_to_id(IM_END),
        "pad_token_id": tok.token_to_id(END_OF_TEXT),
        "do_sample": False,
        "max_new_tokens": 256,
    }


def write_text_files(out: Path, tok: Tokenizer, config: dict) -> None:
    """Write tokenizer.json, tokenizer_config.json, config.json, generation_config.json and reasoning_plugins.json."""
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    files = {
        "tokenizer_config.json": tokenizer_config(),
        "special_tokens_map.json": {"eos_token": IM_END, "pad_token": END_OF_TEXT},
        "config.json": config,
        "generation_config.json": generation_config(tok),
        # the parsers that read this model's output, so `reasoning-plugins serve` needs no flags
        "reasoning_plugins.json": {"reasoning_parser": "deepseek-r1", "tool_call_parser": "hermes"},
    }
    for name, data in files.items():
        (out / name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
