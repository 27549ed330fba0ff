"""The Model Explorer adapter on the real fixture zoo: graphs, layers, boundaries, CONST folding."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, zoo_index

pytest.importorskip("model_explorer")

from edgeinspect_explorer import ADAPTER_ID  # noqa: E402
from edgeinspect_explorer.graphs import (  # noqa: E402
    BOUNDARY_LAYERS_OVERLAY,
    BOUNDARY_OVERLAY,
    group_id,
    initial_selection,
    shade,
    tint,
)
from edgeinspect_explorer.main import EdgeInspectAdapter, convert, load  # noqa: E402
from model_explorer.utils import convert_adapter_response  # noqa: E402

import edgeinspect  # noqa: E402
from edgeinspect.analysis import boundary_bytes, transitions  # noqa: E402
from edgeinspect.report.overlays import explorer_graph, node_id, node_namespaces, partitions  # noqa: E402

PTE_NAMES = [e["name"] for e in zoo_index()]


def node_partition(method, graph, nid: str) -> str | None:
    """The partition a served node belongs to (None for the method's inputs and outputs)."""
    by_id = {node_id(k): k for k in graph.nodes}
    return node_namespaces(method, graph).get(by_id[nid]) or None


TOSA_FILES = sorted(DATA.glob("*.tosa.d/*.tosa"))


def _attrs(node) -> dict[str, str]:
    return {kv["key"]: kv["value"] for kv in node["attrs"]}


def test_registered_for_pte_and_tosa():
    meta = EdgeInspectAdapter.metadata
    assert meta.id == ADAPTER_ID
    assert sorted(meta.fileExts) == ["pte", "tosa"]


@pytest.mark.parametrize("name", PTE_NAMES)
def test_pte_graph_matches_edgeinspect(name):
    path = DATA / f"{name}.pte"
    program = load(str(path))  # with the .tosa.d beside it joined, as the adapter does
    graphs = convert(str(path))
    assert [g["id"] for g in graphs] == list(program.method_names)
    for g, m in zip(graphs, program.methods, strict=True):
        nx_graph = explorer_graph(m)
        assert sorted(n["id"] for n in g["nodes"]) == sorted(node_id(k) for k in nx_graph.nodes)
        ids = {n["id"] for n in g["nodes"]}
        for n in g["nodes"]:
            assert all(e["sourceNodeId"] in ids for e in n.get("incomingEdges", ()))
        # Every partition is a layer (nested inside folds and blocks when the program is long),
        # and every node sits in its own partition's layer.
        layers = {ns.rsplit("/", 1)[-1] for ns in g["groupNodeAttributes"] if ns}
        assert {p.namespace for p in partitions(m)} <= layers
        for n in g["nodes"]:
            part = m.instructions and node_partition(m, nx_graph, n["id"])
            assert part is None or part in n["namespace"].split("/")
        root = g["groupNodeAttributes"][""]
        assert root["transitions"] == str(transitions(m))
        assert root["boundary_bytes"] == f"{boundary_bytes(m):,}"
    # The whole response is what Model Explorer's own server sends: it must serialise.
    json.dumps(convert_adapter_response(EdgeInspectAdapter().convert(str(path), {})))


def test_fragmented_u55_layers_devices_and_boundaries():
    path = DATA / "u55_multi.pte"
    (g,) = convert(str(path))
    nodes = {n["id"]: n for n in g["nodes"]}
    # Instruction 3 is the bilinear upsample in the first CPU island.
    assert nodes["3"]["namespace"] == "CPU_island_0"
    assert _attrs(nodes["3"])["island"] == "0 (cause)"
    # The second Ethos-U delegate is a layer: its TOSA operators when the dump joins, else one node.
    second = [n for n in g["nodes"] if n["namespace"] == "EthosUBackend_1"]
    assert second and all(_attrs(n)["device"] == "EthosUBackend" for n in second)
    assert all(n["style"] == {"borderColor": shade("#2ca02c"), "backgroundColor": tint("#2ca02c")} for n in second)
    assert "style" not in nodes["3"]  # CPU nodes keep Model Explorer's own look (the device overlay colours them)
    assert not any(n["label"] in ("CONST", "CONST_SHAPE") for n in g["nodes"])
    layer = g["groupNodeAttributes"]["EthosUBackend_1"]
    assert layer["target"] == "ethos-u55-128" and layer["bytes_in_from_other_devices"] == "8,192"
    # What a delegate writes and the CPU reads is a boundary: its metadata says how many bytes cross.
    boundary = [kv["value"] for item in nodes["2"]["inputsMetadata"] for kv in item["attrs"] if kv["key"] == "boundary"]
    assert boundary == ["EthosUBackend -> CPU: 2,048 B"]
    # Every cross-device edge is in the node-level boundary overlay, labelled with its bytes.
    overlays = {o["name"]: o for o in g["tasksData"]["edgeOverlaysDataListLeftPane"][0]["overlays"]}
    crossing = {(e["sourceNodeId"], e["targetNodeId"]): e["label"] for e in overlays[BOUNDARY_OVERLAY]["edges"]}
    devices = {n["id"]: _attrs(n)["device"] for n in g["nodes"]}
    expected = {
        (e["sourceNodeId"], n["id"])
        for n in g["nodes"]
        for e in n.get("incomingEdges", ())
        if devices[e["sourceNodeId"]] != devices[n["id"]]
    }
    assert set(crossing) == expected and len(expected) >= 6  # 3 delegates, each fed and read by the CPU
    assert "2,048 B" in crossing.values() and "768 B" in crossing.values()
    # The layer-level overlay joins the partitions on the collapsed timeline, bytes summed per pair.
    layered = {(e["sourceNodeId"], e["targetNodeId"]): e["label"] for e in overlays[BOUNDARY_LAYERS_OVERLAY]["edges"]}
    assert layered[(group_id("CPU_island_0"), group_id("EthosUBackend_1"))] == "8,192 B"
    assert layered[(group_id("EthosUBackend_0"), group_id("CPU_island_0"))] == "2,048 B"
    assert initial_selection(g) == group_id("CPU_input")  # selected at start, so the overlay is drawn at once
    island = g["groupNodeAttributes"]["CPU_island_1"]
    assert island["causes"] == "aten::index_select.out"
    assert g["groupNodeAttributes"][""]["transitions"] == "6"


def test_ethos_u_internals_come_from_the_joined_tosa():
    assert load(str(DATA / "u55_multi.pte")).method().delegates[0].tosa_join == "matched"
    (g,) = convert(str(DATA / "u55_multi.pte"))
    inner = [n for n in g["nodes"] if n["namespace"].startswith("EthosUBackend_")]
    assert len(inner) > 3 and {n["label"] for n in inner} >= {"CONV2D"}
    # CONST operators are folded into the attributes of the operators that read them.
    conv = next(n for n in inner if n["label"] == "CONV2D")
    assert any(k.startswith("const.") and v.startswith("CONST") for k, v in _attrs(conv).items())
    assert g["groupNodeAttributes"]["EthosUBackend_0"]["operators_inside"].count("CONV2D") == 1


@pytest.mark.parametrize("path", TOSA_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_tosa_consts_are_folded(path):
    tosa = edgeinspect.load(path)
    graphs = convert(str(path))
    assert len(graphs) == sum(1 for _ in tosa.blocks)
    for g, (_, block) in zip(graphs, tosa.blocks, strict=True):
        computing = [op for op in block.operators if not op.is_const]
        ops = [n for n in g["nodes"] if not n["id"].startswith(("input:", "output:"))]
        assert sorted(int(n["id"]) for n in ops) == sorted(op.index for op in computing)
        assert all(n["label"] not in ("CONST", "CONST_SHAPE") for n in g["nodes"])
        # Each CONST output shows on the operators that read it.
        consts = {out for op in block.operators if op.is_const for out in op.outputs}
        shown = {k.removeprefix("const.") for n in ops for k in _attrs(n) if k.startswith("const.")}
        read = {name for op in computing for name in op.inputs if name in consts}
        assert shown == read
        assert g["groupNodeAttributes"][""]["operators"] == str(len(computing))


def test_tosa_fold_shrinks_the_transformer():
    (path,) = sorted((DATA / "u85_transformer.tosa.d").glob("*.tosa"))
    tosa = edgeinspect.load(path)
    (g,) = convert(str(path))
    total = sum(len(b.operators) for _, b in tosa.blocks)
    ops = [n for n in g["nodes"] if not n["id"].startswith(("input:", "output:"))]
    assert len(ops) < total / 2  # more than half of a real file's operators are CONST


def test_a_delegate_layer_without_its_dumps_says_why():
    from edgeinspect_explorer.graphs import pte_graphs

    (g,) = pte_graphs(edgeinspect.load(DATA / "u55_where.pte"))  # no .tosa joined
    inside = g["groupNodeAttributes"]["EthosUBackend_0"]["operators_inside"]
    assert inside.startswith("operators unknown: Vela output holds no TOSA") and "--tosa" in inside
