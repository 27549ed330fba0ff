"""Helpers shared by tests: our reader's view in the oracle's normalized shape; the fast path checked against the checked accessors."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import struct
import subprocess
from pathlib import Path
from typing import Any

from edgeinspect.errors import FormatError
from edgeinspect.formats._source import Source
from edgeinspect.formats.pte import read_pte
from edgeinspect.model import Instruction, Program, Tensor, Value


def _value(v: Value) -> dict[str, Any]:
    if v.kind == "tensor":
        t = v.data
        return {
            "kind": "tensor",
            "scalar_type": t.scalar_type,
            "sizes": list(t.sizes),
            "dim_order": list(t.dim_order),
            "data_buffer_idx": t.data_buffer_idx,
            "shape_dynamism": t.shape_dynamism,
        }
    if v.kind == "null":
        return {"kind": "null"}
    if v.kind in ("int", "bool", "double", "string"):
        return {"kind": v.kind, "value": v.data}
    return {"kind": v.kind, "items": list(v.data)}


def _instruction(ins) -> dict[str, Any]:
    if ins.kind == "kernel":
        return {"kind": "kernel", "op_index": ins.target, "args": list(ins.args)}
    if ins.kind == "delegate":
        return {"kind": "delegate", "delegate_index": ins.target, "args": list(ins.args)}
    if ins.kind == "move":
        return {"kind": "move", "move_from": ins.args[0], "move_to": ins.args[1]}
    if ins.kind == "jump_false":
        return {"kind": "jump_false", "cond_value_index": ins.args[0], "destination_instruction": ins.target}
    return {"kind": ins.kind, "value_index": ins.args[0]}


def summarize(program: Program) -> dict[str, Any]:
    """Our reader's view of a program in the shape of ``edgeinspect.export.oracle.summarize_pte``."""
    methods = []
    for m in program.methods:
        methods.append(
            {
                "name": m.name,
                "inputs": list(m.inputs),
                "outputs": list(m.outputs),
                "operators": [{"name": o.name, "overload": o.overload} for o in m.operators],
                "instructions": [_instruction(i) for i in m.instructions],
                "values": [_value(v) for v in m.values],
                "delegates": [
                    {
                        "id": d.backend_id,
                        "location": d.location,
                        "index": d.data_index,
                        "compile_specs": [[c.key, c.value.hex()] for c in d.compile_specs],
                        "payload_bytes": d.payload_size,
                    }
                    for d in m.delegates
                ],
            }
        )
        if m.frames:
            # The oracle lists the frame lists the file holds; ours pads instructions without any.
            held = max(i + 1 for i, f in enumerate(m.frames) if f)
            methods[-1]["stacktrace"] = [[f.to_dict() for f in frames] for frames in m.frames[:held]]
    return {
        "file_bytes": program.file_size,
        "program": {
            "version": program.version,
            "segments": [list(s) for s in program.segments],
            "methods": methods,
        },
    }


_FIELD_NAMES = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in (Tensor, Instruction)}


def _fields(record: Tensor | Instruction) -> tuple[Any, ...]:
    """Every field of a flat record, those its ``==`` leaves out (offsets) included."""
    return tuple(getattr(record, name) for name in _FIELD_NAMES[type(record)])


def pte_records(program: Program) -> tuple[Any, ...]:
    """Everything the .pte reader produced, file offsets included (the records' ``==`` leaves
    offsets out)."""
    return (
        program.version,
        program.file_size,
        program.header,
        program.segments,
        program.num_constant_buffers,
        program.named_data,
        [
            (
                m.name,
                m.offset,
                m.inputs,
                m.outputs,
                m.operators,
                m.non_const_buffer_sizes,
                m.num_chains,
                [(v.kind, _fields(v.data) if isinstance(v.data, Tensor) else v.data, v.offset) for v in m.values],
                [_fields(i) for i in m.instructions],
                [
                    (d.index, d.backend_id, d.location, d.data_index, d.compile_specs, d.payload_offset, d.payload_size, d.offset)
                    for d in m.delegates
                ],
            )
            for m in program.methods
        ],
    )


def assert_fast_path_agrees(data: bytes, name: str, fast: Program | FormatError | None = None) -> None:
    """The .pte reader's fast path and its checked accessors alone read ``data`` to the same
    program (every record and offset), or fail with the same error. ``fast`` is the fast
    path's result (a program or its FormatError) when the caller has read ``data`` already."""
    if fast is None:
        try:
            fast = read_pte(Source(data, name))
        except FormatError as err:
            fast = err
    try:
        checked: Program | FormatError = read_pte(Source(data, name), fast=False)
    except FormatError as err:
        checked = err
    outcomes = [f"FormatError: {r}" if isinstance(r, FormatError) else pte_records(r) for r in (fast, checked)]
    if outcomes[0] != outcomes[1]:  # repr: a NaN double is not == to itself
        a, b = repr(outcomes[0]), repr(outcomes[1])
        assert a == b, f"fast path: {a[:300]}\nchecked accessors: {b[:300]}"


