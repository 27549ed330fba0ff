"""``edgeinspect report FILE [--tosa F ...] [--etdump F] [--estimate] [--etrecord F] -o report.html``:
one self-contained HTML report."""

from __future__ import annotations

import argparse
import sys

from edgeinspect.commands import add_evidence_options, add_file_and_tosa, evidence_from_args, tosa_arg

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report (summary, timeline, delegates, islands, recommendations, time, estimates, graph)",
    )
    add_file_and_tosa(p)
    add_evidence_options(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write (never one of the inputs)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import edgeinspect
    from edgeinspect.errors import UsageError
    from edgeinspect.model import Program
    from edgeinspect.outputs import check_not_input
    from edgeinspect.report.html import write_report
    from edgeinspect.report.overlays import tosa_beside
    from edgeinspect.textsafe import safe

    # Refused before anything is mapped: writing over an input while it is read would destroy it.
    inputs = _inputs([args.file, *(args.tosa or tosa_beside(args.file) or [])])
    inputs += [f for f in (args.etdump, args.etrecord) if f]
    check_not_input(args.output, inputs, what="report")
    model = edgeinspect.load(args.file, tosa=tosa_arg(args))
    if isinstance(model, Program):
        write_report(evidence_from_args(args, model), args.output, inputs=inputs)
    else:
        given = [f"--{k.replace('_', '-')}" for k in ("etdump", "estimate", "etrecord") if getattr(args, k)]
        if given:
            raise UsageError(f"{' and '.join(given)} {'goes' if len(given) == 1 else 'go'} with the .pte program, not a .tosa file")
        write_report(model, args.output, inputs=inputs)
    print(f"edgeinspect: wrote {safe(args.output)}", file=sys.stderr)
    return 0


def _inputs(paths: list[str]) -> list[str]:
    """The files a report reads: the model and the dumps, directories expanded."""
    import os

    out = []
    for p in paths:
        out.append(p)
        if os.path.isdir(p):
            out.extend(os.path.join(p, name) for name in sorted(os.listdir(p)))
    return out
