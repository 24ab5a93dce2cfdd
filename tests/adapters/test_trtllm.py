"""Our parsers inside TensorRT-LLM's reasoning-parser registry.

TensorRT-LLM cannot be installed on a CPU machine from PyPI: ``pip install tensorrt-llm`` is a
placeholder that downloads the real wheel from NVIDIA's own index at install time, and fails
with ``wheel_stub.error.InstallFailedError: The installation of tensorrt-llm for version 1.2.1
failed. This is a special placeholder package which downloads a real wheel package from
https://pypi.nvidia.com/``. So these tests use a STAND-IN: a minimal module written from the
interface read in TensorRT-LLM's source (``tensorrt_llm/llmapi/reasoning_parser.py``:
``register_reasoning_parser``, ``ReasoningParserFactory``, ``BaseReasoningParser``,
``ReasoningParserResult``) and the serving layer's calling pattern (``parse`` for a complete
output; ``parse_delta`` per piece then ``finish``; a prefilled marker turned into
``thinking``/``enable_thinking`` keywords). Only the part that cannot exist here is stood in
for; our adapter, host and parsers are real. Where the real package is installed, the stand-in
is not used.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import random
import sys
import types
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib.util import find_spec

import pytest

from reasoning_plugins import get_parser
from reasoning_plugins.adapters import UnsupportedEngineError

HAVE_TRTLLM = find_spec("tensorrt_llm") is not None
_stand_ins = itertools.count()


def _stand_in_module(*, with_finish: bool = True) -> types.ModuleType:
    """STAND-IN for tensorrt_llm.llmapi.reasoning_parser (interface only, see the module docstring)."""
    module = types.ModuleType("tensorrt_llm.llmapi.reasoning_parser")

    @dataclass
    class ReasoningParserResult:
        content: str = ""
        reasoning_content: str = ""

    class ReasoningParserFactory:
        _parsers: dict = {}

        @classmethod
        def create_reasoning_parser(cls, reasoning_parser, chat_template_kwargs=None):
            try:
                parser_cls, defaults = cls._parsers[reasoning_parser.lower()]
            except KeyError as exc:
                raise ValueError(f"Invalid reasoning parser: {reasoning_parser}") from exc
            return parser_cls(chat_template_kwargs=chat_template_kwargs, **defaults)

        @classmethod
        def keys(cls):
            return cls._parsers.keys()

        @classmethod
        def resolve_prefilled_thinking(cls, reasoning_parser, prompt):
            entry = cls._parsers.get(reasoning_parser.lower())
            if entry is None or not entry[0].resolves_thinking_from_prompt:
                return None
            tail = prompt[-64:].rstrip()
            if tail.endswith(entry[0].reasoning_end):
                return False
            if tail.endswith(entry[0].reasoning_start):
                return True
            return None

    def register_reasoning_parser(*keys, **defaults):
        def decorator(parser_cls):
            if parser_cls.resolves_thinking_from_prompt:
                for attr in ("reasoning_start", "reasoning_end"):
                    if not isinstance(getattr(parser_cls, attr, None), str):
                        raise TypeError(f"{parser_cls.__name__} lacks {attr}")
            for key in keys:
                ReasoningParserFactory._parsers[key] = (parser_cls, defaults)
            return parser_cls

        return decorator

    class BaseReasoningParser(ABC):
        resolves_thinking_from_prompt = False

        def __init__(self, *, chat_template_kwargs=None):
            pass

        @abstractmethod
        def parse(self, text):
            raise NotImplementedError

        @abstractmethod
        def parse_delta(self, delta_text):
            raise NotImplementedError

    if with_finish:
        BaseReasoningParser.finish = lambda self: ReasoningParserResult()

    @register_reasoning_parser("deepseek-r1", reasoning_at_start=True)
    @register_reasoning_parser("qwen3")
    class EngineOwnParser(BaseReasoningParser):  # stands for TensorRT-LLM's own DeepSeekR1Parser
        def __init__(self, *, reasoning_at_start=False, chat_template_kwargs=None):
            pass

        def parse(self, text):
            return ReasoningParserResult(content=text)

        def parse_delta(self, delta_text):
            return ReasoningParserResult(content=delta_text)

    for name, obj in dict(locals()).items():
        if not name.startswith("_") and name not in {"module", "with_finish"}:
            setattr(module, name, obj)
    return module


@pytest.fixture
def trtllm(monkeypatch):
    """The stand-in as tensorrt_llm.llmapi.reasoning_parser, with our adapter freshly imported."""
    if HAVE_TRTLLM:
        pytest.skip("the real tensorrt_llm is installed; the stand-in is for machines without it")
    package = types.ModuleType("tensorrt_llm")
    package.__version__ = f"stand-in-{next(_stand_ins)}"  # each fixture is a fresh "engine"
    llmapi = types.ModuleType("tensorrt_llm.llmapi")
    module = _stand_in_module()
    monkeypatch.setitem(sys.modules, "tensorrt_llm", package)
    monkeypatch.setitem(sys.modules, "tensorrt_llm.llmapi", llmapi)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.delitem(sys.modules, "reasoning_plugins.adapters.trtllm", raising=False)
    return importlib.import_module("reasoning_plugins.adapters.trtllm"), module


def _serve(module, name, chunks, *, prompt=None, chat_template_kwargs=None):
    """TensorRT-LLM's serving pattern: prompt-resolved thinking, parse_delta per piece, finish."""
    factory = module.ReasoningParserFactory
    kwargs = dict(chat_template_kwargs or {})
    if prompt is not None:
        thinking = factory.resolve_prefilled_thinking(name, prompt)
        if thinking is not None:
            kwargs.update(thinking=thinking, enable_thinking=thinking)
    whole = factory.create_reasoning_parser(name, kwargs or None).parse("".join(chunks))
    parser = factory.create_reasoning_parser(name, kwargs or None)
    results = [parser.parse_delta(chunk) for chunk in chunks] + [parser.finish()]
    streamed = ("".join(r.reasoning_content for r in results), "".join(r.content for r in results))
    return (whole.reasoning_content, whole.content), streamed


