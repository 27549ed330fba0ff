"""One module per subcommand of ``edgeinspect``: each has ``add_parser(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations

import argparse

__all__ = ["add_file_and_tosa"]


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
