"""A Superset dashboard as a person sees it: signed in, in headless Chromium (Debian's `chromium`), driven through the
DevTools protocol; waits until every chart has drawn (or failed), then keeps a full-page PNG and the page's DOM.

    .venv/bin/python -m pipeline.bi_screenshot --out docs/img/dashboard.png     # while `make bi` runs

Used by tests/test_bi.py and for the README's picture. Readiness is a condition on the page (every chart holder
has drawn a canvas, SVG, table or number, and no loading indicator is left), never a fixed sleep.
"""

from __future__ import annotations

import argparse
import base64
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from reports.render import chromium

# What the page reports: chart holders, the ones that drew something, loading indicators and error alerts
PAGE_STATE = """(() => {
  const holders = [...document.querySelectorAll('[data-test="dashboard-component-chart-holder"]')];
  const drawn = holders.filter(h => h.querySelector('canvas, svg, table, .header-line, .big-number'));
  const errors = [...document.querySelectorAll('.ant-alert-error, .alert-danger, [data-test="error-message"],'
    + ' [role="alert"].ant-alert-error')].map(e => e.innerText.slice(0, 300));
  const loading = document.querySelectorAll('[data-test="loading-indicator"], .loading').length;
  return JSON.stringify({holders: holders.length, drawn: drawn.length, loading, errors,
                         height: document.documentElement.scrollHeight, title: document.title});
})()"""


@dataclass
class PageResult:
    png: Path
    dom: str
    state: dict


def session_cookie(base: str, username: str, password: str) -> str:
    """Superset's session cookie after signing in through its login form (with its CSRF token)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/", timeout=30).read().decode()
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(r'"csrf_token":\s*"([^"]+)"', page)
    if not match:
        raise RuntimeError("Superset's login page has no CSRF token")
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": match.group(1)})
    opener.open(f"{base}/login/", data=form.encode(), timeout=30).read()
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "session" not in cookies:
        raise RuntimeError(f"signing in to Superset as {username} gave no session")
    return cookies["session"]


class DevTools:
    """One page of a headless Chromium over the DevTools protocol (websockets' sync client)."""

    def __init__(self, width: int, height: int) -> None:
        browser = chromium()
        if not browser:
            raise RuntimeError("no Chromium found: install it with `apt-get install chromium fonts-noto-cjk`")
        self.profile = tempfile.TemporaryDirectory(prefix="chromium-bi-", ignore_cleanup_errors=True)
        self.process = subprocess.Popen(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={self.profile.name}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10).read())
        page = next(target for target in targets if target["type"] == "page")
        from websockets.sync.client import connect

        self.socket = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30).__enter__()
        self.next_id = 0

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=120))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        return self.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def close(self) -> None:
        if getattr(self, "socket", None):
            self.socket.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.profile.cleanup()


def viewport(tools: DevTools, width: int, height: int) -> None:
    tools.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)


def wait_until_drawn(tools: DevTools, deadline: float) -> dict:
    """The page's state once every chart holder drew (or showed an error) and nothing loads, three polls in a row."""
    state: dict = {}
    settled = 0
    while time.monotonic() < deadline:
        state = json.loads(tools.evaluate(PAGE_STATE) or "{}")
        done = state.get("holders") and state["drawn"] + len(state["errors"]) >= state["holders"]
        settled = settled + 1 if done and not state["loading"] else 0
        if settled >= 3:
            return state
        time.sleep(1)
    raise TimeoutError(f"the dashboard did not finish drawing in time: {state}")


def capture(
    base: str, path: str, username: str, password: str, png: Path, width: int = 1600, timeout: float = 180
) -> PageResult:
    """Sign in, open `path`, wait until every chart drew (or showed an error) and nothing loads; keep PNG and DOM."""
    cookie = session_cookie(base, username, password)
    height = 2400  # tall enough for the whole dashboard, so no chart waits below the fold to be drawn
    tools = DevTools(width, height)
    try:
        viewport(tools, width, height)
        tools.send("Network.enable")
        tools.send("Network.setCookie", name="session", value=cookie, url=base, httpOnly=True)
        tools.send("Page.enable")
        tools.send("Page.navigate", url=f"{base}{path}")
        deadline = time.monotonic() + timeout
        state = wait_until_drawn(tools, deadline)
        if state["height"] > height:  # a longer page: grow the viewport to it and let the charts re-layout
            height = int(state["height"])
            viewport(tools, width, height)
            state = wait_until_drawn(tools, deadline)
        shot = tools.send("Page.captureScreenshot", format="png")
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(base64.b64decode(shot["data"]))
        dom = tools.evaluate("document.documentElement.outerHTML") or ""
        return PageResult(png, dom, state)
    finally:
        tools.close()


def main(argv: list[str] | None = None) -> int:
    from pipeline.bi import ADMIN, DEFAULT_PORT
    from pipeline.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img/dashboard.png"))
    parser.add_argument("--dashboard", default="insurance-operations")
    parser.add_argument("--user", default=ADMIN)
    args = parser.parse_args(argv)
    settings = load_settings()
    port = int(os.environ.get("DW_BI_PORT") or DEFAULT_PORT)
    password = (settings.home / "secrets" / f"superset_{args.user}.password").read_text().strip()
    path = f"/superset/dashboard/{args.dashboard}/"
    result = capture(f"http://127.0.0.1:{port}", path, args.user, password, args.out)
    print(f"{args.out}: {result.state}")
    return 1 if result.state.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
