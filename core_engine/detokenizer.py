"""Incremental detokenisation that never splits a UTF-8 character.

For byte-level BPE tokenizers (GPT-2, Qwen, Llama 3, SmolLM2, the bundled model) every token id maps
to a fixed byte string, so a request's text grows by looking bytes up and running them through an
incremental UTF-8 decoder that holds back an incomplete character. Other tokenizers fall back to
decoding a short window of ids and emitting text only once it no longer ends in a replacement
character. Special tokens are kept in the text (parsers match markers such as ``</think>``); stop
tokens that end a request are not decoded at all.
"""

from __future__ import annotations

import codecs
import json
import logging
import random
from typing import Any

logger = logging.getLogger("core_engine")


def _byte_decoder() -> dict[str, int]:
    """Inverse of the GPT-2 byte-to-unicode table used by byte-level BPE vocabularies."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars)}


def _is_byte_level(tokenizer: Any) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    decoder = json.loads(backend.to_str()).get("decoder") or {}
    if decoder.get("type") == "Sequence":
        return any(d.get("type") == "ByteLevel" for d in decoder.get("decoders", []))
    return decoder.get("type") == "ByteLevel"


class TokenTextTable:
    """Per-tokenizer byte strings for every id, or None when the tokenizer is not byte-level."""

    def __init__(self, tokenizer: Any, vocab_size: int) -> None:
        self.tokenizer = tokenizer
        self.table: list[bytes] | None = None
        if _is_byte_level(tokenizer):
            table = self._build(tokenizer, vocab_size)
            if self._agrees(tokenizer, table):
                self.table = table
            else:
                logger.info("byte table disagrees with the tokenizer's decode; using windowed decoding")

    @staticmethod
    def _build(tokenizer: Any, vocab_size: int) -> list[bytes]:
        decoder = _byte_decoder()
        added = {token_id: tok.content for token_id, tok in tokenizer.added_tokens_decoder.items()}
        table = [b""] * max(vocab_size, len(tokenizer))
        for token, token_id in tokenizer.get_vocab().items():
            if token_id >= len(table):
                continue
            if token_id in added:
                table[token_id] = added[token_id].encode()
            else:
                table[token_id] = bytes(decoder[c] for c in token) if all(c in decoder for c in token) \
                    else token.encode()
        return table

    @staticmethod
    def _agrees(tokenizer: Any, table: list[bytes]) -> bool:
        rng = random.Random(0)
        size = len(tokenizer)
        for _ in range(4):
            ids = [rng.randrange(size) for _ in range(64)]
            expected = tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
            if b"".join(table[i] for i in ids).decode("utf-8", errors="replace") != expected:
                return False
        return True

    def stream(self) -> IncrementalDetokenizer:
        return IncrementalDetokenizer(self)


class IncrementalDetokenizer:
    """One request's text, grown token by token."""

    __slots__ = ("_table", "_tokenizer", "_utf8", "_ids", "_prefix", "_read")

    def __init__(self, source: TokenTextTable) -> None:
        self._table = source.table
        self._tokenizer = source.tokenizer
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace") if self._table is not None else None
        self._ids: list[int] = []
        self._prefix = 0
        self._read = 0

    def feed(self, token_id: int) -> str:
        """Text completed by ``token_id`` (possibly empty while a character is incomplete)."""
        if self._utf8 is not None:
            assert self._table is not None
            piece = self._table[token_id] if token_id < len(self._table) else b""
            return self._utf8.decode(piece, False)
        self._ids.append(token_id)
        return self._window(final=False)

    def flush(self) -> str:
        """Whatever is held back at the end of the request (an incomplete character decodes as U+FFFD)."""
        if self._utf8 is not None:
            return self._utf8.decode(b"", True)
        return self._window(final=True)

    def _window(self, *, final: bool) -> str:
        decode = self._tokenizer.decode
        before = decode(self._ids[self._prefix:self._read], skip_special_tokens=False,
                        clean_up_tokenization_spaces=False)
        after = decode(self._ids[self._prefix:], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if len(after) <= len(before) or (after.endswith("\ufffd") and not final):
            return ""
        self._prefix, self._read = self._read, len(self._ids)
        return after[len(before):]
