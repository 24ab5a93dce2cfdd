"""What the engine reports for a request after each step."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class RequestOutput:
    """The tokens and text one step added to a request.

    ``new_text`` never ends inside a UTF-8 character and never contains (part of) a stop string;
    text that could still become a stop string is held back until it cannot. ``stop_string`` names
    the stop string that finished the request (``finish_reason`` is then ``"stop"``), else None.
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
