"""Turn OpenAI-style chat messages into prompt token ids with the model's chat template."""

from __future__ import annotations

from typing import Any

_ROLES = ("system", "user", "assistant", "tool")


def _check_content(index: int, role: str, content: Any) -> None:
    if content is None:
        if role != "assistant":
            raise ValueError(f"messages[{index}] ({role}) has no content; give a string or a list of text parts")
        return
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise ValueError(f"messages[{index}].content must be a string or a list of parts, got "
                         f"{type(content).__name__}")
    for part_index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind != "text" or not isinstance(part.get("text"), str):
            raise ValueError(f"messages[{index}].content[{part_index}] has type {kind!r}; this engine serves "
                             "text-only models, so every part must be {'type': 'text', 'text': '...'}")


def validate_messages(messages: Any) -> list[dict[str, Any]]:
    """Check the shape of an OpenAI-style message list; raise ValueError saying what is wrong."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ValueError(f"messages[{index}] must be a dict with 'role' and 'content', got "
                             f"{type(message).__name__}")
        role = message.get("role")
        if role not in _ROLES:
            raise ValueError(f"messages[{index}] has unknown role {role!r}; expected one of {', '.join(_ROLES)}")
        _check_content(index, role, message.get("content"))
    return messages


def build_prompt(tokenizer: Any, messages: Any, tools: list[dict[str, Any]] | None = None,
                 chat_template_kwargs: dict[str, Any] | None = None, model_name: str = "the model") -> list[int]:
    """Prompt ids for ``messages`` ending with the template's generation prompt."""
    validate_messages(messages)
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"{model_name} has no chat template: add chat_template.jinja (or a 'chat_template' entry "
                         "in tokenizer_config.json) to the model directory, or send prompt token ids")
    if chat_template_kwargs is not None and not isinstance(chat_template_kwargs, dict):
        raise ValueError("chat_template_kwargs must be a dict such as {'enable_thinking': False}")
    kwargs = dict(chat_template_kwargs or {})
    for reserved in ("tokenize", "add_generation_prompt", "tools", "conversation"):
        kwargs.pop(reserved, None)
    from jinja2 import TemplateError

    try:
        text = tokenizer.apply_chat_template(messages, tools=tools or None, add_generation_prompt=True,
                                             tokenize=False, **kwargs)
    except TemplateError as exc:
        raise ValueError(f"the chat template of {model_name} rejected the messages: {exc}") from exc
    return tokenizer.encode(text, add_special_tokens=False)
