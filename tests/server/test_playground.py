"""The playground at ``/`` in headless Chromium, and the routes it reads, against real servers.

The browser is Debian's ``chromium`` (``scripts/setup.sh`` installs it with apt when it runs as
root), driven by Playwright pointed at that executable; nothing downloads a browser. Without
Playwright or a Chromium executable the browser tests skip with the reason; the plain HTTP tests
at the top always run. ``CHROMIUM=/path/to/chromium`` picks another executable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import API_KEY, REPO, ServerProcess, server_env

TURN_DONE = """() => {
  const turn = [...document.querySelectorAll('[data-role=assistant-message]')].pop();
  return !!turn && (!!turn.querySelector('[data-role=error]')
                    || /finish:/.test(turn.querySelector('[data-role=status]').textContent));
}"""

# Page functions are arrow functions: Playwright evaluates a bare expression with eval, which the
# page's Content-Security-Policy forbids.
# Records what the last assistant turn shows after every change the page makes to it.
RECORD_TIMELINE = """() => {
  window.__timeline = [];
  const box = document.getElementById('messages');
  new MutationObserver(() => {
    const turn = [...box.querySelectorAll('[data-role=assistant-message]')].pop();
    if (!turn) return;
    const panel = turn.querySelector('[data-role=reasoning]');
    const text = turn.querySelector('[data-role=reasoning-text]');
    window.__timeline.push({reasoning: text ? text.textContent.length : 0,
                            answer: turn.querySelector('[data-role=answer]').textContent.length,
                            open: panel ? panel.open : null});
  }).observe(box, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


# ---- plain HTTP: no browser needed ---------------------------------------------------------

class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "poster", "data") and value:
                self.urls.append(value)


def test_page_and_every_asset_it_references_come_from_this_server(server: ServerProcess) -> None:
    """GET / and each file it loads answer 200 from our server; nothing points at another site."""
    page = httpx.get(server.root + "/", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    refs = _References()
    refs.feed(page.text)
    assert len(refs.urls) >= 4, refs.urls   # icon, stylesheet and the two scripts
    for url in refs.urls:
        assert url.startswith("/") and not url.startswith("//"), f"{url} is not on this server"
        asset = httpx.get(server.root + url, timeout=10)
        assert asset.status_code == 200, url
        expected = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}[Path(url).suffix]
        assert asset.headers["content-type"].startswith(expected), url
        if url.endswith(".css"):
            assert "@import" not in asset.text
            targets = re.findall(r"url\(\s*['\"]?([^'\")]+)", asset.text)
            assert all(target.startswith(("data:", "/")) for target in targets), targets
        if url.endswith(".js"):
            assert not re.search(r"fetch\(\s*['\"](?!/)", asset.text), f"{url} fetches from another site"
            assert "import(" not in asset.text and "XMLHttpRequest" not in asset.text
    missing = httpx.get(server.root + "/playground/nothing.js", timeout=10)
    assert missing.status_code == 404 and "nothing.js" in missing.json()["error"]["message"]


def test_parsers_route_has_the_same_data_as_list_json(server: ServerProcess) -> None:
    """GET /v1/parsers returns `reasoning-plugins list --json`'s data and the parsers in use."""
    listing = httpx.get(server.base_url + "/parsers", timeout=10).json()
    cli = subprocess.run([sys.executable, "-m", "reasoning_plugins.cli", "list", "--json"], cwd=REPO,
                         env=server_env(), capture_output=True, text=True, check=True, timeout=120)
    expected = json.loads(cli.stdout)
    assert listing["plugins"] == expected["plugins"]
    assert listing["failures"] == expected["failures"]
    assert (listing["reasoning_parser"], listing["tool_call_parser"]) == ("deepseek-r1", "hermes")
    kinds = {(p["kind"], p["name"]) for p in listing["plugins"]}
    assert ("reasoning parser", "deepseek-r1") in kinds and ("tool parser", "hermes") in kinds


def test_page_loads_without_the_api_key_but_the_api_needs_it(guarded_server: ServerProcess) -> None:
    """With --api-key, / and its assets load without a key; /v1/parsers needs it like every /v1 route."""
    assert httpx.get(guarded_server.root + "/", timeout=10).status_code == 200
    assert httpx.get(guarded_server.root + "/playground/app.js", timeout=10).status_code == 200
    refused = httpx.get(guarded_server.base_url + "/parsers", timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    allowed = httpx.get(guarded_server.base_url + "/parsers", timeout=10,
                        headers={"Authorization": f"Bearer {API_KEY}"})
    assert allowed.status_code == 200 and allowed.json()["reasoning_parser"] is None


# ---- in the browser --------------------------------------------------------------------------

def _chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        if not os.access(explicit, os.X_OK):
            pytest.skip(f"CHROMIUM={explicit} is not an executable file")
        return explicit
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"Playwright is not installed ({exc}): pip install -e '.[test]'")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium executable on PATH: scripts/setup.sh installs Debian's chromium with apt "
                    "when it runs as root (or set CHROMIUM=/path/to/chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab (its own session storage); uncaught script errors fail the test."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"the page raised: {errors}"


def open_playground(page: Any, server: ServerProcess) -> None:
    page.goto(server.root + "/")
    page.wait_for_function("() => document.getElementById('model-name').textContent !== '…'")


def send(page: Any, prompt: str) -> Any:
    """Send ``prompt`` and wait until its turn has finished or shows an error; returns the turn."""
    page.fill("[data-role=prompt]", prompt)
    page.click("[data-role=send]")
    page.wait_for_function(TURN_DONE, timeout=120_000)
    turns = page.locator("[data-role=assistant-message]")
    return turns.nth(turns.count() - 1)   # this turn, even after later ones are added


def raw_request(turn: Any) -> dict[str, Any]:
    return json.loads(turn.locator("[data-role=raw-request]").text_content())


def raw_events(turn: Any) -> list[dict[str, Any]]:
    """The chunks the raw view shows, as JSON (without the final [DONE])."""
    lines = turn.locator("[data-role=raw-events]").text_content().splitlines()
    return [json.loads(line.removeprefix("data: ")) for line in lines if line != "data: [DONE]"]


def test_reasoning_streams_into_the_panel_before_the_answer(page: Any, server: ServerProcess) -> None:
    """Reasoning shows in an open panel before any answer text; the panel folds when the answer starts."""
    open_playground(page, server)
    page.fill("[data-role=temperature]", "0")
    page.evaluate(RECORD_TIMELINE)
    turn = send(page, "What is 2 + 3?")
    assert turn.locator("[data-role=error]").count() == 0
    timeline = page.evaluate("window.__timeline")
    first_reasoning = next(i for i, s in enumerate(timeline) if s["reasoning"])
    first_answer = next(i for i, s in enumerate(timeline) if s["answer"])
    assert first_reasoning < first_answer
    assert all(s["open"] and not s["answer"] for s in timeline[first_reasoning:first_answer]), \
        ([(i, s) for i, s in enumerate(timeline) if not (s["open"] and not s["answer"])], first_answer)
    assert timeline[first_answer]["open"] is False

    expected = server.client().chat.completions.create(
        model="tiny-reasoner", messages=[{"role": "user", "content": "What is 2 + 3?"}], temperature=0,
        extra_body={"chat_template_kwargs": {"enable_thinking": True}}).choices[0].message
    panel = turn.locator("[data-role=reasoning]")
    assert turn.locator("[data-role=reasoning-text]").text_content() == expected.reasoning_content
    assert " ".join(turn.locator("[data-role=answer]").inner_text().split()) == " ".join(expected.content.split())
    assert re.fullmatch(r"Reasoning · \d+ tokens · \d+\.\d s", panel.locator("summary").text_content())
    assert panel.evaluate("p => p.open") is False
    deltas = [choice["delta"] for chunk in raw_events(turn) for choice in chunk["choices"]]
    assert sum(bool(d.get("reasoning_content") or d.get("reasoning")) for d in deltas) > 1, \
        "the reasoning came in pieces"
    assert turn.locator("[data-role=raw-events]").text_content().splitlines()[-1] == "data: [DONE]"
    panel.locator("summary").click()
    assert panel.evaluate("p => p.open") is True


def test_reasoning_is_read_from_the_reasoning_key_too(page: Any, server: ServerProcess) -> None:
    """Deltas that name the field `reasoning` (as newer servers do) fill the panel as well."""
    # Our server sends reasoning_content; the browser renames the key in its real response to
    # stand in for a server that sends only `reasoning` (the body then arrives all at once).
    def rename(route: Any) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace('"reasoning_content":', '"reasoning":'))

    open_playground(page, server)
    page.route("**/v1/chat/completions", rename)
    page.fill("[data-role=temperature]", "0")
    turn = send(page, "What is 2 + 3?")
    deltas = [choice["delta"] for chunk in raw_events(turn) for choice in chunk["choices"]]
    assert not any("reasoning_content" in d for d in deltas) and any(d.get("reasoning") for d in deltas)
    reasoning = "".join(d.get("reasoning") or "" for d in deltas)
    assert turn.locator("[data-role=reasoning-text]").text_content() == reasoning
    assert turn.locator("[data-role=answer]").inner_text().strip()


