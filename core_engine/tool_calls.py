"""Tool calls in the answer, parsed with the plugin host's hermes tool parser."""

from __future__ import annotations

from typing import Any


def parse_tool_calls(content: str | None, tokenizer: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """Split ``content`` into plain content and OpenAI-style tool calls (hermes ``<tool_call>`` syntax)."""
    if not content or "<tool_call>" not in content:
        return content, []
    from reasoning_plugins import get_tool_parser

    result = get_tool_parser("hermes", tokenizer).parse(content)
    return result.content, [call.to_openai() for call in result.tool_calls]
