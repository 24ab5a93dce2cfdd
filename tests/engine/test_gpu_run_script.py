"""``benchmarks/gpu/run.sh --dry-run``: the GPU run's steps, measurements and table, checked on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu" / "run.sh"

pytestmark = pytest.mark.slow


def test_dry_run_builds_checks_times_and_prints_one_table_last(tmp_path: Path) -> None:
    """All three steps succeed and the output ends with the table of every measured row."""
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(SCRIPT), "--dry-run"], capture_output=True, text=True, env=env,
                            timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.rstrip("\n").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("GPU figures on CPU (dry run"))
    table = lines[start:]
    assert table[1].split() == ["section", "case", "engine", "reference", "other", "note"]
    body = [line for line in table[3:] if not line.startswith("[")]
    assert [line.split()[0] for line in body] == ["bitmask"] * 4 + ["decode"] * 2 + ["decode"]
    assert sum("tok/s" in line for line in body) == 2 and "largest: " in body[-1]
    assert any("% (" in line for line in body)
    rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert [r["section"] for r in rows] == ["bitmask"] * 4 + ["decode"] * 2 + ["decode step"]
    log = (tmp_path / "run.log").read_text()
    assert "apply_bitmask: torch fallback: dry run on the CPU" in log
    assert "build rc=0, check rc=0, time rc=0" in log


def test_bad_arguments_and_missing_gpu_are_clear() -> None:
    """An unknown flag is refused; the full run without a GPU points at --dry-run."""
    bad = subprocess.run(["bash", str(SCRIPT), "--fast"], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and "unknown argument --fast" in bad.stderr
    if not __import__("torch").cuda.is_available():
        full = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu" / "bench_gpu.py"), "time"],
                              capture_output=True, text=True, cwd=REPO)
        assert full.returncode == 2 and "use --dry-run" in full.stderr
