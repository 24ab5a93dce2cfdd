"""Bad input gets a clear error and leaves the engine working."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core_engine import LLM, EngineConfig, LLMEngine, ModelLoadError, SamplingParams
from core_engine.config import BUNDLED_MODEL_DIR

from .conftest import chat_prompt, run_to_completion


def _copy_model(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL_DIR, target)
    return target


def test_missing_directory_is_named(tmp_path: Path) -> None:
    """A path that does not exist is reported as such, and nothing is downloaded."""
    with pytest.raises(ModelLoadError, match="does not exist.*never downloaded"):
        LLMEngine(EngineConfig(model=tmp_path / "nowhere"))


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors", "tokenizer.json"])
def test_incomplete_directory_names_the_missing_file(tmp_path: Path, missing: str) -> None:
    """A model directory without one of its files fails with an error naming that file."""
    model_dir = _copy_model(tmp_path)
    (model_dir / missing).unlink()
    if missing == "tokenizer.json":
        (model_dir / "tokenizer_config.json").unlink()
    with pytest.raises(ModelLoadError, match=f"incomplete: missing {missing}"):
        LLMEngine(EngineConfig(model=model_dir))


def test_missing_weight_shard_is_named(tmp_path: Path) -> None:
    """A sharded checkpoint whose index lists an absent shard names that shard."""
    model_dir = _copy_model(tmp_path)
    (model_dir / "model.safetensors").rename(model_dir / "model-00001-of-00002.safetensors")
    index = {"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                                            "b": "model-00002-of-00002.safetensors"}}
    (model_dir / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelLoadError, match="missing model-00002-of-00002.safetensors"):
        LLMEngine(EngineConfig(model=model_dir))


def test_loads_a_copied_directory_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any complete local directory loads with HF_HUB_OFFLINE=1; its name becomes the model name."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    engine = LLMEngine(EngineConfig(model=_copy_model(tmp_path), num_kv_blocks=16, max_model_len=64))
    assert engine.model_name == "model" and engine.max_model_len == 64
    assert engine.reasoner is None


def test_prompt_longer_than_context_is_rejected_and_others_continue(clean_engine: LLMEngine) -> None:
    """A too-long prompt raises ValueError with both lengths; a running request finishes unchanged."""
    engine = clean_engine
    prompt = chat_prompt(engine, "Hello!")
    params = SamplingParams(max_tokens=12, temperature=0.0, ignore_eos=True)
    reference = run_to_completion(engine, {0: [("ref", prompt, params)]})["ref"].token_ids
    engine.add_request("busy", prompt, params)
    first = [t for out in engine.step() for t in out.new_token_ids]
    too_long = prompt * (engine.max_model_len // len(prompt) + 1)
    with pytest.raises(ValueError, match=f"{len(too_long)} tokens but the context .* is {engine.max_model_len}"):
        engine.add_request("long", too_long, params)
    assert "long" not in engine.requests
    assert first + run_to_completion(engine)["busy"].token_ids == reference


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_tokens": 0}, "max_tokens must be an integer >= 1"),
    ({"temperature": -1}, "temperature must be a number in"),
    ({"top_p": 0}, r"top_p must be a number in \(0, 1\]"),
    ({"top_k": -2}, "top_k must be an integer >= 0"),
    ({"stop": [""]}, "stop must be a list of non-empty strings"),
    ({"stop_token_ids": [-1]}, "stop_token_ids must be a list of non-negative integers"),
    ({"reasoning_max_tokens": -1}, "reasoning_max_tokens must be an integer >= 0"),
    ({"seed": "x"}, "seed must be an integer"),
])
def test_invalid_sampling_params(kwargs: dict[str, object], message: str) -> None:
    """Out-of-range sampling settings raise ValueError saying what is allowed."""
    with pytest.raises(ValueError, match=message):
        SamplingParams(**kwargs)  # type: ignore[arg-type]


def test_invalid_requests(clean_engine: LLMEngine) -> None:
    """Duplicate ids, empty prompts and out-of-vocabulary ids are rejected without side effects."""
    engine = clean_engine
    prompt = chat_prompt(engine, "Hi")
    engine.add_request("dup", prompt, SamplingParams(max_tokens=2))
    with pytest.raises(ValueError, match="already in use"):
        engine.add_request("dup", prompt)
    with pytest.raises(ValueError, match="non-empty list of token ids"):
        engine.add_request("empty", [])
    with pytest.raises(ValueError, match="vocabulary"):
        engine.add_request("oov", [engine.vocab_size])
    assert sorted(engine.requests) == ["dup"]
    run_to_completion(engine)


def test_bad_messages_are_explained(clean_engine: LLMEngine) -> None:
    """Image parts, unknown roles and empty conversations get a message saying what is expected."""
    engine = clean_engine
    with pytest.raises(ValueError, match="text-only"):
        engine.build_prompt([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])
    with pytest.raises(ValueError, match="unknown role 'robot'"):
        engine.build_prompt([{"role": "robot", "content": "hi"}])
    with pytest.raises(ValueError, match="non-empty list"):
        engine.build_prompt([])


def test_unknown_reasoning_parser_lists_the_installed_ones() -> None:
    """An unknown parser name fails at start with the names that are installed."""
    with pytest.raises(LookupError, match="deepseek"):
        LLM(reasoning_parser="no-such-parser", num_kv_blocks=16, max_model_len=64)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_num_seqs": 0}, "max_num_seqs must be a positive integer"),
    ({"device": "tpu"}, "device must be one of"),
    ({"dtype": "int8"}, "dtype must be one of"),
    ({"num_kv_blocks": 2, "max_model_len": 512}, "holds fewer tokens than max_model_len"),
])
def test_invalid_engine_config(kwargs: dict[str, object], message: str) -> None:
    """Engine settings are validated with messages naming the setting."""
    with pytest.raises(ValueError, match=message):
        LLMEngine(EngineConfig(**kwargs))  # type: ignore[arg-type]
