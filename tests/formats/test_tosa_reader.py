"""The .tosa reader against tosa-tools' own flatbuffer classes, on every dumped .tosa of the zoo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.formats.tosa import OP_NAMES, parse_tosa
from edgeinspect.model.tosa import TosaGraph

TOSA_FILES = sorted(DATA.glob("*.tosa.d/*.tosa"))
IDS = [f"{p.parent.name[:-7]}/{p.stem[7:]}" for p in TOSA_FILES]


def _oracle(path: Path) -> dict:
    """tosa-tools' view: version, per block op enum values, tensors (name, shape, dtype, data length)."""
    tg = pytest.importorskip("tosa.TosaGraph")
    g = tg.TosaGraph.GetRootAs(path.read_bytes(), 0)
    v = g.Version()
    regions = []
    for ri in range(g.RegionsLength()):
        r = g.Regions(ri)
        blocks = []
        for bi in range(r.BlocksLength()):
            b = r.Blocks(bi)
            ops = []
            for oi in range(b.OperatorsLength()):
                o = b.Operators(oi)
                ops.append(
                    (
                        o.Op(),
                        o.AttributeType(),
                        [o.Inputs(j).decode() for j in range(o.InputsLength())],
                        [o.Outputs(j).decode() for j in range(o.OutputsLength())],
                    )
                )
            tensors = []
            for ti in range(b.TensorsLength()):
                t = b.Tensors(ti)
                tensors.append(
                    (
                        t.Name().decode(),
                        tuple(int(x) for x in t.ShapeAsNumpy()) if t.ShapeLength() else (),
                        t.Type(),
                        t.DataLength(),
                        bool(t.Variable()),
                    )
                )
            blocks.append(
                {
                    "name": b.Name().decode(),
                    "ops": ops,
                    "tensors": tensors,
                    "inputs": [b.Inputs(i).decode() for i in range(b.InputsLength())],
                    "outputs": [b.Outputs(i).decode() for i in range(b.OutputsLength())],
                }
            )
        regions.append({"name": r.Name().decode(), "blocks": blocks})
    return {"version": (v._Major(), v._Minor(), v._Patch()), "draft": bool(v._Draft()), "regions": regions}


def test_zoo_has_tosa_dumps():
    assert len(TOSA_FILES) >= 10
    # both schema versions are read from real files (tosa11_cnn is exported with TOSA-1.1+INT)
    assert {edgeinspect.load(p).version_string for p in TOSA_FILES} >= {"1.0.0", "1.1.0"}


@pytest.mark.parametrize("path", TOSA_FILES, ids=IDS)
def test_matches_tosa_tools(path: Path):
    oracle = _oracle(path)
    g = edgeinspect.load(path)
    assert isinstance(g, TosaGraph) and g.format == "tosa"
    assert g.version == oracle["version"] and g.draft == oracle["draft"]
    assert g.version_string == ".".join(map(str, oracle["version"]))
    assert [r.name for r in g.regions] == [r["name"] for r in oracle["regions"]]
    from tosa.DType import DType

    dtype_names = {v: k for k, v in vars(DType).items() if not k.startswith("_")}
    from tosa.Op import Op

    op_names = {v: k for k, v in vars(Op).items() if not k.startswith("_")}
    for region, oregion in zip(g.regions, oracle["regions"]):
        for block, oblock in zip(region.blocks, oregion["blocks"]):
            assert block.name == oblock["name"]
            assert list(block.inputs) == oblock["inputs"] and list(block.outputs) == oblock["outputs"]
            assert [(op_names[o[0]], o[2], o[3]) for o in oblock["ops"]] == [
                (op.op, list(op.inputs), list(op.outputs)) for op in block.operators
            ]
            assert [(t.name, t.shape, t.dtype, t.data_bytes, t.variable) for t in block.tensors] == [
                (n, s, dtype_names[d], dl, var) for n, s, d, dl, var in oblock["tensors"]
            ]
    hist: dict[str, int] = {}
    for r in oracle["regions"]:
        for b in r["blocks"]:
            for o in b["ops"]:
                hist[op_names[o[0]]] = hist.get(op_names[o[0]], 0) + 1
    assert g.histogram() == dict(sorted(hist.items(), key=lambda kv: (-kv[1], kv[0])))
    assert g.histogram(include_const=False) == {k: v for k, v in g.histogram().items() if k not in ("CONST", "CONST_SHAPE")}


