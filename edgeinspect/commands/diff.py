"""``edgeinspect diff BASE HEAD [--format text|json]``: what changed between two .pte files.

Shows, per method, the delegated subgraphs per backend, CPU islands added and removed,
CPU operator counts, transitions, boundary bytes and payload bytes that differ. Exit 0
(a report, not a check: use ``edgeinspect lint --baseline`` to fail on growth), 2 when
a file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diff", help="show what changed between two .pte files (delegates, islands, operators, bytes)")
    p.add_argument("base", help="the .pte before (e.g. from the main branch)")
    p.add_argument("head", help="the .pte after")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from edgeinspect.diff import diff_programs
    from edgeinspect.errors import UsageError
    from edgeinspect.formats import read
    from edgeinspect.model import Program

    models = []
    try:
        for path in (args.base, args.head):
            model = read(path)
            models.append(model)
            if not isinstance(model, Program):
                raise UsageError(f"{path}: diff compares ExecuTorch programs (.pte); this is a {model.format} file")
        d = diff_programs(models[0], models[1])
    finally:
        for m in models:
            m.close()
    if args.format == "json":
        from edgeinspect.textsafe import TEXT_LIMIT, bounded

        doc = d.to_dict()
        for m in doc["methods"]:  # names from the files abbreviated (island keys, which join several, less so)
            m.update(bounded({k: m[k] for k in ("name", "delegated_subgraphs", "payload_bytes", "operators") if k in m}))
        json.dump(bounded(doc, TEXT_LIMIT), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(d.to_text() + "\n")
    return 0
