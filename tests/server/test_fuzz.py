"""schemathesis against a live server: every operation of /openapi.json, valid and invalid input.

The operations come from the server's own OpenAPI document, so a route added later is fuzzed
without touching this file: chat completions, the Responses and Messages APIs, the not_stored
``GET``/``DELETE /v1/responses/{id}``, ``/v1/parsers``, models, ``/health``, ``/metrics``, and the
playground page with its files (``GET`` only: the ``HEAD`` twins answer without a body and are
left out of the document). Each operation gets a bounded number of generated requests in each
mode (schema-valid and schema-violating); no answer may be a 5xx, every error must be in its
API's error shape (OpenAI's everywhere, Anthropic's under /v1/messages and only there), and
status codes, content types and bodies must match what the document declares. Shrinking is off:
a failure is reported as found, and becomes a regression test in test_fuzz_regressions.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from .conftest import ServerProcess  # noqa: E402

EXAMPLES = {GenerationMode.POSITIVE: 200, GenerationMode.NEGATIVE: 200}
# Schema-valid requests the server still refuses with a 400 for reasons a JSON schema cannot say
# (the prompt does not fit the context, n other than 1, max_tokens over the cap, ...) are fine: the
# error shape is checked for them like for any other error.
EXCLUDED = {"positive_data_acceptance"}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # a small output cap keeps each generated request short
    server = ServerProcess("fuzz", ["--reasoning-parser", "deepseek-r1", "--tool-call-parser", "hermes",
                                    "--max-tokens-limit", "8"])
    server.start(tmp_path_factory.mktemp("fuzz"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx is ``{"error": {"message", "type", "param", "code"}}``, but under /v1/messages,
    where it is Anthropic's ``{"type": "error", "error": {"type", "message"}}``."""
    if response.status_code < 400 or case.path == "/health":
        return None
    body = json.loads(response.content)
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"{response.status_code} without an 'error' object: {body!r}"
    assert isinstance(error.get("message"), str) and error["message"], body
    assert isinstance(error.get("type"), str) and error["type"], body
    if case.path == "/v1/messages" or case.path.startswith("/v1/messages/"):
        assert body["type"] == "error" and set(body) == {"type", "error"}, body
        assert set(error) == {"type", "message"}, body
    else:
        assert set(body) == {"error"} and set(error) == {"message", "type", "param", "code"}, body
    return None


def test_every_operation_survives_fuzzing(fuzz_server: ServerProcess) -> None:
    """No 5xx, every error in the error shape, every answer as documented, for every operation."""
    schema = schemathesis.openapi.from_url(fuzz_server.root + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert {"POST /v1/chat/completions", "POST /v1/responses", "POST /v1/messages", "GET /v1/responses/{response_id}",
            "DELETE /v1/responses/{response_id}", "GET /v1/parsers", "GET /", "GET /playground/{name}",
            "GET /v1/models", "GET /metrics", "GET /health"} <= labels
    findings: list[str] = []
    for operation in operations:
        for mode, budget in EXAMPLES.items():
            failure = _fuzz(operation, mode, budget, fuzz_server.root)
            if failure:
                findings.append(f"{operation.label} ({mode.value}): {failure}")
    assert not findings, "\n\n".join(findings)
    # the server is still up and serving afterwards
    assert fuzz_server.process is not None and fuzz_server.process.poll() is None
    assert fuzz_server.stats()["status"] == "ok"


def _fuzz(operation: Any, mode: GenerationMode, budget: int, base_url: str) -> str | None:
    from schemathesis.checks import load_all_checks
    from schemathesis.core.failures import FailureGroup

    load_all_checks()
    excluded = [check for check in _all_checks() if check.__name__ in EXCLUDED]

    strategy = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:     # the document's own examples, mixed in with generated bodies
        strategy = st.one_of(*operation.get_strategies_from_examples(), strategy)

    @settings(max_examples=budget, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, timeout=60)
        case.validate_response(response, additional_checks=[error_shape], excluded_checks=excluded)

    try:
        run()
    except Unsatisfiable:
        return None         # nothing to generate: an operation without parameters has no invalid input
    except (AssertionError, FailureGroup) as exc:
        return str(exc)[:3000]
    return None


def _all_checks() -> list[Any]:
    from schemathesis.checks import CHECKS

    return list(CHECKS.get_all())

