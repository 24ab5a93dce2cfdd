"""Hook specifications: what a plugin module implements to add parsers and reasoners.

A distribution exposes a module through the ``reasoning_plugins`` entry-point group::

    # pyproject.toml
    [project.entry-points.reasoning_plugins]
    myparsers = "my_pkg.plugin"

and that module implements one or more of the hooks below, marked with ``hookimpl``.
Hooks are called with keyword arguments (``register=...``), and an implementation may accept
fewer arguments than the specification, so hooks can grow new arguments without breaking
existing plugins. A ``hookimpl`` whose name or arguments match no hook here (a misspelling
such as ``register_reasoning_parser``) makes the plugin fail to load, and is reported.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

__all__ = [
    "PROJECT_NAME",
    "hookimpl",
    "hookspec",
    "register_reasoners",
    "register_reasoning_parsers",
    "register_tool_parsers",
]

PROJECT_NAME = "reasoning_plugins"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Register = Callable[..., None]


@hookspec
def register_reasoning_parsers(register: Register) -> None:
    """Register reasoning parsers: ``register(name, target, *, aliases=())``.

    ``target`` is a :class:`reasoning_plugins.ReasoningParser` subclass or a lazy
    ``"module:Class"`` string imported the first time the parser is used. Names are
    case-insensitive and treat ``_`` and ``-`` alike.

    Example (a complete plugin module)::

        from reasoning_plugins import DeclarativeParser, ReasoningFormat, hookimpl

        class AnswerTagParser(DeclarativeParser):
            format = ReasoningFormat(start="<reason>", end="</reason>")

        @hookimpl
        def register_reasoning_parsers(register):
            register("answer-tag", AnswerTagParser, aliases=["answertag"])
            register("heavy-parser", "my_pkg.heavy:HeavyParser")  # imported on first use
    """


@hookspec
def register_reasoners(register: Register) -> None:
    """Register guided-decoding reasoners: ``register(name, target, *, aliases=())``.

    ``target`` is a :class:`reasoning_plugins.Reasoner` subclass (constructed with
    ``target.from_tokenizer(tokenizer)``) or a lazy ``"module:Class"`` string. Register a
    reasoner under the same name as the parser for the same model family, so one
    ``--reasoning-parser`` name selects both.

    Example::

        from reasoning_plugins import DeclarativeReasoner, ReasoningFormat, hookimpl

        class AnswerTagReasoner(DeclarativeReasoner):
            format = ReasoningFormat(start="<reason>", end="</reason>")

        @hookimpl
        def register_reasoners(register):
            register("answer-tag", AnswerTagReasoner)
    """


@hookspec
def register_tool_parsers(register: Register) -> None:
    """Register tool-call parsers: ``register(name, target, *, aliases=())``.

    Tool calls are parsed from the content only, after the reasoning parser has split it off.

    Example::

        from reasoning_plugins import hookimpl

        @hookimpl
        def register_tool_parsers(register):
            register("my-json-calls", "my_pkg.tools:JsonCallParser")
    """
