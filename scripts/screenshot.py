"""Take docs/playground.png: the playground at / mid-answer, from a real run of the bundled model.

Starts ``python -m core_engine.server`` on a free loopback port (deepseek-r1 and hermes parsers),
opens the page in headless Chromium (Debian's ``chromium``, driven by Playwright), lets one
question finish and opens its reasoning panel, then asks a second one and takes the picture while
its answer is still streaming. The bundled model writes a whole reply in a fraction of a second,
so the browser's network throttling (DevTools' ``Network.emulateNetworkConditions``) slows the
delivery of the stream enough to catch it mid-answer; the text is the model's own.

    .venv/bin/python scripts/screenshot.py [--out docs/playground.png] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
FIRST = "What is 2 + 3?"
SECOND = "9.11 and 9.8, which is greater?"
STREAMING_ANSWER = """() => {
  const turn = [...document.querySelectorAll('[data-role=assistant-message]')].pop();
  if (!turn) return false;
  const answer = turn.querySelector('[data-role=answer]').textContent;
  return answer.trim().length >= %d && !/finish:/.test(turn.querySelector('[data-role=status]').textContent);
}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "playground.png")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM") or shutil.which("chromium"),
                        help="Chromium executable (default: chromium on PATH)")
    parser.add_argument("--bytes-per-second", type=int, default=2500,
                        help="throttled download rate while the second answer streams (default: 2500)")
    args = parser.parse_args()
    if not args.chromium:
        print("error: no chromium on PATH; install Debian's package (apt-get install chromium) or pass --chromium",
              file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    print(f"[screenshot] starting the server on 127.0.0.1:{port} ...", flush=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "core_engine.server", "--port", str(port), "--log-level", "warning",
         "--reasoning-parser", "deepseek-r1", "--tool-call-parser", "hermes"], cwd=REPO, env=env)
    try:
        root = f"http://127.0.0.1:{port}"
        _wait_ready(root, server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium)
            page = browser.new_page(viewport={"width": 1100, "height": 640})
            page.goto(root + "/")
            page.wait_for_function("() => document.getElementById('model-name').textContent !== '…'")
            page.fill("[data-role=temperature]", "0")
            page.fill("[data-role=prompt]", FIRST)
            page.click("[data-role=send]")
            page.wait_for_function("() => /finish:/.test([...document.querySelectorAll('[data-role=status]')].pop()"
                                   ".textContent)", timeout=120_000)
            page.click("[data-role=reasoning] summary")   # show the first turn's reasoning
            devtools = page.context.new_cdp_session(page)
            devtools.send("Network.enable")
            devtools.send("Network.emulateNetworkConditions", {
                "offline": False, "latency": 0, "uploadThroughput": -1,
                "downloadThroughput": args.bytes_per_second})
            page.fill("[data-role=prompt]", SECOND)
            page.click("[data-role=send]")
            page.wait_for_function(STREAMING_ANSWER % 12, timeout=120_000)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            still_streaming = page.evaluate(STREAMING_ANSWER % 1)
            browser.close()
        if not still_streaming:
            print("error: the answer finished before the picture was taken; try a lower --bytes-per-second",
                  file=sys.stderr)
            return 1
        print(f"[screenshot] wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_ready(root: str, server: subprocess.Popen[bytes], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"error: the server exited with {server.returncode}")
        try:
            if httpx.get(root + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"error: the server did not become ready in {timeout:.0f} s")


if __name__ == "__main__":
    raise SystemExit(main())
