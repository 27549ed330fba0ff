"""Helpers shared by tests: our reader's view in the oracle's normalized shape."""

from __future__ import annotations

from typing import Any

from edgeinspect.model import Program, Value


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
