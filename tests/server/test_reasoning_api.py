"""Reasoning fields and controls of /v1/chat/completions, on servers started with (almost) no flags.

"zero" is `reasoning-plugins serve` with no parser flags, as the README's fresh-machine command
runs it: the bundled model directory names its parsers. "renamed" serves vLLM-style sparse
deltas with only the `reasoning` field and a small budget for reasoning_effort "low".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from .conftest import ServerProcess, running
from .test_examples import EXAMPLES, ok, run_example

USER = [{"role": "user", "content": "What is 2 + 3?"}]
SERVE = ("-m", "reasoning_plugins", "serve")    # the `reasoning-plugins serve` console command


@pytest.fixture(scope="module")
def api_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    started = {
        "zero": ServerProcess("zero", [], command=SERVE),
        "renamed": ServerProcess("renamed", ["--enable-reasoning", "--reasoning-field", "reasoning",
                                             "--reasoning-effort-budgets", "low=3"], command=SERVE),
    }
    with running(started.values(), tmp_path_factory.mktemp("reasoning-api-logs")):
        yield started


@pytest.fixture(scope="module")
def zero(api_servers: dict[str, ServerProcess]) -> ServerProcess:
    return api_servers["zero"]


@pytest.fixture(scope="module")
def client(zero: ServerProcess) -> OpenAI:
    return zero.client()


def create(client: OpenAI, **kwargs: Any) -> Any:
    kwargs.setdefault("messages", USER)
    return client.chat.completions.create(model="m", temperature=0, **kwargs)


def streamed(client: OpenAI, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("messages", USER)
    return list(client.chat.completions.create(model="m", temperature=0, stream=True,
                                               stream_options={"include_usage": True}, **kwargs))


# -- zero-flag serving ------------------------------------------------------------------------------

def test_startup_says_which_parsers_and_why(zero: ServerProcess) -> None:
    """With no flags the model directory's reasoning_plugins.json names the parsers, and start-up says so."""
    log = zero.log()
    assert ("Parsers: reasoning parser: deepseek-r1 (named by the model's reasoning_plugins.json); "
            "tool-call parser: hermes (named by the model's reasoning_plugins.json)") in log
    assert "Reasoner (grammar gating, reasoning budgets): reasoner 'deepseek-r1'" in log
    assert "reasoning_effort levels: none=off, minimal=64, low=256, medium=1024, high=unlimited" in log


def test_every_seed_example_runs_against_the_zero_flag_server(zero: ServerProcess) -> None:
    """The README's serve command runs every example in examples/ unchanged, tool calling included."""
    names = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".py", ".sh"))
    assert len(names) == 9
    results = {name: run_example(name, zero) for name in names}
    tool = ok(results.pop("vllm_tool_calling.py"))
    assert "Function called: get_weather" in tool and json.loads(tool.split("Arguments: ", 1)[1])["location"]
    person = json.loads(ok(results.pop("vllm_structured_output.py")).split("content: ", 2)[-1])
    assert set(person) == {"name", "age"}
    curl_call = json.loads(ok(results.pop("fastdeploy_tool_calling.sh")))["choices"][0]
    assert curl_call["finish_reason"] == "tool_calls"
    image = results.pop("fastdeploy_stream_image.py")
    assert image.returncode != 0 and "BadRequestError" in image.stderr and "reads text only" in image.stderr
    assert json.loads(ok(results.pop("fastdeploy_thinking_curl.sh")))["error"]["param"] == "messages[0].content[0]"
    chat = ok(results.pop("vllm_reasoning_chat.py"))
    assert chat.split("reasoning_content:", 1)[1].split("\ncontent:", 1)[0].strip() not in ("", "None")
    lmdeploy = ok(results.pop("lmdeploy_reasoning.py"))
    assert "reasoning content:  None" in lmdeploy and "\nreasoning_content:" in lmdeploy
    assert "reasoning_content=" in ok(results.pop("fastdeploy_stream.py"))
    # full deltas (every chunk carries reasoning_content) as the LMDeploy example needs: the vLLM
    # streaming example's hasattr test then sees every chunk as reasoning (its content needs
    # --enable-reasoning, as in the vLLM document's serve command)
    assert ok(results.pop("vllm_reasoning_stream.py")).startswith(
        "client: Start streaming chat completions...\nreasoning_content:Compare")
    assert not results
    assert zero.stats()["status"] == "ok"


# -- fields -----------------------------------------------------------------------------------------

def test_message_has_reasoning_and_reasoning_content(client: OpenAI) -> None:
    """By default the message carries the reasoning under both names, equal; the client reads both."""
    message = create(client, max_tokens=60).choices[0].message
    extra = message.model_extra or {}
    assert extra["reasoning"] and extra["reasoning"] == extra["reasoning_content"]
    assert message.reasoning == message.reasoning_content  # type: ignore[attr-defined]


def test_deltas_have_reasoning_and_reasoning_content(client: OpenAI) -> None:
    """Each streamed delta carries both names with the same text; joined they equal the message."""
    chunks = streamed(client, max_tokens=60)
    deltas = [c.choices[0].delta.model_extra or {} for c in chunks if c.choices]
    assert all(d.get("reasoning") == d.get("reasoning_content") for d in deltas)
    joined = "".join(d.get("reasoning") or "" for d in deltas)
    assert joined == create(client, max_tokens=60).choices[0].message.reasoning  # type: ignore[attr-defined]


def test_reasoning_field_reasoning_only(api_servers: dict[str, ServerProcess]) -> None:
    """--reasoning-field reasoning sends only `reasoning`, in messages and in (sparse) deltas."""
    client = api_servers["renamed"].client()
    extra = create(client, max_tokens=60).choices[0].message.model_extra or {}
    assert extra.get("reasoning") and "reasoning_content" not in extra
    deltas = [c.choices[0].delta.model_extra or {} for c in streamed(client, max_tokens=60) if c.choices]
    assert any(d.get("reasoning") for d in deltas)
    assert not any("reasoning_content" in d for d in deltas)


