"""``edgeinspect report FILE [--tosa F ...] -o report.html``: one self-contained HTML report."""

from __future__ import annotations

import argparse
import sys

from edgeinspect.commands import add_file_and_tosa

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report (timeline, islands, recommendations, graph)")
    add_file_and_tosa(p, beside=True)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from edgeinspect.errors import UsageError
    from edgeinspect.report.html import write_report
    from edgeinspect.report.overlays import load_for_view

    model = load_for_view(args.file, args.tosa or None)
    try:
        write_report(model, args.output)
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from err
    print(f"edgeinspect: wrote {args.output}", file=sys.stderr)
    return 0
