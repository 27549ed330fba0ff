"""``inspect --etdump`` (the JSON contract of measured time, and its text) and ``edgeinspect profile``
(runs a program with ExecuTorch's runtime on this host; those tests need executorch)."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from conftest import DATA
from etdump_util import etdump_fixtures, expected

import edgeinspect
from edgeinspect.analysis import profile_method
from edgeinspect.cli import main

ETDUMPS = etdump_fixtures()

needs_runtime = pytest.mark.skipif(
    importlib.util.find_spec("executorch") is None or importlib.util.find_spec("torch") is None,
    reason="profile runs ExecuTorch's runtime (pip install edgeinspect[export])",
)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _pte(etdp):
    return str(DATA / expected(etdp)["pte"])


@pytest.mark.parametrize("etdp", ETDUMPS, ids=[p.stem for p in ETDUMPS])
def test_json_contract(capsys, etdp):
    code, out, err = _run(capsys, "inspect", _pte(etdp), "--etdump", str(etdp), "--format", "json")
    assert code == 0, err
    (method,) = json.loads(out)["methods"]
    with edgeinspect.load(_pte(etdp)) as program, edgeinspect.load_etdump(etdp) as dump:
        profile = profile_method(program.method(), dump)
    assert method["profile"] == json.loads(json.dumps(profile.to_dict()))
    assert method["profile"]["runs"] == len(dump.execute_blocks) == expected(etdp)["runs"]
    ran = profile.by_instruction()
    for ins in method["instructions"]:
        if ins["index"] not in ran:
            assert "profile" not in ins
            continue
        p = ins["profile"]
        assert p == json.loads(json.dumps(ran[ins["index"]].to_dict()))
        assert {"runs", "total_ticks", "min_ticks", "median_ticks", "max_ticks", "warmup_ticks"} <= set(p)
        assert p["runs"] >= 1 and p["total_ticks"] >= 0


def test_json_runs_and_totals_are_the_issue_s_n_and_t(capsys):
    """n and t: the count and the sum of (end - start) of the instruction's own OPERATOR_CALL /
    DELEGATE_CALL events over all runs, straight from the deserializer's events."""
    etdp = DATA / "etdump" / "xnn_many_delegates.etdp"
    code, out, _ = _run(capsys, "inspect", _pte(etdp), "--etdump", str(etdp), "--format", "json")
    (method,) = json.loads(out)["methods"]
    n: dict[int, int] = {}
    t: dict[int, int] = {}
    for block in expected(etdp)["etdump"]["run_data"]:
        for e in block["events"]:
            p = e.get("profile")
            if p and p["name"] in ("OPERATOR_CALL", "DELEGATE_CALL"):
                n[p["instruction_id"]] = n.get(p["instruction_id"], 0) + 1
                t[p["instruction_id"]] = t.get(p["instruction_id"], 0) + p["end_time"] - p["start_time"]
    assert len(n) == len(method["instructions"]) == 24
    for ins in method["instructions"]:
        assert (ins["profile"]["runs"], ins["profile"]["total_ticks"]) == (n[ins["index"]], t[ins["index"]])


def test_an_instruction_that_never_ran_has_no_profile(capsys):
    etdp = DATA / "etdump" / "xnn_cond.etdp"
    code, out, _ = _run(capsys, "inspect", _pte(etdp), "--etdump", str(etdp), "--format", "json")
    (method,) = json.loads(out)["methods"]
    missing = [i["index"] for i in method["instructions"] if "profile" not in i]
    assert missing in ([4, 5, 6, 7], [8, 9])


def test_text_has_a_time_column_and_the_summary(capsys):
    etdp = DATA / "etdump" / "xnn_cumsum.etdp"
    code, out, err = _run(capsys, "inspect", _pte(etdp), "--etdump", str(etdp))
    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.strip().startswith("#"))
    assert "median ticks" in header
    with edgeinspect.load(_pte(etdp)) as program, edgeinspect.load_etdump(etdp) as dump:
        profile = profile_method(program.method(), dump)
    row = next(line for line in lines if "aten::cumsum.out" in line and line.strip().startswith("1 "))
    assert f"{profile.instruction(1).timing.median_ticks:,}" in row
    assert "measured time from xnn_cumsum.etdp: 5 run(s); times in ticks" in out
    assert "run 1 is warm-up: shown apart, left out of medians and shares" in out
    assert "where execute time goes (runs 2-5, ticks summed): delegates" in out
    assert "Convolution (NHWC, F32) IGEMM #1: median" in out
    assert "CPU island between instructions 0 and 2 (aten::cumsum.out): median" in out


