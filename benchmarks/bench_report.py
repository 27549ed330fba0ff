"""The HTML report at 601 and 20,000 instructions: its size, the time to write it, and the time
a headless Chromium takes to load and render it.

``python benchmarks/bench_report.py [--runs N] [--compare CHECKOUT]``

The programs are synthesized with ``tests/fuzz/crafted.py`` (no torch, nothing to export):

- ``p601``: 301 XNNPACK delegate calls alternating with 300 ``cumsum`` kernels (the
  601-instruction export of issue 13);
- ``p20k``: 20,000 instructions: 211 XNNPACK delegate calls alternating with ``cumsum``, then a
  CPU tail of ``sin``/``cos`` kernels.

Every delegate carries the real XNNPACK payload of ``tests/data/xnn_many_delegates.pte`` (one
``Linear(16, 16)``), so the operators inside are known. Each program's report is written by
``edgeinspect report`` in a fresh process (median of ``--runs``), then opened from disk in
Debian's ``chromium`` through playwright (every request but file:// blocked), each run in a new
page of one browser:

- **load**: ``loadEventEnd`` of the navigation (HTML parsed, styles applied);
- **render**: ``performance.now()`` after two animation frames following the load, so the
  first layout and paint are done (both from the start of the navigation).

A blank page is measured the same way first: the floor any page pays in this browser.

``--compare CHECKOUT`` also measures the report of another checkout of edgeinspect (for
example ``git archive main | tar -x -C ../main-copy``), in the same run, on the same programs,
and prints *theirs / ours* ratios. Its bytecode is not written (``PYTHONDONTWRITEBYTECODE``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache" / "report"
PROGRAMS = {"p601": (601, 301), "p20k": (20_000, 211)}
CHROMIUM = "/usr/bin/chromium"
RENDERED = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"
LOADED = "() => performance.getEntriesByType('navigation')[0].loadEventEnd"


def make_programs() -> dict[str, Path]:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "fuzz")]
    from crafted import fragmented_pte

    import edgeinspect

    with edgeinspect.load(ROOT / "tests" / "data" / "xnn_many_delegates.pte") as program:
        payload = bytes(program.method().delegates[0].payload())
    CACHE.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (instructions, delegates) in PROGRAMS.items():
        path = CACHE / f"{name}.pte"
        path.write_bytes(fragmented_pte(instructions, delegates, payload=payload))
        out[name] = path
    return out


def write_report(checkout: Path, pte: Path, html: Path, runs: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(checkout), PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        # cwd: ``-m`` puts the working directory first on the path, before PYTHONPATH.
        cmd = [sys.executable, "-m", "edgeinspect.cli", "report", str(pte), "-o", str(html)]
        subprocess.run(cmd, env=env, cwd=checkout, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def render(browser, html: Path, runs: int) -> tuple[float, float, int, int]:
    """Median load and render milliseconds, page errors, and the page's scroll width."""
    loads, renders, errors = [], [], []
    width = 0
    for _ in range(runs):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.as_uri(), wait_until="load", timeout=600_000)
        renders.append(page.evaluate(RENDERED))
        loads.append(page.evaluate(LOADED))
        width = page.evaluate("() => document.documentElement.scrollWidth")
        page.close()
    return statistics.median(loads), statistics.median(renders), len(errors), width


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare", type=Path, metavar="CHECKOUT", help="another checkout of edgeinspect to measure beside this one")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    programs = make_programs()
    checkouts = {"ours": ROOT, **({"theirs": args.compare.resolve()} if args.compare else {})}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; medians of {args.runs} runs")
    rows = {}
    for name, pte in programs.items():
        for who, checkout in checkouts.items():
            html = CACHE / f"{name}.{who}.html"
            rows[name, who] = {"write": write_report(checkout, pte, html, args.runs), "bytes": html.stat().st_size, "html": html}
    blank = CACHE / "blank.html"
    blank.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><title>blank</title></head><body><p>blank</p></body></html>")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-background-networking"])
        try:
            floor = render(browser, blank, args.runs)
            for name in programs:  # take turns, so load from other jobs falls on both alike
                for who in checkouts:
                    r = rows[name, who]
                    r["load"], r["render"], r["errors"], r["scroll_width"] = render(browser, r["html"], args.runs)
        finally:
            browser.close()
    print(f"a blank page (the floor of a new page in this browser): load {floor[0]:.0f} ms, render {floor[1]:.0f} ms")
    print(f"{'program':8} {'report':7} {'bytes':>12} {'write s':>8} {'load ms':>8} {'render ms':>9} {'errors':>6} {'scrollWidth':>11}")
    for (name, who), r in rows.items():
        print(
            f"{name:8} {who:7} {r['bytes']:>12,} {r['write']:>8.2f} {r['load']:>8.0f} {r['render']:>9.0f} {r['errors']:>6} "
            f"{r['scroll_width']:>11,}"
        )
    if args.compare:
        print("theirs / ours:")
        for name in programs:
            a, b = rows[name, "theirs"], rows[name, "ours"]
            print(
                f"{name:8} bytes {a['bytes'] / b['bytes']:.1f}x, write {a['write'] / b['write']:.2f}x, "
                f"load {a['load'] / b['load']:.1f}x, render {a['render'] / b['render']:.1f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
