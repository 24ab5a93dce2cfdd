#!/usr/bin/env bash
# Set up (scripts/setup.sh), run the whole test suite and a 60 s soak run of the server, certify
# every installed plugin, then run the adapters on the real vLLM, SGLang and LMDeploy packages
# (scripts/test_engines.sh, each in its own cached virtual environment; ENGINES=0 skips that stage).
# Extra arguments go to pytest, e.g. scripts/test.sh -k streaming
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
./scripts/setup.sh
VENV="$(cd "$VENV" && pwd)"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
echo "[test] pytest"
"$VENV/bin/python" -m pytest "$@"
echo "[test] soak: 60 s of 32 mixed clients against a real server (benchmarks/soak.py)"
"$VENV/bin/python" benchmarks/soak.py --seconds 60
echo "[test] extra/: the plugin distribution's own tests and conformance run"
(cd extra && "$VENV/bin/python" -m pytest)
echo "[test] reasoning-plugins check --all"
"$VENV/bin/reasoning-plugins" check --all
if [ "${ENGINES:-1}" != "0" ]; then
  echo "[test] the adapters inside the real engine packages"
  ./scripts/test_engines.sh
else
  echo "[test] ENGINES=0: the engine stage was not run"
fi
