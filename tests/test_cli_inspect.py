"""``edgeinspect inspect``: the JSON contract (docs/cli.md) and the text table."""

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


def test_text_shows_each_calls_bytes_the_crossings_and_direct_round_trips(capsys):
    code, out, _ = _run(capsys, "inspect", str(DATA / "u85_lrn.pte"))
    assert code == 0
    assert "[delegate 0]  768 B in, 4,608 B out" in out and "[delegate 1]  4,096 B in, 2,048 B out" in out
    assert "boundary bytes 11,520 = 6 crossing(s)" in out and "4,096 B handed straight from one delegate call to another" in out
    assert "round trips: 1 direct (delegate -> delegate), 0 through the CPU" in out
    assert "value 7 leaves delegate call 1 and re-enters delegate call 5 directly: 4,096 B" in out
    # back-to-back delegates: no transition, no island, a clean score; the round trips say it
    code, out, _ = _run(capsys, "inspect", str(DATA / "xnn_dynamic_quant.pte"))
    assert "transitions: 2;" in out and "fragmentation score: 0.00" in out
    assert "round trips: 2 direct (delegate -> delegate)" in out


def test_the_score_never_prints_one(capsys, tmp_path):
    # 400 delegate calls with a kernel between each two: 1 - 2/800 = 0.9975, which two places round to 1.00
    from crafted import alternating_pte

    pte = tmp_path / "many.pte"
    pte.write_bytes(alternating_pte(399))
    code, out, _ = _run(capsys, "inspect", str(pte))
    assert code == 0 and "fragmentation score: 0.9975" in out and "score: 1.00" not in out
    code, out, _ = _run(capsys, "inspect", str(pte), "--format", "json")
    assert json.loads(out)["methods"][0]["metrics"]["fragmentation_score"] == 0.9975
    code, out, _ = _run(capsys, "diff", str(DATA / "xnn_mlp.pte"), str(pte))
    assert "fragmentation score: 0.00 -> 0.9975" in out
