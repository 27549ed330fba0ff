"""``edgeinspect report``: one self-contained HTML file, checked without a browser.

The browser half (layout at 1280 px, the 20,000-instruction program rendering without a page
error) is tests/report/test_report_browser.py.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from conftest import DATA, zoo_index
from crafted import fragmented_pte, named_pte

import edgeinspect
from edgeinspect.analysis import boundary_bytes, cpu_islands, method_metrics
from edgeinspect.analysis.evidence import Evidence
from edgeinspect.cli import main
from edgeinspect.formats.payloads import PayloadDecoder
from edgeinspect.model.source import Frame, MethodSources, Module, ProgramSources, source_from
from edgeinspect.report.html import METHOD_SECTIONS, Section, partition_boundaries, partition_traffic, report_html
from edgeinspect.report.overlays import explorer_graph, partitions
from edgeinspect.report.sections import GRAPH_NODES, ROWS, score_text
from edgeinspect.report.timeline import STEP_ROWS, compress, partition_key, partition_label

PTE_NAMES = [e["name"] for e in zoo_index()]
ETDUMP = DATA / "etdump"


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


def _method_html(doc: str, name: str) -> str:
    start = doc.index(f'<section class="method" data-method="{name}">')
    return doc[start : doc.index("</section>", start)]


def _section(doc: str, key: str) -> str:
    """One section of the (first) method, line-break opportunities in long names left out."""
    start = doc.index(f'<div class="part-{key}">')
    end = doc.find('<div class="part-', start + 1)
    return doc[start : end if end > 0 else len(doc)].replace("<wbr>", "")


def _xnn_payload() -> bytes:
    """A real XNNPACK payload (one Linear(16, 16)), from the zoo's own export."""
    with edgeinspect.load(DATA / "xnn_many_delegates.pte") as program:
        return bytes(program.method().delegates[0].payload())


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """The programs of issue 13 item 3, synthesized (no torch, nothing committed): 601
    instructions (301 delegates alternating with 300 cumsum) and 20,000 instructions
    (211 delegates alternating with cumsum, then a CPU tail)."""
    d = tmp_path_factory.mktemp("big")
    payload = _xnn_payload()
    out = {}
    for name, n, delegates in (("p601", 601, 301), ("p20k", 20_000, 211)):
        path = d / f"{name}.pte"
        path.write_bytes(fragmented_pte(n, delegates, payload=payload))
        out[name] = path
    out["dir"] = d
    return out


# -- every fixture --------------------------------------------------------------------------
@pytest.mark.parametrize("name", PTE_NAMES)
def test_report_of_every_fixture(name):
    program = edgeinspect.load(DATA / f"{name}.pte", tosa="auto")
    doc = report_html(program)
    _assert_self_contained(doc)
    for m in program.methods:
        part = _method_html(doc, m.name)
        tags = _tags(part)
        parts = partitions(m)
        # Every partition is drawn in the overview (merged marks say how many they hold)...
        assert sum(int(a["data-members"]) for t, a in tags if t == "rect" and a.get("class") == "part") == len(parts)
        # ...and listed once in the sequence, whose steps cover the partitions in order.
        assert [a["data-partition"] for t, a in tags if t == "tr" and "data-partition" in a] == [p.namespace for p in parts]
        steps = [(int(a["data-start"]), int(a["data-period"]), int(a["data-count"])) for t, a in tags if a.get("class") == "step"]
        covered = [k for start, period, count in steps for k in range(start, start + period * count)]
        assert covered == list(range(len(parts)))
        # The bytes on the arrows between steps and in the steps add up to the boundaries.
        bounds = partition_boundaries(m, parts)
        arrows = sum(int(a["data-bytes"]) for t, a in tags if t == "li" and "data-bytes" in a)
        inside = sum(int(x.replace(",", "")) for x in re.findall(r"([\d,]+) B crossing inside", part))
        assert arrows + inside == sum(b.bytes for b in bounds)
        # Delegates: one row per kind, every delegate counted once.
        assert sum(int(a["data-delegates"]) for t, a in tags if t == "tr" and "data-delegates" in a) == len(m.delegates)
        # Islands by cause: each island listed once inside its cause.
        assert _section(part, "islands").count("<li>between #") == len(cpu_islands(m))
        graph = explorer_graph(m)
        nodes = sum(1 for t, a in tags if t == "g" and a.get("class") == "node")
        assert nodes == (graph.number_of_nodes() if graph.number_of_nodes() <= GRAPH_NODES else 0)


