#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite, then certify every installed plugin.
# Extra arguments go to pytest, e.g. scripts/test.sh -k streaming
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
./scripts/setup.sh
VENV="$(cd "$VENV" && pwd)"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
echo "[test] pytest"
"$VENV/bin/python" -m pytest "$@"
echo "[test] extra/: the plugin distribution's own tests and conformance run"
(cd extra && "$VENV/bin/python" -m pytest)
echo "[test] reasoning-plugins check --all"
"$VENV/bin/reasoning-plugins" check --all
