"""COND_IF and WHILE_LOOP link to the regions they run.

No Arm export in the zoo emits TOSA control flow, so the files are written here by
tosa-tools' own serializer (the oracle's writer), then read by us and by tosa-tools.
"""

from __future__ import annotations

import pytest

import edgeinspect

serializer = pytest.importorskip("serializer.tosa_serializer")
Op = pytest.importorskip("tosa.Op").Op
DType = pytest.importorskip("tosa.DType").DType


def _region(ser, name: str, n_in: int, op: int | None) -> None:
    ser.startRegion(name, "")
    ser.addBasicBlock(name)
    ins = [ser.addPlaceholder([1, 4], DType.INT32, None) for _ in range(n_in)]
    out = ser.addOutput([1, 4], DType.INT32)
    ser.addOperator(op if op is not None else Op.ABS, [ins[0].name], [out.name])


def _write(path) -> None:
    ser = serializer.TosaSerializer("")
    cond = ser.addPlaceholder([1], DType.BOOL, None)
    x = ser.addPlaceholder([1, 4], DType.INT32, None)
    y = ser.addIntermediate([1, 4], DType.INT32)
    z = ser.addOutput([1, 4], DType.INT32)
    a = serializer.TosaSerializerAttribute()
    a.CondIfAttribute("then_r", "else_r")
    ser.addOperator(Op.COND_IF, [cond.name, x.name], [y.name], a)
    w = serializer.TosaSerializerAttribute()
    w.WhileLoopAttribute("cond_r", "body_r")
    ser.addOperator(Op.WHILE_LOOP, [y.name], [z.name], w)
    _region(ser, "then_r", 1, Op.ABS)
    _region(ser, "else_r", 1, Op.ABS)
    _region(ser, "cond_r", 1, Op.ABS)
    _region(ser, "body_r", 1, Op.ABS)
    path.write_bytes(ser.serialize())


def test_control_flow_operators_link_to_their_regions(tmp_path):
    path = tmp_path / "control.tosa"
    _write(path)
    g = edgeinspect.load(path)
    assert [r.name for r in g.regions] == ["main", "then_r", "else_r", "cond_r", "body_r"]
    main = g.regions[0].blocks[0]
    cond_if, loop = main.operators
    assert (cond_if.op, cond_if.regions) == ("COND_IF", ("then_r", "else_r"))
    assert (loop.op, loop.regions) == ("WHILE_LOOP", ("cond_r", "body_r"))
    # the same links as tosa-tools' own reader sees
    from tosa.CondIfAttribute import CondIfAttribute
    from tosa.TosaGraph import TosaGraph

    theirs = TosaGraph.GetRootAs(path.read_bytes(), 0)
    op0 = theirs.Regions(0).Blocks(0).Operators(0)
    attr = CondIfAttribute()
    attr.Init(op0.Attribute().Bytes, op0.Attribute().Pos)
    assert (attr.ThenGraph().decode(), attr.ElseGraph().decode()) == cond_if.regions
    # in the networkx view each control-flow node names its regions, whose operators are nodes too
    nx_graph = g.to_networkx()
    nodes = dict(nx_graph.nodes(data=True))
    linked = {d["op"]: d["regions"] for d in nodes.values() if d.get("op") in ("COND_IF", "WHILE_LOOP")}
    assert linked == {"COND_IF": ("then_r", "else_r"), "WHILE_LOOP": ("cond_r", "body_r")}
    for region in ("then_r", "else_r", "cond_r", "body_r"):
        assert any(d.get("region") == region and d.get("op") == "ABS" for d in nodes.values())
    doc = edgeinspect.load(path)
    assert doc.histogram(include_const=False) == {"ABS": 4, "COND_IF": 1, "WHILE_LOOP": 1}
