"""The ``edgeinspect`` command.

Each subcommand lives in :mod:`edgeinspect.commands` as a module with ``add_parser`` and
``run``; this file wires them up, turns our errors into one-line messages and exit codes
(0 clean, 1 findings, 2 usage error / unreadable input / internal error), and never prints
a traceback unless ``EDGEINSPECT_DEBUG`` is set.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from edgeinspect.errors import EdgeInspectError
from edgeinspect.textsafe import TEXT_LIMIT, safe

__all__ = ["main", "run_args"]

#: Subcommands in the order ``--help`` lists them.
COMMANDS = ("inspect", "explain", "lint", "diff", "view", "report", "profile", "sweep")

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 on usage errors, as we want
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"edgeinspect: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand (or only ``only``, when it is one).

    ``main`` passes the subcommand it was given, so a run imports that command's module and
    not every other one (some import a web client); ``--help`` and unknown commands still see
    them all.
    """
    from edgeinspect._version import __version__

    parser = _Parser(prog="edgeinspect", description="Where an edge AI model really runs: inspect ExecuTorch .pte and TOSA files.")
    parser.add_argument("--version", action="version", version=f"edgeinspect {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in (only,) if only in COMMANDS else COMMANDS:
        importlib.import_module(f"edgeinspect.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv else None)
    return run_args(parser.parse_args(argv))


def run_args(args: argparse.Namespace) -> int:
    """Run a parsed command (``args.run``) with the CLI's messages and exit codes; the Model
    Explorer server process (``python -m edgeinspect_explorer``) runs ``view``'s arguments through it."""
    try:
        return int(args.run(args))
    except EdgeInspectError as err:
        # Messages can quote names and paths from the input: bounded, control characters escaped.
        print(f"edgeinspect: error: {safe(str(err), TEXT_LIMIT)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN
    except Exception as err:  # an internal error is still a one-line message and exit 2
        if os.environ.get("EDGEINSPECT_DEBUG"):
            raise
        print(
            f"edgeinspect: internal error: {type(err).__name__}: {safe(str(err), TEXT_LIMIT)} (set EDGEINSPECT_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
