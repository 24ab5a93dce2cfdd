"""The offline API: ``LLM(...).chat(...)`` over the same engine core, synchronously."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import EngineConfig
from .llm_engine import LLMEngine
from .reasoning import load_parser
from .sampling_params import SamplingParams
from .tool_calls import parse_tool_calls


@dataclass(slots=True)
class ChatResult:
    """One conversation's answer, split into reasoning and content.

    ``tool_calls`` holds OpenAI-style entries (``{"id", "type": "function", "function": {"name",
    "arguments"}}``) parsed from the content; the calls' text is then removed from ``content``.
    """

    text: str
    reasoning_content: str | None
    content: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    token_ids: list[int]
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


def _conversations(messages: Any) -> list[list[dict[str, Any]]]:
    if isinstance(messages, list) and messages and all(isinstance(m, list) for m in messages):
        return messages
    if isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages):
        return [messages]
    raise ValueError("messages must be one conversation (a list of {'role', 'content'} dicts) or a list of "
                     "conversations")


class LLM:
    """Generate chat answers with the engine, blocking until every conversation is done.

    ``LLM()`` loads the bundled tiny reasoning model; ``LLM("/path/to/model", max_num_seqs=32)`` loads a
    local Hugging Face directory with any :class:`EngineConfig` field as a keyword argument.
    """

    _ids = itertools.count()

    def __init__(self, model: str | Path | None = None, **engine_config: Any) -> None:
        self.engine = LLMEngine(EngineConfig(model=model, **engine_config))
        self.tokenizer = self.engine.tokenizer

    def chat(self, messages: Any, sampling_params: SamplingParams | list[SamplingParams] | None = None, *,
             chat_template_kwargs: dict[str, Any] | None = None, reasoning_parser: str | None = None,
             tools: list[dict[str, Any]] | None = None) -> list[ChatResult]:
        """Answer one conversation or a list of them (run concurrently); one result per conversation."""
        conversations = _conversations(messages)
        if isinstance(sampling_params, list):
            if len(sampling_params) != len(conversations):
                raise ValueError(f"got {len(sampling_params)} sampling params for {len(conversations)} "
                                 "conversations; pass one, or one per conversation")
            params_list = sampling_params
        else:
            params_list = [sampling_params or SamplingParams()] * len(conversations)
        parser_name = reasoning_parser or self.engine.reasoning_parser
        if parser_name is not None:
            load_parser(parser_name, self.tokenizer)   # fail on an unknown name before generating
        request_info = {"chat_template_kwargs": chat_template_kwargs or {}}
        prompts = [self.engine.build_prompt(conv, tools, chat_template_kwargs) for conv in conversations]
        ids = [f"chat-{next(self._ids)}" for _ in conversations]
        prepared = [self.engine.make_request(rid, prompt, params, request_info)
                    for rid, prompt, params in zip(ids, prompts, params_list)]
        collected: dict[str, dict[str, Any]] = {rid: {"ids": [], "text": [], "out": None} for rid in ids}
        try:
            for request in prepared:
                self.engine.enqueue(request)
            pending = set(ids)
            while pending:
                for output in self.engine.step():
                    entry = collected.get(output.request_id)
                    if entry is None:
                        continue
                    entry["ids"].extend(output.new_token_ids)
                    entry["text"].append(output.new_text)
                    if output.finished:
                        entry["out"] = output
                        pending.discard(output.request_id)
        finally:
            for rid in ids:
                if collected[rid]["out"] is None:
                    self.engine.abort(rid)
        return [self._result(collected[rid], prompt, parser_name, request_info)
                for rid, prompt in zip(ids, prompts)]

    def _result(self, entry: dict[str, Any], prompt: list[int], parser_name: str | None,
                request_info: dict[str, Any]) -> ChatResult:
        text = "".join(entry["text"])
        final = entry["out"]
        if parser_name is not None:
            parser = load_parser(parser_name, self.tokenizer)
            reasoning, content = parser.parse(text, request=request_info, prompt_token_ids=prompt)
        else:
            reasoning, content = None, text or None
        content, calls = parse_tool_calls(content, self.tokenizer)
        return ChatResult(text=text, reasoning_content=reasoning, content=content,
                          finish_reason=final.finish_reason, prompt_tokens=final.prompt_tokens,
                          completion_tokens=final.completion_tokens, reasoning_tokens=final.reasoning_tokens,
                          token_ids=entry["ids"], tool_calls=calls)
