"""``edgeinspect inspect FILE [--tosa F ...] [--method NAME ...] [--etdump F [--warmup-runs N]] [--estimate [--no-cache]]
[--format text|json]``."""

from __future__ import annotations

import argparse
import json
import sys

from edgeinspect.commands import add_estimate_options, add_file_and_tosa, estimates_for
from edgeinspect.commands.profile import add_etdump_options, profiles_from_args

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="show the instructions, delegates and metrics of a .pte or .tosa file")
    add_file_and_tosa(p)
    p.add_argument(
        "--etrecord",
        metavar="F",
        help="ETRecord of the export: the operators inside delegates whose payload does not say, and the module and line "
        "each instruction came from (JSON 'source'; needs edgeinspect[export]; loading it runs torch deserialization: only pass "
        "files you trust)",
    )
    p.add_argument("--method", action="append", metavar="NAME", help="only these methods (default: all)")
    add_estimate_options(p)
    add_etdump_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import edgeinspect
    from edgeinspect.model import Program
    from edgeinspect.report.render import render_inspect

    model = edgeinspect.load(args.file, tosa=args.tosa or None)
    if args.method and isinstance(model, Program):
        for name in args.method:
            model.method(name)  # raises UsageError naming the methods there are
    etrecord_ops = _etrecord_ops(model, args.etrecord) if args.etrecord else None
    estimates = estimates_for(model, args)
    sources = _sources(model, args.etrecord) if args.format == "json" else None
    profiles = profiles_from_args(model, args) if args.etdump else None
    doc = render_inspect(
        model, args.format, methods=args.method, etrecord_ops=etrecord_ops, estimates=estimates, sources=sources, profiles=profiles
    )
    if args.format == "json":
        from edgeinspect.textsafe import bounded

        doc = bounded(doc)  # names from the file, abbreviated: the output stays proportional to the input
        # Indented on a terminal; compact into pipes and files, where the C encoder writes a
        # 20,000-instruction program about ten times faster than the indenting one.
        text = json.dumps(doc, indent=2) if sys.stdout.isatty() else json.dumps(doc, separators=(",", ":"))
        sys.stdout.write(text + "\n")
    else:
        sys.stdout.write(doc + "\n")
    return 0


def _etrecord_ops(model: object, path: str) -> dict[str, dict[int, dict[str, int]]]:
    """Method -> delegate index -> operators, from the ETRecord's lowered subgraphs (matched to
    the program's delegate calls in execution order)."""
    import os

    from edgeinspect.errors import UsageError
    from edgeinspect.model import Program

    if not isinstance(model, Program):
        raise UsageError("--etrecord goes with a .pte program")
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such ETRecord file (write one with executorch.devtools.generate_etrecord)")
    try:
        from edgeinspect.export.partitioner import etrecord_delegate_ops
    except ImportError as err:
        raise UsageError(f"--etrecord needs executorch and torch ({err}); install them with: pip install 'edgeinspect[export]'") from err
    try:
        per_method = etrecord_delegate_ops(path)
    except (RuntimeError, ValueError, KeyError, OSError) as err:
        raise UsageError(f"{path}: cannot read this ETRecord: {err}") from err
    out: dict[str, dict[int, dict[str, int]]] = {}
    for m in model.methods:  # type: ignore[attr-defined]
        calls = [i.target for i in m.instructions if i.kind == "delegate"]
        lowered = per_method.get(m.name, [])
        if len(lowered) != len(calls):
            raise UsageError(
                f"{path} does not belong to this program: method {m.name!r} has {len(calls)} delegate call(s), the ETRecord {len(lowered)}"
            )
        out[m.name] = {d: ops for d, ops in zip(calls, lowered)}
    return out


def _sources(model: object, etrecord: str | None) -> object:
    """Where each instruction came from: from the ETRecord when given (the pairing was
    checked by :func:`_etrecord_ops`), else from the frames the program carries, else None."""
    from edgeinspect.errors import UsageError
    from edgeinspect.model import Program
    from edgeinspect.model.source import frame_sources

    if not isinstance(model, Program):
        return None
    if not etrecord:
        return frame_sources(model)
    from edgeinspect.export.provenance import etrecord_sources

    try:
        return etrecord_sources(model, etrecord)  # type: ignore[arg-type]
    except (RuntimeError, ValueError, KeyError, OSError) as err:
        raise UsageError(f"{etrecord}: cannot read this ETRecord's provenance: {err}") from err
