"""End to end in a real headless Chromium: ``edgeinspect view`` on a small fragmented fixture, a
transformer whose partitions are single nodes, a program of 211 delegates and one of 20,000
instructions (synthesized without torch), and the HTML report.

Needs Debian's ``chromium`` (scripts/test.sh installs it), ``playwright`` (dev extra; its own
browser download is never used) and Model Explorer (explorer extra). Every request that is not
to the local server (or a file:// URL for the report) is blocked and recorded; every page error
fails the test (``tests/explorer/me_browser.py`` records them, and the layout worker's answers).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from conftest import DATA, zoo_index

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian chromium is not installed (scripts/test.sh installs it)", allow_module_level=True)
pytest.importorskip("model_explorer")
sync_api = pytest.importorskip("playwright.sync_api")

import me_browser  # noqa: E402
from crafted import chain_pte, repeated_delegates_pte  # noqa: E402

import edgeinspect  # noqa: E402
from edgeinspect.commands.view import free_port  # noqa: E402
from edgeinspect.report.html import partition_boundaries  # noqa: E402
from edgeinspect.report.overlays import DEVICE_COLORS, explorer_graph, load_for_view, partitions  # noqa: E402

CHROMIUM_ARGS = me_browser.CHROMIUM_ARGS  # one set of flags for every browser test


def _fragmented_arm_fixture() -> str:
    names = [e["name"] for e in zoo_index() if e["fragmented"] and e["flow"].startswith("ethos-u")]
    if "u55_multi" in names:
        return "u55_multi"
    if not names:
        pytest.skip("no fragmented Ethos-U fixture in tests/data")
    return names[0]


FIXTURE = _fragmented_arm_fixture()


@pytest.fixture(scope="module")
def server():
    """``edgeinspect view FIXTURE`` in a subprocess; yields (url, base)."""
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "edgeinspect.cli", "view", str(DATA / f"{FIXTURE}.pte"), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    url, log, deadline = None, [], time.monotonic() + 60
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        log.append(line)
        if "Model Explorer is ready at " in line:
            url = line.split("ready at ", 1)[1].strip()
    if url is None:
        proc.kill()
        pytest.fail("edgeinspect view did not come up:\n" + "".join(log))
    try:
        yield url, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser, allowed_prefixes: tuple[str, ...]):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith(allowed_prefixes):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return page, blocked


def _count_colours(browser, png: bytes, colours: dict[str, str], tolerance: int = 6) -> dict[str, int]:
    """Pixels of each ``#rrggbb`` colour in a PNG (decoded by the browser, so no imaging library)."""
    page = browser.new_page()
    try:
        return page.evaluate(
            """async ({b64, colours, tol}) => {
                const img = new Image(); img.src = "data:image/png;base64," + b64; await img.decode();
                const c = document.createElement("canvas"); c.width = img.width; c.height = img.height;
                const ctx = c.getContext("2d"); ctx.drawImage(img, 0, 0);
                const d = ctx.getImageData(0, 0, c.width, c.height).data;
                const hex = (h, i) => parseInt(h.slice(i, i + 2), 16);
                const want = Object.entries(colours).map(([k, h]) => [k, hex(h, 1), hex(h, 3), hex(h, 5)]);
                const out = Object.fromEntries(want.map(([k]) => [k, 0]));
                for (let i = 0; i < d.length; i += 4) {
                    for (const [k, r, g, b] of want) {
                        if (Math.abs(d[i] - r) <= tol && Math.abs(d[i + 1] - g) <= tol && Math.abs(d[i + 2] - b) <= tol) out[k]++;
                    }
                }
                return out;
            }""",
            {"b64": base64.b64encode(png).decode(), "colours": colours, "tol": tolerance},
        )
    finally:
        page.close()


