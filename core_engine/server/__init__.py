"""OpenAI-compatible HTTP server over the reference engine.

``create_app(engine, ServerConfig(...))`` builds the FastAPI app; ``python -m core_engine.server``
(or ``reasoning-plugins serve``) loads a model and serves it with uvicorn.
"""

from __future__ import annotations

from .app import create_app
from .config import ServerConfig

__all__ = [
    "ServerConfig",
    "create_app",
]