def test_the_chat_sends_its_history(page: Any, server: ServerProcess) -> None:
    """A second message goes out with the first exchange; the reasoning is not sent back."""
    open_playground(page, server)
    first = send(page, "What is 2 + 3?")
    answer = raw_request(first)
    second = send(page, "And 4 + 4?")
    messages = raw_request(second)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0] == answer["messages"][0]
    content = messages[1]["content"]
    assert content and " ".join(content.split()) == " ".join(first.locator("[data-role=answer]").inner_text().split())
    assert "reasoning_content" not in messages[1] and messages[2]["content"] == "And 4 + 4?"


def test_thinking_off_shows_no_reasoning_panel(page: Any, server: ServerProcess) -> None:
    """With thinking unticked the request says enable_thinking: false and no panel appears."""
    open_playground(page, server)
    page.uncheck("[data-role=thinking]")
    turn = send(page, "What is 2 + 3?")
    assert raw_request(turn)["chat_template_kwargs"] == {"enable_thinking": False}
    assert turn.locator("[data-role=reasoning]").count() == 0
    assert turn.locator("[data-role=answer]").inner_text().strip()


def test_schema_makes_the_answer_json(page: Any, server: ServerProcess) -> None:
    """A schema in the box goes out as response_format json_schema; the shown answer parses as JSON."""
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"],
              "additionalProperties": False}
    open_playground(page, server)
    page.fill("[data-role=schema]", json.dumps(schema))
    turn = send(page, "What is 2 + 3?")
    assert raw_request(turn)["response_format"] == {"type": "json_schema",
                                                   "json_schema": {"name": "playground", "schema": schema}}
    value = json.loads(turn.locator("[data-role=answer]").text_content())
    assert set(value) == {"answer"} and isinstance(value["answer"], int)


