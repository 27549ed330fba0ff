"""``edgeinspect inspect``: the JSON contract of design.md and the text table."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import DATA, pte_fixtures

import edgeinspect
from edgeinspect.cli import main

FIXTURES = pte_fixtures()


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("pte", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_json_contract(capsys, pte):
    code, out, err = _run(capsys, "inspect", str(pte), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema_version"] == 1 and doc["format"] == "pte" and doc["file"] == pte.name
    program = edgeinspect.load(pte)
    assert [m["name"] for m in doc["methods"]] == list(program.method_names)
    for jm, m in zip(doc["methods"], program.methods):
        assert len(jm["instructions"]) == len(m.instructions)
        for ji, ins in zip(jm["instructions"], m.instructions):
            assert ji["index"] == ins.index
            assert ji["kind"] in ("kernel", "delegate", "other")
            assert ji["name"] == ins.name and ji["device"] == ins.device
        assert len(jm["delegates"]) == len(m.delegates)
        for jd, d in zip(jm["delegates"], m.delegates):
            assert jd["index"] == d.index and jd["backend"] == d.backend_id
            assert jd["payload_bytes"] == d.payload_size
            assert jd["target"] == d.target
            assert set(jd["compile_specs"]) == {c.key for c in d.compile_specs}
            assert "tosa_file" in jd and "ops" in jd
        metrics = jm["metrics"]
        calls = sum(1 for i in m.instructions if i.kind == "delegate")
        assert sum(metrics["delegated_subgraphs"].values()) == calls
        assert metrics["transitions"] >= (2 if calls else 0)
        assert isinstance(metrics["boundary_bytes"], int)
        assert all("instructions" in isl and "ops" in isl for isl in metrics["cpu_islands"])


def test_json_of_a_fragmented_ethos_u55_program(capsys):
    code, out, _ = _run(capsys, "inspect", str(DATA / "u55_upsample.pte"), "--format", "json")
    assert code == 0
    (m,) = json.loads(out)["methods"]
    assert m["metrics"]["delegated_subgraphs"] == {"EthosUBackend": 2}
    assert [d["target"] for d in m["delegates"]] == ["ethos-u55-128", "ethos-u55-128"]
    (island,) = m["metrics"]["cpu_islands"]
    assert any("upsample_bilinear2d" in op for op in island["ops"])


def test_text_table(capsys):
    code, out, _ = _run(capsys, "inspect", str(DATA / "u55_upsample.pte"))
    assert code == 0
    assert "u55_upsample.pte: ExecuTorch program" in out
    assert "EthosUBackend  [delegate 0]" in out and "EthosUBackend  [delegate 1]" in out
    assert "target=ethos-u55-128" in out
    assert "upsample_bilinear2d" in out
    assert "transitions:" in out


def test_method_filter_and_unknown_method(capsys):
    code, out, _ = _run(capsys, "inspect", str(DATA / "xnn_two_methods.pte"), "--format", "json", "--method", "encode")
    assert code == 0 and [m["name"] for m in json.loads(out)["methods"]] == ["encode"]
    code, out, err = _run(capsys, "inspect", str(DATA / "xnn_two_methods.pte"), "--method", "nope")
    assert code == 2 and "no method 'nope'" in err and "encode" in err and out == ""


def test_errors_are_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "broken.pte"
    bad.write_bytes((DATA / "u55_cnn.pte").read_bytes()[:200])
    for target in (str(bad), str(tmp_path / "missing.pte"), str(tmp_path)):
        out = subprocess.run([sys.executable, "-m", "edgeinspect.cli", "inspect", target], capture_output=True, text=True, timeout=60)
        assert out.returncode == 2, out
        assert out.stdout == ""
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("edgeinspect: error:"), out.stderr
        assert "Traceback" not in out.stderr
