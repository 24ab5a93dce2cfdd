"""The playground page at ``/`` and ``GET /v1/parsers``, the installed parsers it shows.

The page is a few static files inside the package (``static/``), served as they are: no build
step, nothing loaded from another site. Every response of the page carries a Content-Security-Policy
that allows scripts, styles and requests from this server only, so even a renderer bug could not
run model output as code. The page itself needs no API key (it asks for one when ``/v1`` answers
401); ``/v1/parsers`` is under ``/v1`` and so behind the key like every other API route.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI
from starlette.responses import JSONResponse, Response

from .config import ServerConfig
from .errors import ApiError
from .openapi import ApiDocs

__all__ = ["ASSET_PREFIX", "add_playground", "parsers_listing"]

ASSET_PREFIX = "/playground/"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
           "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_PARSERS_SCHEMA = {"type": "object",
                   "required": ["object", "reasoning_parser", "tool_call_parser", "plugins", "failures"],
                   "properties": {"object": {"const": "list"}, "reasoning_parser": {"type": ["string", "null"]},
                                  "tool_call_parser": {"type": ["string", "null"]},
                                  "plugins": {"type": "array", "items": {"type": "object"}},
                                  "failures": {"type": "array", "items": {"type": "object"}}}}
_HEADERS = {"content-security-policy": _POLICY, "x-content-type-options": "nosniff",
            "cache-control": "no-cache"}


def _load_assets() -> dict[str, tuple[bytes, str]]:
    """Every file of ``static/`` by name, read once: the set of servable paths is fixed at start."""
    folder = resources.files(__package__).joinpath("static")
    assets = {}
    for item in folder.iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1] if "." in item.name else ""
        if item.is_file() and suffix in _TYPES:
            assets[item.name] = (item.read_bytes(), _TYPES[suffix])
    if "index.html" not in assets:
        raise RuntimeError(f"the playground's index.html is missing from {folder}; reinstall the package")
    return assets


def parsers_listing(config: ServerConfig) -> dict[str, Any]:
    """``reasoning-plugins list --json``'s data plus the parsers this server was started with."""
    from reasoning_plugins.cli import plugin_listing

    return {"object": "list", "reasoning_parser": config.reasoning_parser,
            "tool_call_parser": config.tool_call_parser, **plugin_listing()}


def add_playground(app: FastAPI, config: ServerConfig) -> None:
    """Route ``/``, the page's assets under ``/playground/`` and ``GET /v1/parsers``."""
    assets = _load_assets()
    listing = parsers_listing(config)   # the plugins are fixed once the server has started
    files = sorted(name for name in assets if name != "index.html")
    asset_types = sorted({assets[name][1] for name in files})

    def asset(name: str) -> Response:
        body, media_type = assets[name]
        return Response(body, media_type=media_type, headers=_HEADERS)

    # HEAD answers like GET without the body; only GET is in the OpenAPI document
    @app.get("/", responses={200: {"description": "The playground page.",
                                   "content": {"text/html": {"schema": {"type": "string"}}}}})
    @app.head("/", include_in_schema=False)
    async def page() -> Response:
        return asset("index.html")

    @app.get(ASSET_PREFIX + "{name}",
             responses={200: {"description": "One of the page's files: " + ", ".join(files) + ".",
                              "content": {kind.split(";")[0]: {"schema": {"type": "string"}} for kind in asset_types}},
                        **ApiDocs.errors(404, described={404: "The page has no file of that name."})})
    @app.head(ASSET_PREFIX + "{name}", include_in_schema=False)
    async def static_file(name: str) -> Response:
        if name not in assets or name == "index.html":
            raise ApiError(404, f"The playground has no file {name!r}.", code="not_found")
        return asset(name)

    @app.get("/v1/parsers", responses={200: {"description": "The parsers this server uses, and every installed "
                                                            "parser, reasoner and tool parser.",
                                             "content": {"application/json": {"schema": _PARSERS_SCHEMA}}},
                                       **ApiDocs.errors(401)})
    async def list_parsers() -> Response:
        return JSONResponse(listing)
