"""The seeds' client examples in examples/, run as scripts against real server processes."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import REPO, ServerProcess, server_env

EXAMPLES = REPO / "examples"


def run_example(name: str, server: ServerProcess) -> subprocess.CompletedProcess[str]:
    env = server_env()
    env["OPENAI_BASE_URL"] = server.base_url
    env["BASE_URL"] = server.root
    command = ["bash", str(EXAMPLES / name)] if name.endswith(".sh") else [sys.executable, str(EXAMPLES / name)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_vllm_reasoning_chat(vllm_server: ServerProcess) -> None:
    """vLLM's non-streaming example prints reasoning and content."""
    out = ok(run_example("vllm_reasoning_chat.py", vllm_server))
    reasoning = out.split("reasoning_content:", 1)[1].split("\ncontent:", 1)[0].strip()
    assert reasoning and reasoning != "None"
    assert out.split("\ncontent:", 1)[1].strip() not in ("", "None")


def test_vllm_reasoning_stream(vllm_server: ServerProcess) -> None:
    """vLLM's streaming example (hasattr checks) prints reasoning, then content."""
    out = ok(run_example("vllm_reasoning_stream.py", vllm_server))
    assert out.startswith("client: Start streaming chat completions...\nreasoning_content:")
    assert out.index("reasoning_content:") < out.index("\ncontent:")
    assert out.split("\ncontent:", 1)[1].strip()


def test_vllm_structured_output(vllm_server: ServerProcess) -> None:
    """vLLM's guided_json example prints reasoning and JSON content matching the People schema."""
    out = ok(run_example("vllm_structured_output.py", vllm_server))
    content = out.split("content: ", 2)[-1].strip()
    person = json.loads(content)
    assert set(person) == {"name", "age"} and isinstance(person["age"], int)


def test_vllm_tool_calling(vllm_server: ServerProcess) -> None:
    """vLLM's tool-calling example finds get_weather with JSON arguments."""
    out = ok(run_example("vllm_tool_calling.py", vllm_server))
    assert "Function called: get_weather" in out
    arguments = json.loads(out.split("Arguments: ", 1)[1].strip())
    assert isinstance(arguments.get("location"), str)


def test_lmdeploy_reasoning(server: ServerProcess) -> None:
    """LMDeploy's example reads delta.reasoning_content on every chunk, then the whole message."""
    out = ok(run_example("lmdeploy_reasoning.py", server))
    streamed_reasoning = [line for line in out.splitlines() if line.startswith("reasoning content:  ")
                          and line != "reasoning content:  None"]
    assert streamed_reasoning
    assert "\nreasoning_content:" in out and "\ncontent:" in out


def test_fastdeploy_stream_text(server: ServerProcess) -> None:
    """FastDeploy's streaming example (model "vl", enable_thinking, reasoning_max_tokens) streams deltas."""
    out = ok(run_example("fastdeploy_stream.py", server))
    assert "reasoning_content=" in out and "content=" in out


def test_fastdeploy_stream_with_image_gets_a_clear_400(server: ServerProcess) -> None:
    """FastDeploy's unchanged image request fails cleanly: a 400 saying the model reads text only."""
    result = run_example("fastdeploy_stream_image.py", server)
    assert result.returncode != 0
    assert "BadRequestError" in result.stderr and "reads text only" in result.stderr
    assert server.stats()["status"] == "ok"


def test_fastdeploy_tool_calling_curl(server: ServerProcess) -> None:
    """FastDeploy's curl tool-calling request returns tool_calls and finish_reason tool_calls."""
    body = json.loads(ok(run_example("fastdeploy_tool_calling.sh", server)))
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    assert set(json.loads(call["function"]["arguments"])) >= {"location"}
    assert "reasoning_content" in choice["message"]


def test_fastdeploy_thinking_curl_with_image(server: ServerProcess) -> None:
    """FastDeploy's curl request with an image part gets an OpenAI-shaped 400 body."""
    body = json.loads(ok(run_example("fastdeploy_thinking_curl.sh", server)))
    assert body["error"]["param"] == "messages[0].content[0]"

