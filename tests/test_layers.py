"""The layers hold: every import points to the same or a lower rank, at every level, and no
import cycle exists (docs/architecture.md). Imports are read from the source with ``ast``: at
module level, inside functions and methods, and under ``if TYPE_CHECKING`` alike (no
exemption: a type-only import that pointed upward would still couple a lower room to a
higher one, and none is needed). A module the table below does not place fails the test, so
a new room is placed on purpose.

The core path (load, inspect, explain, lint, report on a .pte) never imports torch,
executorch or model_explorer: checked in a fresh interpreter.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

#: Rank of every room, lowest first; a module belongs to the longest entry that is itself or a
#: package above it (the package facade ``edgeinspect`` places only itself). An import may
#: point only to the same or a lower rank. Rooms other engineers are adding are placed too.
RANKS: dict[str, int] = {
    # 0: the bottom, importing nothing else of ours (but each other).
    "edgeinspect.errors": 0,
    "edgeinspect._version": 0,
    "edgeinspect.textsafe": 0,
    "edgeinspect.outputs": 0,
    # 1: the IR, one typed family of records.
    "edgeinspect.model": 1,
    "edgeinspect.model.etdump": 1,
    "edgeinspect.model.source": 1,
    # 2: bytes -> IR.
    "edgeinspect.formats": 2,
    # 3: networkx views (one node/edge schema), the stitched view, the join of .tosa dumps.
    "edgeinspect.graph": 3,
    "edgeinspect.stitch": 3,
    "edgeinspect.join": 3,
    # 4: pure functions over the IR; Vela estimates.
    "edgeinspect.analysis": 4,
    "edgeinspect.analysis.sweep": 4,  # the sweep's torch-free rows and "best" (issue 15)
    "edgeinspect.estimate": 4,
    # 5: the recommender; export, the only room that imports torch/executorch.
    "edgeinspect.recommend": 5,
    "edgeinspect.export": 5,
    # the sweep (issue 15): targets, SPECs, the task function, the pools and Ray, the analysis driver
    "edgeinspect.export.sweep": 5,
    "edgeinspect.export.worker": 5,
    # 6: what users read: reports, the lint, the diff.
    "edgeinspect.report": 6,
    "edgeinspect.lint": 6,
    "edgeinspect.report.sweep": 6,  # the sweep's table, JSON, HTML page and progress lines
    "edgeinspect.lint.sweep": 6,  # the lint's thresholds on a sweep's programs
    "edgeinspect.diff": 6,
    # 7: the command line, and the package facade (load() and the IR's registered views).
    "edgeinspect.commands": 7,
    "edgeinspect.cli": 7,
    "edgeinspect.__main__": 7,
    "edgeinspect.commands.sweep": 7,
    "edgeinspect": 7,
    # 8: on top of everything: the Model Explorer adapter (notebooks too, not parsed here).
    "edgeinspect_explorer": 8,
}

#: Modules that may import ``edgeinspect.export`` (torch): the commands and the package facade
#: (:func:`edgeinspect.gather`), inside functions, behind the options that ask for it.
EXPORT_IMPORTERS = ("edgeinspect", "edgeinspect.commands")

#: The only rooms that may import Model Explorer's Python package (it imports torch when torch
#: is installed): the adapter. ``edgeinspect view`` runs the adapter's own server as a process.
MODEL_EXPLORER_IMPORTERS = ("edgeinspect_explorer",)


def _modules() -> dict[str, Path]:
    out = {}
    for base, strip in ((ROOT / "edgeinspect", ROOT), (ROOT / "adapters", ROOT / "adapters")):
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(strip).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def rank_of(module: str) -> int | None:
    """The rank of a module of ours, or None when the table does not place it."""
    if module in RANKS:
        return RANKS[module]
    parts = module.split(".")
    for n in range(len(parts) - 1, 1, -1):  # never the bare root: the facade places only itself
        prefix = ".".join(parts[:n])
        if prefix in RANKS:
            return RANKS[prefix]
    if parts[0] != "edgeinspect" and parts[0] in RANKS:  # the adapter package places its modules
        return RANKS[parts[0]]
    return None


def _ours(name: str) -> bool:
    return name == "edgeinspect" or name.startswith(("edgeinspect.", "edgeinspect_explorer"))


def _target(name: str) -> str:
    """The module an import names: ``pkg.mod`` when it is a module of ours, else its package."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str) -> list[tuple[str, int, bool]]:
    """(imported module of ours, line, at module level?) for every import in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((_target(a.name), child.lineno, top) for a in child.names if _ours(a.name))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                if _ours(base):
                    found.extend((_target(f"{base}.{a.name}"), child.lineno, top) for a in child.names)
            elif isinstance(child, ast.Call):
                fn = child.func
                called = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", None)
                if called in ("import_module", "__import__"):
                    arg = child.args[0] if child.args else None
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        if _ours(arg.value):
                            found.append((_target(arg.value), child.lineno, top))
                    elif module != "edgeinspect.cli":  # cli imports its subcommands (rank 7) by name
                        found.append((f"<dynamic import of {ast.unparse(arg) if arg else '?'}>", child.lineno, top))
            visit(child, inner)

    visit(tree, True)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_is_placed():
    unplaced = [m for m in MODULES if rank_of(m) is None]
    assert not unplaced, f"place these modules in RANKS (tests/test_layers.py, docs/architecture.md): {unplaced}"


def test_no_import_points_upward():
    upward = []
    for module, found in GRAPH.items():
        for target, line, _ in found:
            if target.startswith("<"):
                upward.append(f"{module}:{line} {target} (name the module)")
                continue
            mine, theirs = rank_of(module), rank_of(target)
            if mine is not None and (theirs is None or theirs > mine):
                upward.append(f"{module} (rank {mine}) line {line} imports {target} (rank {theirs})")
    assert not upward, "\n".join(upward)


def test_only_the_adapter_imports_model_explorer():
    bad = []
    for module, path in MODULES.items():
        if module.startswith(MODEL_EXPLORER_IMPORTERS):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            bad += [f"{module}:{node.lineno} imports {n}" for n in names if n.split(".")[0] == "model_explorer"]
    assert not bad, "model_explorer is imported only by adapters/edgeinspect_explorer:\n" + "\n".join(bad)


def test_no_import_cycle():
    edges = {m: sorted({t for t, _, _ in found if t in MODULES and t != m}) for m, found in GRAPH.items()}
    # Tarjan's strongly connected components, iteratively.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(edges[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    assert not cycles, f"import cycles (imports at every level counted): {cycles}"


def test_only_commands_import_export_and_only_lazily():
    bad = []
    for module, found in GRAPH.items():
        if module == "edgeinspect.export" or module.startswith("edgeinspect.export."):
            continue
        for target, line, top in found:
            is_export = target == "edgeinspect.export" or target.startswith("edgeinspect.export.")
            allowed = module == EXPORT_IMPORTERS[0] or module.startswith(EXPORT_IMPORTERS[1:])
            if is_export and (not allowed or top):
                bad.append(f"{module}:{line} imports {target}" + (" at module level" if top else ""))
    assert not bad, "edgeinspect.export (torch) is imported only by commands and the facade, inside functions:\n" + "\n".join(bad)


def test_the_checker_sees_function_level_and_type_checking_imports():
    """The rule is only as good as the import reader: it must see imports everywhere."""
    lazy = {(t, top) for t, _, top in GRAPH["edgeinspect"]}
    assert ("edgeinspect.export.partitioner", False) in lazy  # inside a function
    typed = {t for t, _, _ in GRAPH["edgeinspect.graph"]}
    assert "edgeinspect.model" in typed  # under TYPE_CHECKING only
    relative = imports_of("edgeinspect.model.xnnpack")
    assert ("edgeinspect.model.views", True) in {(t, top) for t, _, top in relative}
    assert rank_of("edgeinspect.formats.pte") == 2 and rank_of("edgeinspect") == 7 and rank_of("edgeinspect.nowhere") is None


_CORE_PATH = """
import json, sys, tempfile, os
from edgeinspect.cli import main
pte, tosa, etdump = sys.argv[1], sys.argv[2], sys.argv[3]
out = tempfile.mkdtemp()
codes = [
    main(["inspect", pte, "--format", "json", "--tosa", tosa]),
    main(["inspect", pte]),
    main(["explain", pte, "--format", "json"]),
    main(["lint", pte, "--format", "sarif", "-o", os.path.join(out, "lint.sarif")]),
    main(["report", pte, "-o", os.path.join(out, "report.html")]),
]
if etdump:  # measured time is read without torch in every command that takes it
    codes += [
        main(["inspect", pte, "--etdump", etdump, "--format", "json"]),
        main(["explain", pte, "--etdump", etdump]),
        main(["lint", pte, "--etdump", etdump, "--max-cpu-share", "0.9", "--format", "json", "-o", os.path.join(out, "l.json")]),
        main(["report", pte, "--etdump", etdump, "-o", os.path.join(out, "timed.html")]),
        main(["diff", pte, pte, "--etdump-base", etdump, "--etdump-head", etdump]),
    ]
