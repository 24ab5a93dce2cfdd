"""Incremental detokenisation never splits a UTF-8 character and adds up to the tokenizer's decode."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from core_engine.config import BUNDLED_MODEL_DIR
from core_engine.detokenizer import TokenTextTable

TEXTS = ["héllo wörld ✓ 日本語 🙂🙂 done", "naïve café — ½ ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "<think>\nplain</think>\n\nanswer 42"]


@pytest.fixture(scope="module")
def bundled_tokenizer() -> PreTrainedTokenizerFast:
    return AutoTokenizer.from_pretrained(BUNDLED_MODEL_DIR)


def _stream(table: TokenTextTable, ids: list[int]) -> list[str]:
    stream = table.stream()
    return [stream.feed(token) for token in ids] + [stream.flush()]


@pytest.mark.parametrize("text", TEXTS)
def test_byte_level_stream_never_splits_characters(bundled_tokenizer: PreTrainedTokenizerFast, text: str) -> None:
    """Each delta is whole characters; together they equal the full decode, special tokens included."""
    table = TokenTextTable(bundled_tokenizer, len(bundled_tokenizer))
    assert table.table is not None
    ids = bundled_tokenizer.encode(text, add_special_tokens=False)
    deltas = _stream(table, ids)
    assert "".join(deltas) == bundled_tokenizer.decode(ids, skip_special_tokens=False) == text
    assert all("\ufffd" not in delta for delta in deltas)


def test_characters_split_over_tokens_are_held_back(bundled_tokenizer: PreTrainedTokenizerFast) -> None:
    """A character whose bytes span several tokens appears only once its last byte arrives."""
    ids = bundled_tokenizer.encode("🙂", add_special_tokens=False)
    assert len(ids) > 1
    deltas = _stream(TokenTextTable(bundled_tokenizer, len(bundled_tokenizer)), ids)
    assert deltas[:-2] == [""] * (len(ids) - 1) and deltas[-2] == "🙂"


def test_truncated_character_is_flushed_as_replacement(bundled_tokenizer: PreTrainedTokenizerFast) -> None:
    """A request that ends inside a character flushes U+FFFD, as a full decode would."""
    ids = bundled_tokenizer.encode("🙂", add_special_tokens=False)[:-1]
    deltas = _stream(TokenTextTable(bundled_tokenizer, len(bundled_tokenizer)), ids)
    assert "".join(deltas) == bundled_tokenizer.decode(ids)


def test_windowed_fallback_for_tokenizers_without_byte_table(tmp_path: Path) -> None:
    """A Metaspace (SentencePiece-style) tokenizer streams through the windowed decoder with the same text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    corpus = [t.replace("<think>", "").replace("</think>", "") for t in TEXTS] * 20
    backend.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=120, special_tokens=["<unk>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")
    table = TokenTextTable(tokenizer, len(tokenizer))
    assert table.table is None
    text = "naïve café done ✓"
    ids = tokenizer.encode(text, add_special_tokens=False)
    deltas = _stream(table, ids)
    assert "".join(deltas) == tokenizer.decode(ids)
    assert all("\ufffd" not in delta for delta in deltas)
