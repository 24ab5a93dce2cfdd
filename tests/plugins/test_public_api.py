"""The public API is explicit: `__all__` lists exactly what is exported."""

from __future__ import annotations

import subprocess
import sys

import reasoning_plugins


def test_all_matches_public_names():
    """Every public name is in `__all__` and every `__all__` name exists, sorted."""
    public = {n for n in dir(reasoning_plugins) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in public if type(getattr(reasoning_plugins, n)).__name__ == "module"}
    assert set(reasoning_plugins.__all__) == public - modules
    assert reasoning_plugins.__all__ == sorted(reasoning_plugins.__all__)


def test_host_imports_no_heavy_dependency():
    """Importing the host and every built-in parser pulls in neither torch, transformers nor fastapi."""
    code = (
        "import sys, reasoning_plugins as r; r.get_parser('ernie-x1').parse('a</think>b'); r.list_parsers();"
        "print(sorted(m for m in ('torch','transformers','fastapi','core_engine') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
