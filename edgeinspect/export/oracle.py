"""Normalized summaries of .pte files, computed with ExecuTorch's own reader.

The summary is the reference ("oracle") that edgeinspect's torch-free reader is tested
against: ``tests/data/<name>.expected.json`` holds ``summarize_pte`` of ``<name>.pte``
plus the fixture metadata added by :mod:`edgeinspect.export.zoo`.
"""

from __future__ import annotations

from typing import Any

from executorch.exir import schema
from executorch.exir._serialize._program import (
    _flatbuffer_to_program,
    _get_extended_header,
    deserialize_pte_binary,
)


def _value(evalue: schema.EValue) -> dict[str, Any]:
    val = evalue.val
    if isinstance(val, schema.Null):
        return {"kind": "null"}
    if isinstance(val, schema.Int):
        return {"kind": "int", "value": val.int_val}
    if isinstance(val, schema.Bool):
        return {"kind": "bool", "value": val.bool_val}
    if isinstance(val, schema.Double):
        # ExecuTorch keeps +-inf as the strings "inf" / "-inf"; we keep them that way
        # so the JSON stays standard.
        return {"kind": "double", "value": val.double_val}
    if isinstance(val, schema.String):
        return {"kind": "string", "value": val.string_val}
    if isinstance(val, schema.Tensor):
        return {
            "kind": "tensor",
            "scalar_type": int(val.scalar_type),
            "sizes": list(val.sizes),
            "dim_order": list(val.dim_order),
            "data_buffer_idx": val.data_buffer_idx,
            "shape_dynamism": int(val.shape_dynamism),
        }
    kinds = {
        schema.IntList: "int_list",
        schema.DoubleList: "double_list",
        schema.BoolList: "bool_list",
        schema.TensorList: "tensor_list",
        schema.OptionalTensorList: "optional_tensor_list",
    }
    for cls, kind in kinds.items():
        if isinstance(val, cls):
            return {"kind": kind, "items": list(val.items)}
    raise TypeError(f"unexpected EValue type {type(val).__name__}")


def _instruction(instruction: schema.Instruction) -> dict[str, Any]:
    args = instruction.instr_args
    if isinstance(args, schema.KernelCall):
        return {"kind": "kernel", "op_index": args.op_index, "args": list(args.args)}
    if isinstance(args, schema.DelegateCall):
        return {"kind": "delegate", "delegate_index": args.delegate_index, "args": list(args.args)}
    if isinstance(args, schema.MoveCall):
        return {"kind": "move", "move_from": args.move_from, "move_to": args.move_to}
    if isinstance(args, schema.JumpFalseCall):
        return {
            "kind": "jump_false",
            "cond_value_index": args.cond_value_index,
            "destination_instruction": args.destination_instruction,
        }
    if isinstance(args, schema.FreeCall):
        return {"kind": "free", "value_index": args.value_index}
    raise TypeError(f"unexpected instruction type {type(args).__name__}")


def summarize_pte(pte_bytes: bytes) -> dict[str, Any]:
    """Return the normalized summary of a serialized .pte program.

    Returns ``{"file_bytes": ..., "program": {...}}``; the shape of ``program`` is the
    one documented for ``tests/data/*.expected.json``.

    ``deserialize_pte_binary`` moves segment data back into the program and clears
    ``Program.segments`` and the delegates' ``location``, so the file layout (segment
    table, inline vs segment) is read from the same flatbuffer with the function it
    uses internally, ``_flatbuffer_to_program``, before segments are restored. The
    restored program gives each delegate's payload, whatever its layout.
    """
    header = _get_extended_header(pte_bytes)
    program_size = header.program_size if header and header.is_valid() else len(pte_bytes)
    raw = _flatbuffer_to_program(pte_bytes[:program_size])
    restored = deserialize_pte_binary(pte_bytes).program

    methods = []
    for raw_plan, plan in zip(raw.execution_plan, restored.execution_plan, strict=True):
        # Only one chain per method occurs in practice; instructions of several chains
        # would be concatenated in chain order.
        instructions = [_instruction(i) for chain in plan.chains for i in chain.instructions]
        delegates = []
        for raw_delegate, delegate in zip(raw_plan.delegates, plan.delegates, strict=True):
            ref = raw_delegate.processed
            if ref.location == schema.DataLocation.SEGMENT:
                location = "segment"
                payload_bytes = raw.segments[ref.index].size
            else:
                location = "inline"
                payload_bytes = len(raw.backend_delegate_data[ref.index].data)
            restored_ref = delegate.processed
            restored_len = len(restored.backend_delegate_data[restored_ref.index].data)
            if restored_len != payload_bytes:
                raise AssertionError(
                    f"delegate {delegate.id}: payload {payload_bytes} bytes in the file, {restored_len} after deserialize_pte_binary"
                )
            delegates.append(
                {
                    "id": delegate.id,
                    "location": location,
                    "index": ref.index,
                    "compile_specs": [[s.key, bytes(s.value).hex()] for s in delegate.compile_specs],
                    "payload_bytes": payload_bytes,
                }
            )
        method = {
            "name": plan.name,
            "inputs": list(plan.inputs),
            "outputs": list(plan.outputs),
            "operators": [{"name": o.name, "overload": o.overload} for o in plan.operators],
            "instructions": instructions,
            "values": [_value(v) for v in plan.values],
            "delegates": delegates,
        }
        # Only in programs exported with emit_stacktrace=True: one frame list per instruction
        # that has one (executorch 1.5.1 writes them for kernel calls only).
        if any(chain.stacktrace for chain in plan.chains):
            method["stacktrace"] = [
                [{"file": f.filename, "line": f.lineno, "function": f.name, "code": f.context} for f in frame_list.items]
                for chain in plan.chains
                for frame_list in chain.stacktrace or []
            ]
        methods.append(method)
    return {
        "file_bytes": len(pte_bytes),
        "program": {
            "version": raw.version,
            "segments": [[s.offset, s.size] for s in raw.segments],
            "methods": methods,
        },
    }