@pytest.mark.parametrize("name", PTE_NAMES)
def test_the_summary_says_what_inspect_says(name):
    """Coverage, fragmentation score, target and the metrics, as ``inspect`` computes them."""
    program = edgeinspect.load(DATA / f"{name}.pte", tosa="auto")
    doc = report_html(program, recommendations={m: [] for m in program.method_names})
    for m in program.methods:
        summary = _section(_method_html(doc, m.name), "summary")
        decode = PayloadDecoder()
        metrics = method_metrics(m, decode.ops)
        ratio = metrics["coverage"]["ratio"]
        assert (f"{ratio:.0%} (" if not isinstance(ratio, str) else "unknown: the operators inside delegate(s)") in summary
        assert f"{score_text(metrics['fragmentation_score'])} (0 = one clean delegate" in summary
        assert f"<th>transitions (CPU \u2194 delegate)</th><td>{metrics['transitions']:,}</td>" in summary
        assert f"{metrics['boundary_bytes']:,} (every tensor argument" in summary
        for d in m.delegates:
            assert (d.target or "not named in its compile specs") in summary


@pytest.mark.parametrize("name", PTE_NAMES)
def test_boundaries_follow_partitions(name):
    for m in edgeinspect.load(DATA / f"{name}.pte").methods:
        parts = partitions(m)
        names = ["host", *(p.namespace for p in parts), "host"]
        devices = ["CPU", *(p.device for p in parts), "CPU"]
        expected = [(a, b) for a, b, da, db in zip(names, names[1:], devices, devices[1:], strict=False) if not (da == db == "CPU")]
        bounds = partition_boundaries(m)
        assert [(b.before, b.after) for b in bounds] == expected
        # What enters each partition is what its boundary counts.
        into, _ = partition_traffic(m, parts)
        by_name = {b.after: b.bytes for b in bounds if b.after != "host"}
        assert {p.namespace: into.get(k, 0) for k, p in enumerate(parts) if p.namespace in by_name} == by_name


@pytest.mark.parametrize("name", ["u55_multi", "xnn_cumsum", "tosa_topk", "xnn_mlp", "u55_cnn"])
def test_boundary_bytes_add_up(name):
    # Here every tensor a delegate reads comes from the host and every tensor it writes goes
    # back, so the bytes crossing at the boundaries are the boundary_bytes metric.
    m = edgeinspect.load(DATA / f"{name}.pte").method()
    assert sum(b.bytes for b in partition_boundaries(m)) == boundary_bytes(m)


def test_u55_multi_boundaries():
    m = edgeinspect.load(DATA / "u55_multi.pte").method()
    assert [b.bytes for b in partition_boundaries(m)] == [768, 2048, 8192, 8224, 8192, 8192]
    _, out_of = partition_traffic(m, partitions(m))
    assert out_of == {0: 768, 1: 2048, 2: 8192, 3: 8224, 4: 8192, 5: 8192}  # the last (CPU) hands back to the CPU host


# -- compressing repeats ----------------------------------------------------------------------
def test_compress_finds_repeated_patterns():
    def show(seq):
        return [(s.start, s.period, s.count) for s in compress(seq)]

    assert show("ab" * 150 + "a") == [(0, 2, 150), (300, 1, 1)]
    assert show("xaaaay") == [(0, 1, 1), (1, 1, 4), (5, 1, 1)]
    assert show("abcabcabcd") == [(0, 3, 3), (9, 1, 1)]
    assert show("abcdeabcde") == [
        (0, 1, 1),
        (1, 1, 1),
        (2, 1, 1),
        (3, 1, 1),
        (4, 1, 1),
        (5, 1, 1),
        (6, 1, 1),
        (7, 1, 1),
        (8, 1, 1),
        (9, 1, 1),
    ]
    assert show("") == []


