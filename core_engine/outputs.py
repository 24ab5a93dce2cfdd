"""What the engine reports for a request after each step."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class RequestOutput:
    """The tokens and text one step added to a request.

    ``new_text`` never ends inside a UTF-8 character and never contains (part of) a stop string;
    text that could still become a stop string is held back until it cannot. ``stop_string`` names
    the stop string that finished the request (``finish_reason`` is then ``"stop"``), else None.


    A request that failed inside the engine ends with ``finish_reason == "error"``, ``error`` saying
    what failed and ``error_kind`` naming the part (``"invalid_grammar"`` for a grammar that did not
    compile, otherwise one of :data:`core_engine.errors.FAILURE_KINDS`); :meth:`exception` turns
    that into the exception the streaming front ends raise.
    """

    request_id: str
    new_token_ids: list[int] = field(default_factory=list)
    new_text: str = ""
    finished: bool = False
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    stop_string: str | None = None
    error: str | None = None
    error_kind: str | None = None

    def exception(self) -> Exception | None:
        """The error of a failed request as an exception (GrammarError or RequestFailedError), else None."""
        if self.error is None:
            return None
        from .errors import GrammarError, RequestFailedError

        if self.error_kind == INVALID_GRAMMAR:
            return GrammarError(self.error)
        return RequestFailedError(self.error, request_id=self.request_id, kind=self.error_kind or "internal")


INVALID_GRAMMAR = "invalid_grammar"
