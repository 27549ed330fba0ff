"""CLI edge cases found in review: each must give the documented exit code and message."""

from __future__ import annotations

import json
import shutil

from conftest import DATA

from edgeinspect.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_all_ranks_below_real_prefixes(capsys):
    code, out, _ = _run(capsys, "lint", str(DATA / "u55_upsample.pte"), "--select", "ALL", "--ignore", "EI")
    assert code == 0 and "EI10" not in out
    code, out, _ = _run(
        capsys, "lint", str(DATA / "u55_upsample.pte"), "--severity", "ALL=note", "--severity", "EI=warning", "--format", "github"
    )
    assert code == 1 and out.startswith("::warning")


def test_json_exit_code_is_the_real_one_under_exit_zero(capsys):
    code, out, _ = _run(capsys, "lint", str(DATA / "u55_upsample.pte"), "--exit-zero", "--format", "json")
    assert code == 0 and json.loads(out)["exit_code"] == 0


def test_malformed_baseline_record_is_a_usage_error(capsys, tmp_path, monkeypatch):
    shutil.copy(DATA / "u55_multi.pte", tmp_path / "m.pte")
    (tmp_path / "bl.json").write_text(json.dumps({"schema_version": 1, "files": {"m.pte": {"methods": {"forward": {"transitions": "a"}}}}}))
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "lint", "m.pte", "--baseline", "bl.json")
    assert code == 2 and "is malformed" in err and "internal error" not in err


def test_report_to_an_unwritable_place_and_a_missing_etrecord(capsys, tmp_path):
    code, _, err = _run(capsys, "report", str(DATA / "xnn_mlp.pte"), "-o", str(tmp_path / "no" / "such" / "r.html"))
    assert code == 2 and "cannot write" in err and "internal error" not in err
    code, _, err = _run(capsys, "explain", str(DATA / "u55_multi.pte"), "--etrecord", str(tmp_path / "none.etrecord"))
    assert code == 2 and "no such ETRecord" in err


def test_inspect_text_honours_method(capsys):
    code, out, _ = _run(capsys, "inspect", str(DATA / "u55_two_methods.pte"), "--method", "forward")
    assert code == 0 and "method forward" in out and "method encode" not in out