@pytest.mark.parametrize("seed", range(40))
def test_compress_gives_back_the_sequence(seed):
    import random

    rng = random.Random(seed)
    seq = []
    while len(seq) < 300:
        pattern = [rng.choice("abc") for _ in range(rng.randint(1, 5))]
        seq += pattern * rng.randint(1, 6)
    steps = compress(seq)
    rebuilt = []
    for s in steps:
        pattern = seq[s.start : s.start + s.period]
        assert s.count == 1 or all(seq[s.start + k * s.period : s.start + (k + 1) * s.period] == pattern for k in range(s.count))
        rebuilt += pattern * s.count
    assert rebuilt == seq
    assert [s.start for s in steps] == sorted({s.start for s in steps})


def test_partition_labels():
    m = edgeinspect.load(DATA / "u55_multi.pte").method()
    labels = [partition_label(partition_key(m, p)) for p in partitions(m)]
    assert labels == [
        "CPU(q/dq)",
        "EthosUBackend",
        "CPU(upsample_bilinear2d, q/dq)",
        "EthosUBackend",
        "CPU(index_select, q/dq)",
        "EthosUBackend",
        "CPU(q/dq)",
    ]


# -- the big programs -------------------------------------------------------------------------
def test_601_instructions_compress_and_group(big):
    """The 601-instruction program of issue 13: one step "XnnpackBackend -> CPU(cumsum) x300",
    one island row for 300 islands, one delegate row for 301 delegates, no sideways drawing."""
    program = edgeinspect.load(big["p601"])
    doc = report_html(program)
    timeline = _section(doc, "timeline")
    assert re.search(r"XnnpackBackend</span> \u2192 <span[^>]*>CPU\(cumsum\)</span><span class=\"count\">\u00d7300</span>", timeline)
    islands = _section(doc, "islands")
    assert islands.count("<tr><td><code>") == 1 and "<summary>300</summary>" in islands
    assert '<tr data-delegates="301"><td>0\u2013300' in _section(doc, "delegates")
    assert timeline.count("<tr data-partition=") == STEP_ROWS + 1 and f"+{601 - STEP_ROWS - 1:,} more partitions not listed" in timeline
    for t, a in _tags(doc):
        if t == "svg" and a.get("class", "").startswith("bar"):
            assert "width" not in a  # scaled by CSS to the page's width
        if t == "svg" and a.get("class") == "graph":
            pytest.fail("the graph of 601 calls is not drawn")
    assert len(doc.encode()) < 200_000


def test_20000_instructions_stay_small(big, tmp_path):
    """20,000 instructions: under 3 MB (it was 18.8 MB), the instruction table cut and said so."""
    out = tmp_path / "r.html"
    assert main(["report", str(big["p20k"]), "-o", str(out)]) == 0
    doc = out.read_text(encoding="utf-8")
    assert out.stat().st_size < 3_000_000
    _assert_self_contained(doc)
    timeline = _section(doc, "timeline")
    assert "\u00d7210</span>" in timeline and "CPU(sin, cos)" in timeline
    assert f"+{20_000 - ROWS:,} more instructions" in _section(doc, "instructions")
    assert "The graph of 20,000 calls is not drawn here" in doc
    marks = [a for t, a in _tags(timeline) if t == "rect" and a.get("class") == "part"]
    assert sum(int(a["data-members"]) for a in marks) == 422 and len(marks) < 40  # 422 partitions, merged where they touch


def test_20000_instructions_drawn_to_measured_time(big, tmp_path):
    """An ETDump of two runs of the 20,000-instruction program (synthesized): the timeline is
    drawn to time, not to instruction count, the warm-up run is said apart, the file stays small."""
    from crafted_etdump import etdump

    program = edgeinspect.load(big["p20k"])
    m = program.method()

    def ticks(ins, run):  # run 0 is the warm-up: twice as slow
        base = 1000 if ins.kind == "delegate" else 300 if ins.name.startswith("aten::cumsum") else 10
        return base * (2 if run == 0 else 1)

    blocks = []
    for run in range(2):
        events, t = [], 100
        for ins in m.instructions:
            events.append(("DELEGATE_CALL" if ins.kind == "delegate" else "OPERATOR_CALL", 0, ins.index, t, t + ticks(ins, run)))
            t += ticks(ins, run)
        events.append(("Method::execute", -1, 0, 50, t + 50))
        blocks.append(("Execute", events))
    etdp = tmp_path / "p20k.etdp"
    etdp.write_bytes(etdump(blocks))
    out = tmp_path / "r.html"
    assert main(["report", str(big["p20k"]), "--etdump", str(etdp), "-o", str(out)]) == 0
    assert out.stat().st_size < 3_000_000
    doc = out.read_text()
    timeline = _section(doc, "timeline")
    assert "Drawn to measured time" in timeline and "run 1 is warm-up" in timeline
    delegates, cumsum, tail = 211 * 1000, 210 * 300, (20_000 - 421) * 10
    assert f"{delegates + cumsum + tail:,} ticks (sum of medians)" in timeline
    tail_mark = _widths(doc)["CPU_output"]
    assert tail_mark == pytest.approx(tail / (delegates + cumsum + tail) * 1000, abs=0.01)  # by count it would be 979
    assert "×210</span>" in timeline and f"{210 * (1000 + 300):,} ticks" in timeline  # the repeated step's time
    time = _section(doc, "time")
    assert "warm-up" in time and f"{2 * (delegates + cumsum + tail) + 100:,}" in time  # the warm-up run's execute, apart


