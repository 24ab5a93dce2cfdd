"""Start-up: check the parser names, load the model with progress lines, serve with uvicorn."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from reasoning_plugins import ReasoningPluginsError, UnknownPluginError, current_host
from reasoning_plugins._host import PARSER, TOOL_PARSER
from reasoning_plugins._cli_serve import API_KEY_ENV, add_arguments

from .config import ServerConfig
from .controls import format_efforts, parse_efforts

__all__ = ["api_key_of", "build_parser", "main", "serve"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core_engine.server",
        description="OpenAI-compatible chat-completions server with reasoning parsers.",
    )
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m core_engine.server``: the same flags as ``reasoning-plugins serve``."""
    args = build_parser().parse_args(argv)
    return serve(args)


def serve(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stderr
    problem = _choose_parsers(args, out)
    if problem:
        print(f"error: {problem}", file=out, flush=True)
        return 2
    problem = _resolve_auto(args, out)
    if problem:
        print(f"error: {problem}", file=out, flush=True)
        return 2
    problem = _check_names(args) or _check_response_template(args)
    if problem:
        print(f"error: {problem}", file=out, flush=True)
        return 2
    api_key = api_key_of(args, os.environ)
    try:
        efforts = parse_efforts(args.reasoning_effort_budgets or "")
    except ValueError as exc:
        print(f"error: --reasoning-effort-budgets: {exc}", file=out, flush=True)
        return 2
    try:
        config = ServerConfig(
            reasoning_parser=args.reasoning_parser,
            tool_call_parser=args.tool_call_parser,
            served_model_name=args.served_model_name,
            strict_model_name=args.strict_model_name,
            api_key=api_key,
            max_request_bytes=args.max_request_bytes,
            max_tokens_limit=args.max_tokens_limit,
            delta_keys=args.delta_keys or ("sparse" if args.enable_reasoning else "full"),
            sampling_defaults=_generation_defaults(args.model),
            stream_interval=args.stream_interval,
            reasoning_field=args.reasoning_field,
            reasoning_efforts=efforts,
            max_messages=args.max_messages,
            max_schema_bytes=args.max_schema_bytes,
            max_regex_length=args.max_regex_length,
            request_timeout=args.request_timeout,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=out, flush=True)
        return 2

    import uvicorn

    from core_engine import AsyncLLMEngine, EngineConfig, ModelLoadError

    from .app import create_app
    from .engine_process import ProcessEngine
    from .shutdown import DrainingServer

    where = args.model or "the bundled tiny reasoning model"
    mode = "in this process" if args.engine_in_process else "in an engine process"
    print(f"Loading {where} {mode} ...", file=out, flush=True)
    started = time.perf_counter()
    engine_config = EngineConfig(
        model=args.model, reasoning_parser=args.reasoning_parser, max_num_seqs=args.max_num_seqs,
        max_model_len=args.max_model_len, device=args.device, dtype=args.dtype, seed=args.seed,
        max_num_batched_tokens=args.max_num_batched_tokens, grammar_compile_timeout=args.grammar_compile_timeout,
    )
    try:
        engine = AsyncLLMEngine(engine_config) if args.engine_in_process else ProcessEngine(engine_config)
    except (ModelLoadError, ValueError, OSError, LookupError, RuntimeError) as exc:
        print(f"error: could not load the model: {exc}", file=out, flush=True)
        return 1
    stats = engine.stats()
    if args.reasoning_parser:
        print(f"Reasoner (grammar gating, reasoning budgets): {engine.reasoner_note}", file=out, flush=True)
    print(f"Loaded '{engine.model_name}' in {time.perf_counter() - started:.1f} s "
          f"(context {engine.max_model_len} tokens, {stats.get('kv_blocks_total', '?')} KV blocks)",
          file=out, flush=True)
    try:
        app = create_app(engine, config)
        url = f"http://{_url_host(args.host)}:{args.port}/v1"
        name = config.served_model_name or engine.model_name
        print(f"Serving model '{name}' | reasoning parser: {args.reasoning_parser or 'none'} | "
              f"tool-call parser: {args.tool_call_parser or 'none'} | "
              f"{'API key required' if api_key else 'no API key'} | {url}", file=out, flush=True)
        if config.sampling_defaults:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(config.sampling_defaults.items()))
            print(f"Sampling defaults from generation_config.json: {shown}", file=out, flush=True)
        print(f"reasoning_effort levels: {format_efforts(config.reasoning_efforts)} | reasoning field(s): "
              f"{', '.join(config.reasoning_keys)}", file=out, flush=True)
        # the app drains itself first (--shutdown-timeout); uvicorn's own wait only closes what is left
        uv_config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                                   access_log=False, timeout_graceful_shutdown=5)
        DrainingServer(uv_config, app.state.lifecycle, args.shutdown_timeout, out).run()
        print("Stopped.", file=out, flush=True)
    finally:
        engine.shutdown()
    return 0


