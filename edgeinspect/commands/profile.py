"""``edgeinspect profile FILE [--method M] [--runs N] [--inputs F.npz] [--seed S] -o run.etdp``.

Runs the program on this machine with ExecuTorch's own runtime and ETDump on (needs the
``export`` extra), writes the ETDump and prints the measured time, as ``inspect --etdump``
would.
"""

from __future__ import annotations

import argparse
import os
import sys

from edgeinspect.errors import UsageError
from edgeinspect.model import Program
from edgeinspect.textsafe import safe

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "profile",
        help="run a .pte on this machine with ExecuTorch's runtime, ETDump on; write the .etdp and print the measured time",
        description="Run FILE's method with ExecuTorch's own runtime on this host (portable kernels and XNNPACK), "
        "record an ETDump, write it to -o, and print the measured time per instruction, delegate call, CPU "
        "island and glue chain (the text of inspect --etdump). Programs with Ethos-U or TOSA delegates do not "
        "run on a host: profile them on the Corstone FVP or the device with ETDump on and pass the .etdp to "
        "--etdump. Needs edgeinspect[export].",
    )
    p.add_argument("file", help=".pte program")
    p.add_argument("--method", default="forward", metavar="NAME", help="method to run (default: forward)")
    p.add_argument("--runs", type=int, default=5, metavar="N", help="executions to record (default 5; the first is warm-up)")
    p.add_argument(
        "--warmup-runs", type=int, default=1, metavar="N", help="first runs treated as warm-up in the printed figures (default 1)"
    )
    p.add_argument("--inputs", metavar="F.npz", help="inputs as a NumPy .npz, one array per method input in order (default: random)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the random inputs (default 0)")
    p.add_argument("-o", "--output", required=True, metavar="F.etdp", help="where to write the ETDump (never over an input)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="how to print the profile (default text)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    import edgeinspect
    from edgeinspect.outputs import check_not_input
    from edgeinspect.report.render import render_inspect

    if args.runs < 1:
        raise UsageError(f"--runs must be 1 or more, not {args.runs}")
    check_not_input(args.output, [p for p in (args.file, args.inputs) if p], what="ETDump")
    if os.path.isdir(args.output):
        raise UsageError(f"-o {args.output} is a directory: give a file name such as run.etdp")
    program = edgeinspect.load(args.file)
    try:
        if not isinstance(program, Program):
            raise UsageError(f"{args.file}: profile runs ExecuTorch programs (.pte), not {program.format} files")
        method = program.method(args.method)
        try:
            from edgeinspect.export.profile import run_profile

            run_profile(program, method.name, args.output, runs=args.runs, inputs=args.inputs, seed=args.seed)
        except ImportError as err:  # the runtime is imported when first needed
            raise UsageError(f"profile needs ExecuTorch's runtime ({err}); install it with: pip install 'edgeinspect[export]'") from err
        evidence = edgeinspect.gather(program, etdump=args.output, method=method.name, warmup_runs=args.warmup_runs)
        doc = render_inspect(evidence, args.format, methods=[method.name])
    finally:
        program.close()
    print(f"edgeinspect: wrote {safe(args.output)} ({args.runs} run(s) of {safe(args.method)!r})", file=sys.stderr)
    sys.stdout.write((json.dumps(doc, indent=2) if args.format == "json" else doc) + "\n")
    return 0
