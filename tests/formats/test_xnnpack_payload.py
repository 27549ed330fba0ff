"""XNNPACK payloads of the zoo against executorch's own XNNPACK schema, decoded by the flatc it ships."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from conftest import DATA
from ei_testutil import flatc_xnnpack

import edgeinspect
from edgeinspect.formats.ethosu import depad
from edgeinspect.formats.payloads import decode_delegate
from edgeinspect.formats.xnnpack import decode_xnnpack

PTES = [p for p in sorted(DATA.glob("*.pte")) if any(d.backend_id == "XnnpackBackend" for d in edgeinspect.load(p).delegates)]


def test_zoo_has_xnnpack():
    assert len(PTES) >= 5


@pytest.mark.needs_export  # flatc and the XNNPACK schema ship in the executorch wheel
@pytest.mark.parametrize("pte", PTES, ids=[p.stem for p in PTES])
def test_matches_executorch_schema(pte: Path, tmp_path: Path):
    program = edgeinspect.load(pte)
    for d in program.delegates:
        payload = d.payload()
        ours = decode_xnnpack(payload, path=str(pte), base=d.payload_offset)
        oracle = flatc_xnnpack(payload, tmp_path)
        assert ours.has_header and ours.identifier == "XN01"
        assert [n.type for n in ours.nodes] == [n["xnode_union_type"] for n in oracle["xnodes"]]
        assert [n.debug_handle for n in ours.nodes] == [n["debug_handle"] for n in oracle["xnodes"]]
        assert list(ours.input_ids) == oracle["input_ids"] and list(ours.output_ids) == oracle["output_ids"]
        assert ours.num_externs == oracle["num_externs"]
        assert len(ours.values) == len(oracle["xvalues"])
        for v, ov in zip(ours.values, oracle["xvalues"]):
            body = ov["xvalue_union"]
            tv = body.get("tensor_value", body)
            assert v.id == tv["id_out"] and list(v.dims) == tv["dims"] and v.flags == tv["flags"]
            assert v.datatype == tv["datatype"].removeprefix("xnn_datatype_")
            assert v.constant_buffer_idx == tv["constant_buffer_idx"]
        for n, on in zip(ours.nodes, oracle["xnodes"]):
            body = on["xnode_union"]
            ids = [body[k] for k in body if k.endswith("_id") and body[k] != 0xFFFFFFFF]
            assert set(n.inputs) | set(n.outputs) <= set(ids)
            assert list(n.outputs) == [body[k] for k in body if k.startswith("output") and k.endswith("_id")]
        assert ours.constants == len(oracle.get("constant_data", []))


@pytest.mark.parametrize("pte", PTES, ids=[p.stem for p in PTES])
def test_io_matches_the_delegate_call(pte: Path):
    """The graph's external inputs/outputs have the shapes of the delegate call's tensors."""
    program = edgeinspect.load(pte)
    for m in program.methods:
        for ins in m.instructions:
            if ins.kind != "delegate":
                continue
            decoded = decode_delegate(m.delegates[ins.target])
            assert decoded.kind == "xnnpack" and decoded.num_ops == len(decoded.graph.nodes) > 0
            # XNNPACK stores a 0-d tensor as shape (1,): compare without leading ones
            arg_shapes = [depad(m.tensor(v).sizes) for v in m.tensor_args(ins)]
            for shape in decoded.inputs + decoded.outputs:
                assert depad(shape) in arg_shapes
            assert tuple(depad(s) for s in decoded.outputs) == tuple(arg_shapes[-len(decoded.outputs) :])
            edges = decoded.graph.edges()
            assert all(0 <= s < len(decoded.graph.nodes) and 0 <= t < len(decoded.graph.nodes) for s, t, _ in edges)
            g = decoded.graph.to_networkx()
            assert sum(1 for _, d in g.nodes(data=True) if d["kind"] == "operator") == decoded.num_ops


def test_headerless_layout_is_read():
    """Old payloads are the flatbuffer alone (no XH00 header)."""
    d = edgeinspect.load(PTES[0]).delegates[0]
    payload = d.payload()
    fb_off, fb_size = struct.unpack_from("<II", payload, 10)
    bare = decode_xnnpack(payload[fb_off : fb_off + fb_size])
    full = decode_xnnpack(payload)
    assert not bare.has_header and [n.type for n in bare.nodes] == [n.type for n in full.nodes]
    assert bare.values == full.values


def test_not_xnnpack_is_a_format_error():
    with pytest.raises(edgeinspect.FormatError, match="XN01"):
        decode_xnnpack(b"\0" * 64, path="x.pte")
