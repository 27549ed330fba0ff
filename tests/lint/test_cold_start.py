"""The lint path stays light: a fresh interpreter lints a fixture without importing torch,
executorch, model_explorer or numpy. (Its wall time is measured in benchmarks/cold_start.py.)"""

from __future__ import annotations

import json
import subprocess
import sys

from lint_helpers import DATA

_CHILD = """
import json, sys
from edgeinspect.cli import main
code = main(["lint", sys.argv[1], "--format", "sarif", "-o", sys.argv[2]])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "executorch", "model_explorer", "numpy", "tosa", "jsonschema"))
print(json.dumps({"code": code, "heavy": heavy}))
"""


def test_lint_never_imports_torch(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(DATA / "u55_multi.pte"), str(tmp_path / "out.sarif")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"code": 1, "heavy": []}
