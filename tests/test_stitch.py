"""The stitched view: delegate internals inlined and wired to the surrounding CPU kernels."""

from __future__ import annotations

import networkx as nx
import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.formats.payloads import decode_delegate


def _inner(g):
    return [(n, d) for n, d in g.nodes(data=True) if d.get("kind") == "operator"]


@pytest.mark.parametrize("name", ["xnn_transformer", "tosa_topk", "xnn_two_methods"])
def test_payload_backends_stitch_without_dumps(name):
    program = edgeinspect.load(DATA / f"{name}.pte")
    for m in program.methods:
        plain = m.to_networkx()
        g = m.to_networkx(stitched=True)
        assert nx.is_directed_acyclic_graph(g)
        delegate_nodes = [n for n, d in g.nodes(data=True) if d["kind"] == "delegate"]
        assert delegate_nodes == []  # every delegate here has known insides
        for d in m.delegates:
            decoded = decode_delegate(d)
            ops = [a for _, a in _inner(g) if a["partition"] == d.index and not a["const"]]
            assert len(ops) == sum(decoded.ops.values())
            assert all(a["device"] == d.backend_id for a in ops)
        # CPU kernels are kept, and the method's inputs still reach its outputs
        assert {n for n, a in plain.nodes(data=True) if a["kind"] == "kernel"} <= set(g)
        for k in range(len(m.outputs)):
            assert nx.has_path(g, "input:0", f"output:{k}") or not m.inputs


def test_ethos_u_needs_the_joined_tosa():
    bare = edgeinspect.load(DATA / "u55_where.pte")
    g = bare.to_networkx(stitched=True)
    assert not _inner(g) and sum(1 for _, d in g.nodes(data=True) if d["kind"] == "delegate") == 2
    joined = edgeinspect.load(DATA / "u55_where.pte", tosa=DATA / "u55_where.tosa.d")
    g = joined.to_networkx(stitched=True)
    assert sum(1 for _, d in g.nodes(data=True) if d["kind"] == "delegate") == 0
    inner = _inner(g)
    assert {a["partition"] for _, a in inner} == {0, 1}
    assert all(a["device"] == "EthosUBackend" for _, a in inner)
    consts = [a for _, a in inner if a["const"]]
    assert consts and all(a["op"] in ("CONST", "CONST_SHAPE") for a in consts)
    # boundary edges: CPU node -> NPU operator and back, carrying the method's tensors
    cross = [(u, v, d) for u, v, d in g.edges(data=True) if g.nodes[u]["device"] != g.nodes[v]["device"]]
    assert cross and all(isinstance(d["value"], int) and d["bytes"] for _, _, d in cross)
    into_npu = [(u, v) for u, v, _ in cross if g.nodes[v]["device"] == "EthosUBackend"]
    out_of_npu = [(u, v) for u, v, _ in cross if g.nodes[u]["device"] == "EthosUBackend"]
    assert into_npu and out_of_npu
    assert all(g.nodes[v]["op"] != "CONST" for _, v in into_npu)
    assert nx.is_directed_acyclic_graph(g)
    assert nx.has_path(g, "input:0", "output:0")
