"""Helpers for the lint tests: run the CLI in-process and capture its streams."""

from __future__ import annotations

import shutil
from pathlib import Path

from edgeinspect.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``edgeinspect ARGV``."""
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def copy_fixture(name: str, dest: Path) -> Path:
    """Copy tests/data/<name>.pte to ``dest`` (a file path) and return it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DATA / f"{name}.pte", dest)
    return dest


def with_absolute_debug_path(name: str) -> bytes:
    """The fixture's bytes with its relative ``debug_artifact_path`` value overwritten, in place and
    at the same length, by an absolute path (what an exporter writes when given an absolute dump dir)."""
    data = (DATA / f"{name}.pte").read_bytes()
    rel = f"{name}.tosa.d".encode()
    assert rel in data
    absolute = (b"/srv/ci/" + b"x" * len(rel))[: len(rel)]
    return data.replace(rel, absolute)
