"""From a validated request to what the engine runs: prompt ids, sampling, guided decoding, parsers.

Every check that needs the model or the server's settings lives here, so a request is either
fully planned or rejected with a clear 400/404 before anything reaches the engine.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from core_engine.sampling_params import GuidedDecodingParams, SamplingParams

from .config import ServerConfig
from .controls import ReasoningControls, resolve_controls, sent_fields
from .errors import ApiError
from .limits import check_limits
from .protocol import NamedToolChoice, ServerChatRequest

__all__ = ["ChatPlan", "EngineLike", "plan_chat", "reasoning_budget"]


class EngineLike(Protocol):
    """The parts of ``AsyncLLMEngine`` the server uses."""

    tokenizer: Any
    model_name: str
    max_model_len: int
    has_reasoner: bool      # budgets and grammar gating work (the engine knows where reasoning ends)

    def build_prompt(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                     chat_template_kwargs: dict[str, Any] | None = None) -> list[int]: ...

    def generate(self, request_id: str, prompt_ids: list[int], params: SamplingParams,
                 request: Any = None) -> Any: ...

    async def abort(self, request_id: str) -> None: ...

    def stats(self) -> dict[str, int]: ...


@dataclass(slots=True)
class ChatPlan:
    """Everything needed to run one chat completion and shape its response."""

    request_id: str
    created: int
    model: str
    request: ServerChatRequest
    prompt_ids: list[int]
    params: SamplingParams
    reasoning_parser: str | None      # parser name when a reasoning parser splits the output
    include_reasoning: bool           # reasoning_content is part of the response
    tool_parser: Any | None           # a fresh ToolParser when tool calls are parsed
    include_usage: bool
    controls: ReasoningControls = ReasoningControls()
    reasoning_keys: tuple[str, ...] = ("reasoning_content", "reasoning")   # keys carrying the reasoning


def plan_chat(request: ServerChatRequest, engine: EngineLike, config: ServerConfig, served_name: str,
              tool_parser_factory: Any | None, mode_probe: Any | None = None) -> ChatPlan:
    """Check ``request`` against the model and the settings and build its :class:`ChatPlan`.

    ``mode_probe`` is a reasoning parser instance (shared, only asked ``resolve_mode``) used to
    check that a request that turns thinking off really gets a prompt that closes it.
    """
    _check_unsupported(request)
    check_limits(request, config)
    controls = resolve_controls(sent_fields(request), config.reasoning_efforts)
    model = _resolve_model(request, config, served_name)
    tools = request.tool_dicts() or None
    choice = _tool_choice(request, tools)
    tool_parser = None
    if choice != "none" and tools:
        if tool_parser_factory is None:
            raise ApiError(400, "This server parses no tool calls: start it with --tool-call-parser NAME "
                                "(for example hermes) to use 'tools', or send tool_choice \"none\".",
                           param="tools")
        tool_parser = tool_parser_factory()
    guided = _guided(request, choice, tools, tool_parser)
    if guided is not None and config.reasoning_parser is not None and not engine.has_reasoner:
        raise ApiError(400, _no_reasoner(config, "structured output (a schema, a regex or a forced tool call)",
                                         "it would constrain the reasoning too"), param=_guided_param(request))
    messages = _messages(request, engine)
    template_tools = tools if choice != "none" else None
    template_kwargs = controls.template_kwargs(request.chat_template_kwargs)
    try:
        prompt_ids = engine.build_prompt(messages, tools=template_tools, chat_template_kwargs=template_kwargs)
    except ValueError as exc:
        raise ApiError(400, f"Cannot build the prompt: {exc}", param="messages") from exc
    if template_kwargs != request.chat_template_kwargs:
        # parsers and reasoners read the switch from the request, as the template did
        request = request.model_copy(update={"chat_template_kwargs": template_kwargs})
    budget = reasoning_budget(controls, prompt_ids, request, engine, config, mode_probe)
    params = _sampling(request, engine, config, len(prompt_ids), guided, budget)
    return ChatPlan(
        request_id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=model,
        request=request,
        prompt_ids=prompt_ids,
        params=params,
        reasoning_parser=config.reasoning_parser,
        include_reasoning=config.reasoning_parser is not None and not controls.exclude,
        tool_parser=tool_parser,
        include_usage=bool(request.stream_options and request.stream_options.include_usage),
        controls=controls,
        reasoning_keys=config.reasoning_keys,
    )


def reasoning_budget(controls: ReasoningControls, prompt_ids: list[int], request: Any, engine: EngineLike,
                     config: ServerConfig, mode_probe: Any | None) -> int | None:
    """The ``reasoning_max_tokens`` the engine enforces for these controls (None: no cap).

    Thinking off where the prompt still opens the reasoning (a chat template without a switch)
    falls back to a budget of 0: reasoning ends at once and no reasoning token is counted.
    Without a reasoner the engine cannot enforce a budget: a 400 naming the field.
    """
    budget = controls.budget
    if controls.thinking is False and _still_reasoning(mode_probe, prompt_ids, request):
        if not engine.has_reasoner:
            raise ApiError(400, _no_reasoner(config, f"{controls.thinking_from} false (thinking off)",
                                             "the chat template does not close the reasoning either"),
                           param=controls.thinking_from)
        budget = 0
    if budget is not None and not engine.has_reasoner:
        if config.reasoning_parser is None:
            raise ApiError(400, f"{controls.budget_from} needs a reasoning parser: this server splits no reasoning; "
                                "start it with --reasoning-parser NAME.", param=controls.budget_from)
        raise ApiError(400, _no_reasoner(config, f"a reasoning budget ({controls.budget_from})",
                                         "the engine cannot tell when reasoning ends"), param=controls.budget_from)
    return budget


def _still_reasoning(mode_probe: Any | None, prompt_ids: list[int], request: Any) -> bool:
    resolve = getattr(mode_probe, "resolve_mode", None)
    if resolve is None:
        return False     # nothing to ask: trust the chat template
    mode = resolve(request, prompt_token_ids=prompt_ids)
    return getattr(mode, "value", mode) in ("reasoning", "await_start")


def _no_reasoner(config: ServerConfig, what: str, why: str) -> str:
    return (f"This server cannot apply {what}: the reasoning parser '{config.reasoning_parser}' declares no "
            f"markers the engine can follow token by token, so {why}. Leave it out, or serve a parser with "
            "known markers (a reasoner of the same name, `start_token`/`end_token` attributes, or a "
            "`format`).")


def _guided_param(request: ServerChatRequest) -> str:
    if request.response_format is not None and request.response_format.type != "text":
        return "response_format"
    if request.guided_json is not None:
        return "guided_json"
    if request.guided_regex is not None:
        return "guided_regex"
    return "tool_choice"


def _check_unsupported(request: ServerChatRequest) -> None:
    if request.n is not None and request.n != 1:
        raise ApiError(400, f"n={request.n} is not supported: this server returns exactly one choice; "
                            "send n=1 or leave it out, and repeat the request for more samples.", param="n")
    if request.logprobs:
        raise ApiError(400, "logprobs are not supported by this server; leave 'logprobs' out or set it to false.",
                       param="logprobs")
    if request.stream_options is not None and not request.stream:
        raise ApiError(400, "stream_options is only allowed together with \"stream\": true.", param="stream_options")


def _resolve_model(request: ServerChatRequest, config: ServerConfig, served_name: str) -> str:
    if request.model is None or request.model == served_name:
        return served_name
    if config.strict_model_name:
        raise ApiError(404, f"The model '{request.model}' does not exist; this server serves '{served_name}' "
                            "(see GET /v1/models).", param="model", code="model_not_found")
    return served_name


def _tool_choice(request: ServerChatRequest, tools: list[dict[str, Any]] | None) -> str:
    choice = request.tool_choice
    if choice is None:
        return "auto" if tools else "none"
    if isinstance(choice, NamedToolChoice) or choice == "required":
        if not tools:
            shown = "a named function" if isinstance(choice, NamedToolChoice) else '"required"'
            raise ApiError(400, f"tool_choice {shown} needs a non-empty 'tools' list.", param="tool_choice")
        return "named" if isinstance(choice, NamedToolChoice) else "required"
    return choice


def _guided(request: ServerChatRequest, choice: str, tools: list[dict[str, Any]] | None,
            tool_parser: Any | None) -> GuidedDecodingParams | None:
    sources: list[tuple[str, dict[str, Any]]] = []
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_object":
        sources.append(("response_format", {"json_object": True}))
    elif fmt is not None and fmt.type == "json_schema":
        assert fmt.json_schema is not None
        sources.append(("response_format", {"json_schema": fmt.json_schema.json_schema}))
    if request.guided_json is not None:
        sources.append(("guided_json", {"json_schema": request.guided_json}))
    if request.guided_regex is not None:
        sources.append(("guided_regex", {"regex": request.guided_regex}))
    if choice in ("required", "named"):
        assert tools is not None and tool_parser is not None
        name = request.tool_choice.function.name if isinstance(request.tool_choice, NamedToolChoice) else None
        try:
            schema = tool_parser.call_schema(tools, name)
        except ValueError as exc:
            raise ApiError(400, str(exc), param="tool_choice") from exc
        sources.append(("tool_choice", {"json_schema": schema, "prefix": tool_parser.call_prefix,
                                        "suffix": tool_parser.call_suffix}))
    if not sources:
        return None
    if len(sources) > 1:
        names = " and ".join(name for name, _ in sources)
        raise ApiError(400, f"Only one output constraint can apply to a request, got {names}; "
                            "send just one of response_format, guided_json, guided_regex, "
                            "tool_choice required/named.", param=sources[1][0])
    param, kwargs = sources[0]
    try:
        return GuidedDecodingParams(**kwargs)
    except ValueError as exc:
        raise ApiError(400, f"Invalid {param}: {exc}", param=param) from exc


def _messages(request: ServerChatRequest, engine: EngineLike) -> list[dict[str, Any]]:
    messages = request.message_dicts()
    for i, message in enumerate(messages):
        if message["role"] == "developer":      # OpenAI's newer name for the system role
            message["role"] = "system"
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            kind = part.get("type")
            if kind != "text":
                raise ApiError(400, f"messages[{i}].content[{j}] is a {kind!r} part, but the model "
                                    f"'{engine.model_name}' reads text only; send text parts "
                                    '({"type": "text", "text": ...}) or a string.',
                               param=f"messages[{i}].content[{j}]", code="unsupported_content")
    return messages


def _sampling(request: ServerChatRequest, engine: EngineLike, config: ServerConfig, prompt_len: int,
              guided: GuidedDecodingParams | None, reasoning_max_tokens: int | None) -> SamplingParams:
    context = engine.max_model_len
    room = context - prompt_len
    if room < 1:
        raise ApiError(400, f"The prompt has {prompt_len} tokens, but the model's context is {context} tokens "
                            "and leaves no room for the answer; shorten the messages.", param="messages",
                       code="context_length_exceeded")
    cap = config.max_tokens_limit
    asked = request.output_limit
    field = "max_completion_tokens" if request.max_completion_tokens is not None else "max_tokens"
    if asked is not None and cap is not None and asked > cap:
        raise ApiError(400, f"{field}={asked} is above this server's limit of {cap} tokens; ask for at most {cap}.",
                       param=field)
    if asked is not None and asked > room:
        raise ApiError(400, f"{field}={asked} does not fit: the model's context is {context} tokens and the "
                            f"prompt uses {prompt_len}, so at most {room} tokens can be generated.",
                       param=field, code="context_length_exceeded")
    max_tokens = asked if asked is not None else min(room, cap) if cap is not None else room
    defaults = config.sampling_defaults
    top_k = request.top_k if request.top_k is not None else int(defaults.get("top_k", 0))
    try:
        return SamplingParams(
            max_tokens=max_tokens,
            temperature=defaults.get("temperature", 1.0) if request.temperature is None else request.temperature,
            top_p=defaults.get("top_p", 1.0) if request.top_p is None else request.top_p,
            top_k=max(top_k, 0),
            seed=request.seed,
            stop=request.stop_list,
            ignore_eos=request.ignore_eos,
            reasoning_max_tokens=reasoning_max_tokens,
            guided=guided,
        )
    except ValueError as exc:
        raise ApiError(400, f"Invalid sampling settings: {exc}") from exc
