"""The layer hierarchy of the served graphs (issue 16 items 2-4, issue 13 item 5): any size fits
Model Explorer's layout, repetition is folded, evidence is summed onto layers, and the payload
stays small. Programs are synthesized without torch (tests/fuzz/crafted.py)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import DATA
from crafted import build_pte, chain_pte, repeated_delegates_pte, tensor
from edgeinspect_explorer.graphs import convert_json, group_id, pte_graphs
from edgeinspect_explorer.layers import LAYER_LIMIT, component

import edgeinspect
from edgeinspect.analysis.partitions import partitions

#: Model Explorer splits a layer of more than this many children with a recursive walk.
MODEL_EXPLORER_THRESHOLD = 1000


def _children(graph) -> Counter:
    """Namespace -> number of direct children (nodes and layers), the root included."""
    count: Counter = Counter()
    layers = {ns for ns in graph["groupNodeAttributes"] if ns}
    for n in graph["nodes"]:
        count[n["namespace"]] += 1
    for ns in layers:
        count[ns.rpartition("/")[0]] += 1
    return count


def _load(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return edgeinspect.load(path)


@pytest.mark.parametrize("n", [20_000, 100_000])
def test_any_size_nests_into_small_layers(tmp_path, n):
    program = _load(tmp_path, "chain.pte", chain_pte(n))
    body, _ = convert_json(program, str(tmp_path / "chain.pte"))
    (graph,) = json.loads(body)["graphCollections"][0]["graphs"]
    assert len(graph["nodes"]) == n + 2
    children = _children(graph)
    assert max(children.values()) <= LAYER_LIMIT < MODEL_EXPLORER_THRESHOLD
    # Every layer a node names is described, and every block is named by what it holds.
    layers = set(graph["groupNodeAttributes"])
    assert {x["namespace"] for x in graph["nodes"]} <= layers
    deepest = max((x for x in graph["nodes"] if x["namespace"]), key=lambda x: x["namespace"].count("/"))
    assert deepest["namespace"].startswith("CPU/#") and deepest["namespace"].endswith("sin, cos")
    assert deepest["namespace"].count("/") <= 3
    block = graph["groupNodeAttributes"][deepest["namespace"]]
    assert block["nodes"] == str(LAYER_LIMIT) and "-" in block["instructions"]


def test_payload_of_20000_instructions(tmp_path):
    """The convert answer for 20,000 instructions: 19.4 MB before (38.7 MB for pte-adapter)."""
    program = _load(tmp_path, "chain.pte", chain_pte(20_000))
    body, _ = convert_json(program, str(tmp_path / "chain.pte"))
    assert len(body) < 10_000_000
    (graph,) = json.loads(body)["graphCollections"][0]["graphs"]
    # Past a few thousand nodes, edges are not labelled (unreadable, and most of the layout's cost).
    meta = graph["nodes"][5]["outputsMetadata"][0]["attrs"]
    assert {kv["key"] for kv in meta} == {"__tensor_tag", "shape", "bytes"}


@pytest.fixture(scope="module")
def xnn_payload() -> bytes:
    with edgeinspect.load(DATA / "xnn_many_delegates.pte") as program:
        return bytes(program.method().delegates[0].payload())


def test_repetition_is_folded_with_its_members(tmp_path, xnn_payload):
    program = _load(tmp_path, "rep.pte", repeated_delegates_pte(210, payload=xnn_payload))
    (graph,) = pte_graphs(program)
    tops = [ns for ns in graph["groupNodeAttributes"] if ns and "/" not in ns]
    assert tops == ["XNNPACK -> CPU(cumsum) x 210", "XnnpackBackend_210"]
    fold = graph["groupNodeAttributes"]["XNNPACK -> CPU(cumsum) x 210"]
    assert fold["repetitions"] == "210" and fold["nodes"] == "420"
    assert fold["partitions"] == "XnnpackBackend_0 .. CPU_island_209"
    # What the overlays mark inside, summed onto the fold: the device mix, the islands and their cause.
    assert fold["devices"] == "XnnpackBackend x210, CPU x210"
    assert fold["cpu_islands"] == "210 (caused by aten::cumsum.out x210)"
    # The members are inside: each repetition holds its two partitions, their nodes in them.
    by_name = {ns.rsplit("/", 1)[-1]: ns for ns in graph["groupNodeAttributes"] if ns}
    assert all(f"XnnpackBackend_{k}" in by_name and f"CPU_island_{k}" in by_name for k in range(210))
    repeat = by_name["XnnpackBackend_7 .. CPU_island_7"]
    assert by_name["CPU_island_7"] == f"{repeat}/CPU_island_7"
    nodes = {n["id"]: n["namespace"] for n in graph["nodes"]}
    assert nodes["15"] == by_name["CPU_island_7"]  # instruction 15: the cumsum after delegate 7
    assert max(_children(graph).values()) <= LAYER_LIMIT


def test_short_programs_are_not_folded_and_every_partition_is_a_layer():
    """Issue 13 item 5: single-node partitions are layers too (the page keeps them, see the browser test)."""
    program = edgeinspect.load(DATA / "xnn_transformer.pte")
    (graph,) = pte_graphs(program)
    names = [p.namespace for p in partitions(program.method())]
    assert len(names) == 10 and "XnnpackBackend_0" in names and "CPU_island_0" in names
    assert [ns for ns in graph["groupNodeAttributes"] if ns] == names


def test_layer_names_cannot_nest_or_run_away():
    """Names from the file become layer names: a ``/`` would make a layer of its own."""
    assert component("evil/../backend") == "evil∕..∕backend"
    assert component("a" * 10_000).endswith("(10000 chars)")
    data = build_pte(
        values=[tensor(1, 4) for _ in range(4)],
        instructions=[("delegate", 0, (0, 1)), ("kernel", 0, (1, 2, 2)), ("delegate", 1, (2, 3))],
        operators=[("aten::x/y", "out")],
        delegates=[("Evil/Backend\x1b[2J", b"", [])] * 2,
        inputs=(0,),
        outputs=(3,),
    )
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/evil.pte"
        with open(path, "wb") as f:
            f.write(data)
        (graph,) = pte_graphs(edgeinspect.load(path))
    layers = [ns for ns in graph["groupNodeAttributes"] if ns]
    assert all("/" not in ns and "\x1b" not in ns for ns in layers), layers


def test_time_is_summed_onto_partitions_and_folds():
    """Issue 9.5 / 16.3: measured time per node and per partition, summed onto the folded layer."""
    evidence = edgeinspect.gather(DATA / "xnn_many_delegates.pte", etdump=DATA / "etdump" / "xnn_many_delegates.etdp")
    profile = evidence.profile("forward")
    (graph,) = pte_graphs(evidence.program, evidence=evidence)
    attrs = graph["groupNodeAttributes"]
    fold = next(ns for ns in attrs if ns.startswith("XNNPACK -> CPU(cumsum) x "))
    per_call = {p.index: p.timing.median_ticks for p in profile.instructions}
    by_name = {ns.rsplit("/", 1)[-1]: a for ns, a in attrs.items() if ns}

    def ticks(text: str) -> float:
        return float(text.split()[0].replace(",", ""))

    # A delegate layer: its call's median; a CPU island: its kernels'; the fold: all of them.
    assert ticks(by_name["XnnpackBackend_3"]["time"]) == pytest.approx(per_call[6], abs=0.5)
    assert ticks(by_name["CPU_island_3"]["time"]) == pytest.approx(per_call[7], abs=0.5)
    assert fold == "XNNPACK -> CPU(cumsum) x 12"  # all 24 partitions (the last cumsum is CPU_output, the same pattern)
    assert ticks(attrs[fold]["time"]) == pytest.approx(sum(per_call.values()), rel=1e-6, abs=1)
    assert f" {profile.unit} (median per run, " in attrs[fold]["time"] and "% of execute" in attrs[fold]["time"]
    kernel = next(n for n in graph["nodes"] if n["id"] == "7")
    assert any(kv["key"] == "time" for kv in kernel["attrs"])


def test_evidence_overlays_are_numeric_and_registered():
    from edgeinspect.report.overlays import OVERLAYS, overlays

    evidence = edgeinspect.gather(DATA / "xnn_many_delegates.pte", etdump=DATA / "etdump" / "xnn_many_delegates.etdp")
    docs = overlays(evidence.program, evidence=evidence)
    assert list(docs) == ["device", "island", "recommendation", "fallback", "time"]
    assert set(OVERLAYS) >= {"device", "island", "recommendation", "time", "cycles"}
    time_doc = docs["time"]["forward"]
    assert time_doc["name"].startswith("time (") and time_doc["gradient"]
    assert all(isinstance(v["value"], (int, float)) for v in time_doc["results"].values())
    assert set(time_doc["results"]) == {str(i) for i in range(1, 24, 2)}  # the cumsum kernels; delegates are on their layers
    # Without the side file the overlay is simply absent.
    assert "time" not in overlays(evidence.program)


def test_layers_are_coloured_by_device_at_any_depth(tmp_path, xnn_payload):
    program = _load(tmp_path, "rep.pte", repeated_delegates_pte(30, payload=xnn_payload))
    (graph,) = pte_graphs(program)
    import re

    configs = graph["groupNodeConfigs"]
    assert len(configs) == 2  # one rule per device, whatever the number of partitions
    nested = [ns for ns in graph["groupNodeAttributes"] if ns.endswith("/XnnpackBackend_12")]
    assert nested and any(re.search(c["namespaceRegex"], nested[0]) for c in configs)
    assert group_id("a/b") == "a/b___group___"


def test_cycles_per_tosa_operator_and_per_delegate(monkeypatch, tmp_path):
    """Issue 10.7: Vela's cycles per TOSA operator (overlay and node attribute) and per delegate
    (its layer), summed onto enclosing layers."""
    pytest.importorskip("ethosu.vela")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from edgeinspect.report.overlays import overlays

    evidence = edgeinspect.gather(DATA / "u55_multi.pte", estimate=True)
    estimates = evidence.method_estimates("forward")
    (graph,) = pte_graphs(evidence.program, evidence=evidence)
    attrs = graph["groupNodeAttributes"]
    for d, est in estimates.items():
        assert est.estimate is not None
        assert attrs[f"EthosUBackend_{d}"]["cycles"] == f"{est.estimate.cycles_total:,} (Vela, predicted)"
    doc = overlays(evidence.program, evidence=evidence)["cycles"]["forward"]
    per_op: dict[tuple[int, int], int] = {}
    for d, est in estimates.items():
        for layer in est.estimate.layers:
            if layer.tosa_op_index is not None:
                per_op[(d, layer.tosa_op_index)] = per_op.get((d, layer.tosa_op_index), 0) + layer.cycles
    from edgeinspect.report.overlays import explorer_graph, node_id

    expected = {
        node_id(k): per_op[(n["partition"], n["index"])]
        for k, n in explorer_graph(evidence.program.method()).nodes(data=True)
        if n.get("partition") is not None and (n["partition"], n["index"]) in per_op
    }
    shown = {k: v["value"] for k, v in doc["results"].items()}
    assert len(expected) >= 9 and shown == expected
    assert sum(shown.values()) <= sum(e.estimate.cycles_total for e in estimates.values())
    assert "cycles" not in attrs["CPU_island_0"]  # Vela predicts the NPU only


@pytest.mark.needs_export
def test_layers_can_be_the_modules_of_the_model():
    """Issue 11.4: group by the module hierarchy (from the ETRecord), device colours kept."""
    evidence = edgeinspect.gather(DATA / "xnn_transformer.pte", etrecord=DATA / "xnn_transformer.etrecord")
    (graph,) = pte_graphs(evidence.program, evidence=evidence, group_by="modules")
    layers = {ns for ns in graph["groupNodeAttributes"] if ns}
    assert "TransformerBlock" in layers
    assert {"TransformerBlock/qkv (nn.Linear)", "TransformerBlock/fc1 (nn.Linear)", "TransformerBlock/norm1 (nn.LayerNorm)"} <= layers
    assert graph["groupNodeAttributes"]["TransformerBlock/qkv (nn.Linear)"]["module"] == "qkv"
    sources = evidence.method_sources("forward")
    by_id = {n["id"]: n for n in graph["nodes"]}
    assert (
        by_id["0"]["namespace"]
        == "TransformerBlock/norm1 (nn.LayerNorm)"
        == f"TransformerBlock/{sources.instructions[0].module_path} (nn.LayerNorm)"
    )
    # The XNNPACK operators inside the delegates sit in their own modules, and keep their device colour.
    inner = [n for n in graph["nodes"] if n["id"].startswith("d") and n["namespace"].endswith("(nn.Linear)")]
    assert inner and all(n["style"]["backgroundColor"] != "#ffffff" for n in inner)