def test_bad_schema_is_refused_in_the_page(page: Any, server: ServerProcess) -> None:
    """Invalid JSON in the schema box is reported next to the controls and nothing is sent."""
    open_playground(page, server)
    page.fill("[data-role=schema]", "{not json")
    page.fill("[data-role=prompt]", "What is 2 + 3?")
    page.click("[data-role=send]")
    assert "The JSON schema is not valid JSON" in page.locator("[data-role=settings-error]").inner_text()
    assert page.locator("[data-role=assistant-message]").count() == 0
    assert page.input_value("[data-role=prompt]") == "What is 2 + 3?"


def test_tool_call_renders_as_a_card(page: Any, server: ServerProcess) -> None:
    """A tool call streamed by the server shows as a card with its name and JSON arguments."""
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                       "required": ["location"]}}}]
    open_playground(page, server)
    page.fill("[data-role=extra]", json.dumps({"tools": tools, "tool_choice": "required"}))
    turn = send(page, "What's the weather like in Paris today?")
    assert turn.locator("[data-role=error]").count() == 0
    cards = turn.locator("[data-role=tool-call]")
    assert cards.count() == 1
    assert "get_weather" in cards.first.inner_text()
    arguments = json.loads(cards.first.locator("[data-role=tool-arguments]").text_content())
    assert isinstance(arguments["location"], str) and arguments["location"]
    assert "finish: tool_calls" in turn.locator("[data-role=status]").inner_text()


# The model writes this because a guided_regex forces its answer to be exactly this text: real
# output of the bundled model through the real server and SSE, carrying markup that would run if
# the page inserted model text as HTML.
INJECTION = '**bold** <img src=x onerror="window.__injected=1"><script>window.__injected=2</script>'


