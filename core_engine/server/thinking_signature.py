"""Signatures on ``thinking`` blocks, so a later turn can prove its thinking came from this server.

A signature is an HMAC-SHA256 of the thinking text under a secret the server makes when it
starts (base64, without padding). A block sent back with an altered text or signature fails
:meth:`ThinkingSigner.verify`. The secret lives only in memory: signatures from an earlier run
of the server no longer verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["ThinkingSigner"]


class ThinkingSigner:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def sign(self, thinking: str) -> str:
        digest = hmac.new(self._secret, b"thinking\0" + thinking.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def verify(self, thinking: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(thinking).encode("ascii"), signature.encode("utf-8", "replace"))
