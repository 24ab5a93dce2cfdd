"""Errors in the OpenAI shape: ``{"error": {"message", "type", "param", "code"}}``.

Every failure a client can cause becomes an :class:`ApiError` with an HTTP status; the app's
exception handlers turn it (and anything unexpected) into that JSON body, so the official
clients raise their usual exception classes (``BadRequestError``, ``AuthenticationError``, ...).
Under ``/v1/messages`` the same errors take Anthropic's shape (:mod:`.messages_errors`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from .messages_errors import anthropic_error_body, is_messages_path

__all__ = ["ApiError", "error_body", "error_body_for", "error_response", "validation_error",
           "unexpected_error_response"]

log = logging.getLogger("core_engine.server")


class ApiError(Exception):
    """A request that cannot be served, with the status and the OpenAI error fields."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, type=self.type, param=self.param, code=self.code)


def error_body(message: str, *, type: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_body_for(error: ApiError, path: str) -> dict[str, Any]:
    """The error body in the shape the API at ``path`` uses."""
    return anthropic_error_body(error.status, error.message, error.param) if is_messages_path(path) else error.body()


def error_response(error: ApiError, path: str = "") -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return Response(json.dumps(error_body_for(error, path)), status_code=error.status,
                    media_type="application/json", headers=headers)


def unexpected_error_response(exc: BaseException, path: str = "") -> Response:
    log.exception("unexpected error while serving a request", exc_info=exc)
    error = ApiError(500, f"internal server error: {type(exc).__name__}: {exc}", type="server_error")
    return error_response(error, path)


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc, request.url.path)


def validation_error(exc: ValidationError) -> ApiError:
    """A readable 400 from pydantic's errors: where, what was wrong, what was given."""
    problems = []
    first_param: str | None = None
    for err in exc.errors(include_url=False)[:8]:
        loc = _dotted(err.get("loc", ()))
        if first_param is None and loc:
            first_param = loc
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            detail = ctx.get("error") or err.get("msg", "")
            return ApiError(400, f"The request body is not valid JSON ({detail}). Send a JSON object "
                                 "with Content-Type: application/json.", code="invalid_json")
        given = err.get("input")
        shown = _short(given)
        where = f"'{loc}'" if loc else "the request body"
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        problems.append(f"{where}: {msg}" + ("" if shown is None else f" (got {shown})"))
    more = len(exc.errors()) - len(problems)
    suffix = f"; and {more} more" if more > 0 else ""
    return ApiError(400, "Invalid request: " + "; ".join(problems) + suffix, param=first_param,
                    code="invalid_request")


def _dotted(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _short(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) > 6:
        return None
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
