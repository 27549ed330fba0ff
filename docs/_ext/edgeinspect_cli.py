"""Sphinx directive ``edgeinspect-cli``: the CLI reference, rendered from the real parser.

``.. edgeinspect-cli::`` emits one section per subcommand of
:func:`edgeinspect.cli.build_parser` (in the order ``edgeinspect --help`` lists them), each
with the subcommand's one-line help and its ``--help`` text as a literal block, preceded by
the top-level ``edgeinspect --help``. The help is formatted at a fixed width so the page is
the same on every machine.
"""

from __future__ import annotations

import argparse
import os
from contextlib import contextmanager

from docutils import nodes
from docutils.parsers.rst import Directive

#: Column width the help text is wrapped at (argparse reads it from $COLUMNS).
WIDTH = 100


@contextmanager
def _columns(width: int):
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = before


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """``(name, one-line help, parser)`` of every subcommand, in the order ``--help`` lists them."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((name, helps.get(name, ""), sub))
    return out


def help_texts() -> tuple[str, list[tuple[str, str, str]]]:
    """The top-level help and ``(name, one-line help, --help text)`` of every subcommand."""
    from edgeinspect.cli import build_parser

    with _columns(WIDTH):
        parser = build_parser()
        top = parser.format_help()
        return top, [(name, short, sub.format_help()) for name, short, sub in subcommands(parser)]


class EdgeInspectCli(Directive):
    has_content = False

    def run(self) -> list[nodes.Node]:
        top, commands = help_texts()
        out: list[nodes.Node] = [nodes.literal_block(top, top, language="text")]
        for name, short, text in commands:
            section = nodes.section(ids=[f"cli-{name}"], names=[f"edgeinspect {name}"])
            section += nodes.title(text=f"edgeinspect {name}")
            if short:
                section += nodes.paragraph(text=short[:1].upper() + short[1:] + ".")
            section += nodes.literal_block(text, text, language="text")
            out.append(section)
        return out


def setup(app):
    app.add_directive("edgeinspect-cli", EdgeInspectCli)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