def _choose_parsers(args: argparse.Namespace, out: TextIO) -> str | None:
    """Fill the parser flags left out from the model directory's ``reasoning_plugins.json``; print why.

    A flag always wins; ``none`` turns a parser off. Returns a message when the file is unusable.
    """
    from core_engine.config import EngineConfig
    from core_engine.parser_declaration import PARSERS_FILE, declared_parsers

    try:
        declared = declared_parsers(EngineConfig(model=args.model).model_dir)
    except ValueError as exc:
        return f"{exc} (pass --reasoning-parser and --tool-call-parser to serve without it)"
    reasons = []
    for attr, flag, what in (("reasoning_parser", "--reasoning-parser", "reasoning parser"),
                             ("tool_call_parser", "--tool-call-parser", "tool-call parser")):
        given = getattr(args, attr)
        named = getattr(declared, attr) if declared is not None else None
        if given is not None and given.strip().lower() == "none":
            setattr(args, attr, None)
            reasons.append(f"{what}: none ({flag} none)")
        elif given is not None:
            reasons.append(f"{what}: {given} ({flag})")
        elif named is not None:
            setattr(args, attr, named)
            reasons.append(f"{what}: {named} (named by the model's {PARSERS_FILE})")
        else:
            source = f"the model's {PARSERS_FILE} names none" if declared is not None else f"no {PARSERS_FILE}"
            reasons.append(f"{what}: none ({source}; choose one with {flag} NAME)")
    print("Parsers: " + "; ".join(reasons), file=out, flush=True)
    return None


def api_key_of(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """``--api-key``, else the ``REASONING_PLUGINS_API_KEY`` environment variable (kept out of ``ps``)."""
    return args.api_key or environ.get(API_KEY_ENV) or None


def _resolve_auto(args: argparse.Namespace, out: TextIO) -> str | None:
    """``--reasoning-parser auto``: choose from the served model's tokenizer and print why.

    The chosen name replaces ``auto`` (the engine and every request then use it); a parser built
    from a ``response_template`` has no name, so ``auto`` stays and each side resolves it again
    from the same tokenizer files. Returns a message when no choice can be made.
    """
    if not args.reasoning_parser or args.reasoning_parser.strip().lower() != "auto":
        return None
    from reasoning_plugins import choose_parser

    from core_engine.config import EngineConfig

    try:
        tokenizer = _model_tokenizer(args)
    except (OSError, ValueError, KeyError) as exc:
        return f"--reasoning-parser auto: could not read the model's tokenizer: {exc}"
    try:
        choice = choose_parser(tokenizer)
    except ReasoningPluginsError as exc:
        return str(exc)
    except ValueError as exc:  # a response_template our parsers cannot express
        return f"--reasoning-parser auto: {exc}"
    chosen = choice.name or "a parser built from the response_template"
    print(f"--reasoning-parser auto: {chosen} ({choice.reason})", file=out, flush=True)
    if choice.name:
        args.reasoning_parser = choice.name
    return None


def _model_tokenizer(args: argparse.Namespace) -> Any:
    from transformers import AutoTokenizer

    from core_engine.config import EngineConfig

    return AutoTokenizer.from_pretrained(EngineConfig(model=args.model).model_dir, local_files_only=True)


def _check_response_template(args: argparse.Namespace) -> str | None:
    """A parser built from the model's own files (``hf``: its response_template): a message, before
    the model loads, when those files cannot give one."""
    name = args.reasoning_parser
    if not name or name.strip().lower() in ("auto", "none"):
        return None
    class_for_tokenizer = getattr(current_host().resolve(PARSER, name), "class_for_tokenizer", None)
    if class_for_tokenizer is None:
        return None
    try:
        class_for_tokenizer(_model_tokenizer(args))
    except (OSError, ValueError, KeyError) as exc:
        return f"--reasoning-parser {name}: {exc}"
    return None


def _check_names(args: argparse.Namespace) -> str | None:
    """A message when a parser name is unknown (listing the installed names), else None."""
    if args.enable_reasoning and not args.reasoning_parser:
        return "--enable-reasoning needs --reasoning-parser NAME (for the bundled model: deepseek-r1)"
    host = current_host()
    for flag, kind, name in (("--reasoning-parser", PARSER, args.reasoning_parser),
                             ("--tool-call-parser", TOOL_PARSER, args.tool_call_parser)):
        if name is None or (kind == PARSER and name.strip().lower() == "auto"):
            continue
        try:
            host.resolve(kind, name)
        except UnknownPluginError as exc:
            return f"{flag}: {exc}"
        except ReasoningPluginsError as exc:
            return f"{flag} {name!r} cannot be used: {exc}"
    return None


def _generation_defaults(model: str | None) -> dict[str, float]:
    """temperature / top_p / top_k from the model's generation_config.json, as vLLM applies them."""
    from core_engine.config import EngineConfig

    path = Path(EngineConfig(model=model).model_dir) / "generation_config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found: dict[str, float] = {}
    for key in ("temperature", "top_p", "top_k"):
        value = data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found[key] = value
    return found


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
