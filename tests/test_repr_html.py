"""``_repr_html_`` of Program, Method and TosaGraph, and the notebook views, on real fixtures."""

from __future__ import annotations

import html.parser
from pathlib import Path

import pytest
from ei_testutil import executorch_calls, expected_ratio, tosa_tools_compute_ops

import edgeinspect
from edgeinspect.analysis import coverage, cpu_islands, transitions
from edgeinspect.report import notebook

DATA = Path(__file__).parent / "data"


class _Checker(html.parser.HTMLParser):
    """Collects text and checks that every opened tag (but void ones) is closed in order."""

    VOID = {"br", "img", "hr", "meta", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(doc: str) -> _Checker:
    c = _Checker()
    c.feed(doc)
    c.close()
    assert c.stack == [], f"unclosed tags: {c.stack}"
    assert "script" not in c.tags, "notebook HTML must not carry scripts"
    return c


def cells(doc: str) -> str:
    """Text of the HTML with cells separated by '|'."""
    return "|".join(t.strip() for t in parse(doc).text if t.strip())


@pytest.fixture(scope="module")
def u55_upsample():
    program = edgeinspect.load(DATA / "u55_upsample.pte", tosa=DATA / "u55_upsample.tosa.d")
    yield program
    program.close()


def _expected_coverage(program) -> float:
    """Coverage from the reference readers: the operators of each joined dump as tosa-tools
    counts them, the CPU kernels and delegate calls as executorch's deserializer reads them."""
    cpu, calls = executorch_calls(DATA / "u55_upsample.pte")
    inside = {d.index: tosa_tools_compute_ops((DATA / "u55_upsample.tosa.d" / d.tosa_file).read_bytes()) for d in program.delegates}
    return expected_ratio(sum(inside[k] for k in calls), cpu)


def test_program_html_shows_delegates_metrics_and_islands(u55_upsample):
    doc = u55_upsample._repr_html_()
    text = cells(doc)
    assert "u55_upsample.pte" in text
    m = u55_upsample.method()
    # the metrics table carries the analysis' own numbers
    assert f"transitions|{transitions(m)}" in text
    assert "boundary bytes|19,200" in text
    assert "fragmentation score|0.5" in text
    assert f"coverage|{_expected_coverage(u55_upsample)}" in text
    # every instruction is a row, every delegate too, with its backend and target
    for ins in m.instructions:
        assert ins.name in text
    assert text.count("ethos-u55-128") == len(m.delegates) == 2
    # the island between the delegates names upsample as its cause, not the glue
    (isl,) = cpu_islands(m)
    assert (
        f"#{isl.between[0]} EthosUBackend \u2192 #{isl.between[1]} EthosUBackend|2, 3, 4|aten::upsample_bilinear2d.vec_out|2|2,048|8,192"
        in text
    )


def test_method_html_is_deterministic_and_self_contained(u55_upsample):
    a = u55_upsample.method()._repr_html_()
    b = edgeinspect.load(DATA / "u55_upsample.pte", tosa=DATA / "u55_upsample.tosa.d").method()._repr_html_()
    assert a == b
    assert "http" not in a and "<script" not in a
    # one strip cell per call, coloured by device
    assert a.count('title="#') == sum(1 for _ in u55_upsample.method().calls)


def test_html_escapes_names():
    from edgeinspect.model import Instruction, Method

    calls = (Instruction(0, "kernel", 0, (), "evil::<b>op</b>&", "CPU"),)
    doc = notebook.method_html(Method("forward<x>", (), (), (), calls, (), ()))
    assert "<b>op</b>" not in doc and "&lt;b&gt;op&lt;/b&gt;&amp;" in doc
    assert "evil::<b>op</b>&" in cells(doc)


def test_clean_program_has_no_islands():
    with edgeinspect.load(DATA / "u85_upsample.pte") as program:
        text = cells(program._repr_html_())
    assert "transitions|2" in text and "CPU islands|0" in text and "CPU islands|between" not in text


def test_tosa_graph_html():
    path = sorted((DATA / "u55_upsample.tosa.d").glob("*.tosa"))[0]
    graph = edgeinspect.load(path)
    text = cells(graph._repr_html_())
    assert f"TOSA {graph.version_string}" in text
    real = graph.histogram(include_const=False)
    for op, n in real.items():
        assert f"{op}|{n}" in text
    assert "CONST|" not in text  # constants are counted in the header, not listed
    for t in graph.inputs:
        assert t.name in text


def test_show_recommendations_lists_the_recommender_in_order(u55_upsample):
    recommend = pytest.importorskip("edgeinspect.recommend").recommend
    recs = recommend(u55_upsample)
    view = notebook.show_recommendations(recs)
    text = cells(view._repr_html_())
    first = recs[0].to_dict()
    assert first["operator"] == "aten::upsample_bilinear2d"
    assert (
        f"1|aten::upsample_bilinear2d|1|1|{first['delegates_if_supported']}|{first['transitions_saved']}|{first['bytes_saved']:,}" in text
    )
    assert repr(view).startswith("1. aten::upsample_bilinear2d:")
    # the explain --format json dicts render the same table
    assert notebook.show_recommendations([r.to_dict() for r in recs]).html == view.html


def test_show_views_on_a_clean_program():
    with edgeinspect.load(DATA / "xnn_mlp.pte") as program:
        m = program.method()
        assert repr(notebook.show_islands(m)) == "no CPU islands"
        assert repr(notebook.show_round_trips(m)) == "no round trips"
        assert "transitions: 2" in repr(notebook.show_metrics(m))
        assert repr(notebook.show_recommendations([])) == "no recommendations"


def test_ipython_extension_registers_formatters(u55_upsample):
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    notebook.load_ipython_extension(shell)
    fmt = shell.display_formatter.formatters["text/html"]
    (isl,) = cpu_islands(u55_upsample.method())
    assert "aten::upsample_bilinear2d.vec_out" in fmt(isl)
    assert f"coverage|{_expected_coverage(u55_upsample)}" in cells(fmt(coverage(u55_upsample.method())))
    assert "ExecuTorch program" in fmt(u55_upsample)  # through its own _repr_html_
    recommend = pytest.importorskip("edgeinspect.recommend").recommend
    assert "aten::upsample_bilinear2d" in fmt(recommend(u55_upsample)[0])