# -- Expected figures from the reference tools, never from the code under test -----------------


def is_glue_by_name(name: str) -> bool:
    """Quantize/dequantize glue, by design.md's definition, written again here (not imported)."""
    return any(part in name for part in ("quantize_per_", "dequantize_per_", "choose_qparams"))


def executorch_calls(pte: Any, method: str = "forward") -> tuple[int, list[int]]:
    """In executorch's own reading of a fixture (its expected JSON): the kernel calls that are
    not glue, and the delegate index of each delegate call, in order."""
    doc = json.loads((pte.parent / f"{pte.stem}.expected.json").read_text())
    plan = next(m for m in doc["program"]["methods"] if m["name"] == method)
    ops = plan["operators"]
    kernels = sum(1 for i in plan["instructions"] if i["kind"] == "kernel" and not is_glue_by_name(ops[i["op_index"]]["name"]))
    return kernels, [i["delegate_index"] for i in plan["instructions"] if i["kind"] == "delegate"]


def tosa_tools_compute_ops(data: bytes) -> int:
    """Operators that are not CONST/CONST_SHAPE in a .tosa, as tosa-tools reads them."""
    import pytest

    graph = pytest.importorskip("tosa.TosaGraph").TosaGraph.GetRootAs(bytearray(data), 0)
    names = {v: k for k, v in vars(pytest.importorskip("tosa.Op").Op).items() if not k.startswith("_")}
    ops = [
        names[graph.Regions(r).Blocks(b).Operators(o).Op()]
        for r in range(graph.RegionsLength())
        for b in range(graph.Regions(r).BlocksLength())
        for o in range(graph.Regions(r).Blocks(b).OperatorsLength())
    ]
    return sum(1 for op in ops if op not in ("CONST", "CONST_SHAPE"))


def expected_ratio(delegated: int, cpu: int) -> float:
    """design.md: delegated operators / all operators, rounded to 4 places."""
    return round(delegated / (delegated + cpu), 4)


def _executorch_tools() -> tuple[str, str]:
    """(flatc, schema.fbs) from the executorch wheel, located without importing it (no torch)."""
    import pytest

    spec = importlib.util.find_spec("executorch")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("executorch is not installed")
    root = list(spec.submodule_search_locations)[0]
    flatc = os.path.join(root, "data", "bin", "flatc")
    schema = os.path.join(root, "backends", "xnnpack", "serialization", "schema.fbs")
    if not (os.path.exists(flatc) and os.path.exists(schema)):
        pytest.skip("executorch wheel without flatc or the XNNPACK schema")
    return flatc, schema


def flatc_xnnpack(payload: bytes, tmp: Path) -> dict:
    """An XNNPACK payload's flatbuffer as executorch's own flatc and schema read it (JSON)."""
    flatc, schema = _executorch_tools()
    fb_off, fb_size = struct.unpack_from("<II", payload, 10)
    (tmp / "g.bin").write_bytes(payload[fb_off : fb_off + fb_size])
    subprocess.run(
        [flatc, "--json", "--strict-json", "--defaults-json", "--raw-binary", "-o", str(tmp), schema, "--", str(tmp / "g.bin")],
        check=True,
        capture_output=True,
    )
    text = (tmp / "g.json").read_text()
    return json.loads(re.sub(r":\s*(-?inf|nan)\b", r': "\1"', text))


def repartition_work(monkeypatch: Any, call: Any) -> tuple[Any, int]:
    """``(call(), work)``: work counts the nodes each re-partition of the recommender sweeps plus
    the convexity checks it makes, a measure of its cost that does not depend on the machine."""
    flow = importlib.import_module("edgeinspect.recommend.counterfactual")._Flow  # the package exports a function of that name
    work = [0]
    sweep, convex = flow.sweep, flow.convex

    def counted_sweep(self: Any, candidates: Any) -> Any:
        work[0] += len(candidates)
        return sweep(self, candidates)

    def counted_convex(self: Any, *args: Any, **kwargs: Any) -> Any:
        work[0] += 1
        return convex(self, *args, **kwargs)

    monkeypatch.setattr(flow, "sweep", counted_sweep)
    monkeypatch.setattr(flow, "convex", counted_convex)
    try:
        result = call()
    finally:
        monkeypatch.undo()
    return result, work[0]
