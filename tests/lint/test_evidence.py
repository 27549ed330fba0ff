"""What the lint reads besides the model (issue 13 item 1, issue 9 item 5): .tosa dumps with --tosa
(one FILE) or <stem>.tosa.d, so --min-coverage measures Ethos-U models; ETDumps with --etdump (one
FILE), <stem>.etdp or the configuration's etdumps table, for the CPU-share budget (EI401/EI402);
and every program read through edgeinspect.gather, as every other command reads it."""

from __future__ import annotations

import json
import shutil

import pytest
from lint_helpers import DATA, copy_fixture, run_cli

import edgeinspect
from edgeinspect.analysis import coverage

ETDUMPS = DATA / "etdump"


def _doc(out: str) -> dict:
    return json.loads(out)


def _coverage(path) -> float:
    """Coverage as inspect measures it (gather joins <stem>.tosa.d)."""
    evidence = edgeinspect.gather(path)
    return float(coverage(evidence.program.method("forward")).ratio)


def test_stem_tosa_d_is_joined_so_min_coverage_is_measured_on_ethos_u(capsys):
    model = DATA / "u55_multi.pte"
    measured = _coverage(model)
    assert 0 < measured < 1
    code, out, _ = run_cli(capsys, "lint", str(model), "--min-coverage", "0.99", "--format", "json")
    doc = _doc(out)
    (low,) = [f for f in doc["findings"] if f["code"] == "EI105"]
    assert f"coverage {measured:.1%} is below the minimum 99.0%" in low["message"]
    assert not [f for f in doc["findings"] if f["code"] == "EI106"] and code == 1
    assert sorted(doc["files"][0]["side_files"]["tosa"]) == sorted(p.name for p in (DATA / "u55_multi.tosa.d").glob("*.tosa"))
    # the same coverage passes a lower minimum
    code, out, _ = run_cli(capsys, "lint", str(model), "--min-coverage", f"{measured - 0.01:.4f}", "--select", "EI105,EI106")
    assert code == 0, out


def test_tosa_files_as_a_shell_glob_gives_them_with_one_file(capsys, tmp_path):
    alone = copy_fixture("u55_multi", tmp_path / "net.pte")  # no net.tosa.d beside it
    code, out, _ = run_cli(capsys, "lint", str(alone), "--min-coverage", "0.5", "--select", "EI105,EI106", "--format", "json")
    assert [f["code"] for f in _doc(out)["findings"]] == ["EI106"]
    dumps = sorted(str(p) for p in (DATA / "u55_multi.tosa.d").glob("*.tosa"))
    assert len(dumps) > 1
    code, out, _ = run_cli(
        capsys, "lint", str(alone), "--tosa", *dumps, "--min-coverage", "0.5", "--select", "EI105,EI106", "--format", "json"
    )
    doc = _doc(out)
    assert code == 0 and doc["findings"] == [] and len(doc["files"][0]["side_files"]["tosa"]) == len(dumps)
    # a directory works too, and --tosa is repeatable
    for given in (["--tosa", dumps[0], "--tosa", *dumps[1:]], ["--tosa", str(DATA / "u55_multi.tosa.d")]):
        code, out, _ = run_cli(capsys, "lint", str(alone), *given, "--min-coverage", "0.5", "--select", "EI105,EI106")
        assert code == 0, out


@pytest.mark.parametrize("flag", ["--tosa", "--etdump", "--etrecord"])
def test_one_file_options_refuse_several_files_or_a_directory(capsys, tmp_path, flag):
    side = str(DATA / "u55_multi.tosa.d") if flag == "--tosa" else str(ETDUMPS / "xnn_many_delegates.etdp")
    for paths in ([str(DATA / "u55_multi.pte"), str(DATA / "u55_cnn.pte")], [str(tmp_path)]):
        code, out, err = run_cli(capsys, "lint", *paths, flag, side)
        assert code == 2 and out == "", err
        assert f"{flag} goes with one FILE" in err and "<stem>.tosa.d" in err and len(err.strip().splitlines()) == 1


