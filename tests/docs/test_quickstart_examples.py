"""The quickstart's Python examples run, from the repository root, as written: every ```python
block in order in one namespace, and every expression followed by a ``# <result>`` comment must
print that result (``...`` matches anything, as in a doctest with ELLIPSIS); the files they name
exist."""

from __future__ import annotations

import ast
import doctest
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "docs" / "quickstart.md"


def _blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _checks(block: str) -> list[tuple[ast.stmt, str | None]]:
    """Each top-level statement, with the result the comment lines right after it promise."""
    lines = block.splitlines()
    out = []
    for stmt in ast.parse(block).body:
        expected = []
        k = stmt.end_lineno  # the line after the statement (0-based)
        while isinstance(stmt, ast.Expr) and k < len(lines) and lines[k].startswith("# "):
            expected.append(lines[k][2:])
            k += 1
        out.append((stmt, "\n".join(expected) if expected else None))
    return out


def test_the_quickstart_python_examples_run_and_say_what_they_print(monkeypatch) -> None:
    pytest.importorskip("networkx")
    monkeypatch.chdir(ROOT)
    text = QUICKSTART.read_text(encoding="utf-8")
    blocks = _blocks(text)
    assert len(blocks) >= 6
    checker = doctest.OutputChecker()
    namespace: dict = {}
    checked = 0
    for block in blocks:
        for stmt, expected in _checks(block):
            code = ast.Module([stmt], type_ignores=[])
            if expected is None:
                exec(compile(code, str(QUICKSTART), "exec"), namespace)
                continue
            value = eval(compile(ast.Expression(stmt.value), str(QUICKSTART), "eval"), namespace)
            got = repr(value)
            assert checker.check_output(expected + "\n", got + "\n", doctest.ELLIPSIS), (
                f"{ast.unparse(stmt)}\n  docs: {expected}\n  got:  {got}"
            )
            checked += 1
    assert checked >= 8
    for obj in list(namespace.values()):  # close what the examples opened
        if hasattr(obj, "close") and type(obj).__name__ in ("Program", "TosaGraph"):
            obj.close()


def test_the_paths_the_quickstart_names_exist() -> None:
    text = QUICKSTART.read_text(encoding="utf-8")
    for path in re.findall(r'"(tests/data/[^"]+)"', text):
        assert (ROOT / path).exists(), path
    assert os.path.exists(ROOT / "tests/data/tosa_cnn.tosa.d/output_tag0_TOSA-1.0+INT.tosa")
