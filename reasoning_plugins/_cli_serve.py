"""``reasoning-plugins serve``: run the OpenAI-compatible server of the reference engine.

This module stays light (argparse only); the engine and the web stack are imported when the
command runs, so ``reasoning-plugins list`` works where only the base package is installed.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["API_KEY_ENV", "add_arguments", "run"]

API_KEY_ENV = "REASONING_PLUGINS_API_KEY"

_ENGINE_MISSING = ("the server needs the engine extra: pip install 'reasoning-plugins[engine]' "
                   "(torch, transformers, fastapi, uvicorn, xgrammar)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the server's flags to ``parser`` (shared by ``python -m core_engine.server``)."""
    model = parser.add_argument_group("model")
    model.add_argument("--model", metavar="DIR", default=None,
                       help="local Hugging Face model directory (default: the bundled tiny reasoning model)")
    model.add_argument("--served-model-name", metavar="NAME", default=None,
                       help="model id reported by /v1/models (default: the model directory's name)")
    model.add_argument("--strict-model-name", action="store_true",
                       help="answer 404 model_not_found to requests naming another model "
                            "(default: a single served model answers every model name)")
    model.add_argument("--max-model-len", type=_positive_int, metavar="N", default=None,
                       help="context length in tokens (default: from the model's config)")
    model.add_argument("--max-num-seqs", type=_positive_int, metavar="N", default=64,
                       help="most requests generating at once (default: 64)")
    model.add_argument("--max-num-batched-tokens", type=_positive_int, metavar="N", default=2048,
                       help="most tokens one engine step processes; long prompts are read in chunks of "
                            "this size (default: 2048)")
    model.add_argument("--grammar-compile-timeout", type=_positive_float, metavar="S", default=10.0,
                       help="fail a request whose JSON schema or regex takes longer than S seconds to "
                            "compile (default: 10)")
    model.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    model.add_argument("--dtype", default="auto", choices=("auto", "float32", "float16", "bfloat16"))
    model.add_argument("--seed", type=int, default=0, help="engine seed (default: 0)")
    model.add_argument("--engine-in-process", action="store_true",
                       help="step the engine on a thread of the server process instead of in its own "
                            "process (simpler to debug; slower under load, as both share one GIL)")

    parsing = parser.add_argument_group("parsing")
    parsing.add_argument("--reasoning-parser", metavar="NAME", default=None,
                         help="split reasoning from content with this parser, e.g. deepseek-r1 "
                              "(`reasoning-plugins list` shows the installed names); default: the one the "
                              "model directory's reasoning_plugins.json names; 'none' turns it off")
    parsing.add_argument("--enable-reasoning", action="store_true",
                         help="accepted as in vLLM (needs --reasoning-parser); streamed deltas then "
                              "carry only the keys that have text, as vLLM's do")
    parsing.add_argument("--tool-call-parser", metavar="NAME", default=None,
                         help="parse tool calls from the content with this parser, e.g. hermes; default: "
                              "the one the model directory's reasoning_plugins.json names; 'none' turns it off")
    parsing.add_argument("--reasoning-field", choices=("both", "reasoning_content", "reasoning"), default="both",
                         help="the message/delta key(s) that carry the reasoning: both (default), "
                              "reasoning_content (LMDeploy, FastDeploy) or reasoning (vLLM, OpenRouter)")
    parsing.add_argument("--reasoning-effort-budgets", metavar="LEVEL=VALUE,...", default=None,
                         help="what each reasoning_effort level means: a token budget, 'unlimited' or 'off' "
                              "(default: none=off,minimal=64,low=256,medium=1024,high=unlimited; levels not "
                              "named keep their default, new names add levels)")
    parsing.add_argument("--stream-interval", type=_positive_int, metavar="N", default=1,
                         help="after the first token, stream text every N tokens (default: 1, every "
                              "token); larger values cost less under heavy load")
    parsing.add_argument("--delta-keys", choices=("full", "sparse"), default=None,
                         help="which keys each streamed delta carries: full (content and "
                              "reasoning_content always, null when empty; the default) or sparse "
                              "(only those with text; the default with --enable-reasoning)")

    http = parser.add_argument_group("http")
    http.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    http.add_argument("--port", type=_port, default=8000, help="port to bind (default: 8000)")
    http.add_argument("--api-key", metavar="KEY", default=None,
                      help="require 'Authorization: Bearer KEY' on every /v1 route (default: the "
                           f"{API_KEY_ENV} environment variable, which keeps the key out of `ps`)")
    http.add_argument("--max-request-bytes", type=_positive_int, metavar="N", default=4 * 1024 * 1024,
                      help="largest accepted request body (default: 4 MiB)")
    http.add_argument("--max-tokens-limit", type=_positive_int, metavar="N", default=None,
                      help="largest max_tokens a request may ask for (default: the context length)")
    http.add_argument("--max-messages", type=_positive_int, metavar="N", default=1000,
                      help="most messages one request may send (default: 1000)")
    http.add_argument("--max-schema-bytes", type=_positive_int, metavar="N", default=64 * 1024,
                      help="largest JSON schema (response_format, guided_json, a tool's parameters) "
                           "in bytes of compact JSON (default: 65536)")
    http.add_argument("--max-regex-length", type=_positive_int, metavar="N", default=4096,
                      help="longest guided_regex in characters (default: 4096)")
    http.add_argument("--shutdown-timeout", type=_seconds, metavar="S", default=30.0,
                      help="on SIGTERM/SIGINT, wait this long for running requests before aborting "
                           "them (default: 30)")
    http.add_argument("--request-timeout", type=_positive_float, metavar="S", default=None,
                      help="abort a request not finished S seconds after it arrived (queue time "
                           "included) and answer it with a timeout error (default: no limit)")
    http.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))


def run(args: argparse.Namespace) -> int:
    """Start the server with parsed ``args``; returns the process exit status."""
    try:
        from core_engine.server.cli import serve
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        print(f"error: {_ENGINE_MISSING} (missing: {missing})", file=sys.stderr)
        return 2
    return serve(args)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value
