"""``edgeinspect explain FILE [--tosa F ...] [--etrecord F] [--format text|json]``.

Ranks the CPU operators that split the delegated graph, most harmful first, with what
delegating each would save, why the backend rejected it and a concrete fix. With
``--etrecord`` (needs executorch) the reasons come from the backend's own checks, each
recommendation carries the real partitioner's what-if partition count, and each instance
its source: the module and the line of the model it came from (also read from the
program's own frames when it was exported with ``emit_stacktrace=True``).
Exit code: 0 when nothing splits the graph, 1 when there are recommendations.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from edgeinspect.commands import add_evidence_options, add_file_and_tosa, evidence_from_args, tosa_arg
from edgeinspect.textsafe import TEXT_LIMIT, safe

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="rank the operators that split the delegated graph, with reasons and fixes")
    add_file_and_tosa(p, file_help=".pte file")
    add_evidence_options(
        p,
        etrecord_help="ETRecord of the export: executorch's own reasons, the real partitioner's what-if, and the module and "
        "line each operator came from (needs executorch; loading it runs torch deserialization: only pass files you trust)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import edgeinspect
    from edgeinspect.errors import UsageError
    from edgeinspect.model import Program
    from edgeinspect.recommend import explain_dict, recommend
    from edgeinspect.recommend.sources import with_sources

    program = edgeinspect.load(args.file, tosa=tosa_arg(args))
    if not isinstance(program, Program):
        raise UsageError(f"{args.file}: explain needs a .pte program (a .tosa file has no CPU/delegate split to explain)")
    # The ETRecord's provenance is read first: it also checks the ETRecord belongs to this program.
    evidence = evidence_from_args(args, program)
    sources = evidence.sources
    reasons = None
    partitioner_info: dict[str, Any] | None = None
    recs = recommend(program)
    if evidence.etrecord:
        from edgeinspect.export.partitioner import etrecord_analysis  # importable: gather() imported its room

        try:
            reasons, partitioner_info = etrecord_analysis(program, evidence.etrecord, recs)
        except (RuntimeError, ValueError, KeyError, OSError) as err:
            raise UsageError(f"{evidence.etrecord}: cannot use this ETRecord with {os.path.basename(args.file)}: {err}") from err
        recs = recommend(program, reasons)
        whatif = partitioner_info.get("whatif", {}) if partitioner_info else {}
        recs = [_with_whatif(r, whatif) for r in recs]
    if sources is not None:
        recs = with_sources(program, recs, sources)
    name = os.path.basename(args.file)
    control_flow = _control_flow_islands(program)
    if args.format == "json":
        from edgeinspect.textsafe import bounded

        doc = explain_dict(recs, file=name, partitioner=partitioner_info)
        doc["control_flow_islands"] = control_flow
        for rec in doc["recommendations"]:  # names from the file abbreviated (reasons and fixes are longer)
            rec.update(bounded({k: rec[k] for k in ("operator", "method", "backend", "target", "kernels", "requires")}))
        if sources is not None:
            doc["provenance"] = {"origin": sources.origin, "etrecord": sources.etrecord}
        json.dump(bounded(doc, TEXT_LIMIT), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        text = _text(name, recs)
        if recs and sources is None:
            from edgeinspect.recommend.sources import NO_PROVENANCE

            text += f"\nnote: {NO_PROVENANCE}"
        for isl in control_flow:
            text += (
                f"\nnote: [{safe(isl['method'])}] the CPU island between instructions {isl['between'][0]} and {isl['between'][1]} holds "
                f"control flow (jumps/moves at {', '.join(map(str, isl['control_flow']))}): the branches of a torch.cond or a loop "
                "body, which no partitioner merges across. Hoist the condition out of the exported model, or compute both "
                "branches and select with torch.where."
            )
        sys.stdout.write(text + "\n")
    return 1 if recs else 0


def _control_flow_islands(program: Any) -> list[dict[str, Any]]:
    """CPU islands that hold jumps or moves (their operators are not named as causes)."""
    from edgeinspect.analysis import cpu_islands

    return [{"method": m.name, **isl.to_dict()} for m in program.methods for isl in cpu_islands(m) if isl.control_flow]


def _with_whatif(rec: Any, whatif: dict[str, Any]) -> Any:
    from dataclasses import replace

    key = "+".join((rec.operator, *rec.requires))
    found = whatif.get(f"{rec.method}:{key}")
    return replace(rec, whatif=found) if found is not None else rec


def _text(name: str, recs: list[Any]) -> str:
    """The readable report; every name from the file is abbreviated and its control characters escaped."""
    from edgeinspect.recommend.sources import source_lines

    name = safe(name)
    if not recs:
        return f"{name}: no CPU operator splits the delegated graph"
    lines = [f"{name}: {len(recs)} operator(s) split the delegated graph, most harmful first"]
    for k, r in enumerate(recs, 1):
        d = r.to_dict()
        also = f" (with {', '.join(safe(o) for o in r.requires)})" if r.requires else ""
        where = f"{safe(r.method)}, {safe(r.backend)}, target {safe(r.target or '-')}"
        lines.append(
            f"{k}. {safe(r.operator)}{also} [{where}]: {r.instances} instance(s), "
            f"splits {r.splits} island(s); if delegated: {d['delegates_before']} -> {d['delegates_if_supported']} delegates, "
            f"{d['transitions_saved']} transitions and {d['bytes_saved']:,} boundary bytes saved"
        )
        for sentence in source_lines(r):
            lines.append(f"   where: {sentence}")
        for reason in d["reasons"]:
            lines.append(f"   why ({d['reason_source']}): {safe(reason, TEXT_LIMIT)}")
        if d["fix"]:
            lines.append(f"   fix [{safe(d['fix_id'])}]: {safe(d['fix'], TEXT_LIMIT)}")
        for alt in d["alternatives"]:
            lines.append(f"   or  [{safe(alt['id'])}]: {safe(alt['text'], TEXT_LIMIT)}")
        if d["whatif"]:
            lines.append(f"   real partitioner with it supported: {d['whatif']['partitions']} partition(s)")
    return "\n".join(lines)