@pytest.mark.parametrize("body", [{"include_reasoning": False}, {"reasoning": {"exclude": True}}])
def test_exclusion_drops_both_fields(client: OpenAI, body: dict[str, Any]) -> None:
    """include_reasoning false or reasoning.exclude true leaves both names out; tokens are still counted."""
    response = create(client, max_tokens=40, extra_body=body)
    extra = response.choices[0].message.model_extra or {}
    assert "reasoning" not in extra and "reasoning_content" not in extra
    assert response.usage.completion_tokens_details.reasoning_tokens > 0


# -- budgets ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("budget", [0, 1, 4])
def test_budget_is_a_hard_cap_through_the_server(client: OpenAI, budget: int) -> None:
    """reasoning_tokens equals the budget (the model would reason longer), streaming and not."""
    whole = create(client, max_tokens=40, extra_body={"reasoning_max_tokens": budget})
    assert whole.usage.completion_tokens_details.reasoning_tokens == budget
    chunks = streamed(client, max_tokens=40, extra_body={"reasoning_max_tokens": budget})
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == budget
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning") or "" for c in chunks if c.choices)
    assert reasoning == (whole.choices[0].message.reasoning or "")  # type: ignore[attr-defined]
    if budget == 0:
        assert whole.choices[0].message.reasoning is None  # type: ignore[attr-defined]
    assert "</think>" not in reasoning + (whole.choices[0].message.content or "")


@pytest.mark.parametrize("body", [{"thinking_token_budget": 4}, {"thinking_budget": 4},
                                  {"reasoning": {"max_tokens": 4}}, {"reasoning_effort": "high",
                                                                     "reasoning_max_tokens": 4}])
def test_budget_aliases_act_like_reasoning_max_tokens(client: OpenAI, body: dict[str, Any]) -> None:
    """Every budget spelling gives the same greedy answer as reasoning_max_tokens."""
    expected = create(client, max_tokens=40, extra_body={"reasoning_max_tokens": 4})
    got = create(client, max_tokens=40, extra_body=body)
    assert got.usage.completion_tokens_details.reasoning_tokens == 4
    assert got.choices[0].message.model_extra == expected.choices[0].message.model_extra
    assert got.choices[0].message.content == expected.choices[0].message.content


def test_effort_none_turns_thinking_off(client: OpenAI) -> None:
    """reasoning_effort none closes the reasoning in the prompt: no reasoning, an answer, 0 tokens."""
    response = create(client, max_tokens=40, reasoning_effort="none")
    message = response.choices[0].message
    assert message.reasoning is None and message.content  # type: ignore[attr-defined]
    assert response.usage.completion_tokens_details.reasoning_tokens == 0


def test_effort_level_uses_the_configured_budget(api_servers: dict[str, ServerProcess]) -> None:
    """--reasoning-effort-budgets low=3 caps reasoning_effort low at 3 tokens; openrouter's effort too."""
    client = api_servers["renamed"].client()
    assert "low=3" in api_servers["renamed"].log()
    for kwargs in ({"reasoning_effort": "low"}, {"extra_body": {"reasoning": {"effort": "low"}}}):
        response = create(client, max_tokens=40, **kwargs)
        assert response.usage.completion_tokens_details.reasoning_tokens == 3


# -- bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "names"), [
    ({"reasoning_effort": "none", "thinking_budget": 100}, ("reasoning_effort", "thinking_budget")),
    ({"chat_template_kwargs": {"enable_thinking": False}, "reasoning_max_tokens": 5},
     ("enable_thinking", "reasoning_max_tokens")),
    ({"reasoning_max_tokens": 3, "reasoning": {"max_tokens": 8}}, ("reasoning_max_tokens", "reasoning.max_tokens")),
    ({"reasoning_effort": "high", "reasoning": {"enabled": False}}, ("reasoning_effort", "reasoning.enabled")),
])
def test_contradictory_controls_are_a_400_naming_both(zero: ServerProcess, client: OpenAI, body: dict[str, Any],
                                                      names: tuple[str, str]) -> None:
    """Two controls that disagree: the official client raises BadRequestError naming both fields."""
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as info:
            create(client, max_tokens=10, stream=stream, extra_body=body)
        message = info.value.body["message"]  # type: ignore[index]
        assert all(name in message for name in names), message
    assert zero.stats()["status"] == "ok"


@pytest.mark.parametrize(("body", "param"), [
    ({"n": 2}, "n"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}]},
     "messages[0].content[0]"),
    ({"reasoning_effort": "maximum"}, "reasoning_effort"),
    ({"reasoning_effort": 3}, "reasoning_effort"),
    ({"reasoning": "high"}, "reasoning"),
    ({"reasoning": {"effort": "high", "exclude": "yes"}}, "reasoning.exclude"),
    ({"thinking_budget": -1}, "thinking_budget"),
    ({"thinking_token_budget": "10"}, "thinking_token_budget"),
    ({"chat_template_kwargs": {"enable_thinking": "no"}}, "chat_template_kwargs.enable_thinking"),
])
def test_bad_input_is_a_400_naming_the_field(zero: ServerProcess, body: dict[str, Any], param: str) -> None:
    """Unsupported or malformed fields get a 400 in the OpenAI shape with the field, never a 500."""
    payload = {"messages": USER, "max_tokens": 5, **body}
    response = httpx.post(zero.base_url + "/chat/completions", json=payload, timeout=60)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert zero.stats()["status"] == "ok"
