"""``python -m core_engine.server``: the OpenAI-compatible server (same flags as ``reasoning-plugins serve``)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
