"""Reference engine: continuous batching over Hugging Face models with reasoning-aware decoding.

    from core_engine import LLM, SamplingParams
    llm = LLM()                       # the bundled tiny reasoning model
    [result] = llm.chat([{"role": "user", "content": "What is 2 + 3?"}], SamplingParams(temperature=0))
    result.reasoning_content, result.content
"""

from __future__ import annotations

from .async_engine import AsyncLLMEngine
from .config import EngineConfig
from .errors import EngineError, EngineStoppedError, GrammarError, RequestFailedError
from .llm import LLM, ChatResult
from .llm_engine import LLMEngine
from .loader import ModelLoadError
from .outputs import RequestOutput
from .sampling_params import GuidedDecodingParams, SamplingParams

__all__ = [
    "AsyncLLMEngine",
    "ChatResult",
    "EngineConfig",
    "EngineError",
    "EngineStoppedError",
    "GrammarError",
    "GuidedDecodingParams",
    "LLM",
    "LLMEngine",
    "ModelLoadError",
    "RequestFailedError",
    "RequestOutput",
    "SamplingParams",
]
