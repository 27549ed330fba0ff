"""Crossings and round trips (issue 13 item 2): every tensor crossing a delegate's boundary, in
execution order, adding up to boundary_bytes; tensors handed straight from one delegate call to
another counted and shown as direct round trips.

The reference figures are recomputed from the expected JSON of each fixture (what executorch's
own deserializer read from the file: instruction arguments, tensor sizes, scalar types), not
from edgeinspect's reader."""

from __future__ import annotations

import json
import math

import pytest
from conftest import DATA, zoo_index

import edgeinspect
from edgeinspect.analysis import boundary_bytes, crossings, format_score, fragmentation_score, method_metrics, per_delegate, round_trips
from edgeinspect.graph import instruction_key
from edgeinspect.model import Instruction, Method, Tensor, Value

ZOO = zoo_index()
#: ExecuTorch ScalarType -> bytes per element, for the types the zoo uses (written here again).
ELEMENT = {0: 1, 1: 1, 2: 2, 3: 4, 4: 8, 5: 2, 6: 4, 7: 8, 11: 1, 15: 2}


def _reference(entry: dict) -> dict[str, dict]:
    """Per method, from the executorch-read JSON: the tensor arguments of each delegate call (in
    order, lists expanded) with their bytes, and the direct hops: a tensor first named by a
    delegate call (it writes it; not a constant) and named again by a later delegate call."""
    expected = json.loads((DATA / entry["expected"]).read_text())["program"]
    out = {}
    for m in expected["methods"]:
        values = m["values"]

        def tensors(a: int, values=values) -> list[int]:
            v = values[a]
            if v["kind"] == "tensor":
                return [a]
            if v["kind"] in ("tensor_list", "optional_tensor_list"):
                return [i for i in v["items"] if i >= 0 and values[i]["kind"] == "tensor"]
            return []

        def nbytes(v: int, values=values) -> int:
            t = values[v]
            return math.prod(t["sizes"]) * ELEMENT[t["scalar_type"]]

        calls = []
        first = {v: "input" for a in m["inputs"] for v in tensors(a)}
        for index, ins in enumerate(m["instructions"]):
            args = [v for a in ins.get("args", []) for v in tensors(a)]
            if ins["kind"] == "delegate":
                calls.append((index, [(v, nbytes(v)) for v in args]))
            for v in args:
                first.setdefault(v, index)
        kinds = {i: ins["kind"] for i, ins in enumerate(m["instructions"])}
        direct = set()
        for index, args in calls:
            for v, _ in args:
                src = first.get(v)
                constant = values[v].get("data_buffer_idx", 0) > 0
                if isinstance(src, int) and src != index and kinds[src] == "delegate" and not constant:
                    direct.add((src, index, v))
        out[m["name"]] = {"calls": calls, "direct": direct}
    return out


@pytest.mark.parametrize("entry", ZOO, ids=[e["name"] for e in ZOO])
def test_crossings_are_the_terms_of_boundary_bytes(entry: dict) -> None:
    program = edgeinspect.load(DATA / entry["pte"])
    reference = _reference(entry)
    for m in program.methods:
        hops = crossings(m)
        # one crossing per tensor argument of each delegate call, the same bytes executorch reads
        ref_calls = reference[m.name]["calls"]
        assert sorted((c.instruction, c.value, c.bytes) for c in hops) == sorted((i, v, b) for i, args in ref_calls for v, b in args)
        assert sum(c.bytes for c in hops) == boundary_bytes(m) == sum(b for _, args in ref_calls for _, b in args)
        # execution order: by call, inputs before outputs
        order = [(c.instruction, c.direction == "out") for c in hops]
        assert order == sorted(order)
        # the two kinds split the same total, as the JSON reports it
        metrics = method_metrics(m)
        assert sum(metrics["boundary_bytes_by_kind"].values()) == metrics["boundary_bytes"]
        assert [c.to_dict() for c in hops] == metrics["crossings"]
        # per delegate call, bytes in + out are that call's crossings
        calls = per_delegate(m)
        assert [c.instruction for c in calls] == [i for i, _ in ref_calls]
        assert sum(c.bytes_in + c.bytes_out for c in calls) == boundary_bytes(m)
        # every direct crossing has its other half: out of the source call, into the sink call
        outs = {(c.instruction, c.value): c for c in hops if c.direction == "out"}
        for c in hops:
            if c.direction == "in" and c.kind == "direct":
                twin = outs[(int(c.source), c.value)]
                assert instruction_key(c.instruction) in twin.sinks and c.source_device == twin.backend


