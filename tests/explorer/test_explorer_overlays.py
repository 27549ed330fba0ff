"""Overlays and partitions on the real fixture zoo (no Model Explorer needed)."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, zoo_index

import edgeinspect
from edgeinspect.analysis import cpu_islands, transitions
from edgeinspect.report.overlays import (
    DEVICE_COLORS,
    ISLAND_CAUSE_COLOR,
    ISLAND_GLUE_COLOR,
    device_overlay,
    explorer_graph,
    island_overlay,
    load_recommendations,
    node_id,
    node_namespaces,
    overlays,
    partitions,
    recommendation_overlay,
    write_overlays,
)

PTE_NAMES = [e["name"] for e in zoo_index()]
FRAGMENTED = [e["name"] for e in zoo_index() if e["fragmented"]]


def _load(name: str):
    return edgeinspect.load(DATA / f"{name}.pte")


@pytest.mark.parametrize("name", PTE_NAMES)
def test_partitions_follow_the_metrics(name):
    program = _load(name)
    for m in program.methods:
        parts = partitions(m)
        # Every instruction is in exactly one partition, in order.
        assert [i for p in parts for i in p.instructions] == [ins.index for ins in m.instructions]
        # Device changes between partitions (CPU at both ends) are the transitions metric.
        devices = ["CPU", *(p.device for p in parts), "CPU"]
        assert sum(a != b for a, b in zip(devices, devices[1:], strict=False)) == transitions(m)
        # Island partitions are the CPU islands, same order, same kernels.
        islands = cpu_islands(m)
        island_parts = [p for p in parts if p.island is not None]
        assert [p.island for p in island_parts] == list(range(len(islands)))
        for p, isl in zip(island_parts, islands, strict=True):
            kernels = [i for i in p.instructions if m.instructions[i].kind == "kernel"]
            assert tuple(kernels) == isl.instructions
        assert len({p.namespace for p in parts}) == len(parts)


def test_u55_multi_partition_names():
    m = _load("u55_multi").method()
    assert [p.namespace for p in partitions(m)] == [
        "CPU_input",
        "EthosUBackend_0",
        "CPU_island_0",
        "EthosUBackend_1",
        "CPU_island_1",
        "EthosUBackend_2",
        "CPU_output",
    ]


@pytest.mark.parametrize("name", PTE_NAMES)
def test_device_overlay_colours_every_node(name):
    program = _load(name)
    for m in program.methods:
        g = explorer_graph(m)
        doc = device_overlay(g, m.name)[m.name]
        results = doc["results"]
        with_device = [k for k, d in g.nodes(data=True) if d.get("device") is not None]
        assert sorted(results) == sorted(node_id(k) for k in with_device)
        for k in with_device:
            device = g.nodes[k]["device"]
            assert results[node_id(k)]["value"] == device
            if device in DEVICE_COLORS:
                assert results[node_id(k)]["bgColor"] == DEVICE_COLORS[device]
        namespaces = node_namespaces(m, g)
        assert set(namespaces) == set(g.nodes)


def test_island_overlay_marks_causes_and_glue():
    m = _load("u55_multi").method()
    g = explorer_graph(m)
    results = island_overlay(m, g, "forward")["forward"]["results"]
    by_name = {g.nodes[k]["name"]: v for k, v in results.items() if g.nodes[k]["name"].startswith("aten::")}
    assert by_name["aten::upsample_bilinear2d.vec_out"] == {"value": "island 0: cause", "bgColor": ISLAND_CAUSE_COLOR}
    assert by_name["aten::index_select.out"] == {"value": "island 1: cause", "bgColor": ISLAND_CAUSE_COLOR}
    # 2 islands x (dq, cause, q): the q/dq before the first and after the last delegate are not in islands.
    assert len(results) == 6
    assert sum(v["bgColor"] == ISLAND_GLUE_COLOR for v in results.values()) == 4


def test_recommendation_overlay_hook_with_given_recommendations():
    m = _load("u55_multi").method()
    g = explorer_graph(m)
    recs = [
        {"operator": "aten::index_select", "transitions_saved": 2, "bytes_saved": 16416, "fix": "1x1 conv"},
        {"operator": "aten::upsample_bilinear2d", "transitions_saved": 2, "fix": "nearest"},
    ]
    results = recommendation_overlay(g, "forward", recs)["forward"]["results"]
    names = {g.nodes[k]["name"]: v["value"] for k, v in results.items()}
    assert names == {
        "aten::index_select.out": "#1 aten::index_select: saves 2 transitions, 16,416 B",
        "aten::upsample_bilinear2d.vec_out": "#2 aten::upsample_bilinear2d: saves 2 transitions",
    }

    # Objects with attributes work as well as dicts, and nothing matches an unknown operator.
    class Rec:
        operator = "aten::cumsum"
        kernels = ()
        transitions_saved = None

    assert recommendation_overlay(g, "forward", [Rec()])["forward"]["results"] == {}


def test_recommendations_from_the_recommender():
    m = _load("u55_multi").method()
    recs = load_recommendations(None, m)
    assert {r["operator"] for r in recs} >= {"aten::index_select", "aten::upsample_bilinear2d"}
    doc = overlays(_load("u55_multi"))
    assert list(doc) == ["device", "island", "recommendation", "fallback"]
    assert len(doc["recommendation"]["forward"]["results"]) == 2


@pytest.mark.parametrize("name", FRAGMENTED[:3])
def test_overlay_files_round_trip(name, tmp_path):
    program = _load(name)
    given = {m.name: [] for m in program.methods}
    paths = write_overlays(program, tmp_path, recommendations=given)
    assert [p.name for p in paths] == [f"{name}.{overlay}.json" for overlay in ("device", "island", "recommendation", "fallback")]
    in_memory = overlays(program, recommendations=given)
    for p in paths:
        overlay = p.name.split(".")[-2]
        doc = json.loads(p.read_text())
        assert doc == in_memory[overlay]
        assert set(doc) == set(program.method_names)
        for graph_doc in doc.values():
            assert graph_doc["name"] == overlay and isinstance(graph_doc["results"], dict)


def _first_match_by_scan(name, recs):
    """The recommendation overlay's rule as first written: the first recommendation that lists
    the kernel, or whose operator it is (or an overload of)."""
    for rank, rec in enumerate(recs, start=1):
        op = rec["operator"]
        if name in rec["kernels"] or op and (name == op or name.startswith(op + ".")):
            return rank
    return None


def test_recommendation_overlay_matches_by_lookup_as_the_scan_did():
    """The overlay finds each kernel's recommendation by lookups (a hostile file has thousands of
    kernels and recommendations); on generated names it agrees with the plain scan."""
    import networkx as nx
    from hypothesis import given, settings
    from hypothesis import strategies as st

    names = st.sampled_from(["a", "a.b", "a.b.c", "ab", "a.", "", "x::y.out", "x::y", "x"])

    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(st.lists(names, min_size=1, max_size=6), st.lists(st.tuples(names, st.lists(names, max_size=2)), max_size=5))
    def check(nodes, recs):
        recs = [{"operator": op, "kernels": kernels, "transitions_saved": 2, "bytes_saved": 8} for op, kernels in recs]
        g = nx.MultiDiGraph()
        for k, name in enumerate(nodes):
            g.add_node(k, kind="kernel", name=name)
        doc = recommendation_overlay(g, "forward", recs)["forward"]["results"]
        for k, name in enumerate(nodes):
            rank = _first_match_by_scan(name, recs)
            assert (doc[str(k)]["value"].split(" ")[0] if str(k) in doc else None) == (f"#{rank}" if rank else None), (name, recs)

    check()
