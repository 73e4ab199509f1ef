"""A page as a person sees it, in headless Chromium (Debian's ``chromium`` package) driven over the DevTools
protocol (``websocket-client``): nothing is downloaded at run time.

:func:`look_at` loads an HTML file at a given viewport width and returns what the checks need: console errors
and exceptions, the tables, every chart's title and axis labels, the elements wider than the viewport, and a
full-page screenshot. Run as a script it makes the screenshots the quickstart shows (the top of the page, light
and dark)::

    python -m tests.browser slmswap-demo/report/report.html docs/images/report
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

_FACTS = """(() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const element of document.querySelectorAll('body *')) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && (box.right > width + 0.5 || box.left < -0.5)) {
      wide.push(element.tagName.toLowerCase() + (element.className && element.className.baseVal === undefined
        ? '.' + element.className : '') + ' right=' + Math.round(box.right));
    }
  }
  const text = (node, selector) => Array.from(node.querySelectorAll(selector)).map(t => t.textContent.trim());
  return JSON.stringify({
    width: width,
    scrollWidth: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    tables: Array.from(document.querySelectorAll('table')).map(t => ({
      headers: text(t, 'thead th'), rows: t.querySelectorAll('tbody tr').length})),
    pipeTables: Array.from(document.querySelectorAll('body *')).filter(
      e => e.children.length === 0 && /^\\s*\\|\\s*-{3}/m.test(e.textContent)).length,
    charts: Array.from(document.querySelectorAll('svg')).map(svg => ({
      title: text(svg, '.chart-title')[0] || '', a11y: text(svg, ':scope > title')[0] || '',
      x: text(svg, '.x-label')[0] || '', y: text(svg, '.y-label')[0] || '',
      points: svg.querySelectorAll('circle').length,
      fontPx: Math.min(...Array.from(svg.querySelectorAll('text')).map(
        t => t.getBoundingClientRect().height || 99))})),
    wide: wide,
  });
})()"""


@dataclass
class PageFacts:
    """What a person sees on the page."""

    errors: list[str] = field(default_factory=list)
    """Console errors, exceptions and failed loads."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Tables, charts, overflowing elements (see ``_FACTS``)."""
    screenshot: bytes = b""
    """A PNG of the whole page."""


def find_chromium() -> str | None:
    """The Chromium executable on ``PATH`` (``$CHROMIUM`` first), or ``None``."""
    names = (os.environ.get("CHROMIUM", ""), *CHROMIUM_NAMES)
    return next((found for name in names if name and (found := shutil.which(name))), None)


class _DevTools:
    def __init__(self, url: str) -> None:
        import websocket

        self._socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, event: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not any(e.get("method") == event for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} within {seconds} s")
            self.events.append(json.loads(self._socket.recv()))

    def close(self) -> None:
        self._socket.close()


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            found.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            found.append(f"load failed: {params.get('errorText')}")
    return found


def look_at(
    page: Path, *, width: int = 1280, height: int = 900, dark: bool = False, shot_height: int | None = None
) -> PageFacts:
    """Load ``page`` in headless Chromium at ``width`` × ``height`` CSS pixels (the dark colour scheme when
    ``dark``) and return what a person sees; the screenshot is of the whole page, or of its top ``shot_height``
    pixels."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        process = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr is not None
            browser_url = ""
            for line in process.stderr:
                if match := re.search(r"DevTools listening on (ws://\S+)", line):
                    browser_url = match.group(1)
                    break
            if not browser_url:
                raise RuntimeError("Chromium did not start its DevTools endpoint")
            return _inspect(browser_url, page, width, height, dark, shot_height)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _inspect(browser_url: str, page: Path, width: int, height: int, dark: bool, shot_height: int | None) -> PageFacts:
    browser = _DevTools(browser_url)
    try:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        port = re.search(r"://([^/]+)/", browser_url)
        assert port is not None
        import urllib.request

        with urllib.request.urlopen(f"http://{port.group(1)}/json/list", timeout=10) as answer:
            targets = json.loads(answer.read())
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["id"] == target)
    finally:
        browser.close()
    tab = _DevTools(url)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            tab.call(f"{domain}.enable")
        tab.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        tab.call(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}],
        )
        tab.call("Page.navigate", url=page.resolve().as_uri())
        tab.wait_for("Page.loadEventFired")
        facts = json.loads(tab.call("Runtime.evaluate", expression=_FACTS, returnByValue=True)["result"]["value"])
        clip = {"x": 0, "y": 0, "width": facts["width"], "height": min(shot_height or facts["height"], facts["height"])}
        shot = tab.call("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip={**clip, "scale": 1})
        return PageFacts(errors=_errors(tab.events), facts=facts, screenshot=base64.b64decode(shot["data"]))
    finally:
        tab.close()


def main(arguments: list[str]) -> int:
    """``REPORT.html OUT_STEM``: check the page as the test does, and write the top of it as OUT_STEM-light.png
    and OUT_STEM-dark.png."""
    report, stem = Path(arguments[0]), Path(arguments[1])
    for scheme in ("light", "dark"):
        seen = look_at(report, dark=scheme == "dark", shot_height=2100)
        problems = seen.errors + [f"wider than the viewport: {e}" for e in seen.facts["wide"]]
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        target = stem.with_name(f"{stem.name}-{scheme}.png")
        target.write_bytes(seen.screenshot)
        print(f"wrote {target} ({len(seen.facts['charts'])} charts, {len(seen.facts['tables'])} tables)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
