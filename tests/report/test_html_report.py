"""``edgeinspect report``: one self-contained HTML file, checked without a browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from conftest import DATA, zoo_index

import edgeinspect
from edgeinspect.analysis import boundary_bytes, cpu_islands
from edgeinspect.cli import main
from edgeinspect.report.html import partition_boundaries, report_html
from edgeinspect.report.overlays import explorer_graph, partitions

PTE_NAMES = [e["name"] for e in zoo_index()]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(doc: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(doc)
    return parser.tags


def _assert_self_contained(doc: str) -> None:
    tags = _tags(doc)
    names = {t for t, _ in tags}
    assert "script" not in names and "link" not in names and "img" not in names and "iframe" not in names
    for _, attrs in tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            assert value is None or value.startswith("#"), (key, value)
    assert not re.search(r"url\((?!#)", doc), "CSS must not load anything"
    assert "@import" not in doc


@pytest.mark.parametrize("name", PTE_NAMES)
def test_report_of_every_fixture(name):
    program = edgeinspect.load(DATA / f"{name}.pte")
    doc = report_html(program, recommendations={m: [] for m in program.method_names})
    _assert_self_contained(doc)
    tags = _tags(doc)
    for m in program.methods:
        assert f'data-method="{m.name}"' in doc
    calls = sum(1 for m in program.methods for ins in m.instructions if ins.is_call)
    assert sum(1 for t, a in tags if t == "g" and a.get("class") == "call") == calls
    nodes = sum(explorer_graph(m).number_of_nodes() for m in program.methods)
    assert sum(1 for t, a in tags if t == "g" and a.get("class") == "node") == nodes
    bounds = sum(len(partition_boundaries(m)) for m in program.methods)
    assert sum(1 for t, a in tags if t == "g" and a.get("class") == "boundary") == bounds
    islands = sum(len(cpu_islands(m)) for m in program.methods)
    assert doc.count("<tr><td>") >= islands


@pytest.mark.parametrize("name", PTE_NAMES)
def test_boundaries_follow_partitions(name):
    for m in edgeinspect.load(DATA / f"{name}.pte").methods:
        parts = partitions(m)
        names = ["host", *(p.namespace for p in parts), "host"]
        devices = ["CPU", *(p.device for p in parts), "CPU"]
        expected = [(a, b) for a, b, da, db in zip(names, names[1:], devices, devices[1:], strict=False) if not (da == db == "CPU")]
        assert [(b.before, b.after) for b in partition_boundaries(m)] == expected


@pytest.mark.parametrize("name", ["u55_multi", "xnn_cumsum", "tosa_topk", "xnn_mlp", "u55_cnn"])
def test_boundary_bytes_add_up(name):
    # Here every tensor a delegate reads comes from the host and every tensor it writes goes
    # back, so the bytes crossing at the boundaries are the boundary_bytes metric.
    m = edgeinspect.load(DATA / f"{name}.pte").method()
    assert sum(b.bytes for b in partition_boundaries(m)) == boundary_bytes(m)


def test_u55_multi_boundaries():
    m = edgeinspect.load(DATA / "u55_multi.pte").method()
    assert [b.bytes for b in partition_boundaries(m)] == [768, 2048, 8192, 8224, 8192, 8192]


def test_recommendations_and_islands_are_in_the_report():
    program = edgeinspect.load(DATA / "u55_multi.pte")
    recs = {
        "forward": [
            {
                "operator": "aten::index_select",
                "instances": 1,
                "splits": 1,
                "transitions_saved": 2,
                "bytes_saved": 16416,
                "reason": "no GATHER <on U55>",
                "fix": "1x1 conv",
            }
        ]
    }
    doc = report_html(program, recommendations=recs)
    assert "aten::index_select" in doc and "16,416" in doc
    assert "no GATHER &lt;on U55&gt;" in doc  # escaped
    assert "aten::upsample_bilinear2d.vec_out" in doc  # island 0's cause


def test_tosa_report_folds_consts(tmp_path):
    (path,) = sorted((DATA / "u85_transformer.tosa.d").glob("*.tosa"))
    out = tmp_path / "t.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    doc = out.read_text()
    _assert_self_contained(doc)
    tosa = edgeinspect.load(path)
    computing = sum(1 for _, b in tosa.blocks for op in b.operators if not op.is_const)
    io = sum(len(b.inputs) + len(b.outputs) for _, b in tosa.blocks)
    assert doc.count('<g class="node"') == computing + io
    assert ">CONST<" not in doc


def test_cli_writes_one_file(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(DATA / "xnn_cumsum.pte"), "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert list(tmp_path.iterdir()) == [out]
    assert main(["report", str(tmp_path / "nope.pte"), "-o", str(out)]) == 2


def test_a_delegate_drawn_as_one_node_says_why():
    """An Ethos-U delegate without its dumps: the graph note says what is true (Vela output
    holds no TOSA, and what to pass), not that something is missing from the build."""
    doc = report_html(edgeinspect.load(DATA / "u55_where.pte"))  # no .tosa joined
    note = re.search(r'<p class="muted">([^<]*) Red edges cross devices.</p>', doc).group(1)
    assert "EthosUBackend #0 is one node: operators unknown: Vela output holds no TOSA" in note
    assert "EthosUBackend #1 is one node" in note and "--tosa" in note
    assert "build" not in doc
    joined = report_html(edgeinspect.load(DATA / "u55_where.pte", tosa=DATA / "u55_where.tosa.d"))
    assert "is one node" not in joined and "of them inside delegates" in joined