@pytest.mark.skipif(HAVE_TRTLLM, reason="tensorrt_llm is installed")
def test_install_without_tensorrt_llm_is_one_clear_error():
    """Without TensorRT-LLM, install() raises UnsupportedEngineError naming what it supports."""
    from reasoning_plugins.adapters import trtllm

    with pytest.raises(UnsupportedEngineError, match="not installed.*register_reasoning_parser"):
        trtllm.install()


TEXTS = {
    "ernie-x1": "Two plus two.\n</think>\n\n<response>\nIt is 4.\n</response>\n",
    "seed-oss": "<seed:think>Add them.</seed:think>It is 4.",
    "ours:deepseek-r1": "Okay.\n</think>\n\nIt is 4.",
    "kimi-vl": "◁think▷look◁/think▷A cat.",
}


@pytest.mark.parametrize(("name", "text"), list(TEXTS.items()))
def test_factory_builds_ours_and_streaming_equals_parse(trtllm, name, text):
    """create_reasoning_parser resolves our names; parse_delta + finish equal parse for many splits."""
    adapter, module = trtllm
    adapter.install()
    expected = get_parser(name.removeprefix("ours:")).parse(text)
    rng = random.Random(1)
    for _ in range(30):
        cuts = sorted(rng.sample(range(1, len(text)), k=rng.randint(1, 6)))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
        whole, streamed = _serve(module, name, chunks)
        assert whole == streamed == (expected[0] or "", expected[1] or "")


def test_thinking_from_chat_template_kwargs_and_prompt(trtllm):
    """The request's switch and a template's prefilled marker decide the mode."""
    adapter, module = trtllm
    adapter.install()
    assert module.ReasoningParserFactory._parsers["seed-oss"][0].resolves_thinking_from_prompt
    on = _serve(module, "seed-oss", ["Add.</seed:think>", "4"])
    off = _serve(module, "seed-oss", ["Just 4."], chat_template_kwargs={"enable_thinking": False})
    closed = _serve(module, "seed-oss", ["Just 4."], prompt="<user>2+2?<assistant><seed:think></seed:think>")
    assert on == (("Add.", "4"), ("Add.", "4"))
    assert off == (("", "Just 4."), ("", "Just 4."))
    assert closed == off


def test_clash_keeps_engines_parser_reports_once_and_override(trtllm, caplog):
    """deepseek-r1 stays TensorRT-LLM's (ours is ours:deepseek-r1), reported once naming both;
    override puts ours under the name and a plain install restores the engine's."""
    adapter, module = trtllm
    registry = module.ReasoningParserFactory._parsers
    engine_own = registry["deepseek-r1"]
    with caplog.at_level(logging.WARNING, logger="reasoning_plugins.adapters.trtllm"):
        adapter.install()
        adapter.install()
    clash = [r.getMessage() for r in caplog.records if "'deepseek-r1'" in r.getMessage()]
    assert len(clash) == 1 and "TensorRT-LLM stand-in-" in clash[0] and "reasoning-plugins 0.1.0" in clash[0]
    assert registry["deepseek-r1"] is engine_own
    assert registry["ours:deepseek-r1"][0].reasoning_parser_name == "deepseek-r1"
    adapter.install(override="deepseek-r1")
    assert registry["deepseek-r1"][0].reasoning_parser_name == "deepseek-r1"
    adapter.install(override=())
    assert registry["deepseek-r1"] is engine_own


def test_unknown_interface_registers_nothing(trtllm, monkeypatch):
    """A TensorRT-LLM without BaseReasoningParser.parse_delta gets one error and no registration."""
    adapter, module = trtllm
    before = dict(module.ReasoningParserFactory._parsers)
    monkeypatch.delattr(module.BaseReasoningParser, "parse_delta")
    with pytest.raises(UnsupportedEngineError, match=r"stand-in-\d+ has .*missing: BaseReasoningParser.parse_delta"):
        adapter.install()
    assert module.ReasoningParserFactory._parsers == before
