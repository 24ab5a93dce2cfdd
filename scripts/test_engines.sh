#!/usr/bin/env bash
# The adapters on the real engine packages, each in its own cached virtual environment
# (.venv-vllm, .venv-sglang, .venv-lmdeploy; set up by scripts/engines/*.sh, CPU only).
# Extra arguments go to every pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

run() {  # run ENGINE_VENV TEST_FILES...
  local venv="$1"; shift
  local files=()
  for f in "$@"; do [ -e "$f" ] && files+=("$f"); done
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "${files[@]}" "${PYTEST_ARGS[@]}"
}
PYTEST_ARGS=("$@")

echo "[engines] vLLM"
./scripts/engines/vllm.sh
run .venv-vllm tests/adapters/test_vllm.py tests/adapters/test_vllm_*.py tests/adapters/test_response_template_engines.py \
  tests/adapters/test_engine_names.py \
  tests/conformance/test_engine_parsers.py

echo "[engines] SGLang"
./scripts/engines/sglang.sh
run .venv-sglang tests/adapters/test_sglang.py tests/adapters/test_response_template_engines.py \
  tests/adapters/test_engine_names.py \
  tests/conformance/test_engine_parsers.py

echo "[engines] LMDeploy (newest, then 0.12: one parser instance shared by every request)"
./scripts/engines/lmdeploy.sh
run .venv-lmdeploy tests/adapters/test_lmdeploy.py tests/adapters/test_trtllm.py tests/conformance/test_engine_parsers.py
PYTHONPATH=.venv-lmdeploy/lmdeploy-0.12 run .venv-lmdeploy tests/adapters/test_lmdeploy.py
