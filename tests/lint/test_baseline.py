"""Baseline: --write-baseline records today's figures; --baseline fails only on regressions.
And `edgeinspect diff` between the broken and the fixed exports of the same model."""

from __future__ import annotations

import json
import shutil

from lint_helpers import DATA, copy_fixture, run_cli


def _doc(out: str) -> dict:
    return json.loads(out)


def test_write_then_check_baseline(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    copy_fixture("u55_multi_fixed", tmp_path / "models" / "net.pte")
    code, out, _ = run_cli(capsys, "lint", "models", "--write-baseline", "baseline.json", "--format", "json")
    assert code == 0 and _doc(out)["findings"] == []  # today's state is accepted
    base = json.loads((tmp_path / "baseline.json").read_text())
    entry = base["files"]["models/net.pte"]["methods"]["forward"]
    assert entry["delegated_subgraphs"] == {"EthosUBackend": 2}
    assert entry["transitions"] == 4 and entry["cpu_islands"] == ["aten::index_select.out"]
    assert list(base["files"]) == ["models/net.pte"]  # relative to the baseline's folder, never absolute

    # Unchanged file: clean against the baseline even though it is fragmented.
    code, out, _ = run_cli(capsys, "lint", "models", "--baseline", "baseline.json", "--format", "json")
    assert code == 0 and _doc(out)["findings"] == []

    # The regression: the broken export replaces the fixed one.
    copy_fixture("u55_multi", tmp_path / "models" / "net.pte")
    code, out, _ = run_cli(capsys, "lint", "models", "--baseline", "baseline.json")
    lines = out.strip().splitlines()
    assert code == 1
    growth = [line for line in lines if " EI201 baseline-growth " in line]
    assert any("EthosUBackend delegates 2 -> 3" in line for line in growth)
    assert any("transitions 4 -> 6" in line for line in growth)
    assert any("new CPU island: aten::upsample_bilinear2d.vec_out" in line for line in growth)
    assert any("boundary bytes 25,376 -> 35,616" in line for line in growth)
    assert not any(" EI101 " in line or " EI102 " in line for line in lines)  # only regressions fail

    # An improvement never fails.
    copy_fixture("u55_multi", tmp_path / "models" / "net.pte")
    run_cli(capsys, "lint", "models", "--write-baseline", "baseline.json")
    copy_fixture("u55_multi_fixed", tmp_path / "models" / "net.pte")
    code, out, _ = run_cli(capsys, "lint", "models", "--baseline", "baseline.json")
    assert code == 0, out


def test_files_not_in_the_baseline_get_the_normal_rules(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    copy_fixture("xnn_mlp", tmp_path / "a.pte")
    run_cli(capsys, "lint", "a.pte", "--write-baseline", "b.json")
    copy_fixture("u55_upsample", tmp_path / "new.pte")
    code, out, _ = run_cli(capsys, "lint", "a.pte", "new.pte", "--baseline", "b.json", "--format", "json")
    assert code == 1 and {f["code"] for f in _doc(out)["findings"]} == {"EI101", "EI102"}


def test_baseline_from_configuration(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    copy_fixture("u55_gather", tmp_path / "g.pte")
    run_cli(capsys, "lint", "g.pte", "--write-baseline", "eb.json")
    (tmp_path / "edgeinspect.toml").write_text("[lint]\nbaseline = 'eb.json'\n")
    code, out, _ = run_cli(capsys, "lint", "g.pte")
    assert code == 0 and "against baseline eb.json" in out


def test_bad_baseline_is_exit_2(tmp_path, capsys):
    model = copy_fixture("xnn_mlp", tmp_path / "m.pte")
    (tmp_path / "b.json").write_text("{not json")
    code, out, err = run_cli(capsys, "lint", str(model), "--baseline", str(tmp_path / "b.json"))
    assert code == 2 and "is not JSON" in err and "Traceback" not in err
    code, out, err = run_cli(capsys, "lint", str(model), "--baseline", str(tmp_path / "missing.json"), "--exit-zero")
    assert code == 2 and "--write-baseline" in err


def test_diff_broken_vs_fixed(capsys):
    code, out, _ = run_cli(capsys, "diff", str(DATA / "u55_multi.pte"), str(DATA / "u55_multi_fixed.pte"), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema_version"] == 1 and doc["changed"] is True
    (m,) = doc["methods"]
    assert m["name"] == "forward" and m["status"] == "changed"
    assert m["delegated_subgraphs"] == {"EthosUBackend": [3, 2]}
    assert m["transitions"] == [6, 4]
    assert m["islands_removed"] == ["aten::upsample_bilinear2d.vec_out"] and "islands_added" not in m
    assert m["operators"]["aten::upsample_bilinear2d.vec_out"] == [1, 0]
    assert m["boundary_bytes"] == [35616, 25376]
    code, text, _ = run_cli(capsys, "diff", str(DATA / "u55_multi.pte"), str(DATA / "u55_multi_fixed.pte"))
    assert "delegates EthosUBackend: 3 -> 2 (-1)" in text and "- CPU island: aten::upsample_bilinear2d.vec_out" in text


def test_diff_same_file_and_methods_added(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "diff", str(DATA / "xnn_mlp.pte"), str(DATA / "xnn_mlp.pte"), "--format", "json")
    assert code == 0 and json.loads(out)["changed"] is False
    code, out, _ = run_cli(capsys, "diff", str(DATA / "xnn_mlp.pte"), str(DATA / "xnn_two_methods.pte"), "--format", "json")
    statuses = {m["name"]: m["status"] for m in json.loads(out)["methods"]}
    assert statuses["encode"] == "added"


def test_diff_of_a_tosa_file_is_a_usage_error(capsys):
    tosa = next(DATA.glob("u55_cnn.tosa.d/*.tosa"))
    code, out, err = run_cli(capsys, "diff", str(DATA / "u55_cnn.pte"), str(tosa))
    assert code == 2 and out == "" and "diff compares ExecuTorch programs (.pte)" in err


def test_diff_on_bad_input_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.pte"
    shutil.copyfile(DATA / "xnn_mlp.pte", bad)
    bad.write_bytes(bad.read_bytes()[:100])
    code, out, err = run_cli(capsys, "diff", str(bad), str(DATA / "xnn_mlp.pte"))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "bad.pte" in err
