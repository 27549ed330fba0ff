"""``edgeinspect diff BASE HEAD [--tosa-base F ...] [--tosa-head F ...] [--etdump-base A --etdump-head B] [--format text|json]``.

Shows, per method, what differs: the targets the delegates were compiled for, the delegated
subgraphs per backend, CPU islands added and removed, CPU operator counts, the operators inside
the delegates, coverage, transitions, boundary bytes and payload bytes; given an ETDump of each
program (``--etdump-base``/``--etdump-head``, of the method ``--method``), their measured time:
execute time, where it goes, and each partition and call. Exit 0 (a report, not a check: use
``edgeinspect lint --baseline`` to fail on growth), 2 when a file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "run"]

_TOSA_HELP = (
    "dumped .tosa files or directories of them for the {} program (one or more, repeatable; default: its <stem>.tosa.d when present)"
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff",
        help="show what changed between two .pte files (targets, delegates, islands, operators, coverage, bytes, measured time)",
    )
    p.add_argument("base", help="the .pte before (e.g. from the main branch)")
    p.add_argument("head", help="the .pte after")
    p.add_argument("--tosa-base", action="extend", nargs="+", default=[], metavar="F", help=_TOSA_HELP.format("base"))
    p.add_argument("--tosa-head", action="extend", nargs="+", default=[], metavar="F", help=_TOSA_HELP.format("head"))
    group = p.add_argument_group("measured time (two profiles of one method)")
    group.add_argument("--etdump-base", metavar="A", help="ETDump (.etdp) of runs of the base program's --method")
    group.add_argument("--etdump-head", metavar="B", help="ETDump (.etdp) of runs of the head program's --method")
    group.add_argument("--method", default="forward", metavar="NAME", help="the method both ETDumps profiled (default: forward)")
    group.add_argument("--warmup-runs", type=int, default=1, metavar="N", help="first runs of each ETDump treated as warm-up (default 1)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import edgeinspect
    from edgeinspect.diff import diff_programs
    from edgeinspect.errors import UsageError
    from edgeinspect.model import Program

    if bool(args.etdump_base) != bool(args.etdump_head):
        raise UsageError("--etdump-base and --etdump-head go together: one ETDump of each program")
    sides = []
    try:
        for path, tosa, etdump in ((args.base, args.tosa_base, args.etdump_base), (args.head, args.tosa_head, args.etdump_head)):
            model = edgeinspect.load(path, tosa=list(tosa) if tosa else edgeinspect.AUTO)
            sides.append(model)
            if not isinstance(model, Program):
                raise UsageError(f"{path}: diff compares ExecuTorch programs (.pte); this is a {model.format} file")
            if etdump:
                sides[-1] = edgeinspect.gather(model, etdump=etdump, method=args.method, warmup_runs=args.warmup_runs)
        d = diff_programs(sides[0], sides[1])
    finally:
        for side in sides:
            (side.program if hasattr(side, "program") else side).close()
    if args.format == "json":
        from edgeinspect.textsafe import TEXT_LIMIT, bounded

        doc = d.to_dict()
        for m in doc["methods"]:  # names from the files abbreviated (island keys, which join several, less so)
            m.update(
                bounded(
                    {k: m[k] for k in ("name", "targets", "delegated_subgraphs", "payload_bytes", "operators", "delegated_ops") if k in m}
                )
            )
        json.dump(bounded(doc, TEXT_LIMIT), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(d.to_text() + "\n")
    return 0
