"""The document ``edgeinspect inspect`` prints: JSON per design.md, and a readable text table."""

from __future__ import annotations

import functools
import os
from typing import Any, Callable

from edgeinspect.model import Delegate, Method, Program

__all__ = ["SCHEMA_VERSION", "delegate_dict", "inspect_dict", "inspect_text", "method_dict"]

SCHEMA_VERSION = 1


def delegate_dict(d: Delegate, *, decode: Callable[[Delegate], Any] | None = None) -> dict[str, Any]:
    """JSON form of one delegate.

    ``ops`` is the operator histogram of what the delegate runs: XNNPACK nodes, the TOSA
    operators of a TOSABackend payload or of the .tosa joined to an Ethos-U delegate
    (``CONST``/``CONST_SHAPE`` left out: they only hold data; their count is ``const_ops``);
    None when unknown. ``npu_ops`` counts the NPU operations an Ethos-U command stream runs
    (``conv2d``, ``pooling.average``, ``dma``, ...; None for other backends). ``tosa_file``
    is the joined dump's base name and ``tosa_join`` the join status ("matched" |
    "ambiguous" | "missing"; None when no dumps were given).
    ``payload`` is the decoded payload's summary (see ``edgeinspect.formats.payloads``).
    ``decode`` replaces ``decode_delegate`` (``method_dict`` passes a memo of it).
    """
    from edgeinspect.errors import FormatError
    from edgeinspect.formats.payloads import decode_delegate

    out: dict[str, Any] = {
        "index": d.index,
        "backend": d.backend_id,
        "target": d.target,
        "location": d.location,
        "payload_bytes": d.payload_size,
        "compile_specs": d.specs,
        "tosa_file": d.tosa_file,
        "tosa_join": d.tosa_join,
        "tosa_candidates": list(d.tosa_candidates),
        "ops": None,
        "const_ops": None,
        "npu_ops": None,
    }
    try:
        decoded = (decode or decode_delegate)(d)
    except FormatError as err:
        out["payload_error"] = str(err)
        return out
    out["ops"] = decoded.ops
    out["const_ops"] = decoded.const_ops
    out["npu_ops"] = decoded.npu_ops
    summary = decoded.summary()
    out["payload"] = {k: v for k, v in summary.items() if k not in ("backend", "payload_bytes", "compile_specs", "ops", "const_ops", "npu_ops", "tosa_file", "tosa_join")}
    return out


def method_dict(method: Method, *, metrics: bool = True) -> dict[str, Any]:
    """JSON form of one method: instructions, delegates and (optionally) metrics."""
    decode = _memo_decode()
    instructions = []
    for ins in method.instructions:
        entry: dict[str, Any] = {
            "index": ins.index,
            "kind": ins.kind if ins.kind in ("kernel", "delegate") else "other",
            "op": ins.kind,
            "name": ins.name,
            "device": ins.device,
        }
        if ins.kind == "delegate":
            entry["delegate"] = ins.target
        entry["args"] = list(ins.args)
        instructions.append(entry)
    out: dict[str, Any] = {
        "name": method.name,
        "inputs": [_value_shape(method, v) for v in method.inputs],
        "outputs": [_value_shape(method, v) for v in method.outputs],
        "instructions": instructions,
        "delegates": [delegate_dict(d, decode=decode) for d in method.delegates],
    }
    if metrics:
        from edgeinspect.analysis import method_metrics
        from edgeinspect.analysis.fragmentation import known_delegate_ops

        out["metrics"] = method_metrics(method, functools.partial(known_delegate_ops, decode=decode))
    return out


def _memo_decode() -> Callable[[Delegate], Any]:
    """``decode_delegate`` that decodes each delegate once (the delegates list and the
    coverage metric both need it); an error is kept and raised again on each call."""
    from edgeinspect.errors import EdgeInspectError
    from edgeinspect.formats.payloads import decode_delegate

    done: dict[int, Any] = {}

    def decode(d: Delegate) -> Any:
        if d.index not in done:
            try:
                done[d.index] = decode_delegate(d)
            except EdgeInspectError as err:
                done[d.index] = err
        result = done[d.index]
        if isinstance(result, EdgeInspectError):
            raise result
        return result

    return decode


def _value_shape(method: Method, v: int) -> dict[str, Any]:
    t = method.tensor(v)
    if t is None:
        return {"value": v, "kind": method.values[v].kind}
    return {"value": v, "kind": "tensor", "shape": list(t.sizes), "dtype": t.dtype, "bytes": t.nbytes}


def inspect_dict(program: Program, *, metrics: bool = True) -> dict[str, Any]:
    """The ``inspect --format json`` document of a program."""
    return {
        "schema_version": SCHEMA_VERSION,
        "file": os.path.basename(program.path) if program.path else None,
        "format": "pte",
        "file_bytes": program.file_size,
        "program_version": program.version,
        "segments": len(program.segments),
        "methods": [method_dict(m, metrics=metrics) for m in program.methods],
    }


def inspect_text(program: Program) -> str:
    """A readable report: per method, the instruction table, the delegates and the metrics."""
    from edgeinspect.analysis import boundary_bytes, cpu_islands, delegated_subgraphs, transitions

    name = os.path.basename(program.path) if program.path else "<bytes>"
    lines = [f"{name}: ExecuTorch program, {program.file_size:,} bytes, {len(program.methods)} method(s)"]
    for m in program.methods:
        lines.append("")
        lines.append(f"method {m.name}: {len(m.instructions)} instructions, {len(m.delegates)} delegates, {len(m.values)} values")
        lines.append(f"  {'#':>4}  {'kind':<8}  {'device':<16}  name")
        for ins in m.instructions:
            kind = ins.kind if ins.kind != "jump_false" else "jump"
            device = ins.device or "-"
            shown = ins.name + (f"  [delegate {ins.target}]" if ins.kind == "delegate" else "")
            lines.append(f"  {ins.index:>4}  {kind:<8}  {device:<16}  {shown}")
        if m.delegates:
            lines.append("  delegates:")
            for d in m.delegates:
                target = d.target or "-"
                lines.append(f"    [{d.index}] {d.backend_id}  target={target}  payload={d.payload_size:,} B ({d.location})")
        subgraphs = delegated_subgraphs(m)
        shown_sub = ", ".join(f"{k}={v}" for k, v in subgraphs.items()) or "none"
        lines.append(f"  delegated subgraphs: {shown_sub}; transitions: {transitions(m)}; boundary bytes: {boundary_bytes(m):,}")
        for isl in cpu_islands(m):
            causes = ", ".join(isl.causes) or "glue only"
            lines.append(
                f"  CPU island between instructions {isl.before} and {isl.after}: {len(isl.instructions)} kernels "
                f"(causes: {causes}); {isl.bytes_in:,} B in, {isl.bytes_out:,} B out"
            )
    return "\n".join(lines)
