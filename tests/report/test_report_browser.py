"""The HTML report in a real headless Chromium: it fits a 1280-px window, every delegate is
in view, and the 20,000-instruction report renders without a page error.

Needs Debian's ``chromium`` and ``playwright`` (dev extra; its own browser download is never
used). Every request that is not a file:// URL is blocked and recorded. Times are measured by
benchmarks/bench_report.py, not asserted here.
"""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import DATA
from crafted import fragmented_pte, named_pte

import edgeinspect
from edgeinspect.cli import main
from edgeinspect.report.overlays import partitions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian chromium is not installed (scripts/test.sh installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

ARGS = ["--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
WIDTH = 1280

#: Elements that scroll sideways or reach past the window (a table or drawing pushed past the
#: page), as [tag, class, scrollWidth, clientWidth]; what is not rendered (inside a closed
#: <details>) is left out. Text cut with an ellipsis (overflow hidden) does not scroll.
OVERFLOWING = """() => [...document.querySelectorAll('body, body *')]
  .filter(e => !e.closest('details:not([open]) > :not(summary)'))
  .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
               || e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5).map(e => [e.tagName, String(e.className.baseVal ?? e.className), e.scrollWidth, e.clientWidth])"""


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser, path):
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    blocked: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    return page, blocked, errors


def _fits(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH
    assert page.evaluate(OVERFLOWING) == []


def test_three_delegates_are_in_view_at_1280_px(browser, tmp_path):
    """The 3-delegate program: each delegate's mark in the overview and its step in the
    sequence lie inside the window, hit by a click at their centre (not hidden), with no
    sideways scroll anywhere on the page."""
    out = tmp_path / "r.html"
    assert main(["report", str(DATA / "u55_multi.pte"), "-o", str(out)]) == 0
    delegates = [p.namespace for p in partitions(edgeinspect.load(DATA / "u55_multi.pte").method()) if p.is_delegate]
    assert len(delegates) == 3
    page, blocked, errors = _open(browser, out)
    _fits(page)
    for name in delegates:
        mark = page.locator(f'svg.bar rect.part[data-partition="{name}"]')
        assert mark.count() == 1, name
        box = mark.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH and box["width"] >= 1, (name, box)
        hit = page.evaluate(
            "([x, y]) => { const e = document.elementFromPoint(x, y); return e && e.getAttribute('data-partition'); }",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert hit == name
    steps = page.locator("ol.sequence li.step")
    chips = page.locator("ol.sequence li.step summary .chip", has_text="EthosUBackend")
    assert chips.count() == 3
    for k in range(chips.count()):
        box = chips.nth(k).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    # Opening a step lists its members, still within the width.
    steps.first.locator("summary").click()
    assert steps.first.locator("table.members tr[data-partition]").count() == 1
    _fits(page)
    # The graph is scaled to the page, never scrolled.
    graph = page.locator("svg.graph").bounding_box()
    assert graph is not None and graph["x"] + graph["width"] <= WIDTH
    assert blocked == [] and errors == []
    page.close()


@pytest.mark.parametrize("name", ["u55_multi", "xnn_transformer", "xnn_cond", "u85_transformer", "cpu_lrn_stacktrace"])
def test_fixture_reports_fit(browser, tmp_path, name):
    out = tmp_path / "r.html"
    assert main(["report", str(DATA / f"{name}.pte"), "-o", str(out)]) == 0
    page, blocked, errors = _open(browser, out)
    _fits(page)
    assert blocked == [] and errors == []
    page.close()


def test_20000_instructions_render_under_3_mb(browser, tmp_path):
    with edgeinspect.load(DATA / "xnn_many_delegates.pte") as program:
        payload = bytes(program.method().delegates[0].payload())
    pte = tmp_path / "p20k.pte"
    pte.write_bytes(fragmented_pte(20_000, 211, payload=payload))
    out = tmp_path / "r.html"
    assert main(["report", str(pte), "-o", str(out)]) == 0
    assert out.stat().st_size < 3_000_000
    page, blocked, errors = _open(browser, out)
    _fits(page)
    assert page.locator("svg.bar rect.part").count() > 2
    assert page.locator("ol.sequence li.step").count() == 3
    assert page.locator("table.summary").is_visible()
    assert blocked == [] and errors == []
    page.close()


def test_hostile_names_do_not_widen_the_page(browser, tmp_path):
    pte = tmp_path / "long.pte"
    pte.write_bytes(named_pte(operator="x" * 100_000, backend="B" * 5_000, islands=40))
    out = tmp_path / "r.html"
    assert main(["report", str(pte), "-o", str(out)]) == 0
    page, blocked, errors = _open(browser, out)
    _fits(page)
    for step in page.locator("ol.sequence li.step summary").all():
        step.click()
    _fits(page)
    assert blocked == [] and errors == []
    page.close()
