"""Model Explorer sessions side by side: ``edgeinspect view`` against Arm's pte-adapter (issue 16).

Both serve the same Model Explorer 0.1.34 web app, opened in the same headless Chromium. The
programs are synthesized without torch (``tests/fuzz/crafted.py``) into ``benchmarks/.cache/explorer``:

- ``chain_<n>``: ``n`` CPU kernel calls in one chain (sin/cos), for n = 600, 20,000, 100,000;
- ``delegates_210``: 211 calls of a real XNNPACK Linear payload (taken from the
  ``xnn_many_delegates`` fixture) alternating with a CPU ``cumsum``.

Figures, each a median over ``--runs`` fresh processes where it is a start-up figure:

- **start-up**: wall time from starting the server process to its first ``/check_health``
  answer (edgeinspect: the ``view`` command, which starts the server process; pte-adapter: the
  ``model-explorer`` command with ``--extensions=pte_adapter_model_explorer``; also Model Explorer
  alone, with no extension and no model: the floor of its own server);
- **server peak RSS** (``VmHWM`` of the server process once the page has been served and expanded);
- **convert**: the bytes and seconds of the ``convert`` answer the page asks for;
- **first render**: from opening the page to the layout worker's answer and two drawn frames;
- **expand all**: from pressing "Expand all layers" to the same.

A tool that fails (a page error such as Model Explorer's "Maximum call stack size exceeded", or
no layout within ``--timeout``) is reported as failing, with the reason.

Run: ``benchmarks/setup_pte_adapter.sh`` once (its own venv), then
``python benchmarks/bench_explorer.py [--runs 5] [--sizes 600,20000,100000] [--timeout 300]``.
Without the pte-adapter venv the edgeinspect figures are measured alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
sys.path.insert(0, str(ROOT / "tests" / "explorer"))

CACHE = ROOT / "benchmarks" / ".cache" / "explorer"
PTE_VENV = ROOT / "benchmarks" / ".cache" / "venv-pte-adapter"
PTE_EXTENSION = "pte_adapter_model_explorer"
# As a user's machine: bytecode is cached, whatever this shell says.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def programs(sizes: list[int]) -> dict[str, Path]:
    """Write the benchmark programs (once) and return them by name."""
    from crafted import chain_pte, repeated_delegates_pte

    import edgeinspect

    CACHE.mkdir(parents=True, exist_ok=True)
    out = {}
    for n in sizes:
        path = CACHE / f"chain_{n}.pte"
        if not path.exists():
            path.write_bytes(chain_pte(n))
        out[f"chain_{n}"] = path
    path = CACHE / "delegates_210.pte"
    if not path.exists():
        with edgeinspect.load(ROOT / "tests" / "data" / "xnn_many_delegates.pte") as program:
            payload = program.method().delegates[0].payload()
        path.write_bytes(repeated_delegates_pte(210, payload=bytes(payload)))
    out["delegates_210"] = path
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/check_health", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


class Tool:
    """How to start one server and name its adapter."""

    def __init__(self, name: str, extension: str | None) -> None:
        self.name, self.extension = name, extension

    def command(self, path: Path | None, port: int) -> tuple[list[str], dict[str, str]]:
        if self.name == "edgeinspect":
            return [sys.executable, "-m", "edgeinspect.cli", "view", str(path), "--port", str(port)], ENV
        env = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}
        cmd = [str(PTE_VENV / "bin" / "model-explorer"), "--no_open_in_browser", "--host", "127.0.0.1", "--port", str(port)]
        if self.extension:
            cmd.insert(1, f"--extensions={self.extension}")
        if path is not None:
            cmd.insert(1, str(path))
        return cmd, env

    def url(self, path: Path, port: int) -> str:
        data = {"models": [{"url": str(path), "adapterId": self.extension or "edgeinspect"}]}
        return f"http://127.0.0.1:{port}/?data={quote(json.dumps(data))}"


EDGEINSPECT = Tool("edgeinspect", "edgeinspect")
PTE_ADAPTER = Tool("pte-adapter", PTE_EXTENSION)
BARE = Tool("Model Explorer alone", None)


def server_pid(proc: subprocess.Popen) -> int:
    """The process that serves: ``edgeinspect view`` runs the server as its child."""
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    except OSError:
        children = []
    return int(children[0]) if children else proc.pid


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def startup(tool: Tool, path: Path | None) -> float:
    """Seconds from starting the server to its first /check_health answer."""
    port = free_port()
    cmd, env = tool.command(path, port)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while not _healthy(port):
            if proc.poll() is not None or time.perf_counter() - t0 > 120:
                raise RuntimeError(f"{tool.name} did not start: {cmd}")
            time.sleep(0.005)
        return time.perf_counter() - t0
    finally:
        import me_browser

        me_browser.stop(proc)


def convert(tool: Tool, path: Path, port: int) -> tuple[int, float]:
    body = {"cmdId": "convert", "extensionId": tool.extension, "modelPath": str(path), "settings": {}, "deleteAfterConversion": False}
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/apipost/v1/send_command", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=900) as resp:
        data = resp.read()
    return len(data), time.perf_counter() - t0


def session(tool: Tool, path: Path, browser, timeout: float) -> dict:  # noqa: ANN001
    """One server, one page: convert size, first render, expand all, peak RSS."""
    import me_browser

    port = free_port()
    cmd, env = tool.command(path, port)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    out: dict = {}
    try:
        t0 = time.perf_counter()
        while not _healthy(port):
            if proc.poll() is not None or time.perf_counter() - t0 > 120:
                return {"error": "server did not start"}
            time.sleep(0.01)
        out["convert_bytes"], out["convert_s"] = convert(tool, path, port)
        page, _, errors = me_browser.open_page(browser)
        try:
            out["first_render_s"] = me_browser.first_render(page, tool.url(path, port), errors, timeout)
            out["nodes_shown"] = me_browser.nodes_shown(page)
            out["expand_all_s"] = me_browser.expand_all(page, errors, timeout)
        except (RuntimeError, TimeoutError) as err:
            out["error"] = str(err)[:200]
        finally:
            page.close()
        out["rss_mb"] = peak_rss_mb(server_pid(proc))
    finally:
        me_browser.stop(proc)
    return out


def _fmt(v, unit: str = "") -> str:  # noqa: ANN001
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}{unit}"
    return f"{v:,}{unit}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="600,20000,100000")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--only", choices=("edgeinspect", "pte-adapter"), default=None)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    progs = programs(sizes)
    have_pte = (PTE_VENV / "bin" / "model-explorer").exists()
    tools = [EDGEINSPECT] + ([PTE_ADAPTER] if have_pte else [])
    if args.only:
        tools = [t for t in tools if t.name == args.only]
    if not have_pte:
        print("pte-adapter's venv is missing (run benchmarks/setup_pte_adapter.sh): edgeinspect alone\n")

    small = progs[f"chain_{sizes[0]}"]
    print(f"start-up, /check_health, median of {args.runs} (program: {small.name}):")
    starts: dict[str, list[float]] = {t.name: [] for t in [*tools, *([BARE] if have_pte else [])]}
    for _ in range(args.runs + 1):  # the first round warms the caches and is dropped
        for tool in [*tools, *([BARE] if have_pte else [])]:
            starts[tool.name].append(startup(tool, None if tool is BARE else small))
    medians = {name: statistics.median(v[1:]) for name, v in starts.items()}
    for name, m in medians.items():
        print(f"  {name:22s} {m:6.3f} s")
    if "pte-adapter" in medians:
        print(f"  edgeinspect / pte-adapter: {medians['edgeinspect'] / medians['pte-adapter']:.2f}x (goal: at most 1.5x)")
    if args.no_browser:
        return 0

    import me_browser
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = me_browser.launch(p)
        try:
            for name, path in progs.items():
                for tool in tools:
                    result = session(tool, path, browser, args.timeout)
                    rows.append((name, tool.name, result))
                    print(f"{name:15s} {tool.name:12s} {json.dumps(result)}", flush=True)
        finally:
            browser.close()
    print("\n| program | tool | convert | convert time | first render | expand all | server peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for name, tool, r in rows:
        fail = r.get("error")
        render = _fmt(r.get("first_render_s"), " s") if "first_render_s" in r else f"fails: {fail}"
        expand = _fmt(r.get("expand_all_s"), " s") if "expand_all_s" in r else ("-" if "first_render_s" not in r else f"fails: {fail}")
        size = f"{r['convert_bytes'] / 1e6:.2f} MB" if "convert_bytes" in r else "-"
        print(f"| {name} | {tool} | {size} | {_fmt(r.get('convert_s'), ' s')} | {render} | {expand} | {_fmt(r.get('rss_mb'), ' MB')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
