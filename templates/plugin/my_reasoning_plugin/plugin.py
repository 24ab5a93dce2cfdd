"""Entry-point module (pyproject.toml, group ``reasoning_plugins``): registers what we provide."""

from __future__ import annotations

from reasoning_plugins import hookimpl

NAME = "my-reasoner"


@hookimpl
def register_reasoning_parsers(register):
    # A lazy "module:Class" target is imported only when the parser is first used.
    register(NAME, "my_reasoning_plugin:MyReasoningParser", aliases=("my_reasoner_v1",))


# Guided decoding (structured output after reasoning, reasoning budgets) needs a reasoner, which
# works on token ids: add one when your markers are single special tokens of your tokenizer:
#
#     @hookimpl
#     def register_reasoners(register):
#         register(NAME, "my_reasoning_plugin:MyReasoner")  # class MyReasoner(DeclarativeReasoner)

