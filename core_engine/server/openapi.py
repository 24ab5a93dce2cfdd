"""The OpenAPI document at ``/openapi.json``, describing the bodies the routes really accept.

The routes read their bodies themselves (to cap their size and answer bad JSON in the OpenAI
error shape), so FastAPI cannot see their models; :class:`ApiDocs` puts each route's pydantic
request model and its error responses into the document, with the models' nested definitions
under ``components/schemas``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

__all__ = ["ApiDocs", "ErrorResponse"]

_REF = "#/components/schemas/{model}"

_STATUS_TEXT = {400: "The request is invalid (the message says what and why).",
                401: "The API key is missing or wrong.",
                404: "No such model or route.",
                413: "The request body is over --max-request-bytes.",
                500: "An unexpected server failure.",
                503: "The engine stopped, or the server is shutting down (see Retry-After)."}


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """Every error body: ``{"error": {"message", "type", "param", "code"}}``."""

    error: ErrorDetail


class ApiDocs:
    """Collects request-body schemas for one app and serves them in its OpenAPI document."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._components: dict[str, Any] = {}
        app.openapi = self._openapi  # type: ignore[method-assign]

    def body(self, model: type[BaseModel], example: dict[str, Any] | None = None) -> dict[str, Any]:
        """``openapi_extra`` for a route whose JSON body is ``model``."""
        schema = model.model_json_schema(ref_template=_REF)
        self._components.update(schema.pop("$defs", {}))
        self._components[model.__name__] = schema
        media: dict[str, Any] = {"schema": {"$ref": _REF.format(model=model.__name__)}}
        if example is not None:
            media["example"] = example
        return {"requestBody": {"required": True, "content": {"application/json": media}}}

    @staticmethod
    def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
        """``responses`` for the error statuses a route can answer, all in the error shape."""
        return {status: {"model": ErrorResponse, "description": _STATUS_TEXT.get(status, "An error.")}
                for status in statuses}

    def _openapi(self) -> dict[str, Any]:
        app = self._app
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                                   description=app.description)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(self._components)
            # FastAPI adds a 422 to routes with parameters; this server answers bad input with 400
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    if isinstance(operation, dict):
                        operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema
