"""One module per subcommand of ``edgeinspect``: each has ``add_parser(subparsers)`` and ``run(args) -> int``.

The options every command that reads a program shares are defined here once: FILE and
``--tosa`` (:func:`add_file_and_tosa`), and the side files ``--etdump``, ``--estimate`` and
``--etrecord`` (:func:`add_evidence_options`), read by :func:`evidence_from_args` through
:func:`edgeinspect.gather`, the same path the Python API takes.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgeinspect.analysis.evidence import Evidence
    from edgeinspect.model import Program

__all__ = ["add_evidence_options", "add_file_and_tosa", "evidence_from_args", "tosa_arg"]

_TOSA_HELP = (
    "dumped .tosa files or directories of them, joined to the Arm delegates by their input/output "
    "signature (one or more, repeatable; default: FILE's <stem>.tosa.d when present)"
)


def add_file_and_tosa(p: argparse.ArgumentParser, *, file_help: str = ".pte or .tosa file") -> None:
    """The FILE argument and ``--tosa F [F ...]`` (repeatable), the same in every command."""
    p.add_argument("file", help=file_help)
    add_tosa_option(p)


def add_tosa_option(p: argparse.ArgumentParser) -> None:
    """``--tosa F [F ...]``: what a shell glob gives, repeatable; nothing given: ``<stem>.tosa.d``."""
    p.add_argument("--tosa", action="extend", nargs="+", default=[], metavar="F", help=_TOSA_HELP)


def tosa_arg(args: argparse.Namespace) -> list[str] | str:
    """What :func:`edgeinspect.load`'s ``tosa`` takes for these arguments: the dumps given, or
    ``"auto"`` (FILE's ``<stem>.tosa.d``)."""
    from edgeinspect import AUTO

    return list(args.tosa) if getattr(args, "tosa", None) else AUTO


def add_evidence_options(p: argparse.ArgumentParser, *, method: bool = True, etrecord_help: str | None = None) -> None:
    """``--etdump F [--warmup-runs N]``, ``--estimate [--no-cache]`` and ``--etrecord F``.

    ``method``: also add ``--method NAME`` (the method the ETDump profiled, default forward)
    for commands that do not have their own.
    """
    group = p.add_argument_group("what the side files say")
    group.add_argument(
        "--etdump",
        metavar="F",
        help="ETDump (.etdp) of runs of one method of this program (--method, default forward): measured time per "
        "instruction, delegate call, CPU island and glue chain, in the file's ticks (ns on a host run)",
    )
    group.add_argument(
        "--warmup-runs",
        type=int,
        default=1,
        metavar="N",
        help="with --etdump: first runs treated as warm-up, kept out of medians and shares (default 1)",
    )
    if method:
        group.add_argument("--method", default=None, metavar="NAME", help="the method --etdump profiled (default: forward)")
    group.add_argument(
        "--estimate",
        action="store_true",
        help="compile each Ethos-U delegate's joined .tosa dump with Vela, using the delegate's own compile flags, and add "
        "Vela's estimate: cycles, inference time, MACs, SRAM and flash bytes, per-layer figures (needs edgeinspect[export])",
    )
    group.add_argument(
        "--no-cache", action="store_true", help="with --estimate: run Vela even when an estimate is cached, and cache nothing"
    )
    group.add_argument(
        "--etrecord",
        metavar="F",
        help=etrecord_help
        or "ETRecord of the export: the operators inside delegates whose payload does not say, and the module and line each "
        "instruction came from (needs edgeinspect[export]; loading it runs torch deserialization: only pass files you trust)",
    )


def evidence_from_args(args: argparse.Namespace, program: Program | str | None = None) -> Evidence:
    """The program of ``args.file`` (or ``program``: a path, or a program already loaded with its
    dumps) with what ``--tosa/--etdump/--estimate/--etrecord`` say.

    The profiled method is ``--method`` (one name; default forward).
    """
    import edgeinspect
    from edgeinspect.errors import UsageError

    if args.no_cache and not args.estimate:
        raise UsageError("--no-cache goes with --estimate")
    method = args.method
    if isinstance(method, list):  # inspect's --method is repeatable (a filter)
        if len(method) > 1 and args.etdump:
            raise UsageError("--etdump profiles one method: give one --method (default forward)")
        method = method[0] if method else None
    return edgeinspect.gather(
        program if program is not None else args.file,
        tosa=tosa_arg(args),
        etdump=args.etdump,
        method=method or "forward",
        warmup_runs=args.warmup_runs,
        estimate=args.estimate,
        cache=not args.no_cache,
        etrecord=args.etrecord,
    )
