"""Execute every notebook in notebooks/ with nbclient, as CI does, and check what they print.

The kernel is ``python3``: jupyter_client starts it with the running interpreter (a
``python`` argv is replaced by ``sys.executable``), so the notebooks run in this environment
without any user-level kernel install. Each cell has a deadline; the Model Explorer notebook
also bounds its own waits and stops its server in its last cell.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: Notebook -> modules it needs beyond the core (skipped, not failed, when missing).
NEEDS = {
    "quickstart.ipynb": ("matplotlib",),
    "ethos_u55_vs_u85.ipynb": (),
    "model_explorer_in_jupyter.ipynb": ("model_explorer", "edgeinspect_explorer", "werkzeug"),
}
CELL_TIMEOUT = 180


def test_every_notebook_is_listed():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NEEDS)


def test_notebooks_are_committed_without_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
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
    assert "bytes crossing:" in text
    assert "'transitions': 4, 'boundary_bytes': 19200" in text
    assert "aten::upsample_bilinear2d -> 1 delegate(s), 2 transitions and 10240 bytes saved" in text
    # %load_ext edgeinspect.report.notebook makes a bare CpuIsland display as a table
    (ext_cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%load_ext edgeinspect.report.notebook")]
    assert "aten::upsample_bilinear2d.vec_out" in ext_cell.outputs[0].data["text/html"]
    # the timeline plot was drawn
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", ()))


def test_ethos_u55_vs_u85():
    nb = run("ethos_u55_vs_u85.ipynb")
    text = outputs(nb)
    assert "upsample  U55: 2 delegates, 4 transitions" in text
    assert "only on U85:   ['RESIZE']" in text
    assert "nearest" in text and "ethos-u85" in text.lower()
    assert "counterfactual for U55: 2 transitions, 1 delegate(s), 8,960 boundary bytes" in text
    assert "real U85 export:        2 transitions, 1 delegate(s), 8,960 boundary bytes" in text


def test_model_explorer_in_jupyter():
    nb = run("model_explorer_in_jupyter.ipynb")
    text = outputs(nb)
    assert "Model Explorer is up after" in text
    assert "graph forward:" in text and "CPU_island_0" in text
    shown = outputs(nb, "text/html")
    assert "<iframe" in shown and "location.hostname" in shown  # same host name as the notebook page
    assert "server stopped" in text
