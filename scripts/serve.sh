#!/usr/bin/env bash
# Set up (scripts/setup.sh) and serve the bundled tiny reasoning model on 127.0.0.1:8000.
# Arguments go to `reasoning-plugins serve`; the default parser is deepseek-r1.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
./scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [[ " $* " != *" --reasoning-parser "* ]]; then
  set -- --reasoning-parser deepseek-r1 "$@"
fi
exec "$VENV/bin/reasoning-plugins" serve "$@"
