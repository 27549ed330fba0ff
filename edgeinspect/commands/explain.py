"""``edgeinspect explain FILE [--tosa F ...] [--etrecord F] [--etdump F] [--estimate] [--format text|json]``.

Accounts for every operator a program runs on the CPU. First the operators that split the
delegated graph, most harmful first, with what delegating each would save, why the backend
rejected it and a concrete fix; then every CPU fallback (splitting or not: leading, trailing,
between delegates, or in a program with nothing delegated), each with its reason and fix,
and the glue (quantize/dequantize, layout copies) counted apart. With ``--etrecord`` (needs
executorch) the reasons come from the backend's own checks, each recommendation carries the
real partitioner's what-if partition count, and each instance its source. With ``--etdump``
the splitters are ranked by the measured time of the islands they cause and every figure gets
its measured time; with ``--estimate --etrecord`` Vela predicts the cycles a merge saves.

Exit code: 0 after a successful analysis, whatever it found (explain explains; ``lint``
gates); ``--fail-on-splits`` / ``--fail-on-fallbacks`` make it exit 1 when some operator
splits the graph / falls back to the CPU. 2 on a usage error or an unreadable file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from edgeinspect.commands import add_evidence_options, add_file_and_tosa, evidence_from_args, tosa_arg
from edgeinspect.textsafe import NAME_LIMIT, TEXT_LIMIT, abbreviate, safe

__all__ = ["add_parser", "run"]

#: Fallbacks listed in the text output (JSON lists them all).
TEXT_FALLBACKS = 50
#: Instruction indices shown per line in the text output.
TEXT_INSTRUCTIONS = 8


def add_parser(sub: argparse._SubParsersAction) -> None:
    from edgeinspect.recommend.support import support_table

    p = sub.add_parser(
        "explain",
        help="account for every operator on the CPU: the ones that split the delegated graph first, with reasons and fixes",
        description="Rank the operators that split the delegated graph, then list every operator that falls back to the CPU "
        "(glue apart), each with why and a fix. Exits 0 after a successful analysis; --fail-on-splits / --fail-on-fallbacks "
        "exit 1 when there is something to report (for gating, see also `edgeinspect lint`).",
    )
    add_file_and_tosa(p, file_help=".pte file")
    add_evidence_options(
        p,
        etrecord_help="ETRecord of the export: executorch's own reasons, the real partitioner's what-if, and the module and "
        "line each operator came from (needs executorch; loading it runs torch deserialization: only pass files you trust)",
    )
    p.add_argument(
        "--target",
        choices=sorted(support_table()["targets"]),
        default=None,
        help="the target a method with no delegate call was lowered for (a .pte without delegates does not record it): "
        "reasons and fixes for its operators come from that target (default: the target of the program's delegates)",
    )
    p.add_argument(
        "--tick-ns",
        type=float,
        default=None,
        metavar="NS",
        help="with --etdump: nanoseconds per tick of the runtime's clock (1 for a run on a host, 1e9/Hz for a cycle counter), "
        "to say measured times in milliseconds too (ETDumps do not say their unit)",
    )
    p.add_argument("--fail-on-splits", action="store_true", help="exit 1 when an operator splits the delegated graph")
    p.add_argument("--fail-on-fallbacks", action="store_true", help="exit 1 when any non-glue operator runs on the CPU")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import edgeinspect
    from edgeinspect.errors import UsageError
    from edgeinspect.model import Program
    from edgeinspect.recommend import recommend
    from edgeinspect.recommend.cost import rank_by_time, with_measured_time
    from edgeinspect.recommend.fallbacks import account
    from edgeinspect.recommend.sources import with_sources

    if args.tick_ns is not None and not (args.tick_ns > 0 and args.tick_ns < float("inf")):
        raise UsageError(f"--tick-ns takes a positive number of nanoseconds, not {args.tick_ns}")
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
            reasons, partitioner_info = etrecord_analysis(program, evidence.etrecord, recs, target=args.target)
        except (RuntimeError, ValueError, KeyError, OSError) as err:
            raise UsageError(f"{evidence.etrecord}: cannot use this ETRecord with {os.path.basename(args.file)}: {err}") from err
        recs = recommend(program, reasons)
        whatif = partitioner_info.get("whatif", {}) if partitioner_info else {}
        recs = [_with_whatif(r, whatif) for r in recs]
    if sources is not None:
        recs = with_sources(program, recs, sources)
    profiled = bool(evidence.profiles)
    if profiled:
        recs = rank_by_time(with_measured_time(recs, program.method, evidence.profile, ns_per_tick=args.tick_ns))
    elif args.tick_ns is not None:
        raise UsageError("--tick-ns goes with --etdump")
    if args.estimate:
        recs = _with_merge_estimates(program, recs, evidence.etrecord, cache=not args.no_cache)
    cpu = account(program, evidence, reasons=reasons, recommendations=recs, target=args.target, ns_per_tick=args.tick_ns)
    name = os.path.basename(args.file)
    control_flow = _control_flow_islands(program)
    if args.format == "json":
        from edgeinspect.recommend import explain_dict
        from edgeinspect.textsafe import bounded

        doc = explain_dict(recs, file=name, partitioner=partitioner_info)
        doc["ranked_by"] = "measured island time" if profiled else "delegate calls saved"
        for rec in doc["recommendations"]:  # names from the file abbreviated (reasons and fixes are longer)
            rec.update(bounded({k: rec[k] for k in ("operator", "method", "backend", "target", "kernels", "requires")}))
        account_doc = cpu.to_dict()
        # Every name from the file abbreviated; reasons and fixes are longer texts (names in them
        # were abbreviated when they were written).
        texts = ("reason", "reasons", "fix", "alternatives", "cost_note")
        for key in ("fallbacks", "glue"):
            account_doc[key] = [
                {k: bounded(v, TEXT_LIMIT if k in texts else NAME_LIMIT) for k, v in entry.items()} for entry in account_doc[key]
            ]
        account_doc["undelegated"] = bounded(account_doc["undelegated"])
        doc.update(account_doc)
        doc["control_flow_islands"] = control_flow
        if profiled:
            doc["profile"] = _profile_doc(evidence, args.tick_ns)
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
        text += "\n" + "\n".join(_account_lines(cpu, recs))
        if profiled:
            text += "\n" + _profile_note(evidence, args.tick_ns)
        sys.stdout.write(text + "\n")
    if args.fail_on_splits and recs:
        return 1
    if args.fail_on_fallbacks and cpu.fallbacks:
        return 1
    return 0


def _control_flow_islands(program: Any) -> list[dict[str, Any]]:
    """CPU islands that hold jumps or moves (their operators are not named as causes)."""
    from edgeinspect.analysis import cpu_islands

    return [{"method": m.name, **isl.to_dict()} for m in program.methods for isl in cpu_islands(m) if isl.control_flow]


def _with_whatif(rec: Any, whatif: dict[str, Any]) -> Any:
    from dataclasses import replace

    key = "+".join((rec.operator, *rec.requires))
    found = whatif.get(f"{rec.method}:{key}")
    return replace(rec, whatif=found) if found is not None else rec


#: The fields of a merge estimate explain reports (the partitions' own estimates are in
#: ``inspect --estimate``).
_MERGE_FIELDS = (
    "method",
    "operators",
    "target",
    "delegates_before",
    "delegates_after",
    "cycles_before",
    "cycles_after",
    "cycles_saved",
    "seconds_saved",
    "core_clock_hz",
    "merged",
    "reason",
    "summary",
)


def _with_merge_estimates(program: Any, recs: list[Any], etrecord: str | None, *, cache: bool) -> list[Any]:
    """Each Ethos-U recommendation with Vela's prediction for its merged partition
    (:func:`edgeinspect.export.merge_estimate.estimate_merge`), or what is missing for one."""
    from dataclasses import replace

    from edgeinspect.errors import UsageError
    from edgeinspect.estimate import merge_estimate_missing

    missing = merge_estimate_missing(etrecord)
    out = []
    for rec in recs:
        if rec.backend != "EthosUBackend":
            why = f"Vela estimates Ethos-U delegates only; these are {rec.backend} delegates"
            merge: dict[str, Any] = {"reason": why, "summary": f"no estimate: {why}"}
        elif missing is not None:
            merge = {"missing": missing, "summary": f"no estimate without {missing}"}
        else:
            from edgeinspect.export.merge_estimate import estimate_merge  # behind --estimate --etrecord

            try:
                found = estimate_merge(etrecord, (rec.operator, *rec.requires), method=rec.method, program=program, cache=cache)
            except UsageError as err:
                merge = {"reason": str(err), "summary": f"no estimate: {err}"}
            else:
                full = found.to_dict()
                merge = {k: full[k] for k in _MERGE_FIELDS}
        out.append(replace(rec, merge=merge))
    return out


def _profile_doc(evidence: Any, ns_per_tick: float | None) -> dict[str, Any]:
    (method, profile), *_ = evidence.profiles.items()
    from edgeinspect.recommend.cost import Ticks

    clock = Ticks.of(profile, ns_per_tick)
    return {
        "method": method,
        "etdump": profile.source,
        "unit": "ticks",
        "ns_per_tick": ns_per_tick,
        "runs": profile.runs,
        "warmup_runs": profile.warmup_runs,
        "steady_runs": clock.runs,
        "execute_ticks": clock.per_run(clock.execute_ticks),
    }


def _profile_note(evidence: Any, ns_per_tick: float | None) -> str:
    (method, profile), *_ = evidence.profiles.items()
    from edgeinspect.recommend.cost import Ticks

    clock = Ticks.of(profile, ns_per_tick)
    unit = (
        f"ticks of {ns_per_tick:g} ns"
        if ns_per_tick is not None
        else "ticks as recorded (nanoseconds on a host run: --tick-ns 1 adds milliseconds)"
    )
    return (
        f"note: measured times are from {safe(profile.source or 'the ETDump')} (method {safe(method)}), per run over the "
        f"{clock.runs} run(s) after the warm-up, in {unit}; 'saves' counts the measured glue the merged partition absorbs, "
        "a lower bound (see docs/concepts.md, 'What delegating saves, in time')"
    )


def _instructions(indices: tuple[int, ...]) -> str:
    shown = ", ".join(map(str, indices[:TEXT_INSTRUCTIONS]))
    return shown + (f", +{len(indices) - TEXT_INSTRUCTIONS} more" if len(indices) > TEXT_INSTRUCTIONS else "")


def _account_lines(cpu: Any, recs: list[Any]) -> list[str]:
    """The fallbacks and the glue, in words; every name from the file escaped and abbreviated."""
    from edgeinspect.recommend.cost import format_ticks

    rank = {(r.method, r.operator): k for k, r in enumerate(recs, 1)}
    lines = []
    for method in cpu.undelegated:
        lines.append(f"note: nothing in method {safe(method)} is delegated: every operator runs on the CPU")
    if not cpu.fallbacks:
        lines.append("CPU fallbacks: none (nothing but glue runs on the CPU)")
    else:
        lines.append(f"CPU fallbacks: {len(cpu.fallbacks)} operator(s) run on the CPU, glue apart (splitters first)")
    for f in cpu.fallbacks[:TEXT_FALLBACKS]:
        d = f.to_dict()
        where = ", ".join(f"{n} {p}" for p, n in f.positions) if f.position == "mixed" else f.position
        head = f"  [{safe(f.method)}] {safe(f.operator)}: {f.count} call(s) at instruction(s) {_instructions(f.instructions)}, {where}"
        if f.splits:
            k = rank.get((f.method, f.splitter))
            lines.append(f"{head}; splits {f.splits} island(s): recommendation #{k} above" if k else f"{head}; splits {f.splits} island(s)")
            if f.time is not None:
                lines.append(_measured_line(f.time, format_ticks))
            continue
        lines.append(f"{head}; does not split the delegated graph")
        lines.append(f"     why ({f.reason_source}): {safe(f.reason, TEXT_LIMIT)}")
        for extra in f.reasons[1:3]:
            lines.append(f"          {safe(extra, TEXT_LIMIT)}")
        if d["fix"]:
            lines.append(f"     fix [{safe(d['fix_id'])}]: {safe(d['fix'], TEXT_LIMIT)}")
        if f.position == "whole-program":
            runs_on = ", ".join(f.runs_on) or "no target of the support table"
            lines.append(f"     runs on: {runs_on}")
        cost = d["cost"]
        if cost is not None and not f.splits:
            with_others = [o for o in cost["operators"] if o != f.operator]
            more = cost["operators_total"] - len(cost["operators"])
            together = f" (with {', '.join(safe(o) for o in with_others)}{f', +{more} more' if more else ''})" if with_others else ""
            lines.append(
                f"     if delegated{together} to {safe(cost['backend'])}: {cost['delegates']} delegate call(s), "
                f"{cost['transitions']} transition(s) and {cost['boundary_bytes']:,} boundary bytes saved"
            )
        if f.time is not None:
            lines.append(_measured_line(f.time, format_ticks))
    if len(cpu.fallbacks) > TEXT_FALLBACKS:
        lines.append(f"  +{len(cpu.fallbacks) - TEXT_FALLBACKS} more fallbacks (--format json lists them all)")
    by_method: dict[str, list[Any]] = {}
    for g in cpu.glue:
        by_method.setdefault(g.method, []).append(g)
    for method, glue in by_method.items():
        kinds: dict[str, int] = {}
        for g in glue:
            kinds[g.kind] = kinds.get(g.kind, 0) + g.count
        calls = sum(g.count for g in glue)
        ops = ", ".join(f"{abbreviate(safe(g.operator), NAME_LIMIT)} {g.count}" for g in glue[:6]) + (
            f", +{len(glue) - 6} more" if len(glue) > 6 else ""
        )
        text = (
            f"glue [{safe(method)}]: {calls} call(s) on the CPU ({', '.join(f'{k} {n}' for k, n in kinds.items())}: {ops}), "
            f"writing {sum(g.bytes_written for g in glue):,} bytes"
        )
        timed = [g.time for g in glue if g.time is not None]
        if timed:
            c = timed[0].clock
            ticks = sum(t.kernel_ticks for t in timed)
            share = c.share(ticks)
            ms = c.ms(ticks)
            text += f"; measured {format_ticks(c.per_run(ticks))} ticks per run" + (f" ({ms:.4g} ms)" if ms is not None else "")
            text += f", {share:.1%} of execute time" if share is not None else ""
        lines.append(text)
    return lines


def _measured_line(time: Any, format_ticks: Any) -> str:
    c = time.clock
    share, ms = c.share(time.kernel_ticks), c.ms(time.kernel_ticks)
    return (
        f"     measured: {format_ticks(c.per_run(time.kernel_ticks))} ticks per run"
        + (f" ({ms:.4g} ms)" if ms is not None else "")
        + (f", {share:.1%} of execute time" if share is not None else "")
    )


def _text(name: str, recs: list[Any]) -> str:
    """The readable report; every name from the file is abbreviated and its control characters escaped."""
    from edgeinspect.recommend.sources import source_lines

    name = safe(name)
    if not recs:
        return f"{name}: no CPU operator splits the delegated graph"
    ranked = "by the measured time of the islands they cause" if recs[0].time is not None else "most harmful first"
    lines = [f"{name}: {len(recs)} operator(s) split the delegated graph, {ranked}"]
    for k, r in enumerate(recs, 1):
        d = r.to_dict()
        also = f" (with {', '.join(safe(o) for o in r.requires)})" if r.requires else ""
        where = f"{safe(r.method)}, {safe(r.backend)}, target {safe(r.target or '-')}"
        lines.append(
            f"{k}. {safe(r.operator)}{also} [{where}]: {r.instances} instance(s), "
            f"splits {r.splits} island(s); if delegated: {d['delegates_before']} -> {d['delegates_if_supported']} delegates, "
            f"{d['transitions_saved']} transitions and {d['bytes_saved']:,} boundary bytes saved"
        )
        if r.time is not None:
            lines.append(f"   measured: {r.time.sentence()}")
        if r.merge is not None:
            lines.append(f"   predicted (Vela): {safe(str(r.merge['summary']), TEXT_LIMIT)}")
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