def test_report_is_proportional_for_many_distinct_partitions(tmp_path):
    """A program that does not compress (every island its own operator) is cut at stated
    numbers of steps and rows, not drawn whole."""
    from crafted import alternating_pte

    path = tmp_path / "distinct.pte"
    path.write_bytes(alternating_pte(3000))
    doc = report_html(edgeinspect.load(path), recommendations={"forward": []})
    assert "more steps (" in doc and "more causes not listed" in doc
    assert len(doc.encode()) < 60 * path.stat().st_size


# -- side files: --etdump, --estimate, sources ---------------------------------------------------
def _widths(doc: str) -> dict[str, float]:
    timeline = _section(doc, "timeline")
    return {a["data-partition"]: float(a["width"]) for t, a in _tags(timeline) if t == "rect" and a.get("class") == "part"}


def test_timeline_drawn_to_measured_time(tmp_path):
    program = DATA / "xnn_many_delegates.pte"
    etdump = ETDUMP / "xnn_many_delegates.etdp"
    evidence = edgeinspect.gather(program, etdump=etdump)
    profile = evidence.profile("forward")
    m = evidence.program.method()
    doc = report_html(evidence)
    timeline = _section(doc, "timeline")
    assert "Drawn to measured time" in timeline and "run 1 is warm-up" in timeline and "ticks (sum of medians)" in timeline
    parts = partitions(m)
    ticks = {p.namespace: sum(profile.instruction(i).timing.median_ticks for i in p.instructions) for p in parts}
    total = sum(ticks.values())
    widths = _widths(doc)
    for name, w in widths.items():
        assert w == pytest.approx(max(ticks[name] / total * 1000, 0.8), abs=0.01), name
    # Not to instruction count: with counts each one-instruction delegate is 1/24 wide.
    by_count = _widths(report_html(evidence.program))
    assert by_count["XnnpackBackend_0"] == pytest.approx(1000 / len(m.instructions), abs=0.01)
    assert widths["XnnpackBackend_0"] != pytest.approx(by_count["XnnpackBackend_0"], abs=1)
    # Time per node: every kernel and delegate node of the graph carries its median ticks.
    graph = _section(doc, "graph")
    notes = re.findall(r'font-size="9"[^>]*>([\d,.]+) ticks<', graph)
    kernels = [ins for ins in m.instructions if ins.kind == "kernel"]
    assert notes == [f"{profile.instruction(ins.index).timing.median_ticks:,}" for ins in kernels]
    # Nodes inlined from a delegate say the time of their call, which is measured whole.
    first = profile.instruction(0).timing.median_ticks
    assert f"in delegate call #0: median {first:,} ticks for the whole call" in graph
    # Per partition: the members list each partition's measured time, in ticks.
    assert "<th>ticks</th>" in timeline


def test_measured_time_section(tmp_path):
    out = tmp_path / "r.html"
    code = main(["report", str(DATA / "u55_multi.pte"), "--etdump", str(ETDUMP / "u55_multi_synthetic.etdp"), "-o", str(out)])
    assert code == 0
    doc = out.read_text()
    profile = edgeinspect.gather(DATA / "u55_multi.pte", etdump=ETDUMP / "u55_multi_synthetic.etdp").profile("forward")
    time = _section(doc, "time")
    assert "run 1 is warm-up: shown apart" in time and "nanoseconds on a host run" in time
    assert f"{profile.execute.warmup_ticks:,}" in time  # the warm-up said apart
    assert time.count("<tr><td>#") >= len(profile.delegate_calls)
    for k, share in profile.shares.items():
        if share is not None:
            assert f"{share:.1%}" in time, k
    budget = _section(doc, "budget")
    assert "Measured (ticks, medians)" in budget and "Predicted (Vela" not in budget  # no --estimate: nothing predicted
    assert "no Vela estimate (--estimate)" in budget


