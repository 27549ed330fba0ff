"""``edgeinspect inspect FILE [--tosa F ...] [--method NAME ...] [--format text|json]``."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="show the instructions, delegates and metrics of a .pte or .tosa file")
    p.add_argument("file", help=".pte or .tosa file")
    p.add_argument(
        "--tosa", action="append", default=[], metavar="F", help="dumped .tosa file or directory to join to Arm delegates (repeatable)"
    )
    p.add_argument("--method", action="append", metavar="NAME", help="only these methods (default: all)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import edgeinspect
    from edgeinspect.report.render import render_inspect

    model = edgeinspect.load(args.file, tosa=args.tosa or None)
    if args.method and getattr(model, "format", None) == "pte":
        for name in args.method:
            model.method(name)  # raises UsageError naming the methods there are
    doc = render_inspect(model, args.format, methods=args.method)
    if args.format == "json":
        # Indented on a terminal; compact into pipes and files, where the C encoder writes a
        # 20,000-instruction program about ten times faster than the indenting one.
        text = json.dumps(doc, indent=2) if sys.stdout.isatty() else json.dumps(doc, separators=(",", ":"))
        sys.stdout.write(text + "\n")
    else:
        sys.stdout.write(doc + "\n")
    return 0