def test_given_dumps_that_are_corrupt_or_of_another_model(capsys, tmp_path):
    bad = tmp_path / "bad.tosa"
    bad.write_bytes(b"\0\0\0\0TOSA" + b"\xff" * 20)
    code, out, err = run_cli(capsys, "lint", str(DATA / "u55_multi.pte"), "--tosa", str(bad))
    assert code == 2 and "bad.tosa" in err and "internal error" not in err  # the dump's fault, not the model's: no EI001
    # Dumps of another model: one of u85_lrn's dumps has the signature of one of u55_multi's
    # three delegates (why one set of dumps is never joined to several models), the others join
    # nothing, so coverage stays unknown, never guessed.
    other = str(DATA / "u85_lrn.tosa.d")
    code, out, _ = run_cli(capsys, "lint", str(DATA / "u55_multi.pte"), "--tosa", other, "--min-coverage", "0.5", "--format", "json")
    doc = _doc(out)
    assert [f["code"] for f in doc["findings"] if f["code"] in ("EI105", "EI106")] == ["EI106"]
    assert len(doc["files"][0]["side_files"]["tosa"]) < 3


def test_a_tosa_file_does_not_take_program_side_files(capsys):
    dump = next((DATA / "u55_multi.tosa.d").glob("*.tosa"))
    code, _, err = run_cli(capsys, "lint", str(dump), "--etdump", str(ETDUMPS / "xnn_many_delegates.etdp"))
    assert code == 2 and "go with a .pte program, not a .tosa file" in err


def test_every_program_is_read_through_gather(capsys, tmp_path, monkeypatch):
    copy_fixture("u55_multi", tmp_path / "a.pte")
    copy_fixture("xnn_mlp", tmp_path / "sub" / "b.pte")
    shutil.copytree(DATA / "u55_multi.tosa.d", tmp_path / "a.tosa.d")
    (tmp_path / "dump.tosa").write_bytes(next((DATA / "u55_cnn.tosa.d").glob("*.tosa")).read_bytes())
    calls = []
    real = edgeinspect.gather

    def spy(program, **kwargs):
        calls.append((program, kwargs))
        return real(program, **kwargs)

    monkeypatch.setattr(edgeinspect, "gather", spy)
    code, out, _ = run_cli(capsys, "lint", str(tmp_path), "--format", "json")
    assert code == 1
    assert [c[0].path for c in calls] == [str(tmp_path / "a.pte"), str(tmp_path / "sub" / "b.pte")]  # not the .tosa file
    joined = calls[0][0]  # the program gather got is joined to a.tosa.d, as load(tosa="auto") joins it
    assert all(d.tosa_join == "matched" for d in joined.method("forward").delegates)
    assert set(calls[0][1]) == {"etdump", "method", "warmup_runs", "estimate", "cache", "etrecord"}


# -- measured time: --max-cpu-share (EI401, EI402) --------------------------------------------


def _oracle_cpu_share(etdp) -> float:
    """1 - delegate-call time / execute time over the runs after the first (warm-up), from what
    ExecuTorch's own deserializer read (the fixture's expected JSON)."""
    runs = [
        block for block in json.loads(etdp.with_suffix(".expected.json").read_text())["etdump"]["run_data"] if block["name"] == "Execute"
    ]
    delegate = execute = 0
    for block in runs[1:]:
        for event in block["events"]:
            p = event.get("profile")
            if p is None:
                continue
            if p["name"] == "DELEGATE_CALL":
                delegate += p["end_time"] - p["start_time"]
            elif p["name"] == "Method::execute":
                execute += p["end_time"] - p["start_time"]
    return 1 - delegate / execute


def test_cpu_share_above_the_limit_with_measured_figures(capsys):
    etdp = ETDUMPS / "xnn_many_delegates.etdp"
    share = _oracle_cpu_share(etdp)
    assert 0.2 < share < 0.9
    code, out, _ = run_cli(
        capsys, "lint", str(DATA / "xnn_many_delegates.pte"), "--etdump", str(etdp), "--max-cpu-share", "20%", "--format", "json"
    )
    doc = _doc(out)
    (finding,) = [f for f in doc["findings"] if f["code"] == "EI401"]
    assert code == 1 and finding["severity"] == "error"
    assert finding["figures"]["cpu_share"] == pytest.approx(share, abs=1e-4)
    assert finding["figures"]["unit"] == "ticks" and finding["figures"]["runs"] == 3 and finding["figures"]["warmup_runs"] == 1
    msg = finding["message"]
    assert f"{finding['figures']['cpu_share']:.1%} of execute time runs outside delegates (max 20.0%)" in msg
    assert (
        f"{finding['figures']['outside_ticks']:,} of " in msg and " ticks over 2 runs after 1 warm-up run (xnn_many_delegates.etdp)" in msg
    )
    assert "; the costliest CPU islands: 11 of aten::cumsum.out at instructions 1, 3, 5," in msg
    assert doc["files"][0]["side_files"]["etdump"] == "xnn_many_delegates.etdp"
    # under a looser limit: nothing
    code, out, _ = run_cli(
        capsys, "lint", str(DATA / "xnn_many_delegates.pte"), "--etdump", str(etdp), "--max-cpu-share", "0.9", "--select", "EI4"
    )
    assert code == 0, out


