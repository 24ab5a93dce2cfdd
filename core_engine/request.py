"""One request's state inside the engine."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import torch

from .detokenizer import IncrementalDetokenizer
from .guided import CompileJob, GuidedState
from .sampling_params import SamplingParams
from .stop_text import StopTextBuffer


class RequestStatus(Enum):
    WAITING = "waiting"
    RUNNING = "running"
    FINISHED = "finished"


@dataclass(slots=True, eq=False)
class Request:
    """Tokens, KV blocks, sampling and logits-pipeline state of one request.

    ``token_ids`` holds the prompt followed by every generated token; ``num_computed`` counts the
    leading tokens whose keys and values are in the KV pool (reset to 0 when the request is preempted,
    so it is recomputed from its tokens when it runs again).
    """

    request_id: str
    token_ids: list[int]
    num_prompt_tokens: int
    params: SamplingParams
    max_total_tokens: int
    detokenizer: IncrementalDetokenizer
    stop_text: StopTextBuffer
    stop_token_ids: frozenset[int]
    generator: torch.Generator | None = None
    tracker: Any = None
    guided: GuidedState | None = None
    grammar_job: CompileJob | None = None     # set while the grammar compiles off the step loop
    status: RequestStatus = RequestStatus.WAITING
    finish_reason: str | None = None
    num_computed: int = 0
    blocks: list[int] = field(default_factory=list)
    forced: deque[int] = field(default_factory=deque)
    reasoning_tokens: int = 0
    num_preemptions: int = 0

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def num_output_tokens(self) -> int:
        return len(self.token_ids) - self.num_prompt_tokens

    @property
    def output_token_ids(self) -> list[int]:
        return self.token_ids[self.num_prompt_tokens:]
