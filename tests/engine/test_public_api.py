"""The public names of core_engine are exactly the documented ones."""

from __future__ import annotations

import core_engine


def test_all_lists_the_public_names_sorted() -> None:
    """__all__ is sorted and names every public attribute that is not a submodule."""
    public = {name for name, value in vars(core_engine).items()
              if not name.startswith("_") and not isinstance(value, type(core_engine)) and name != "annotations"}
    assert core_engine.__all__ == sorted(core_engine.__all__)
    assert set(core_engine.__all__) == public


def test_contract_names_are_exported() -> None:
    """The names the HTTP server and users import are available from the package root."""
    for name in ("LLM", "SamplingParams", "GuidedDecodingParams", "EngineConfig", "RequestOutput", "AsyncLLMEngine"):
        assert name in core_engine.__all__
