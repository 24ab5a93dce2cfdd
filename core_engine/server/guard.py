"""ASGI middleware in front of every route: API key on ``/v1`` and the request size cap.

The key may come as ``Authorization: Bearer KEY`` (OpenAI's clients) or ``x-api-key: KEY``
(Anthropic's). Errors take the shape of the API the path belongs to.

The key is compared with :func:`hmac.compare_digest` over the whole header value, so the time
taken does not reveal how much of a guess was right. A declared body larger than the cap is
refused before it is read; bodies without a length are counted while they are read.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, error_body_for

__all__ = ["GuardMiddleware", "BodyTooLarge"]


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a streamed body passes the cap."""


class GuardMiddleware:
    def __init__(self, app: ASGIApp, *, api_key: str | None, max_request_bytes: int) -> None:
        self.app = app
        self._expected = f"Bearer {api_key}".encode() if api_key else None
        self._max = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if self._expected is not None and (path == "/v1" or path.startswith("/v1/")):
            given = b""
            given_key = b""
            for key, value in scope.get("headers", ()):
                if key == b"authorization":
                    given = value
                elif key == b"x-api-key":       # Anthropic's clients send the key here
                    given_key = value
            # both compared every time, so the time taken does not reveal which header matched
            bearer_ok = hmac.compare_digest(given, self._expected)
            key_ok = hmac.compare_digest(b"Bearer " + given_key, self._expected) and bool(given_key)
            if not (bearer_ok or key_ok):
                reason = "no API key was sent" if not (given or given_key) else "the API key is not valid"
                await _send_error(send, ApiError(
                    401, f"Authentication failed: {reason}. Send 'Authorization: Bearer <key>' or "
                         "'x-api-key: <key>' with the key the server was started with (--api-key).",
                    code="invalid_api_key"), path)
                return
        declared = _content_length(scope)
        if declared is not None and declared > self._max:
            await _send_error(send, too_large(self._max, declared), path)
            return
        await self.app(scope, _counting(receive, self._max), send)


def too_large(limit: int, size: int | None = None) -> ApiError:
    got = f" ({size} bytes)" if size is not None else ""
    return ApiError(413, f"The request body is too large{got}: this server accepts at most {limit} bytes "
                         "(--max-request-bytes). Send fewer or shorter messages.", code="request_too_large")


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


async def _send_error(send: Send, error: ApiError, path: str) -> None:
    body = json.dumps(error_body_for(error, path)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if error.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