@pytest.fixture
def private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _needs_vela():
    from edgeinspect.errors import UsageError
    from edgeinspect.estimate import find_vela

    try:
        find_vela()
    except UsageError as err:  # pragma: no cover - the export extra installs it
        pytest.skip(str(err))


def test_estimate_budget_and_tosa_views(tmp_path, private_cache):
    """--estimate: cycles per delegate and per TOSA operator, the heaviest layers, and the
    latency budget with every figure labelled (predicted NPU time; CPU measured or unknown)."""
    _needs_vela()
    out = tmp_path / "r.html"
    assert main(["report", str(DATA / "u55_upsample.pte"), "--estimate", "-o", str(out)]) == 0
    doc = out.read_text()
    evidence = edgeinspect.gather(DATA / "u55_upsample.pte", estimate=True)
    estimates = evidence.method_estimates("forward")
    est = _section(doc, "estimate")
    for d, found in estimates.items():
        e = found.estimate
        assert f"<td class=num>{e.cycles_total:,}</td><td class=num>{e.cycles_npu:,}</td><td class=num>{e.nn_macs:,}</td>" in est
        view = est[est.index(f"delegate {d}: cycles per TOSA operator") :]
        view = view[: view.index("</details>")]
        for x in e.layers:
            assert f"<td class=num>{x.cycles:,}</td>" in view
            if x.tosa_op_index is not None:
                assert f"#{x.tosa_op_index} {x.tosa_op}" in view
    heaviest = max((x for f in estimates.values() for x in f.estimate.layers), key=lambda x: x.cycles)
    assert f"<td class=num>{heaviest.cycles:,}</td>" in est[est.index("Heaviest layers") :]
    budget = _section(doc, "budget")
    assert "Predicted (Vela, seconds" in budget and "unknown: no --etdump" in budget
    assert budget.count("<td>predicted</td>") == len(estimates)
    assert "<td>unknown</td>" in budget and "Measured (ticks" not in budget
    # The budget as a bar: one green segment per delegate, to scale with Vela's predicted time.
    bar = budget[budget.index("Predicted (Vela, seconds") :]
    bar = bar[: bar.index("</svg>")]
    segment = r'data-key="([^"]+)" x="[^"]+" y="1" width="([^"]+)" height="20" fill="#2ca02c"'
    green = [(float(w), key) for key, w in re.findall(segment, bar)]
    assert len(green) == len(estimates)
    times = [found.estimate.inference_time_s for _, found in sorted(estimates.items())]
    assert green[0][0] / green[1][0] == pytest.approx(times[0] / times[1], rel=0.01)
    # Cycles per TOSA operator on the graph's nodes, labelled predicted.
    graph = _section(doc, "graph")
    layer = next(x for x in estimates[0].estimate.layers if x.tosa_op_index is not None)
    assert f"{layer.cycles:,} cycles (predicted by Vela)" in graph or "cycles (predicted by Vela)" in graph


