"""CLI edge cases found in review: each must give the documented exit code and message."""

from __future__ import annotations

import json
import shutil

import pytest
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
    assert code == 1 and out.splitlines()[1].startswith("::warning")  # after the summary line


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


@pytest.mark.needs_export
def test_dynamic_shapes_are_reported_as_upper_bounds(capsys, tmp_path):
    # A tensor stored with a dynamic (bounded) shape: its sizes are the upper bound, so the
    # byte figures are maxima and the report says so. Written by executorch's serializer.
    import copy

    from executorch.exir import schema
    from executorch.exir._serialize import _program as program_mod

    pte = program_mod.deserialize_pte_binary((DATA / "xnn_cumsum.pte").read_bytes())
    prog = copy.deepcopy(pte.program)
    plan = prog.execution_plan[0]
    plan.values[plan.inputs[0]].val.shape_dynamism = schema.TensorShapeDynamism.DYNAMIC_BOUND
    path = tmp_path / "dyn.pte"
    path.write_bytes(bytes(program_mod.serialize_pte_binary(program_mod.PTEFile(program=prog))))
    code, out, _ = _run(capsys, "inspect", str(path), "--format", "json")
    method = json.loads(out)["methods"][0]
    assert code == 0 and method["inputs"][0]["dynamic"] is True and method["metrics"]["dynamic_shapes"] is True
    code, out, _ = _run(capsys, "inspect", str(path))
    assert "sizes are upper bounds" in out
    code, out, _ = _run(capsys, "inspect", str(DATA / "xnn_cumsum.pte"))
    assert "upper bounds" not in out


@pytest.mark.needs_export
def test_inspect_etrecord_fills_the_operators_payloads_do_not_say(capsys, tmp_path):
    # A copy without its dumps beside it (which inspect would join): only the ETRecord can say.
    pte, etrecord = tmp_path / "u55_upsample.pte", str(DATA / "u55_upsample.etrecord")
    pte.write_bytes((DATA / "u55_upsample.pte").read_bytes())
    code, out, _ = _run(capsys, "inspect", str(pte), "--format", "json")
    assert json.loads(out)["methods"][0]["metrics"]["coverage"]["ratio"] == "unknown"
    code, out, _ = _run(capsys, "inspect", str(pte), "--etrecord", etrecord, "--format", "json")
    method = json.loads(out)["methods"][0]
    assert code == 0
    for d in method["delegates"]:
        assert d["ops_source"] == "etrecord" and d["ops"] == {"aten::convolution": 1, "aten::relu": 1}
    assert method["metrics"]["coverage"]["ratio"] == 0.8  # 4 delegated operators, 1 on the CPU (glue aside)
    code, _, err = _run(capsys, "inspect", str(DATA / "u55_multi.pte"), "--etrecord", etrecord)
    assert code == 2 and "does not belong to this program" in err
