"""The document ``edgeinspect inspect`` prints: JSON per the CLI contract (docs/cli.md), and a readable text table."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edgeinspect.formats.payloads import PayloadDecoder
from edgeinspect.model import Delegate, Method, Program
from edgeinspect.model.source import MethodSources, ProgramSources

if TYPE_CHECKING:
    from edgeinspect.analysis.profile import MethodProfile
from edgeinspect.textsafe import TEXT_LIMIT, safe

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
    ``payload`` is the decoded payload's summary (see :mod:`edgeinspect.model.payload`).
    ``decode`` replaces ``decode_delegate`` (``method_dict`` passes the
    :class:`~edgeinspect.formats.payloads.PayloadDecoder` it shares with the coverage metric).
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
    if decoded.kind == "ethos-u" and decoded.stream is not None:
        from edgeinspect.estimate import memory_of_stream

        out["memory"] = memory_of_stream(decoded.stream).to_dict()
    summary = decoded.summary()
    out["payload"] = {
        k: v
        for k, v in summary.items()
        if k not in ("backend", "payload_bytes", "compile_specs", "ops", "const_ops", "npu_ops", "tosa_file", "tosa_join")
    }
    return out


def method_dict(
    method: Method,
    *,
    metrics: bool = True,
    etrecord_ops: dict[int, dict[str, int]] | None = None,
    estimates: dict[int, Any] | None = None,
    sources: MethodSources | None = None,
    profile: MethodProfile | None = None,
) -> dict[str, Any]:
    """JSON form of one method: instructions, delegates and (optionally) metrics.

    ``estimates`` (delegate index -> :class:`edgeinspect.estimate.DelegateEstimate`) adds
    each delegate's ``estimate`` (and ``estimate_skipped``/``estimate_error`` without one).
    With ``sources`` every instruction gets ``source`` (None where unknown), and each
    delegate the sources of the operators inside it: ``op_sources`` (its lowered subgraph,
    from an ETRecord) and ``payload_sources`` (payload node index -> source, XNNPACK).
    With ``profile`` (an ETDump joined by :func:`edgeinspect.analysis.profile_method`), every
    instruction that ran gets ``profile`` and the method gets ``profile`` (see
    :meth:`MethodProfile.to_dict <edgeinspect.analysis.profile.MethodProfile.to_dict>`).
    With ``profile`` or ``estimates``, the method gets ``budget``: its latency budget
    (:func:`edgeinspect.analysis.latency_budget`, every figure labelled predicted, measured,
    exact or unknown).
    """
    decode = PayloadDecoder()
    ran = profile.by_instruction() if profile is not None else {}
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
            entry["delegate"] = ins.delegate
        entry["args"] = list(ins.args)
        if sources is not None:
            src = sources.instruction(ins.index)
            entry["source"] = src.to_dict() if src is not None else None
        if ins.index in ran:
            entry["profile"] = ran[ins.index].to_dict()
        instructions.append(entry)
    out: dict[str, Any] = {
        "name": method.name,
        "inputs": [_value_shape(method, v) for v in method.inputs],
        "outputs": [_value_shape(method, v) for v in method.outputs],
        "instructions": instructions,
        "delegates": [delegate_dict(d, decode=decode) for d in method.delegates],
    }
    for d in out["delegates"]:
        if d["ops"] is None and etrecord_ops and d["index"] in etrecord_ops:
            d["ops"], d["ops_source"] = etrecord_ops[d["index"]], "etrecord"
        if estimates is not None and d["index"] in estimates:
            d.update(estimates[d["index"]].to_dict())
        if sources is not None and d["index"] in sources.delegates:
            d["op_sources"] = [op.to_dict() for op in sources.delegates[d["index"]]]
            d["payload_sources"] = {str(k): src.to_dict() for k, src in sources.payload.get(d["index"], {}).items()}
    if metrics:
        from edgeinspect.analysis import method_metrics

        extra = etrecord_ops or {}
        out["metrics"] = method_metrics(method, lambda d: decode.ops(d) or extra.get(d.index))
        # Dynamic shapes are stored at their upper bound: byte figures are then maxima.
        out["metrics"]["dynamic_shapes"] = has_dynamic_shapes(method)
    if profile is not None:
        out["profile"] = profile.to_dict()
    if profile is not None or estimates is not None:
        from edgeinspect.analysis import latency_budget

        out["budget"] = latency_budget(method, profile=profile, estimates=estimates).to_dict()
    return out


def _value_shape(method: Method, v: int) -> dict[str, Any]:
    t = method.tensor(v)
    if t is None:
        return {"value": v, "kind": method.values[v].kind}
    return {"value": v, "kind": "tensor", "shape": list(t.sizes), "dtype": t.dtype, "bytes": t.nbytes, "dynamic": t.shape_dynamism != 0}


def has_dynamic_shapes(method: Method) -> bool:
    """Whether any tensor of the method has a dynamic shape: its sizes (and so every byte
    figure) are upper bounds, not exact."""
    return any(v.kind == "tensor" and v.data is not None and v.data.shape_dynamism != 0 for v in method.values)


def inspect_dict(
    program: Program,
    *,
    metrics: bool = True,
    etrecord_ops: dict[str, dict[int, dict[str, int]]] | None = None,
    estimates: dict[str, dict[int, Any]] | None = None,
    sources: ProgramSources | None = None,
    profiles: dict[str, MethodProfile] | None = None,
) -> dict[str, Any]:
    """The ``inspect --format json`` document of a program.

    ``etrecord_ops`` (method -> delegate index -> operator histogram, from an ETRecord) fills
    the operators of delegates whose payload does not say (``ops_source: "etrecord"``).
    ``estimates`` (method -> delegate index -> DelegateEstimate, from
    :func:`edgeinspect.estimate.estimate_program`) adds each delegate's Vela estimate.
    ``sources`` (from an ETRecord or the program's own frames) gives every instruction its
    ``source`` and the document a ``provenance`` entry (see :func:`method_dict`).
    ``profiles`` (method name -> measured time, from ``--etdump``) adds ``profile`` objects.
    """
    doc = {
        "schema_version": SCHEMA_VERSION,
        "file": os.path.basename(program.path) if program.path else None,
        "format": "pte",
        "file_bytes": program.file_size,
        "program_version": program.version,
        "segments": len(program.segments),
        "methods": [
            method_dict(
                m,
                metrics=metrics,
                etrecord_ops=(etrecord_ops or {}).get(m.name),
                estimates=None if estimates is None else estimates.get(m.name, {}),
                sources=(sources.method(m.name) or MethodSources(m.name)) if sources is not None else None,
                profile=(profiles or {}).get(m.name),
            )
            for m in program.methods
        ],
    }
    if sources is not None:
        doc["provenance"] = {"origin": sources.origin, "etrecord": sources.etrecord}
    return doc


def _histogram(counts: dict[str, int] | None, limit: int = 6) -> str:
    """``A 3, B 1, ...`` most frequent first (ties by name), at most ``limit`` entries."""
    if not counts:
        return ""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{safe(k)} {v}" for k, v in items[:limit])
    return shown + (f", +{len(items) - limit} more" if len(items) > limit else "")


def _names(names: list[str], shown: int = 10) -> str:
    """Names from the file, safe to print: the first ``shown``, and how many more there are."""
    text = ", ".join(safe(n) for n in names[:shown])
    return text + (f", +{len(names) - shown} more" if len(names) > shown else "")


def inspect_text(
    program: Program,
    *,
    methods: list[str] | None = None,
    etrecord_ops: dict[str, dict[int, dict[str, int]]] | None = None,
    estimates: dict[str, dict[int, Any]] | None = None,
    profiles: dict[str, MethodProfile] | None = None,
) -> str:
    """A readable report: per method, the instruction table, what runs inside each delegate,
    the metrics, the CPU islands and the operators that split the delegated graph; with
    ``profiles``, a time column and the measured-time summary of each profiled method."""
    from edgeinspect.analysis import crossings, format_score, latency_budget, round_trips
    from edgeinspect.graph import producers_and_consumers
    from edgeinspect.recommend import recommend_method
    from edgeinspect.report.budget import budget_lines, crossing_lines

    name = safe(os.path.basename(program.path)) if program.path else "<bytes>"
    lines = [f"{name}: ExecuTorch program, {program.file_size:,} bytes, {len(program.methods)} method(s)"]
    for m in program.methods:
        if methods and m.name not in methods:
            continue
        doc = method_dict(
            m, etrecord_ops=(etrecord_ops or {}).get(m.name), estimates=None if estimates is None else estimates.get(m.name, {})
        )
        metrics = doc["metrics"]
        lines.append("")
        lines.append(f"method {safe(m.name)}: {len(m.instructions)} instructions, {len(m.delegates)} delegates, {len(m.values)} values")
        profile = (profiles or {}).get(m.name)
        if profile is not None:
            from edgeinspect.report.profile import TIME_HEADER, profile_lines, time_cell
        time_header = f"  {TIME_HEADER:>14}" if profile is not None else ""
        lines.append(f"  {'#':>4}  {'kind':<8}  {'device':<16}{time_header}  name")
        flow = producers_and_consumers(m)  # once for the crossings, the round trips and the budget
        hops = crossings(m, dataflow=flow)
        per_call: dict[int, list[int]] = {}
        for c in hops:
            per_call.setdefault(c.instruction, [0, 0])[c.direction == "out"] += c.bytes
        for ins in m.instructions:
            kind = ins.kind if ins.kind != "jump_false" else "jump"
            device = safe(ins.device or "-")
            shown = safe(ins.name)
            if ins.kind == "delegate":
                b_in, b_out = per_call.get(ins.index, (0, 0))
                shown += f"  [delegate {ins.delegate}]  {b_in:,} B in, {b_out:,} B out"
            time = f"  {time_cell(profile, ins.index):>14}" if profile is not None else ""
            lines.append(f"  {ins.index:>4}  {kind:<8}  {device:<16}{time}  {shown}")
        if doc["delegates"]:
            lines.append("  delegates:")
        for d in doc["delegates"]:
            target = safe(d["target"] or "-")
            lines.append(f"    [{d['index']}] {safe(d['backend'])}  target={target}  payload={d['payload_bytes']:,} B ({d['location']})")
            if d.get("payload_error"):
                lines.append(f"        payload not decoded: {safe(d['payload_error'], TEXT_LIMIT)}")
            if d["ops"]:
                source = f" (from {safe(d['tosa_file'])})" if d["tosa_file"] else " (from the ETRecord)" if d.get("ops_source") else ""
                lines.append(f"        runs{source}: {_histogram(d['ops'])}")
            if d["npu_ops"]:
                lines.append(f"        NPU command stream: {_histogram(d['npu_ops'])}")
            if d["tosa_join"] in ("ambiguous", "missing"):
                candidates = ", ".join(safe(c) for c in d["tosa_candidates"]) or "none"
                lines.append(f"        .tosa join: {d['tosa_join']} (candidates: {candidates})")
            if d.get("memory"):
                from edgeinspect.report.estimate import memory_line

                lines.append(f"        {memory_line(d['memory'])}")
            if "estimate" in d:
                from edgeinspect.report.estimate import estimate_lines

                lines.extend(f"        {line}" for line in estimate_lines(d))
        subgraphs = ", ".join(f"{safe(k)}={v}" for k, v in metrics["delegated_subgraphs"].items()) or "none"
        ratio = metrics["coverage"]["ratio"]
        shown_cov = ratio if isinstance(ratio, str) else f"{ratio:.0%}"
        lines.append(
            f"  delegated subgraphs: {subgraphs}; transitions: {metrics['transitions']}; "
            f"boundary bytes: {metrics['boundary_bytes']:,}; coverage: {shown_cov}; "
            f"fragmentation score: {format_score(metrics['fragmentation_score'])}"
        )
        lines.extend(crossing_lines(hops, round_trips(m, dataflow=flow)))
        if metrics["dynamic_shapes"]:
            lines.append("  dynamic shapes: sizes are upper bounds, so byte figures are maxima")
        for isl in metrics["cpu_islands"]:
            causes = _names(isl["causes"]) or "glue only"
            if isl["control_flow"]:
                causes = f"control flow at instruction(s) {', '.join(map(str, isl['control_flow']))}; kernels: {causes}"
            before, after = isl["between"]
            lines.append(
                f"  CPU island between instructions {before} and {after}: {len(isl['instructions'])} kernels "
                f"(causes: {causes}); {isl['bytes_in']:,} B in, {isl['bytes_out']:,} B out"
            )
        recs = recommend_method(m)
        if recs:
            lines.append("  operators that split the delegated graph (edgeinspect explain: reasons and fixes):")
        for r in recs:
            d = r.to_dict()
            lines.append(
                f"    {safe(d['operator'])}: {d['instances']} instance(s); if delegated {d['delegates_before']} -> "
                f"{d['delegates_if_supported']} delegates, {d['transitions_saved']} transitions and {d['bytes_saved']:,} B saved"
            )
        if profile is not None:
            lines.extend(profile_lines(profile, m))
        method_estimates = None if estimates is None else estimates.get(m.name, {})
        if profile is not None or method_estimates is not None:
            lines.extend(budget_lines(latency_budget(m, profile=profile, estimates=method_estimates, dataflow=flow)))
    return "\n".join(lines)
