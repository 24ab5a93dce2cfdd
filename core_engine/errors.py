"""Errors the engine raises to its callers.

::

    RuntimeError
     └── EngineError
          ├── EngineStoppedError     the engine was shut down or its process died; nothing runs
          └── RequestFailedError     one request failed inside the engine (a plugin, its grammar,
                                     detokenisation, stop strings); every other request goes on
    ValueError
     └── GrammarError               a JSON schema or regex that does not compile, or takes longer
                                     than the compile timeout: the client's input is at fault

``RequestFailedError.kind`` says which part failed (one of :data:`FAILURE_KINDS`); the engine
counts failures by kind in ``stats()``.
"""

from __future__ import annotations

__all__ = ["FAILURE_KINDS", "EngineError", "EngineStoppedError", "GrammarError", "RequestFailedError"]

# where a request can fail inside the engine: the reasoner plugin (start, in_reasoning, feed), the
# grammar (mask fill, token accept), detokenisation, stop-string matching, and anything else in a step
FAILURE_KINDS = ("reasoner", "grammar", "detokenizer", "stop_strings", "internal")


class EngineError(RuntimeError):
    """Base class of the engine's runtime errors."""


class EngineStoppedError(EngineError):
    """The engine was shut down, or its process stopped, while a request was running."""


class RequestFailedError(EngineError):
    """One request failed inside the engine; the engine and every other request go on."""

    def __init__(self, message: str, *, request_id: str = "", kind: str = "internal") -> None:
        super().__init__(message)
        self.request_id = request_id
        self.kind = kind

    def __reduce__(self) -> tuple[object, ...]:   # keeps the keywords across a process pipe
        return _rebuild_failure, (str(self), self.request_id, self.kind)


class GrammarError(ValueError):
    """A guided-decoding grammar that cannot be used: invalid, or too slow to compile."""


def _rebuild_failure(message: str, request_id: str, kind: str) -> RequestFailedError:
    return RequestFailedError(message, request_id=request_id, kind=kind)
