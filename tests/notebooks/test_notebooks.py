"""Execute every notebook in notebooks/ with nbclient, as CI does, and check what they print.

The kernel is ``python3``: jupyter_client starts it with the running interpreter (a
``python`` argv is replaced by ``sys.executable``), so the notebooks run in this environment
without any user-level kernel install. Each cell has a deadline; the Model Explorer notebook
also bounds its own waits and stops its server in its last cell.
"""

from __future__ import annotations

import http.server
import importlib.util
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: Notebook -> modules it needs beyond the core (skipped, not failed, when missing).
NEEDS = {
    "quickstart.ipynb": ("matplotlib",),
    "ethos_u55_vs_u85.ipynb": ("torch", "executorch"),  # its sweep exports in worker processes
    "model_explorer_in_jupyter.ipynb": ("model_explorer", "edgeinspect_explorer"),
}
CELL_TIMEOUT = 180
#: Notebooks committed with their outputs, so they read on GitHub (all of them); any other is committed clean.
WITH_OUTPUTS = {"ethos_u55_vs_u85.ipynb", "quickstart.ipynb", "model_explorer_in_jupyter.ipynb"}
#: No path of the machine that ran a notebook may be committed in its outputs.
MACHINE_PATHS = ("/work/", "/tmp/", "/home/", "/root/", "/Users/", "C:\\")


def test_every_notebook_is_listed():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NEEDS)


def test_notebooks_are_committed_with_their_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        if path.name in WITH_OUTPUTS:
            # Executed in order from a fresh kernel, every cell with its outputs, no machine paths.
            assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), f"{path.name}: run all cells, then commit"
            text = path.read_text(encoding="utf-8")
            assert not [p for p in MACHINE_PATHS if p in text], f"{path.name}: a machine path in the committed outputs"
            assert not [o for c in code for o in c.outputs if o.output_type == "error" or o.get("name") == "stderr"], path.name
            # a cell tagged "live" shows what exists only while its kernel runs (a served iframe): run, not kept
            assert all(not c.outputs for c in code if "live" in c.metadata.get("tags", ())), path.name
            assert [c for c in code if c.outputs], f"{path.name}: committed without outputs"
            continue
        for cell in code:
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: clear outputs before committing"


def run(name: str):
    for module in NEEDS[name]:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{name} needs {module}")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    env_before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
        client.execute()
    finally:
        if env_before is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_before
    return nb