def test_text_names_the_calls_that_never_ran(capsys):
    etdp = DATA / "etdump" / "xnn_cond.etdp"
    code, out, _ = _run(capsys, "inspect", _pte(etdp), "--etdump", str(etdp), "--warmup-runs", "0")
    assert "calls that never ran (an untaken branch, or a run cut short):" in out
    assert "no run left out as warm-up" in out


def test_profile_goes_on_the_method_asked_for(capsys):
    etdp = DATA / "etdump" / "xnn_cumsum.etdp"
    code, out, err = _run(capsys, "inspect", _pte(etdp), "--etdump", str(etdp), "--method", "forward", "--format", "json")
    assert code == 0 and "profile" in json.loads(out)["methods"][0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--etdump", "etdump/xnn_many_delegates.etdp"], "does not belong to method 'forward': instruction id 3 >= 3 instructions"),
        (["--etdump", "etdump/xnn_cumsum.etdp", "--method", "encode"], "no method 'encode'"),
        (["--etdump", "etdump/xnn_cumsum.etdp", "--method", "forward", "--method", "forward"], "one --method"),
        (["--etdump", "etdump/nothere.etdp"], "no such file"),
        (["--etdump", "xnn_mlp.pte"], "not an ETDump"),
        (["--etdump", "etdump/xnn_cumsum.etdp", "--warmup-runs", "-1"], "0 or more"),
    ],
)
def test_usage_errors(capsys, argv, message):
    argv = [a if a.startswith("-") or a == "forward" or a == "encode" or a == "-1" else str(DATA / a) for a in argv]
    code, out, err = _run(capsys, "inspect", str(DATA / "xnn_cumsum.pte"), *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_etdump_with_a_tosa_file_is_a_usage_error(capsys):
    tosa = next(DATA.glob("u55_cnn.tosa.d/*.tosa"))
    code, _, err = _run(capsys, "inspect", str(tosa), "--etdump", str(DATA / "etdump" / "xnn_cumsum.etdp"))
    assert code == 2 and "--etdump goes with the .pte program" in err


def test_a_corrupt_etdump_is_one_line_and_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.etdp"
    bad.write_bytes((DATA / "etdump" / "xnn_cumsum.etdp").read_bytes()[:1000])
    code, out, err = _run(capsys, "inspect", str(DATA / "xnn_cumsum.pte"), "--etdump", str(bad))
    assert code == 2 and out == "" and err.startswith("edgeinspect: error: bad.etdp: offset 0x0 (size_prefix)")


def test_profile_without_executorch_names_the_extra(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "edgeinspect.export.profile", None)  # import fails
    code, out, err = _run(capsys, "profile", str(DATA / "xnn_cumsum.pte"), "-o", str(tmp_path / "run.etdp"))
    assert code == 2 and out == ""
    assert "pip install 'edgeinspect[export]'" in err
    assert not (tmp_path / "run.etdp").exists()


def test_profile_never_writes_over_an_input(capsys, tmp_path):
    pte = tmp_path / "model.pte"
    pte.write_bytes((DATA / "xnn_cumsum.pte").read_bytes())
    code, _, err = _run(capsys, "profile", str(pte), "-o", str(pte))
    assert code == 2 and "over an input" in err
    assert pte.read_bytes() == (DATA / "xnn_cumsum.pte").read_bytes()
    code, _, err = _run(capsys, "profile", str(pte), "-o", str(tmp_path))
    assert code == 2 and "is a directory" in err


@needs_runtime
def test_profile_writes_the_etdump_and_prints_the_profile(capsys, tmp_path):
    """Re-profile in CI: ETDumps are not byte-reproducible, so the structure is compared with the
    committed fixture: the blocks, and per run the events' names and instruction ids."""
    out_path = tmp_path / "run.etdp"
    code, out, err = _run(capsys, "profile", str(DATA / "xnn_cumsum.pte"), "--runs", "5", "-o", str(out_path))
    assert code == 0, err
    assert "measured time from run.etdp: 5 run(s)" in out and "median ticks" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.etdp"]  # no temporary left behind
    committed = expected(DATA / "etdump" / "xnn_cumsum.etdp")["etdump"]["run_data"]
    with edgeinspect.load_etdump(out_path) as dump:
        assert [b.name for b in dump.run_blocks] == [b["name"] for b in committed]
        for block, theirs in zip(dump.run_blocks, committed):
            ours = [(e.label, e.instruction_id, e.chain_index) for e in block.profile_events()]
            ref = [
                (p["name"] or p["delegate_debug_id_str"] or "", p["instruction_id"], p["chain_index"])
                for p in (e["profile"] for e in theirs["events"])
            ]
            assert ours == ref


@needs_runtime
def test_profile_json_and_the_cond_program(capsys, tmp_path):
    out_path = tmp_path / "cond.etdp"
    code, out, err = _run(capsys, "profile", str(DATA / "xnn_cond.pte"), "--runs", "2", "-o", str(out_path), "--format", "json")
    assert code == 0, err
    (method,) = json.loads(out)["methods"]
    assert method["profile"]["runs"] == 2 and method["profile"]["etdump"] == "cond.etdp"
    assert [i["index"] for i in method["instructions"] if "profile" not in i] in ([4, 5, 6, 7], [8, 9])


@needs_runtime
def test_profile_inputs_from_npz(capsys, tmp_path):
    import numpy as np

    good = tmp_path / "in.npz"
    np.savez(good, np.ones((1, 3, 16, 16), dtype=np.float32))
    code, out, err = _run(
        capsys, "profile", str(DATA / "xnn_cumsum.pte"), "--inputs", str(good), "--runs", "1", "-o", str(tmp_path / "a.etdp")
    )
    assert code == 0, err
    assert "one run only" in out
    bad = tmp_path / "bad.npz"
    np.savez(bad, np.ones((2, 2), dtype=np.float32))
    code, _, err = _run(capsys, "profile", str(DATA / "xnn_cumsum.pte"), "--inputs", str(bad), "-o", str(tmp_path / "b.etdp"))
    assert code == 2 and "has shape [2, 2], the method takes [1, 3, 16, 16]" in err
    assert not (tmp_path / "b.etdp").exists()
    code, _, err = _run(capsys, "profile", str(DATA / "xnn_cumsum.pte"), "--inputs", str(bad), "-o", str(bad))
    assert code == 2 and "over an input" in err


@needs_runtime
@pytest.mark.parametrize("pte", ["u55_upsample.pte", "tosa_cnn.pte"])
def test_profile_refuses_delegates_the_host_cannot_run_before_running(capsys, tmp_path, pte):
    code, out, err = _run(capsys, "profile", str(DATA / pte), "-o", str(tmp_path / "run.etdp"))
    assert code == 2 and out == ""
    assert "cannot run" in err and "Corstone FVP" in err and "--etdump" in err
    assert not any(tmp_path.iterdir())


@needs_runtime
def test_profile_usage_errors(capsys, tmp_path):
    code, _, err = _run(capsys, "profile", str(DATA / "xnn_cumsum.pte"), "--method", "encode", "-o", str(tmp_path / "a.etdp"))
    assert code == 2 and "no method 'encode'" in err
    code, _, err = _run(capsys, "profile", str(DATA / "xnn_cumsum.pte"), "--runs", "0", "-o", str(tmp_path / "a.etdp"))
    assert code == 2 and "--runs must be 1 or more" in err


@needs_runtime
def test_random_inputs_are_seeded():
    """The same seed gives the same inputs (so two profiles of a program run the same branch),
    another seed other inputs; floats are standard normal, from the method's own metadata."""
    import torch

    from edgeinspect.export.profile import _runtime, make_inputs

    meta = _runtime()._load_for_executorch(str(DATA / "xnn_cumsum.pte")).method_meta("forward")
    a, b, c = make_inputs(meta, 0), make_inputs(meta, 0), make_inputs(meta, 1)
    assert len(a) == meta.num_inputs() >= 1
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=True))
    assert tuple(a[0].shape) == tuple(meta.input_tensor_meta(0).sizes())