@pytest.mark.parametrize("entry", ZOO, ids=[e["name"] for e in ZOO])
def test_direct_round_trips_are_the_tensors_delegates_hand_each_other(entry: dict) -> None:
    program = edgeinspect.load(DATA / entry["pte"])
    reference = _reference(entry)
    for m in program.methods:
        direct = {(r.source, r.sink, r.value) for r in round_trips(m) if r.kind == "direct"}
        assert direct == reference[m.name]["direct"], m.name
        hops = {(c.instruction, c.value, c.direction): c for c in crossings(m)}
        for r in round_trips(m):
            if r.kind == "direct":
                leaving, entering = hops[(r.source, r.value, "out")], hops[(r.sink, r.value, "in")]
                assert entering.kind == "direct" and r.bytes == leaving.bytes + entering.bytes and r.path == ()
            else:
                assert r.path and r.kind == "through_cpu"


def test_u85_lrn_hands_a_tensor_from_one_npu_delegate_to_the_next() -> None:
    # Arm's LRN lab model passes a [1,1280,7,7] tensor out of the NPU and back in; u85_lrn (the
    # same nn.LocalResponseNorm, exported by the same flow) passes value 7, int8 [1,8,16,16]:
    # delegate call 1 writes it, the CPU island (avg_pool3d) never reads it, delegate call 5 does.
    m = edgeinspect.load(DATA / "u85_lrn.pte").method()
    (trip,) = round_trips(m)
    assert (trip.kind, trip.source, trip.sink, trip.value, trip.bytes) == ("direct", 1, 5, 7, 2 * 2048)
    assert m.values[7].data.sizes == (1, 8, 16, 16)
    metrics = method_metrics(m)
    assert metrics["round_trip_counts"] == {"direct": 1, "through_cpu": 0}
    assert metrics["boundary_bytes_by_kind"] == {"cpu": 11520 - 4096, "direct": 4096}
    leaving = next(c for c in crossings(m) if c.direction == "out" and c.value == 7)
    assert (leaving.sinks, leaving.sink_devices, leaving.kind) == (("5",), ("EthosUBackend",), "direct")
    # fan-out: value 8 leaves delegate call 1 once, read by the island's dequantize; counted once
    assert sum(1 for c in crossings(m) if c.value == 8) == 1


def test_delegates_back_to_back_show_what_transitions_cannot() -> None:
    # Three XNNPACK delegate calls with nothing on the CPU: transitions and the score see one
    # clean delegated stretch; the crossings and the direct round trips see the split.
    m = edgeinspect.load(DATA / "xnn_dynamic_quant.pte").method()
    assert [i.kind for i in m.instructions] == ["delegate"] * 3
    assert fragmentation_score(m) == 0.0
    trips = round_trips(m)
    assert [(r.kind, r.source, r.sink) for r in trips] == [("direct", 0, 1), ("direct", 1, 2)]
    hops = crossings(m)
    # the constant 2.0 handed to delegate call 1 comes from no instruction: source None, host memory
    (constant,) = [c for c in hops if c.source is None]
    assert (constant.instruction, constant.direction, constant.source_device, constant.kind) == (1, "in", "CPU", "cpu")
    assert m.values[constant.value].data.is_constant
    assert sum(c.bytes for c in hops if c.kind == "direct") == sum(r.bytes for r in trips)
    assert [c.sink_devices for c in hops if c.direction == "out"] == [("XnnpackBackend",), ("XnnpackBackend",), ("CPU",)]


def test_direct_and_cpu_round_trips_of_one_tensor_both_count() -> None:
    t = Value("tensor", Tensor(1, (1, 8)))  # int8: 8 bytes
    calls = (
        Instruction(0, "delegate", 0, (0, 1), "EthosUBackend", "EthosUBackend"),
        Instruction(1, "kernel", 0, (1, 2), "aten::view_copy.out", "CPU"),
        Instruction(2, "delegate", 1, (2, 1, 3), "EthosUBackend", "EthosUBackend"),
    )
    m = Method("forward", (t, t, t, t), (0,), (3,), calls, (), ())
    assert [(r.kind, r.path, r.bytes) for r in round_trips(m)] == [("direct", (), 16), ("through_cpu", (1,), 16)]
    out_of_first = next(c for c in crossings(m) if c.instruction == 0 and c.direction == "out")
    # read by the kernel and by the second delegate: not purely direct
    assert out_of_first.sinks == ("1", "2") and out_of_first.sink_devices == ("CPU", "EthosUBackend") and out_of_first.kind == "cpu"
    assert sum(c.bytes for c in crossings(m)) == boundary_bytes(m) == 5 * 8


def test_fragmentation_score_never_reads_one() -> None:
    # 40,002 transitions: 1 - 2/t rounds to 1.0 at four places; the range is [0, 1)
    seq = ["X" if i % 2 else "CPU" for i in range(40_003)]
    calls = tuple(Instruction(i, "kernel" if d == "CPU" else "delegate", 0, (), d, d) for i, d in enumerate(seq))
    m = Method("forward", (), (), (), calls, (), ())
    score = fragmentation_score(m)
    assert 0.999 < score < 1 and format_score(score) != "1.00" and not format_score(score).startswith("1")
    assert format_score(0.996) == "0.9960" and format_score(0.994) == "0.99" and format_score(0.5) == "0.50"
