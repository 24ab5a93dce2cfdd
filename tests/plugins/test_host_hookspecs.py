"""Every hookspec documents a complete example plugin module, and the example runs."""

from __future__ import annotations

import inspect
import textwrap

import pytest

from reasoning_plugins import PluginHost, hookspecs

KIND_OF_HOOK = {
    "register_reasoning_parsers": "reasoning parser",
    "register_reasoners": "reasoner",
    "register_tool_parsers": "tool parser",
}


def example(hook: str) -> str:
    """The code block that follows "Example" in the hookspec's docstring."""
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    _, found, code = doc.partition("Example")
    assert found, f"{hook} has no example"
    return textwrap.dedent(code.split("::", 1)[1])


@pytest.mark.parametrize("hook", sorted(KIND_OF_HOOK))
def test_hookspec_example_runs(hook):
    """Each hookspec's example module runs, and every name it registers is accepted by the host."""
    namespace: dict = {}
    exec(compile(example(hook), f"<{hook} example>", "exec"), namespace)
    calls = []
    namespace[hook](register=lambda name, target, **options: calls.append((name, target, options)))
    assert calls, f"the {hook} example registers nothing"
    host = PluginHost(load_plugins=False, strict=True)
    for name, target, options in calls:
        host.register(KIND_OF_HOOK[hook], name, target, **options)
        assert name in host.names(KIND_OF_HOOK[hook])


def test_every_hook_has_an_example():
    """The hookspecs module defines exactly the hooks this test knows, so a new hook needs an example too."""
    specs = {name for name, value in vars(hookspecs).items() if callable(value) and name.startswith("register_")}
    assert specs == set(KIND_OF_HOOK)
