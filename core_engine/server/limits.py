"""Caps on what one request may ask the server to do: messages, schema size, regex length.

A request over a cap gets a 400 naming the field, the size it had, the cap and the flag that
sets it, before anything reaches the engine (a huge schema or regex would otherwise be compiled
into a grammar while other requests wait).
"""

from __future__ import annotations

import json
from typing import Any

from .config import ServerConfig
from .errors import ApiError
from .protocol import ServerChatRequest

__all__ = ["check_limits"]


def check_limits(request: ServerChatRequest, config: ServerConfig) -> None:
    """Raise a 400 :class:`ApiError` when ``request`` passes one of the caps in ``config``."""
    count = len(request.messages)
    if count > config.max_messages:
        raise _over("messages", f"has {count} messages", config.max_messages, "messages", "--max-messages")
    schemas: list[tuple[str, Any]] = []
    fmt = request.response_format
    if fmt is not None and fmt.json_schema is not None and fmt.json_schema.json_schema is not None:
        schemas.append(("response_format.json_schema.schema", fmt.json_schema.json_schema))
    if request.guided_json is not None:
        schemas.append(("guided_json", request.guided_json))
    for i, tool in enumerate(request.tools or []):
        if tool.function.parameters is not None:
            schemas.append((f"tools[{i}].function.parameters", tool.function.parameters))
    for param, schema in schemas:
        size = len(schema.encode()) if isinstance(schema, str) else len(_compact(schema))
        if size > config.max_schema_bytes:
            raise _over(param, f"is {size} bytes of JSON", config.max_schema_bytes, "bytes", "--max-schema-bytes")
    regex = request.guided_regex
    if regex is not None and len(regex) > config.max_regex_length:
        raise _over("guided_regex", f"is {len(regex)} characters long", config.max_regex_length, "characters",
                    "--max-regex-length")


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _over(param: str, what: str, cap: int, unit: str, flag: str) -> ApiError:
    return ApiError(400, f"'{param}' {what}; this server accepts at most {cap} {unit} ({flag}). "
                         "Send a smaller request.", param=param, code="limit_exceeded")
