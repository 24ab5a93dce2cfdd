"""The OpenAPI document at ``/openapi.json``, describing the bodies the routes really accept.

The routes read their bodies themselves (to cap their size and answer bad JSON in the API's error
shape), so FastAPI cannot see their models; :class:`ApiDocs` puts each route's pydantic request
model and its error responses into the document, with the models' nested definitions under
``components/schemas``. The three APIs' models are separate classes that may share a name (a
``Tool`` in one, a ``Tool`` in another): a name already taken by a different schema is stored
under its module's name instead (``messages_protocol.Tool``), so no definition replaces another.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

__all__ = ["AnthropicErrorResponse", "ApiDocs", "ErrorResponse", "event_stream"]

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
    """Every error body outside ``/v1/messages``: ``{"error": {"message", "type", "param", "code"}}``."""

    error: ErrorDetail


class AnthropicErrorDetail(BaseModel):
    type: str
    message: str


class AnthropicErrorResponse(BaseModel):
    """Every error body under ``/v1/messages``: ``{"type": "error", "error": {"type", "message"}}``."""

    type: Literal["error"]
    error: AnthropicErrorDetail


def event_stream(data: dict[str, Any] | None = None, *, named: bool) -> dict[str, Any]:
    """The schema of one server-sent event: its ``data`` (JSON described by ``data``, when given)
    and, with ``named``, its ``event`` name."""
    data_schema: dict[str, Any] = {"type": "string"}
    if data is not None:
        data_schema.update(contentMediaType="application/json", contentSchema=data)
    schema: dict[str, Any] = {"type": "object", "properties": {"data": data_schema, "event": {"type": "string"}},
                              "required": ["data", "event"] if named else ["data"]}
    return schema


class ApiDocs:
    """Collects request-body schemas for one app and serves them in its OpenAPI document."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._components: dict[str, Any] = {}
        app.openapi = self._openapi  # type: ignore[method-assign]

    def body(self, model: type[BaseModel], example: dict[str, Any] | None = None) -> dict[str, Any]:
        """``openapi_extra`` for a route whose JSON body is ``model``."""
        media: dict[str, Any] = {"schema": {"$ref": _REF.format(model=self.component(model))}}
        if example is not None:
            media["example"] = example
        return {"requestBody": {"required": True, "content": {"application/json": media}}}

    def component(self, model: type[BaseModel]) -> str:
        """Store ``model`` and its nested definitions; the name ``model`` is stored under.

        A definition whose name already holds a different schema is stored under
        ``<module>.<name>``, and the references to it are rewritten to match.
        """
        schema = model.model_json_schema(ref_template=_REF)
        definitions: dict[str, Any] = schema.pop("$defs", {})
        definitions[model.__name__] = schema
        qualifier = model.__module__.rsplit(".", 1)[-1]
        renames: dict[str, str] = {}
        while True:     # renaming one definition changes those that refer to it: repeat until settled
            clashes = [name for name, definition in definitions.items() if name not in renames
                       and self._components.get(name, _renamed(definition, renames)) != _renamed(definition, renames)]
            if not clashes:
                break
            renames.update({name: f"{qualifier}.{name}" for name in clashes})
        for name, definition in definitions.items():
            stored = renames.get(name, name)
            definition = _renamed(definition, renames)
            if self._components.get(stored, definition) != definition:
                raise ValueError(f"two different schemas are both named {stored!r} in the OpenAPI document")
            self._components[stored] = definition
        return renames.get(model.__name__, model.__name__)

    @staticmethod
    def errors(*statuses: int, model: type[BaseModel] = ErrorResponse,
               described: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
        """``responses`` for the error statuses a route can answer, all in the error shape ``model``."""
        text = {**_STATUS_TEXT, **(described or {})}
        return {status: {"model": model, "description": text.get(status, "An error.")} for status in statuses}

    def _openapi(self) -> dict[str, Any]:
        app = self._app
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                                   description=app.description)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in self._components.items():
                if schemas.get(name, schema) != schema:
                    raise ValueError(f"the request-body schema {name!r} clashes with a response model's")
                schemas[name] = schema
            # FastAPI adds a 422 to routes with parameters; this server answers bad input with 400
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    if isinstance(operation, dict):
                        operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema


def _renamed(schema: Any, renames: dict[str, str]) -> Any:
    """``schema`` with every ``$ref`` to a renamed definition pointing at its new name."""
    if not renames:
        return schema
    if isinstance(schema, dict):
        out = {key: _renamed(value, renames) for key, value in schema.items()}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF.format(model="")):
            name = ref[len(_REF.format(model="")):]
            out["$ref"] = _REF.format(model=renames.get(name, name))
        return out
    if isinstance(schema, list):
        return [_renamed(item, renames) for item in schema]
    return schema