def test_op_enum_matches_tosa_tools():
    Op = pytest.importorskip("tosa.Op").Op
    for name, value in vars(Op).items():
        if not name.startswith("_"):
            assert OP_NAMES[value] == name


def test_constant_data_is_lazy_and_exact():
    path = TOSA_FILES[0]
    raw = path.read_bytes()
    g = edgeinspect.load(path)
    tg = pytest.importorskip("tosa.TosaGraph")
    ob = tg.TosaGraph.GetRootAs(raw, 0).Regions(0).Blocks(0)
    for i, t in enumerate(g.main_block.tensors):
        assert g.constant_data(t) == ob.Tensors(i).DataAsNumpy().tobytes() if t.data_bytes else g.constant_data(t) == b""


def test_attributes_and_graph():
    path = next(p for p in TOSA_FILES if "u55_cnn" in str(p))
    g = edgeinspect.load(path)
    conv = [op for op in g.operators if op.op == "CONV2D"]
    assert conv and conv[0].attribute == "Conv2dAttribute"
    assert set(conv[0].attributes) == {"pad", "stride", "dilation", "local_bound", "acc_type"}
    assert conv[0].attributes["acc_type"] == "INT32"
    transpose = next(op for op in g.operators if op.op == "TRANSPOSE")
    assert transpose.attributes["perms"] == (0, 2, 3, 1)
    nxg = g.to_networkx()
    ops = [d for _, d in nxg.nodes(data=True) if d["kind"] == "operator"]
    assert len(ops) == g.num_operators
    assert sum(d["const"] for d in ops) == g.histogram().get("CONST", 0)
    # every non-constant operator is reachable from the graph input
    import networkx as nx

    reach = nx.descendants(nxg, "input:0")
    assert all(k in reach for k, d in nxg.nodes(data=True) if d["kind"] == "operator" and not d["const"])
    assert "output:0" in reach
    edge = next(iter(nxg.out_edges("input:0", data=True)))[2]
    assert edge["shape"] == (1, 3, 16, 16) and edge["dtype"] == "INT8" and edge["bytes"] == 768


def test_unknown_enums_are_kept(tmp_path):
    """An op value past the schema is reported as UNKNOWN(n), not a crash."""
    path = next(p for p in TOSA_FILES if "u55_cnn" in str(p))
    raw = bytearray(path.read_bytes())
    g = edgeinspect.load(path)
    conv = next(op for op in g.operators if op.op == "CONV2D")
    # locate the op field of the CONV2D table through its vtable
    import struct

    vt = conv.offset - struct.unpack_from("<i", raw, conv.offset)[0]
    op_slot = struct.unpack_from("<H", raw, vt + 4)[0]
    struct.pack_into("<I", raw, conv.offset + op_slot, 250)
    g2 = parse_tosa(bytes(raw), path="x.tosa")
    assert any(op.op == "UNKNOWN(250)" for op in g2.operators)


def test_inspect_json_on_tosa():
    path = next(p for p in TOSA_FILES if "u55_cnn" in str(p))
    out = subprocess.run(
        [sys.executable, "-m", "edgeinspect.cli", "inspect", str(path), "--format", "json"], capture_output=True, text=True, check=True
    )
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1 and doc["format"] == "tosa" and doc["version"] == "1.0.0"
    assert doc["file"] == path.name
    assert doc["operators"] == 22 and doc["histogram"] == {"CONST": 16, "CONV2D": 2, "RESCALE": 2, "TRANSPOSE": 2}
    assert doc["inputs"] == [[1, 3, 16, 16]] and doc["outputs"] == [[1, 8, 16, 16]]
    text = subprocess.run(
        [sys.executable, "-m", "edgeinspect.cli", "inspect", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "TOSA 1.0.0" in text and "CONV2D" in text


def test_attribute_union_matches_tosa_tools():
    from edgeinspect.formats.tosa import _ATTRIBUTES

    Attribute = pytest.importorskip("tosa.Attribute").Attribute
    for name, value in vars(Attribute).items():
        if not name.startswith("_") and value:
            assert _ATTRIBUTES[value - 1][0] == name
