"""The CI integration files: .pre-commit-hooks.yaml, the documented GitHub Actions job, docs/lint.md."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from edgeinspect.lint.rules import RULES

ROOT = Path(__file__).resolve().parents[2]
yaml = pytest.importorskip("yaml")


def test_pre_commit_hooks():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    by_id = {h["id"]: h for h in hooks}
    assert set(by_id) == {"edgeinspect-lint", "edgeinspect-lint-all"}
    for h in hooks:
        assert shlex.split(h["entry"])[:2] == ["edgeinspect", "lint"] and h["language"] == "python"
    assert re.search(by_id["edgeinspect-lint"]["files"], "models/net.pte")
    assert re.search(by_id["edgeinspect-lint"]["files"], "dump/x.tosa")
    assert not re.search(by_id["edgeinspect-lint"]["files"], "README.md")
    assert by_id["edgeinspect-lint-all"]["pass_filenames"] is False


def test_workflow_example_runs_the_lint_and_uploads_sarif():
    text = (ROOT / "docs" / "examples" / "edgeinspect-lint.yml").read_text()
    wf = yaml.safe_load(text)
    steps = wf["jobs"]["lint"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    sarif = next(r for r in runs if "--format sarif" in r)
    assert sarif.startswith("edgeinspect lint ") and "-o edgeinspect.sarif" in sarif
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert upload["with"]["sarif_file"] == "edgeinspect.sarif" and upload["if"] == "always()"
    assert wf["permissions"]["security-events"] == "write"
    assert any("--format github" in r and "--exit-zero" not in r for r in runs)
    assert not any("torch" in r for r in runs if "pip install" in r)


def test_docs_show_the_example_workflow_verbatim_and_every_rule():
    doc = (ROOT / "docs" / "lint.md").read_text()
    example = (ROOT / "docs" / "examples" / "edgeinspect-lint.yml").read_text()
    body = "\n".join(line for line in example.splitlines() if not line.startswith("#")).strip()
    assert body in doc
    for code, rule in RULES.items():
        assert f"| {code} | {rule.name} |" in doc