def _budget_rows(section: str) -> list[list[str]]:
    """The cells of the budget table's rows (tags stripped, entities undone)."""
    table = section[section.index('<table class="budget">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table)[1:]  # the header row left out
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in rows]


def test_budget_section_follows_latency_budget():
    """The report's budget is analysis.latency_budget's: one row per line, in its order (delegate
    calls, islands and glue by instruction, then the runtime),
    each with its figures and their bases; a figure only where a side file gives one."""
    from edgeinspect.analysis import latency_budget
    from edgeinspect.report.profile import ticks_text

    evidence = edgeinspect.gather(DATA / "u55_multi.pte", etdump=ETDUMP / "u55_multi_synthetic.etdp")
    m = evidence.program.method()
    budget = latency_budget(m, evidence)
    section = _section(report_html(evidence), "budget")
    rows = _budget_rows(section)
    assert [r[0] for r in rows] == [line.label for line in budget.lines]
    assert [r[1] for r in rows] == [line.part for line in budget.lines]
    assert [r[1] for r in rows] == ["glue", "delegate", "cpu_island", "delegate", "cpu_island", "delegate", "glue", "runtime"]
    for r, line in zip(rows, budget.lines, strict=True):
        ins = line.instructions
        assert r[2] == ((f"#{ins[0]}" + (f"\u2013#{ins[-1]}" if len(ins) > 1 else "") + f" ({len(ins):,})") if ins else "-")
        measured = line.figure("measured", "ticks")
        assert measured is not None and measured.value is not None  # every line ran in the synthetic ETDump
        assert r[4].startswith(ticks_text(measured.value))
        if line.glue is not None:
            assert r[4].endswith(f"(glue {ticks_text(line.glue.value)})")
        assert r[3] == "-" and r[5] in ("measured", "measured+unknown")
        unknown = [f.source for f in line.figures if f.basis == "unknown"]
        assert r[6] == "; ".join(unknown)
        if line.part == "delegate":
            assert unknown == ["not predicted: no Vela estimate (--estimate)"]
    boundary, cpu, direct = budget.traffic
    assert boundary.value == boundary_bytes(m) and f"<b>{boundary.value:,} B</b>" in section
    assert f"{cpu.value:,} B between the CPU and a delegate, {direct.value:,} B handed straight" in section
    # Nothing measured or predicted: no section; measured only: no predicted bar.
    assert 'class="part-budget"' not in report_html(Evidence(evidence.program))
    assert "Measured (ticks, medians)" in section and "Predicted (Vela" not in section


def test_estimate_and_etdump_together(tmp_path, private_cache):
    _needs_vela()
    out = tmp_path / "r.html"
    argv = ["report", str(DATA / "u55_multi.pte"), "--estimate", "--etdump", str(ETDUMP / "u55_multi_synthetic.etdp"), "-o", str(out)]
    assert main(argv) == 0
    budget = _section(out.read_text(), "budget")
    assert budget.count("<td>predicted+measured</td>") == 3  # each delegate: Vela's time and the ETDump's ticks
    assert "<td>unknown</td>" not in budget and "Predicted (Vela" in budget and "Measured (ticks" in budget


def _with_sources(program, sources):
    return Evidence(program, sources=sources)


def test_source_column_from_sources():
    """A source per instruction (module path, module type label, file:line), in the instruction
    table, the islands, the recommendations and the graph's tooltips."""
    program = edgeinspect.load(DATA / "u85_lrn.pte", tosa="auto")
    m = program.method()
    pool = next(i for i in m.instructions if i.name.startswith("aten::avg_pool3d"))
    lrn = source_from(
        [Frame("model.py", 31, "forward", "x = self.features(x)")],
        [
            Module("", "model.Net"),
            Module("features", "torch.nn.modules.container.Sequential"),
            Module("features.2", "torch.nn.modules.normalization.LocalResponseNorm"),
        ],
    )
    doc = report_html(_with_sources(program, ProgramSources("etrecord", {"forward": MethodSources("forward", {pool.index: lrn})})))
    cell = '<code>features.2</code> nn.LocalResponseNorm <span class="loc">model.py:31</span>'
    assert cell in _section(doc, "instructions")
    assert cell in _section(doc, "islands")
    assert "nn.LocalResponseNorm at features.2 (model.py:31) decomposes into aten::avg_pool3d" in _section(doc, "recommendations")
    assert "features.2 nn.LocalResponseNorm model.py:31" in _section(doc, "graph")
    assert "Sources (module, file and line) from the ETRecord" in doc


def test_source_column_from_the_programs_own_frames(tmp_path):
    out = tmp_path / "r.html"
    assert main(["report", str(DATA / "cpu_lrn_stacktrace.pte"), "-o", str(out)]) == 0
    doc = out.read_text()
    sources = edgeinspect.gather(DATA / "cpu_lrn_stacktrace.pte").method_sources("forward")
    table = _section(doc, "instructions")
    assert "<th>source</th>" in table and "from the program's own stack traces" in doc
    for i, src in sources.instructions.items():
        if src.location:
            assert src.location in table, i
    without = report_html(edgeinspect.load(DATA / "u55_multi.pte"))
    assert "<th>source</th>" not in without and "no provenance" in without


@pytest.mark.needs_export
def test_source_column_from_an_etrecord(tmp_path):
    out = tmp_path / "r.html"
    assert main(["report", str(DATA / "u85_lrn.pte"), "--etrecord", str(DATA / "u85_lrn.etrecord"), "-o", str(out)]) == 0
    doc = out.read_text()
    assert "<code>features.2</code> nn.LocalResponseNorm" in _section(doc, "instructions")
    assert "nn.LocalResponseNorm at features.2" in _section(doc, "recommendations")


# -- recommendations and delegates -----------------------------------------------------------
def test_recommendations_show_every_fix_with_the_alternative_target():
    program = edgeinspect.load(DATA / "u55_multi.pte")
    recs = _section(report_html(program), "recommendations")
    assert "aten::index_select" in recs and "aten::upsample_bilinear2d" in recs
    assert recs.count("<b>alternative target</b> <code>target-ethos-u85</code>") == 2
    assert "<b>rewrite</b> <code>gather-as-conv</code>" in recs


def test_recommendations_given_are_escaped():
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
    assert "aten::upsample_bilinear2d" in _section(doc, "islands")  # island 0's cause


def test_delegates_table_shows_payload_operators_and_dump():
    program = edgeinspect.load(DATA / "u55_multi.pte", tosa="auto")
    table = _section(report_html(program), "delegates")
    for d in program.method().delegates:
        assert d.tosa_file in table.replace("<wbr>", "")
        assert f"{d.payload_size:,} B (" in table
    assert "(from the joined dump)" in table and "pooling.average" in table and "scratch 17,152 B" in table
    bare = _section(report_html(edgeinspect.load(DATA / "u55_multi.pte")), "delegates")
    assert "Vela output holds no TOSA" in bare


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


def test_sections_are_a_list_to_extend():
    program = edgeinspect.load(DATA / "xnn_cumsum.pte")
    extra = Section("fallbacks", "CPU fallbacks", lambda v: f"<p>{len(v.islands)} island(s)</p>")
    doc = report_html(program, sections=[*METHOD_SECTIONS, extra])
    assert '<div class="part-fallbacks"><h3>CPU fallbacks</h3><p>1 island(s)</p></div>' in doc
    assert [s.key for s in METHOD_SECTIONS][:2] == ["summary", "timeline"]


# -- the command --------------------------------------------------------------------------------
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


def test_side_files_are_taken_like_every_command(tmp_path, capsys):
    out = tmp_path / "r.html"
    (tosa,) = sorted((DATA / "u85_transformer.tosa.d").glob("*.tosa"))
    assert main(["report", str(tosa), "--etdump", str(ETDUMP / "xnn_cumsum.etdp"), "-o", str(out)]) == 2
    assert "--etdump goes with the .pte program" in capsys.readouterr().err
    assert main(["report", str(DATA / "xnn_cumsum.pte"), "--no-cache", "-o", str(out)]) == 2
    assert "--no-cache goes with --estimate" in capsys.readouterr().err
    # An ETDump of another program is a usage error that says so.
    assert main(["report", str(DATA / "xnn_mlp.pte"), "--etdump", str(ETDUMP / "xnn_cumsum.etdp"), "-o", str(out)]) == 2
    capsys.readouterr()
    # Never over an input: not the ETDump, not a joined dump.
    etdp = tmp_path / "run.etdp"
    etdp.write_bytes((ETDUMP / "xnn_cumsum.etdp").read_bytes())
    assert main(["report", str(DATA / "xnn_cumsum.pte"), "--etdump", str(etdp), "-o", str(etdp)]) == 2
    assert etdp.read_bytes() == (ETDUMP / "xnn_cumsum.etdp").read_bytes()
    assert not out.exists()


def test_hostile_names_are_escaped_and_abbreviated(tmp_path):
    evil = "evil<script>\x1b[2J" + "x" * 5000
    path = tmp_path / "evil.pte"
    path.write_bytes(named_pte(operator=evil, backend="Xnn<b>" + "y" * 3000, method="fwd\n::error::", islands=30))
    doc = report_html(edgeinspect.load(path))
    assert "<script" not in doc and "\x1b" not in doc and "Xnn<b>" not in doc and "Xnn&lt;b&gt;" in doc
    assert "x" * 250 not in doc.replace("<wbr>", "") and re.search(r"\(50\d\d chars\)", doc)
    assert "\\x1b[2J" in doc