def test_etdp_beside_or_mapped_is_paired_in_a_walk(capsys, tmp_path, monkeypatch):
    models = tmp_path / "models"
    copy_fixture("xnn_many_delegates", models / "many.pte")
    shutil.copyfile(ETDUMPS / "xnn_many_delegates.etdp", models / "many.etdp")
    copy_fixture("xnn_cumsum", models / "cumsum.pte")  # no profile beside it
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "lint", "models", "--max-cpu-share", "0.2", "--select", "EI4", "--format", "json")
    doc = _doc(out)
    assert code == 1
    assert [(f["path"].split("/")[-1], f["code"]) for f in doc["findings"]] == [("cumsum.pte", "EI402"), ("many.pte", "EI401")]
    assert {f["path"].split("/")[-1]: f["side_files"]["etdump"] for f in doc["files"]} == {"cumsum.pte": None, "many.pte": "many.etdp"}
    # the configuration maps a model to a profile kept elsewhere, and sets the budget
    (tmp_path / "profiles").mkdir()
    shutil.copyfile(ETDUMPS / "xnn_cumsum.etdp", tmp_path / "profiles" / "run1.etdp")
    (tmp_path / "edgeinspect.toml").write_text('[lint]\nmax-cpu-share = 0.2\netdumps = {"models/cumsum.pte" = "profiles/run1.etdp"}\n')
    code, out, _ = run_cli(capsys, "lint", "models", "--select", "EI4", "--format", "json")
    doc = _doc(out)
    assert {f["path"].split("/")[-1]: f["side_files"]["etdump"] for f in doc["files"]} == {
        "cumsum.pte": "run1.etdp",
        "many.pte": "many.etdp",
    }
    assert not [f for f in doc["findings"] if f["code"] == "EI402"]


def test_etdp_problems_are_tool_errors_naming_the_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    copy_fixture("xnn_mlp", tmp_path / "m.pte")
    # a profile of another program beside it
    shutil.copyfile(ETDUMPS / "xnn_many_delegates.etdp", tmp_path / "m.etdp")
    code, out, err = run_cli(capsys, "lint", "m.pte", "--max-cpu-share", "0.2")
    assert code == 2 and "m.pte" in err and "internal error" not in err and "Traceback" not in err
    # a mapping to a file that is not there names the configuration
    (tmp_path / "m.etdp").unlink()
    (tmp_path / "edgeinspect.toml").write_text('[lint]\nmax-cpu-share = 0.2\netdumps = {"m.pte" = "gone.etdp"}\n')
    code, out, err = run_cli(capsys, "lint", "m.pte")
    assert code == 2 and "gone.etdp does not exist" in err and "edgeinspect.toml" in err
    # a FIFO beside the model is refused, never opened (it would block)
    (tmp_path / "edgeinspect.toml").unlink()
    import os

    os.mkfifo(tmp_path / "m.etdp")
    code, out, err = run_cli(capsys, "lint", "m.pte", "--max-cpu-share", "0.2")
    assert code == 2 and "m.etdp is not a regular file" in err


def test_an_etdp_beside_is_not_read_unless_the_budget_is_set(capsys, tmp_path):
    model = copy_fixture("xnn_mlp", tmp_path / "m.pte")
    (tmp_path / "m.etdp").write_bytes(b"not an etdump")
    code, out, _ = run_cli(capsys, "lint", str(model))
    assert code == 0, out
    code, out, err = run_cli(capsys, "lint", str(model), "--max-cpu-share", "0.5")
    assert code == 2 and "m.etdp" in err  # read once asked for, and refused as what it is


def test_cpu_share_is_checked_on_the_profiled_method_only(capsys):
    code, out, _ = run_cli(capsys, "lint", str(DATA / "xnn_two_methods.pte"), "--max-cpu-share", "0.2", "--format", "json")
    names = edgeinspect.load(DATA / "xnn_two_methods.pte").method_names
    unknown = [f for f in _doc(out)["findings"] if f["code"] == "EI402"]
    assert [f["method"] for f in unknown] == (["forward"] if "forward" in names else [])
    other = next(n for n in names if n != "forward")
    code, out, _ = run_cli(
        capsys, "lint", str(DATA / "xnn_two_methods.pte"), "--max-cpu-share", "0.2", "--method", other, "--format", "json"
    )
    assert [f["method"] for f in _doc(out)["findings"] if f["code"] == "EI402"] == [other]
