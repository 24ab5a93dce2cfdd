"""Reasoning-output parsers and guided-decoding reasoners as plugins for any serving engine."""

from __future__ import annotations

from ._api import (
    get_parser,
    get_reasoner,
    get_tool_parser,
    list_parsers,
    list_reasoners,
    list_tool_parsers,
)
from ._auto import (
    AutoChoice,
    AutoParserError,
    choose_parser,
    parser_from_response_template,
    response_template_from_format,
)
from ._errors import (
    DuplicatePluginError,
    MissingMarkerError,
    PluginLoadError,
    ReasoningPluginsError,
    UnknownPluginError,
)
from ._format import ReasoningFormat
from ._host import PluginHost, PluginInfo, current_host, reload_plugins
from ._modes import Mode, request_field
from ._parser import Capability, DeclarativeParser, ReasoningParser
from ._reasoner import DeclarativeReasoner, Reasoner, ReasoningTracker
from ._scanner import ReasoningStream
from ._seed import ReasoningParserManager
from .hookspecs import hookimpl, hookspec
from .protocol import ChatCompletionRequest, DeltaMessage

__all__ = [
    "AutoChoice",
    "AutoParserError",
    "Capability",
    "ChatCompletionRequest",
    "DeclarativeParser",
    "DeclarativeReasoner",
    "DeltaMessage",
    "DuplicatePluginError",
    "MissingMarkerError",
    "Mode",
    "PluginHost",
    "PluginInfo",
    "PluginLoadError",
    "Reasoner",
    "ReasoningFormat",
    "ReasoningParser",
    "ReasoningParserManager",
    "ReasoningPluginsError",
    "ReasoningStream",
    "ReasoningTracker",
    "UnknownPluginError",
    "choose_parser",
    "current_host",
    "get_parser",
    "get_reasoner",
    "get_tool_parser",
    "hookimpl",
    "hookspec",
    "list_parsers",
    "list_reasoners",
    "list_tool_parsers",
    "parser_from_response_template",
    "reload_plugins",
    "request_field",
    "response_template_from_format",
]