def outputs(nb, mime: str = "text/plain") -> str:
    """All stream text and ``mime`` results of the executed notebook, in order."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", ()):
            if o.output_type == "stream":
                out.append(o.text)
            elif o.output_type in ("execute_result", "display_data") and mime in o.data:
                out.append(o.data[mime])
    return "\n".join(out)


def test_quickstart():
    nb = run("quickstart.ipynb")
    text = outputs(nb)
    html = outputs(nb, "text/html")
    # the program renders through _repr_html_, the recommendations as a table
    assert "ExecuTorch program" in html and "aten::upsample_bilinear2d.vec_out" in html
    # the kernels between the two delegates, and the boundary edges with their bytes
    assert "3 aten::upsample_bilinear2d.vec_out" in text
    assert "bytes crossing: 19200 | boundary_bytes: 19200" in text  # the crossings are the terms of boundary_bytes
    assert "#1 EthosUBackend (ethos-u55-128): 768 B in, 2,048 B out" in text  # per_delegate
    assert "'transitions': 4, 'boundary_bytes': 19200" in text
    assert "aten::upsample_bilinear2d -> 1 delegate(s), 2 transitions and 10240 bytes saved" in text
    # every operator left on the CPU, the splitter and the ones at the edge, glue apart (issue 17)
    assert "aten::upsample_bilinear2d   1 call(s)  between   splits 1" in text
    assert "aten::where                 1 call(s)  trailing  splits 0  Op is not supported on U55." in text
    assert "glue: dequantize_per_tensor x5, quantize_per_tensor x2" in text
    # %load_ext edgeinspect.report.notebook makes a bare CpuIsland display as a table
    (ext_cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%load_ext edgeinspect.report.notebook")]
    assert "aten::upsample_bilinear2d.vec_out" in ext_cell.outputs[0].data["text/html"]
    # the timeline plot was drawn
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", ()))
    # measured time (issue 9): the profile's shares, the latency budget, explain ranked by time
    assert "5 runs, the first 1 a warm-up kept out of medians; execute time 13,500 ticks (median of a run)" in text
    assert "CPU island between instructions 0 and 2 (aten::cumsum.out)" in text and "measured 4,967 ticks" in text
    assert "by the measured time of the islands they cause" in text and "36.3% of execute time" in text
    # a split traced to its module and line through the ETRecord (issue 11), in a child process
    if importlib.util.find_spec("executorch") is not None:
        assert "nn.LocalResponseNorm at features.2 (models.py:389) decomposes into aten::avg_pool3d" in text
        # the committed outputs are this run's (and hold no machine path: test_notebooks_are_committed_without_outputs)
        assert outputs(nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)) == text


def test_ethos_u55_vs_u85():
    """The notebook runs ``edgeinspect sweep`` (two worker processes, the real Arm flow) and
    prints what its committed outputs show, word for word."""
    for module in NEEDS["ethos_u55_vs_u85.ipynb"]:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"ethos_u55_vs_u85.ipynb needs {module}")
    committed = nbformat.read(NOTEBOOKS / "ethos_u55_vs_u85.ipynb", as_version=4)
    nb = run("ethos_u55_vs_u85.ipynb")
    text = outputs(nb)
    assert "8 exports, 0 failed" in text
    for model in ("upsample_cnn ", "where_split  ", "gather_split "):
        assert f"{model} U55: 2 delegates, 4 transitions" in text and "| U85: 1 delegate, 2 transitions" in text
    assert "only on U85:   ['RESIZE']" in text
    assert "nearest" in text and "Compile for Ethos-U85" in text
    assert "counterfactual for U55: 2 transitions, 1 delegate(s), 8,960 boundary bytes" in text
    assert "real U85 export:        2 transitions, 1 delegate(s), 8,960 boundary bytes" in text
    assert "best for squeezenet1_1: ethos-u85-256 - fewest Vela cycles" in text
    # U55 vs U85 in cycles (issue 10): per model, and per delegate beside what nobody predicted
    cycles = dict(
        re.findall(
            r"^(\w+) +U55 +[\d,]+ cycles \( *[\d.]+ us\), U85 +[\d,]+ cycles \( *[\d.]+ us\): U85/U55 ([\d.]+) of the cycles$", text, re.M
        )
    )
    assert sorted(cycles) == ["gather_split", "squeezenet1_1", "upsample_cnn", "where_split"]
    assert float(cycles["upsample_cnn"]) < 1 and float(cycles["squeezenet1_1"]) < 1
    u55_budget = text[text.index("gather_split on ethos-u55-128:") : text.index("gather_split on ethos-u85-256:")]
    assert u55_budget.count("predicted") == 2 and "CPU island between instructions 1 and 5 (aten::index_select.out) unknown" in u55_budget
    # The committed outputs are this run's: exports are deterministic (PYTHONHASHSEED=0, seeded
    # weights). Vela's cycle counts are compared as figures only: another CPU's float rounding can
    # move a calibration scale, and with it the encoded weights Vela costs (tests/export/test_zoo_reexport.py).
    assert _cycles_masked(outputs(nb)) == _cycles_masked(outputs(committed))
    assert not [p for p in MACHINE_PATHS if p in text + outputs(nb, "text/html")]


def _cycles_masked(text: str) -> str:
    return "\n".join(re.sub(r"\d[\d,]*", "N", line) if "cycles" in line.lower() else line for line in text.splitlines())


def _local_only(route) -> None:
    """Let the browser reach only this machine (the page asks for one font from the internet)."""
    if route.request.url.startswith(("http://127.0.0.1:", "http://localhost:")):
        route.continue_()
    else:
        route.abort()


def _page_shows_graph(iframe_html: str) -> dict[str, str]:
    """Serve ``iframe_html`` as a page on http://localhost and on http://127.0.0.1 (the way
    Jupyter serves a notebook), open it in headless Chromium and return, per host name, the
    "N nodes" text Model Explorer shows inside the iframe. Non-local requests are blocked."""
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("Debian chromium is not installed (scripts/test.sh installs it)")
    from edgeinspect.commands.view import free_port

    body = f"<!doctype html><html><body><h1>notebook</h1>{iframe_html}</body></html>".encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    shown = {}
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--headless=new", "--no-sandbox", "--enable-unsafe-swiftshader"])
            try:
                for host in ("localhost", "127.0.0.1"):
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    page.route("**/*", _local_only)
                    said: list[str] = []
                    page.on("console", lambda m, said=said: said.append(f"{m.type}: {m.text}"))
                    page.on("pageerror", lambda e, said=said: said.append(f"page error: {e}"))
                    page.goto(f"http://{host}:{port}/")
                    frame = page.frame_locator("iframe")
                    for attempt in (1, 2):  # one reload: a loaded CI machine can stall WebGL start-up once
                        try:
                            frame.get_by_text("nodes").first.wait_for(timeout=120_000)
                            break
                        except sync_api.TimeoutError:
                            inside = frame.locator("body").inner_text(timeout=5000) if frame.locator("body").count() else "(no body)"
                            if attempt == 2:
                                pytest.fail(f"{host}: the iframe never showed the graph; it shows {inside[:500]!r}; console: {said[-20:]}")
                            page.reload()
                    shown[host] = re.findall(r"\d+ nodes", frame.locator("body").inner_text())[0]
                    page.close()
            finally:
                browser.close()
    finally:
        server.shutdown()
    return shown


def test_model_explorer_in_jupyter():
    """Run the notebook; before its last cell stops the server, open the iframe it displayed in a
    real browser (when Chromium and playwright are there) and check the graph is drawn."""
    for module in NEEDS["model_explorer_in_jupyter.ipynb"]:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"model_explorer_in_jupyter.ipynb needs {module}")
    nb = nbformat.read(NOTEBOOKS / "model_explorer_in_jupyter.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    stop = code[-1]
    assert "shutdown()" in stop.source
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    shown: dict[str, str] | str = "not checked"
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell is stop:
                iframe = [o.data["text/html"] for c in code for o in c.outputs if "<iframe" in o.get("data", {}).get("text/html", "")]
                assert len(iframe) == 1
                try:
                    shown = _page_shows_graph(iframe[0])
                except pytest.skip.Exception as why:
                    shown = f"not checked: {why}"
            client.execute_cell(cell, index)
    text = outputs(nb)
    assert "Model Explorer is up after" in text
    assert "graph forward:" in text and "CPU_island_0" in text
    html_out = outputs(nb, "text/html")
    assert "<iframe" in html_out and "location.hostname" in html_out  # same host name as the notebook page
    assert "server stopped" in text
    if isinstance(shown, dict):
        # the page draws the graph whichever host name the notebook was opened with
        assert set(shown) == {"localhost", "127.0.0.1"} and len(set(shown.values())) == 1, shown
