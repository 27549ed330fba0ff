"""``edgeinspect profile FILE [--method M] [--runs N] [--inputs F.npz] [--seed S] -o run.etdp``.

Runs the program on this machine with ExecuTorch's own runtime and ETDump on (needs the
``export`` extra), writes the ETDump and prints the measured time, as ``inspect --etdump``
would. Also home of the ``--etdump`` options every viewing command shares.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from edgeinspect.errors import UsageError
from edgeinspect.model import Program

__all__ = ["add_etdump_options", "add_parser", "load_profiles", "profiles_from_args", "run"]


def add_etdump_options(p: argparse.ArgumentParser) -> None:
    """``--etdump F`` and ``--warmup-runs N``: join a runtime profile to the method that ran."""
    p.add_argument(
        "--etdump",
        metavar="F",
        help="ETDump (.etdp) of runs of one method of this program (--method, default forward): "
        "measured time per instruction, delegate call, CPU island and glue chain, in the file's ticks",
    )
    p.add_argument(
        "--warmup-runs",
        type=int,
        default=1,
        metavar="N",
        help="with --etdump: first runs treated as warm-up, kept out of medians and shares (default 1)",
    )


def load_profiles(model: Any, etdump: str, method: str = "forward", warmup_runs: int = 1) -> dict[str, Any]:
    """``{method: MethodProfile}``: the ETDump at ``etdump`` joined to ``model.method(method)``.

    Raises UsageError when the model is not a program, the method does not exist or the
    ETDump does not fit it; FormatError when the ETDump is corrupt.
    """
    import edgeinspect
    from edgeinspect.analysis import profile_method

    if not isinstance(model, Program):
        raise UsageError("--etdump goes with the .pte program that ran")
    if warmup_runs < 0:
        raise UsageError(f"--warmup-runs must be 0 or more, not {warmup_runs}")
    target = model.method(method)  # UsageError naming the methods there are
    with edgeinspect.load_etdump(etdump) as dump:
        return {method: profile_method(target, dump, warmup_runs=warmup_runs)}


def profiles_from_args(model: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The profiles of ``--etdump``; the method is the one ``--method`` names (default forward)."""
    names = args.method if isinstance(args.method, list) else [args.method] if args.method else []
    if len(names) > 1:
        raise UsageError("--etdump profiles one method: give one --method (default forward)")
    return load_profiles(model, args.etdump, names[0] if names else "forward", args.warmup_runs)


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


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def run(args: argparse.Namespace) -> int:
    import json

    import edgeinspect
    from edgeinspect.report.render import render_inspect

    if args.runs < 1:
        raise UsageError(f"--runs must be 1 or more, not {args.runs}")
    for given in (args.file, args.inputs):
        if given and _same_file(args.output, given):
            raise UsageError(f"-o {args.output} is an input of this command: choose another output path")
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
        profiles = load_profiles(program, args.output, method.name, args.warmup_runs)
        doc = render_inspect(program, args.format, methods=[method.name], profiles=profiles)
    finally:
        program.close()
    print(f"edgeinspect: wrote {args.output} ({args.runs} run(s) of {args.method!r})", file=sys.stderr)
    sys.stdout.write((json.dumps(doc, indent=2) if args.format == "json" else doc) + "\n")
    return 0
