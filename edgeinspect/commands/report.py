"""``edgeinspect report FILE [--tosa F ...] -o report.html``: one self-contained HTML report."""

from __future__ import annotations

import argparse
import sys

from edgeinspect.commands import add_file_and_tosa

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report (timeline, islands, recommendations, graph)")
    add_file_and_tosa(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from edgeinspect.outputs import check_not_input
    from edgeinspect.report.html import write_report
    from edgeinspect.report.overlays import load_for_view, tosa_beside
    from edgeinspect.textsafe import safe

    # Refused before the model is mapped: writing over it while it is read would destroy it.
    inputs = _inputs([args.file, *(args.tosa or tosa_beside(args.file) or [])])
    check_not_input(args.output, inputs, what="report")
    model = load_for_view(args.file, args.tosa or None)
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
