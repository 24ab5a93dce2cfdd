"""Anthropic's error shape, used for every error under ``/v1/messages``.

``{"type": "error", "error": {"type": "invalid_request_error", "message": "..."}}``; the error
type follows the HTTP status, so the ``anthropic`` client raises its usual exception classes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MESSAGES_PATH", "anthropic_error_body", "is_messages_path"]

MESSAGES_PATH = "/v1/messages"

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def is_messages_path(path: str) -> bool:
    return path == MESSAGES_PATH or path.startswith(MESSAGES_PATH + "/")


def anthropic_error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    """The body; Anthropic's shape has no ``param``, so a field the message does not name leads it."""
    kind = _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    if param and param not in message:
        message = f"{param}: {message}"
    return {"type": "error", "error": {"type": kind, "message": message}}
