"""``edgeinspect inspect FILE [--tosa F ...] [--method NAME ...] [--etdump F] [--estimate] [--etrecord F] [--format text|json]``."""

from __future__ import annotations

import argparse
import json
import sys

from edgeinspect.commands import add_evidence_options, add_file_and_tosa, evidence_from_args, tosa_arg

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="show the instructions, delegates and metrics of a .pte or .tosa file")
    add_file_and_tosa(p)
    p.add_argument("--method", action="append", metavar="NAME", help="only these methods (default: all; with --etdump: the one that ran)")
    add_evidence_options(p, method=False)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import edgeinspect
    from edgeinspect.errors import UsageError
    from edgeinspect.model import Program
    from edgeinspect.report.render import render_inspect

    model = edgeinspect.load(args.file, tosa=tosa_arg(args))
    if isinstance(model, Program):
        for name in args.method or ():
            model.method(name)  # raises UsageError naming the methods there are
        doc = render_inspect(evidence_from_args(args, model), args.format, methods=args.method)
    else:
        given = [f"--{k.replace('_', '-')}" for k in ("etdump", "estimate", "etrecord") if getattr(args, k)]
        if given:
            raise UsageError(f"{' and '.join(given)} {'goes' if len(given) == 1 else 'go'} with the .pte program, not a .tosa file")
        doc = render_inspect(model, args.format)
    if args.format == "json":
        # Indented on a terminal; compact into pipes and files, where the C encoder writes a
        # 20,000-instruction program about ten times faster than the indenting one.
        text = json.dumps(doc, indent=2) if sys.stdout.isatty() else json.dumps(doc, separators=(",", ":"))
        sys.stdout.write(text + "\n")
    else:
        sys.stdout.write(doc + "\n")
    return 0
