#!/usr/bin/env bash
# Set up (scripts/setup.sh) and serve the bundled tiny reasoning model on 127.0.0.1:8000.
# Arguments go to `reasoning-plugins serve`; with none, the parsers are the ones the model directory
# names in its reasoning_plugins.json (deepseek-r1 and hermes for the bundled model).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
./scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec "$VENV/bin/reasoning-plugins" serve "$@"