def test_model_explorer_shows_our_graph_and_overlays(server, browser, tmp_path):
    url, base = server
    path = str(DATA / f"{FIXTURE}.pte")
    # What the adapter produced, asked from the running server the way the page asks it.
    req = urllib.request.Request(
        base + "/apipost/v1/send_command",
        data=json.dumps(
            {"cmdId": "convert", "extensionId": "edgeinspect", "modelPath": path, "settings": {}, "deleteAfterConversion": False}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        served = json.load(resp)
    (graph,) = served["graphCollections"][0]["graphs"]
    nodes = len(graph["nodes"])
    assert nodes == explorer_graph(load_for_view(path).method()).number_of_nodes()

    page, blocked, errors = me_browser.open_page(browser, ("http://127.0.0.1:",))
    me_browser.first_render(page, url, errors)
    page.get_by_text(f"{nodes} nodes", exact=True).first.wait_for(timeout=30000)
    # The overlays load after the graph: wait for the node data panel to list them.
    page.wait_for_function("() => /NODE DATA PROVIDERS[\\s\\S]*island[\\s\\S]*device/i.test(document.body.innerText)", timeout=30000)
    body = page.inner_text("body")
    assert f"forward {nodes} nodes" in body.replace("\n", " ")
    # The layers are our partitions, every one of them (the page keeps single-node layers).
    assert sorted(me_browser.layers(page)) == sorted(p.namespace for p in partitions(edgeinspect.load(path).method()))

    want = {"CPU": DEVICE_COLORS["CPU"], "EthosUBackend": DEVICE_COLORS["EthosUBackend"]}
    counts: dict[str, int] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the canvas draws a moment after the text appears
        png = page.screenshot(clip={"x": 0, "y": 100, "width": 980, "height": 790})
        counts = _count_colours(browser, png, want)
        if all(n >= 1500 for n in counts.values()):
            break
        time.sleep(0.5)
    (tmp_path / "model_explorer.png").write_bytes(png)
    # Node fills in the overlay colours (borders use darker shades, so only the overlay paints these).
    assert counts["CPU"] >= 1500 and counts["EthosUBackend"] >= 1500, counts
    assert all(u.startswith("https://fonts.") for u in blocked), blocked  # only the web font is refused
    assert errors == []
    page.close()


def test_html_report_renders_offline(browser, tmp_path):
    from edgeinspect.cli import main

    out = tmp_path / "report.html"
    assert main(["report", str(DATA / f"{FIXTURE}.pte"), "-o", str(out)]) == 0
    method = load_for_view(DATA / f"{FIXTURE}.pte").method()  # what the report command loads
    page, blocked = _page(browser, ("file://",))
    page.goto(out.as_uri())
    parts = partitions(method)
    assert page.locator("svg.bar rect.part").count() == len(parts)  # the overview (tests/report/test_report_browser.py: layout)
    assert page.locator("ol.sequence li[data-bytes]").count() == len(partition_boundaries(method))  # nothing repeats here
    assert page.locator("svg.graph g.node").count() == explorer_graph(method).number_of_nodes()
    box = page.locator("div.overview").bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 30
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert blocked == []
    page.close()


# -- 13.5 and 16: single-node layers, the boundary overlay at once, programs of any size -------------
@pytest.fixture
def view(tmp_path):
    """Start ``edgeinspect view`` on a path; stopped after the test."""
    started = []

    def start(path, *args):
        proc, url, log = me_browser.start_view(path, *args, port=free_port())
        started.append(proc)
        return url

    yield start
    for proc in started:
        me_browser.stop(proc)


def test_single_node_partitions_are_layers_and_boundaries_are_drawn_at_once(view, browser):
    """Issue 13 item 5 on a transformer whose 10 partitions are mostly one node each: 10 layers,
    and the boundary-bytes overlay between them drawn with no click (red pixels on the canvas)."""
    path = DATA / "xnn_transformer.pte"
    url = view(path)
    page, _, errors = me_browser.open_page(browser)
    me_browser.first_render(page, url, errors)
    names = [p.namespace for p in partitions(edgeinspect.load(path).method())]
    assert len(names) == 10 and sorted(me_browser.layers(page)) == sorted(names)
    red = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        png = page.screenshot(clip={"x": 0, "y": 100, "width": 980, "height": 790})
        red = _count_colours(browser, png, {"boundary": "#d62728"}, tolerance=8)
        if red["boundary"] >= 200:
            break
        time.sleep(0.5)
    assert red["boundary"] >= 200, red
    assert errors == []
    page.close()


def test_211_delegates_fold_and_expand(view, browser, tmp_path):
    with edgeinspect.load(DATA / "xnn_many_delegates.pte") as program:
        payload = bytes(program.method().delegates[0].payload())
    path = tmp_path / "delegates_210.pte"
    path.write_bytes(repeated_delegates_pte(210, payload=payload))
    url = view(path)
    page, _, errors = me_browser.open_page(browser)
    me_browser.first_render(page, url, errors)
    assert me_browser.nodes_shown(page) == "423"
    layers = me_browser.layers(page)
    assert "XNNPACK -> CPU(cumsum) x 210" in layers and "XnnpackBackend_7" in layers and "CPU_island_209" in layers
    me_browser.expand_all(page, errors)
    assert errors == []
    page.close()


def test_20000_instructions_render(view, browser, tmp_path):
    path = tmp_path / "chain_20000.pte"
    path.write_bytes(chain_pte(20_000))
    url = view(path)
    page, _, errors = me_browser.open_page(browser)
    me_browser.first_render(page, url, errors, timeout=300)
    assert me_browser.nodes_shown(page) == "20002"
    assert "CPU" in me_browser.layers(page) and len(me_browser.layers(page)) > 400
    # and expands: every layer opened at once is laid out and drawn with no page error (the
    # recursion that overflowed Model Explorer's worker on one flat group of 20,000 is gone)
    me_browser.expand_all(page, errors, timeout=900)
    assert me_browser.nodes_shown(page) == "20002"
    assert errors == []
    page.close()
