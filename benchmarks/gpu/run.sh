#!/usr/bin/env bash
# The engine's GPU run in one call: build the CuPy kernels, check them (the GPU tests), time them.
#
#   benchmarks/gpu/run.sh             on a CUDA machine (under 8 minutes on one H200)
#   benchmarks/gpu/run.sh --dry-run   anywhere: the same steps on the CPU with tiny sizes
#
# Steps: 1. build: compile each kernel once, print which path runs (CuPy kernel or torch fallback);
# 2. check: pytest tests/engine/test_cuda_kernels.py (kernels bit for bit against torch, engine
# within bf16 tolerances); 3. time: benchmarks/gpu/bench_gpu.py, which prints one table last.
# Full output goes to $OUT (or ./gpu-run) as run.log and bench.json.
#
# Packages: python3 with a CUDA torch, transformers and CuPy (pip install 'reasoning-plugins[cuda]').
# xgrammar (for its own bitmask apply and the guided GPU test) may come as wheels in .whl/, installed
# here without the network:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl xgrammar==0.2.8 apache-tvm-ffi
set -uo pipefail
cd "$(dirname "$0")/../.."
DRY=()
PYTEST_ARGS=(-q -p no:cacheprovider -W ignore::DeprecationWarning -W ignore::FutureWarning -W ignore::UserWarning)
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=(--dry-run) ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $arg (expected --dry-run or --help)" >&2; exit 2 ;;
  esac
done
PYTHON="${PYTHON:-python3}"
if [ -x .venv/bin/python ] && [ ${#DRY[@]} -gt 0 ]; then PYTHON=.venv/bin/python; fi
RESULTS="${OUT:-gpu-run}"
mkdir -p "$RESULTS"
LOG="$RESULTS/run.log"
: >"$LOG"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ls .whl/*.whl >/dev/null 2>&1; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
started=$(date +%s)
step() { echo "== $1 ($(( $(date +%s) - started )) s)" | tee -a "$LOG"; }

step "build"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$LOG"
"$PYTHON" benchmarks/gpu/bench_gpu.py build "${DRY[@]}" 2>&1 | tee -a "$LOG"
build_rc=${PIPESTATUS[0]}

step "check"
if [ ${#DRY[@]} -gt 0 ]; then
  # No GPU: the GPU tests skip; the CPU side of the kernels' fallbacks runs instead.
  "$PYTHON" -m pytest "${PYTEST_ARGS[@]}" tests/engine/test_cuda_kernels.py tests/engine/test_cuda_path.py \
    -k "bitmask or sampling or build or budget or groups" 2>&1 | tail -n 1 | tee -a "$LOG"
else
  "$PYTHON" -m pytest "${PYTEST_ARGS[@]}" -rfEs tests/engine/test_cuda_kernels.py 2>&1 | tail -n 40 | tee -a "$LOG"
fi
check_rc=${PIPESTATUS[0]}

step "time"
"$PYTHON" benchmarks/gpu/bench_gpu.py time "${DRY[@]}" --json "$RESULTS/bench.json" 2>>"$LOG" | tee -a "$LOG"
time_rc=${PIPESTATUS[0]}
# The table stays the last thing printed: the summary goes to the log and the exit status.
echo "build rc=$build_rc, check rc=$check_rc, time rc=$time_rc, $(( $(date +%s) - started )) s in all" >>"$LOG"
[ "$build_rc" -eq 0 ] && [ "$check_rc" -eq 0 ] && [ "$time_rc" -eq 0 ]
