"""Issue 17 item 4: the fallback table beside the recommendations in the HTML report, and the
Model Explorer overlay that marks every fallback, not only the splitters."""

from __future__ import annotations

import re

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.recommend.fallbacks import fallbacks
from edgeinspect.report.html import report_html
from edgeinspect.report.overlays import FALLBACK_COLOR, FALLBACK_SPLITTER_COLOR, explorer_graph, node_id, overlays


@pytest.mark.parametrize("name", ["u55_where_edge", "u55_multi", "u55_sort_only", "xnn_cond", "u55_cnn"])
def test_report_lists_every_fallback(name):
    program = edgeinspect.load(DATA / f"{name}.pte")
    html = report_html(program)
    expected = [(f.operator, f.position) for f in fallbacks(program)]
    rows = re.findall(r'<tr data-operator="([^"]+)" data-position="([^"]+)">', html)
    assert rows == expected
    assert "<h3>CPU fallbacks</h3>" in html
    if not expected:
        assert "No CPU fallbacks" in html
    assert ('class="glue"' in html) == any(i.kind == "kernel" and "quantize" in i.name for i in program.method().calls)


@pytest.mark.parametrize("name", ["u55_where_edge", "u55_multi", "xnn_many_delegates", "u55_cnn"])
def test_fallback_overlay_marks_every_fallback_and_nothing_else(name):
    program = edgeinspect.load(DATA / f"{name}.pte")
    m = program.method()
    doc = overlays(program)["fallback"]["forward"]["results"]
    graph = explorer_graph(m)
    by_index = {d.get("index"): k for k, d in graph.nodes(data=True) if d.get("kind") == "kernel" and d.get("partition") is None}
    want = {}
    for f in fallbacks(program):
        for i in f.instructions:
            want[node_id(by_index[i])] = FALLBACK_SPLITTER_COLOR if f.splits else FALLBACK_COLOR
    assert {k: v["bgColor"] for k, v in doc.items()} == want
    assert all(v["value"].startswith("fallback: ") for v in doc.values())
