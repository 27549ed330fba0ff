"""One module per subcommand of ``edgeinspect``: each has ``add_parser(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations

import argparse
from typing import Any

from edgeinspect.model import Program

__all__ = ["add_estimate_options", "add_file_and_tosa", "estimates_for"]


def add_file_and_tosa(p: argparse.ArgumentParser, *, file_help: str = ".pte or .tosa file", beside: bool = False) -> None:
    """The FILE argument and the repeatable ``--tosa F`` every viewing command takes."""
    p.add_argument("file", help=file_help)
    default = "; default: FILE's <stem>.tosa.d if present" if beside else ""
    p.add_argument(
        "--tosa",
        action="append",
        default=[],
        metavar="F",
        help=f"dumped .tosa file or directory to join to Arm delegates (repeatable{default})",
    )


def add_estimate_options(p: argparse.ArgumentParser) -> None:
    """``--estimate`` and ``--no-cache``: Vela's estimate for each Ethos-U delegate joined to its dump."""
    p.add_argument(
        "--estimate",
        action="store_true",
        help="compile each Ethos-U delegate's joined .tosa dump with Vela, using the delegate's own compile flags, and add "
        "Vela's estimate: cycles, inference time, MACs, SRAM and flash bytes, per-layer figures (needs edgeinspect[export])",
    )
    p.add_argument("--no-cache", action="store_true", help="with --estimate: run Vela even when an estimate is cached, and cache nothing")


def estimates_for(model: Any, args: argparse.Namespace) -> Any:
    """The estimates ``--estimate`` asks for (None without it); ``--no-cache`` alone is a usage error."""
    from edgeinspect.errors import UsageError

    if not args.estimate:
        if args.no_cache:
            raise UsageError("--no-cache goes with --estimate")
        return None
    if not isinstance(model, Program):
        raise UsageError("--estimate goes with a .pte program: Vela's flags come from its Ethos-U delegates' compile specs")
    from edgeinspect.estimate import estimate_program

    return estimate_program(model, cache=not args.no_cache, methods=args.method or None)
