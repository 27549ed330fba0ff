"""Drive Model Explorer's page in a real headless Chromium: start a server, open the page, time
the first render and expand-all. Used by the browser tests, ``benchmarks/bench_explorer.py`` and
``scripts/explorer_screenshots.py``.

The graph is drawn with WebGL (headless Chromium needs ``--enable-unsafe-swiftshader``) and laid
out in a web worker. The page's worker is wrapped (an init script) so every message to and from
it is recorded with its time: a render is done when the worker has answered the layout request
(``PROCESS_GRAPH_RESP`` for the first render, ``EXPAND_OR_COLLAPSE_GROUP_NODE_RESP`` for
expand-all) and the page has drawn two frames since. Every request that is not to the local
server is blocked and recorded.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--enable-unsafe-swiftshader",  # WebGL in software: Model Explorer draws the graph with it
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--js-flags=--max-old-space-size=8192",
]
#: Worker message types (Model Explorer's ``WorkerEventType``).
PROCESS_GRAPH_RESP, EXPAND_REQ, EXPAND_RESP = 1, 2, 3

_WRAP_WORKER = """
(() => {
  const Original = window.Worker;
  window.__meEvents = [];
  window.__meErrors = [];
  window.addEventListener('error', e => window.__meErrors.push(String(e.message)));
  window.Worker = function (url, options) {
    const w = new Original(url, options);
    w.addEventListener('message', e => {
      window.__meEvents.push(['resp', e.data && e.data.eventType, performance.now()]);
      if (e.data && e.data.eventType === 1 && e.data.modelGraph) {
        window.__meLayers = e.data.modelGraph.nodes.filter(n => n.nodeType === 1).map(n => n.label);
      }
    });
    w.addEventListener('error', e => window.__meErrors.push('worker: ' + String(e.message)));
    const post = w.postMessage.bind(w);
    w.postMessage = (m, t) => { window.__meEvents.push(['req', m && m.eventType, performance.now()]); return post(m, t); };
    return w;
  };
  window.Worker.prototype = Original.prototype;
})();
"""


class ServerFailed(RuntimeError):
    """The server process stopped or did not print its address in time."""


def start(
    cmd: list[str], ready: str, *, env: dict[str, str] | None = None, timeout: float = 300
) -> tuple[subprocess.Popen[str], str, list[str]]:
    """Run ``cmd`` and wait for a line containing ``ready``; returns (process, that line, log)."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(env or os.environ, PYTHONUNBUFFERED="1")
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    log: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        log.append(line)
        if ready in line:
            return proc, line, log
    stop(proc)
    raise ServerFailed("the server did not come up:\n" + "".join(log))


def start_view(path: str | Path, *args: str, port: int, timeout: float = 300) -> tuple[subprocess.Popen[str], str, list[str]]:
    """``edgeinspect view PATH --port PORT ARGS``; returns (process, page URL, log)."""
    proc, line, log = start(
        [sys.executable, "-m", "edgeinspect.cli", "view", str(path), "--port", str(port), *args],
        "Model Explorer is ready at ",
        timeout=timeout,
    )
    return proc, line.split("ready at ", 1)[1].strip(), log


def stop(proc: subprocess.Popen[str]) -> None:
    """Ctrl+C, then kill after a while."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def launch(playwright):  # noqa: ANN001, ANN201 - playwright's own types
    """Headless Debian Chromium (never playwright's own browser download)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def open_page(browser, allowed: tuple[str, ...] = ("http://127.0.0.1:", "http://localhost:"), width: int = 1400, height: int = 900):  # noqa: ANN001, ANN201
    """A page with the worker recorder and every other request blocked; returns (page, blocked, errors)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.add_init_script(_WRAP_WORKER)
    blocked: list[str] = []
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):  # noqa: ANN001, ANN202
        if r.request.url.startswith(allowed):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return page, blocked, errors


def _responses(page, kind: int) -> int:  # noqa: ANN001
    return int(page.evaluate(f"() => window.__meEvents.filter(e => e[0] === 'resp' && e[1] === {kind}).length"))


def _frames(page) -> None:  # noqa: ANN001
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _wait_for(page, kind: int, count: int, timeout: float, errors: list[str]) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _responses(page, kind) >= count:
            return
        failed = errors or page.evaluate("() => window.__meErrors")
        if failed:
            raise RuntimeError(f"the page failed: {failed[:3]}")
        time.sleep(0.05)
    raise TimeoutError(f"no answer from Model Explorer's layout worker within {timeout:.0f} s")


def first_render(page, url: str, errors: list[str], timeout: float = 300) -> float:  # noqa: ANN001
    """Open ``url`` and return the seconds until the graph is laid out and drawn."""
    start_time = time.monotonic()
    page.goto(url)
    _wait_for(page, PROCESS_GRAPH_RESP, 1, timeout, errors)
    _frames(page)
    return time.monotonic() - start_time


def expand_all(page, errors: list[str], timeout: float = 600) -> float:  # noqa: ANN001
    """Press "Expand all layers" and return the seconds until the whole graph is laid out and drawn."""
    before = _responses(page, EXPAND_RESP)
    start_time = time.monotonic()
    page.get_by_text("unfold_more_double", exact=True).first.click()
    _wait_for(page, EXPAND_RESP, before + 1, timeout, errors)
    _frames(page)
    return time.monotonic() - start_time


def layers(page) -> list[str]:  # noqa: ANN001
    """The labels of the layers Model Explorer made of the graph (its layout worker's answer)."""
    return list(page.evaluate("() => window.__meLayers || []"))


def nodes_shown(page) -> str:  # noqa: ANN001
    """The page's own "N nodes" text (node labels live on the canvas, not in the DOM)."""
    return str(page.evaluate("() => (document.body.innerText.match(/(\\d+) nodes/) || [])[1] || ''"))
