"""The API key from the environment, and the caps on messages, schema size and regex length."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from core_engine.server.cli import api_key_of
from core_engine.server.config import ServerConfig
from reasoning_plugins._cli_serve import API_KEY_ENV, add_arguments

from .conftest import REPO, ServerProcess, server_env

ENV_KEY = "key-from-the-environment"
USER = [{"role": "user", "content": "What is 2 + 3?"}]


class EnvKeyServer(ServerProcess):
    """A server whose API key comes from the environment, with small caps."""

    def start(self, log_dir: Path) -> None:
        self.log_path = log_dir / f"server-{self.name}.log"
        env = {**server_env(), API_KEY_ENV: ENV_KEY}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "core_engine.server", "--port", str(self.port), "--log-level", "warning",
                 *self.flags], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = EnvKeyServer("capped", ["--reasoning-parser", "deepseek-r1", "--max-messages", "4",
                                     "--max-schema-bytes", "2000", "--max-regex-length", "50",
                                     "--max-tokens-limit", "16"])
    server.start(tmp_path_factory.mktemp("capped"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_api_key_from_the_environment_never_shows_in_ps(capped: ServerProcess) -> None:
    """The key set in the environment protects /v1 and is not on the process's command line."""
    assert capped.process is not None
    assert ENV_KEY not in Path(f"/proc/{capped.process.pid}/cmdline").read_text(errors="replace")
    assert "API key required" in capped.log()
    with pytest.raises(openai.AuthenticationError):
        capped.client().models.list()
    assert capped.client(api_key=ENV_KEY).models.list().data[0].id == "tiny-reasoner"


def test_api_key_flag_wins_over_the_environment() -> None:
    """--api-key beats the environment variable; an empty variable means no key."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert api_key_of(parser.parse_args(["--api-key", "flag"]), {API_KEY_ENV: "env"}) == "flag"
    assert api_key_of(parser.parse_args([]), {API_KEY_ENV: "env"}) == "env"
    assert api_key_of(parser.parse_args([]), {API_KEY_ENV: ""}) is None
    assert api_key_of(parser.parse_args([]), {}) is None


def post(server: ServerProcess, body: dict[str, object]) -> httpx.Response:
    return httpx.post(server.base_url + "/chat/completions", json=body, timeout=60,
                      headers={"authorization": f"Bearer {ENV_KEY}"})


def assert_limit_error(response: httpx.Response, param: str, *words: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["code"] == "limit_exceeded"
    for word in words:
        assert word in error["message"], error["message"]


def test_message_count_cap(capped: ServerProcess) -> None:
    """Five messages over a cap of four is a 400 naming the count, the cap and the flag; four pass."""
    turns = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}] * 2
    assert_limit_error(post(capped, {"messages": [*turns, USER[0]]}), "messages", "5 messages", "at most 4",
                       "--max-messages")
    assert post(capped, {"messages": turns, "max_tokens": 2}).status_code == 200


def test_schema_size_cap(capped: ServerProcess) -> None:
    """A schema over --max-schema-bytes is a 400 for response_format, guided_json and tool parameters."""
    big = {"type": "object", "properties": {f"field_{i}": {"type": "string"} for i in range(100)}}
    size = len(json.dumps(big, separators=(",", ":")))
    assert size > 2000
    assert_limit_error(post(capped, {"messages": USER, "guided_json": big}), "guided_json", f"{size} bytes",
                       "at most 2000 bytes", "--max-schema-bytes")
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": big}}
    assert_limit_error(post(capped, {"messages": USER, "response_format": fmt}),
                       "response_format.json_schema.schema", "--max-schema-bytes")
    tools = [{"type": "function", "function": {"name": "f", "parameters": big}}]
    assert_limit_error(post(capped, {"messages": USER, "tools": tools, "tool_choice": "none"}),
                       "tools[0].function.parameters", "--max-schema-bytes")
    small = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    assert post(capped, {"messages": USER, "guided_json": small, "max_tokens": 16}).status_code == 200


def test_regex_length_cap(capped: ServerProcess) -> None:
    """A guided_regex over --max-regex-length is a 400; one at the cap is served."""
    assert_limit_error(post(capped, {"messages": USER, "guided_regex": "a" * 51}), "guided_regex",
                       "51 characters", "at most 50", "--max-regex-length")
    assert post(capped, {"messages": USER, "guided_regex": "[0-9]" * 10, "max_tokens": 10}).status_code == 200


def test_default_caps_apply(server: ServerProcess) -> None:
    """Without the flags the defaults hold: 1001 messages is a 400 naming the cap of 1000."""
    messages = [{"role": "user", "content": "x"}] * 1001
    response = httpx.post(server.base_url + "/chat/completions", json={"messages": messages}, timeout=60)
    assert_limit_error(response, "messages", "1001 messages", "at most 1000")


def test_caps_must_be_positive() -> None:
    """A cap of zero is refused when the settings are built."""
    with pytest.raises(ValueError, match="max_regex_length"):
        ServerConfig(max_regex_length=0)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-messages", "0"])
