"""templates/plugin builds, installs and is certified, as an author who copies it will see."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The template pip-installed (offline: no build isolation) into a target directory."""
    root = tmp_path_factory.mktemp("template")
    source = root / "src"
    shutil.copytree(TEMPLATE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = root / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=120,
    )
    if done.returncode != 0:
        pytest.skip(f"pip could not build the template offline: {done.stderr.strip()[-500:]}")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    return source, env


def test_listed_with_its_distribution(installed):
    """`reasoning-plugins list` shows my-reasoner provided by my-reasoning-plugin."""
    _, env = installed
    done = subprocess.run([sys.executable, "-m", "reasoning_plugins", "list"], capture_output=True,
                          text=True, env=env, timeout=60)
    row = next(line for line in done.stdout.splitlines() if " my-reasoner " in line)
    assert "my-reasoning-plugin 0.1.0" in row and row.rstrip().endswith("ok")


def test_check_certifies_it(installed):
    """`reasoning-plugins check my-reasoner` passes every check that applies: certified."""
    _, env = installed
    done = subprocess.run([sys.executable, "-m", "reasoning_plugins", "check", "my-reasoner"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "my-reasoner: certified" in done.stdout


def test_its_own_tests_run_the_conformance_suite(installed):
    """pytest in the template runs its tests and the conformance suite through the pytest plugin."""
    source, env = installed
    shutil.rmtree(source / "my_reasoning_plugin")  # test the installed copy, not the source tree
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "--conformance-examples", "10"],
                          cwd=source, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "conformance" in done.stdout or "passed" in done.stdout