def test_markup_in_model_output_is_shown_as_text(page: Any, server: ServerProcess) -> None:
    """<script> and <img onerror> written by the model show as characters; Markdown still renders."""
    open_playground(page, server)
    page.fill("[data-role=extra]", json.dumps({"guided_regex": re.escape(INJECTION)}))
    turn = send(page, "Say hello")
    assert turn.locator("[data-role=error]").count() == 0
    answer = turn.locator("[data-role=answer]")
    assert answer.text_content() == INJECTION.replace("**bold**", "bold")
    assert answer.locator("strong").text_content() == "bold"
    assert answer.locator("script, img").count() == 0
    assert page.evaluate("window.__injected") is None
    streamed = "".join(choice["delta"].get("content") or ""
                       for chunk in raw_events(turn) for choice in chunk["choices"])
    assert streamed.strip() == INJECTION, "the server streamed the markup the page shows as text"


def test_markdown_renderer_never_makes_markup_from_text(page: Any, server: ServerProcess) -> None:
    """The page's renderer: code blocks, lists and safe links; javascript: links and tags stay text."""
    open_playground(page, server)
    shown = page.evaluate("""() => {
      const box = document.createElement('div');
      box.appendChild(Markdown.render([
        '# Title <b>x</b>', '', '- one', '- **two**', '', '```js', '<script>alert(1)</script>', '```',
        '[ok](https://example.org) [bad](javascript:alert(1)) `<i>code</i>`'].join('\\n')));
      return {html: box.innerHTML, links: [...box.querySelectorAll('a')].map(a => a.href),
              tags: [...box.querySelectorAll('*')].map(e => e.tagName.toLowerCase())};
    }""")
    assert shown["links"] == ["https://example.org/"]
    assert "script" not in shown["tags"] and "b" not in shown["tags"] and "i" not in shown["tags"]
    assert {"h3", "ul", "li", "strong", "pre", "code", "a", "p"} <= set(shown["tags"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown["html"]
    assert "[bad](javascript:alert(1))" in shown["html"]


def test_server_error_shows_a_message_with_retry(page: Any, server: ServerProcess) -> None:
    """A 400 from the server shows its message and a retry; after fixing the setting, retry works."""
    open_playground(page, server)
    page.fill("[data-role=max-tokens]", "100000")
    turn = send(page, "What is 2 + 3?")
    error = turn.locator("[data-role=error]")
    assert "The server answered 400" in error.inner_text() and "max_tokens" in error.inner_text()
    assert page.locator("[data-role=send]").is_enabled() and page.locator("[data-role=stop]").is_disabled()
    page.fill("[data-role=max-tokens]", "40")
    error.locator("[data-role=retry]").click()
    page.wait_for_function(TURN_DONE, timeout=120_000)
    assert turn.locator("[data-role=error]").count() == 0
    assert raw_request(turn)["max_tokens"] == 40
    assert turn.locator("[data-role=reasoning-text]").text_content()
    assert page.locator("[data-role=assistant-message]").count() == 1
    again = send(page, "And 4 + 4?")
    assert again.locator("[data-role=error]").count() == 0


STREAMING_REASONING = """() => {
  const turn = [...document.querySelectorAll('[data-role=assistant-message]')].pop();
  return !!turn && /streaming/.test(turn.querySelector('[data-role=status]').textContent)
         && !!(turn.querySelector('[data-role=reasoning-text]') || {}).textContent;
}"""


def start_long_answer(page: Any) -> Any:
    """Send a prompt whose reply runs for seconds; returns its turn once reasoning is streaming."""
    page.fill("[data-role=max-tokens]", "2000")
    page.fill("[data-role=extra]", json.dumps({"ignore_eos": True}))
    page.fill("[data-role=prompt]", "Tell me about the sea.")
    page.click("[data-role=send]")
    page.wait_for_function(STREAMING_REASONING, timeout=60_000)
    turns = page.locator("[data-role=assistant-message]")
    return turns.nth(turns.count() - 1)


def engine_child(server: ServerProcess) -> int:
    """The pid of the server's engine process (a multiprocessing child)."""
    assert server.process is not None
    pid = server.process.pid
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
            return int(child)
    raise AssertionError(f"no engine process under server pid {pid}")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the engine process through Linux /proc")
def test_dropped_connection_and_engine_failure_show_messages_and_retry(page: Any, tmp_path: Path) -> None:
    """A server killed mid-answer, then its engine killed mid-answer: readable errors, text kept, retry works."""
    flags = ["--reasoning-parser", "deepseek-r1"]
    server = ServerProcess("dropped", flags)
    server.start(tmp_path)
    restarted: ServerProcess | None = None
    try:
        server.wait_ready()
        open_playground(page, server)

        # the whole server goes away mid-answer: the connection drops
        turn = start_long_answer(page)
        assert server.process is not None
        server.process.kill()
        server.process.wait()
        page.wait_for_function(TURN_DONE, timeout=60_000)
        error = turn.locator("[data-role=error]")
        assert "connection to the server" in error.inner_text(), error.inner_text()
        assert turn.locator("[data-role=reasoning-text]").text_content(), "the text so far is kept"
        assert page.locator("[data-role=send]").is_enabled() and page.locator("[data-role=stop]").is_disabled()

        # once it is back, Retry sends the turn again (with the settings as they are now)
        restarted = ServerProcess("dropped-again", flags, port=server.port)
        restarted.start(tmp_path)
        restarted.wait_ready()
        page.fill("[data-role=max-tokens]", "30")
        page.fill("[data-role=extra]", "")
        error.locator("[data-role=retry]").click()
        page.wait_for_function(TURN_DONE, timeout=120_000)
        assert turn.locator("[data-role=error]").count() == 0
        assert "finish: length" in turn.locator("[data-role=status]").inner_text()

        # the engine process dies mid-answer: the server ends the stream with an error event
        turn = start_long_answer(page)
        os.kill(engine_child(restarted), signal.SIGKILL)
        page.wait_for_function(TURN_DONE, timeout=60_000)
        error = turn.locator("[data-role=error]")
        assert "The server reported an error while generating" in error.inner_text(), error.inner_text()
        error.locator("[data-role=retry]").click()    # the engine is gone: the server answers 503
        page.wait_for_function(TURN_DONE, timeout=60_000)
        assert "The server answered 503" in turn.locator("[data-role=error]").inner_text()
        assert page.locator("[data-role=send]").is_enabled() and page.locator("[data-role=prompt]").is_editable()
    finally:
        server.stop()
        if restarted is not None:
            restarted.stop()


def test_stop_ends_the_stream_and_keeps_the_text(page: Any, server: ServerProcess) -> None:
    """Stop aborts a running answer: the text so far stays, the turn says stopped, the page is usable."""
    open_playground(page, server)
    turn = start_long_answer(page)
    page.click("[data-role=stop]")
    page.wait_for_function("() => /stopped/.test([...document.querySelectorAll('[data-role=status]')]"
                           ".pop().textContent)")
    assert turn.locator("[data-role=error]").count() == 0
    events = turn.locator("[data-role=raw-events]").text_content().splitlines()
    assert events and events[-1] != "data: [DONE]"
    page.fill("[data-role=extra]", "")
    page.fill("[data-role=max-tokens]", "30")
    again = send(page, "What is 2 + 3?")
    assert again.locator("[data-role=error]").count() == 0
    assert raw_request(again)["messages"][1]["role"] == "assistant"


def test_api_key_is_asked_for_and_kept_in_session_storage(browser: Any, guarded_server: ServerProcess) -> None:
    """With --api-key the page asks for the key, refuses a wrong one, and keeps it in sessionStorage only."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(guarded_server.root + "/")
        dialog = page.locator("[data-role=key-dialog]")
        dialog.wait_for(state="visible")
        page.fill("[data-role=key-input]", "wrong-key")
        page.click("[data-role=key-save]")
        page.wait_for_function("() => /refused/.test(document.getElementById('key-reason').textContent)")
        assert dialog.is_visible()
        page.fill("[data-role=key-input]", API_KEY)
        page.click("[data-role=key-save]")
        page.wait_for_function("() => document.getElementById('model-name').textContent === 'tiny'")
        assert not dialog.is_visible()
        assert page.locator("#reasoning-parser").inner_text() == "none"
        page.fill("[data-role=max-tokens]", "30")
        turn = send(page, "What is 2 + 3?")
        assert turn.locator("[data-role=error]").count() == 0 and turn.locator("[data-role=answer]").inner_text()
        assert page.evaluate("Object.values(sessionStorage)") == [API_KEY]
        assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""
        assert context.cookies() == []
    finally:
        context.close()
    other = browser.new_context()
    try:
        page = other.new_page()
        page.goto(guarded_server.root + "/")
        page.locator("[data-role=key-dialog]").wait_for(state="visible")   # a new session asks again
    finally:
        other.close()
