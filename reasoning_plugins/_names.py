from __future__ import annotations


def normalize(name: str) -> str:
    """Canonical form of a plugin name: case-insensitive, ``_`` and ``-`` equivalent."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a plugin name must be a non-empty string, got {name!r}")
    return name.strip().lower().replace("_", "-")