import edgeinspect
program = edgeinspect.load(pte, tosa=tosa)
program.to_networkx(stitched=True)
program._repr_html_()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "executorch", "model_explorer", "torchao"))
print(json.dumps({"codes": codes, "heavy": heavy}))
"""


ETDUMPS = {"u55_multi": str(DATA / "etdump" / "u55_multi_synthetic.etdp"), "xnn_cumsum": str(DATA / "etdump" / "xnn_cumsum.etdp")}


@pytest.mark.parametrize("name", ["u55_multi", "xnn_cumsum"])
def test_core_path_never_imports_torch(name):
    proc = subprocess.run(
        [sys.executable, "-c", _CORE_PATH, str(DATA / f"{name}.pte"), str(DATA / "u55_multi.tosa.d"), ETDUMPS.get(name, "")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["codes"][0] == 0 and result["codes"][1] == 0 and result["codes"][4] == 0
    assert result["codes"][5:] == ([0, 0, 1, 0, 0] if name in ETDUMPS else [])  # lint: 1, findings (both are fragmented)


_COLLECT = """
import sys, pytest
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests", "--ignore=tests/export", "--ignore=tests/explorer"])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "executorch", "torchao"))
print("HEAVY", heavy, code)
"""


def test_collecting_the_core_tests_imports_neither_torch_nor_executorch():
    """Tests that need them (marked ``needs_export``) import them inside; the Model Explorer
    tests (which import model_explorer, and so torch) and the export tests are left out."""
    proc = subprocess.run([sys.executable, "-c", _COLLECT], capture_output=True, text=True, timeout=300, cwd=ROOT)
    last = proc.stdout.strip().splitlines()[-1]
    assert last == "HEAVY [] 0", proc.stdout[-2000:] + proc.stderr[-2000:]
