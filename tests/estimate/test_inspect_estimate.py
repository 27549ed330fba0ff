"""``inspect --estimate [--no-cache]``: the JSON contract, the text, and every way a delegate
can have no estimate without the command failing."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest
from conftest import DATA

from edgeinspect.cli import main
from edgeinspect.estimate import VelaError, find_vela, run_vela, vela_flags
from edgeinspect.estimate import vela as vela_module

serializer = pytest.importorskip("serializer.tosa_serializer")
Op = pytest.importorskip("tosa.Op").Op
DType = pytest.importorskip("tosa.DType").DType

CONTRACT = {"source", "cycles_total", "cycles_npu", "nn_macs", "inference_time_s", "sram_bytes", "off_chip_flash_bytes", "layers"}


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _json(capsys, *argv):
    code = main(["inspect", *argv, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


@pytest.mark.parametrize("name", ["u55_upsample", "u85_upsample", "u55_channel_sum"])
def test_json_contract(capsys, name):
    code, doc, err = _json(capsys, str(DATA / f"{name}.pte"), "--tosa", str(DATA / f"{name}.tosa.d"), "--estimate")
    assert code == 0, err
    for d in doc["methods"][0]["delegates"]:
        est = d["estimate"]
        assert set(est) >= CONTRACT and "estimate_error" not in d and "estimate_skipped" not in d
        assert est["source"].startswith("vela ")
        for key in ("cycles_total", "cycles_npu", "nn_macs", "sram_bytes", "off_chip_flash_bytes"):
            assert type(est[key]) is int and est[key] >= 0
        assert est["inference_time_s"] == est["cycles_total"] / est["core_clock_hz"]
        assert est["layers"] and sum(layer["cycles"] for layer in est["layers"]) == est["cycles_total"]
        # the payload's own figures beside Vela's: the arena Vela reports is the scratch declared
        assert d["memory"]["scratch_bytes"] == est["sram_bytes"]
        assert d["memory"]["weight_bytes"] == d["payload"]["ethos_u"]["weight_bytes"]


def test_memory_is_there_without_estimate(capsys):
    code, doc, _ = _json(capsys, str(DATA / "u55_multi.pte"))
    assert code == 0
    memories = [d["memory"] for d in doc["methods"][0]["delegates"]]
    assert [m["scratch_bytes"] for m in memories] == [4096, 17152, 17152]
    assert [m["weight_bytes"] for m in memories] == [400, 800, 768]
    assert all("estimate" not in d for d in doc["methods"][0]["delegates"])  # only when asked for
    code, doc, _ = _json(capsys, str(DATA / "xnn_mlp.pte"))
    assert "memory" not in doc["methods"][0]["delegates"][0]


def test_text_shows_cycles_time_and_memory(capsys):
    assert main(["inspect", str(DATA / "u55_upsample.pte"), "--tosa", str(DATA / "u55_upsample.tosa.d"), "--estimate"]) == 0
    out = capsys.readouterr().out
    assert "estimate (vela " in out and "500 MHz): 6,304 cycles" in out and "predicted" in out
    assert "SRAM 17,152 B, off-chip flash 768 B" in out and "memory (payload): scratch 17,152 B" in out
    assert "heaviest layers by cycles: tosa_rescale_default (Conv2D)" in out


def test_without_dumps_each_delegate_says_why(capsys, tmp_path):
    alone = tmp_path / "u55_upsample.pte"  # a copy without the dumps beside it
    alone.write_bytes((DATA / "u55_upsample.pte").read_bytes())
    code, doc, _ = _json(capsys, str(alone), "--estimate")
    assert code == 0
    for d in doc["methods"][0]["delegates"]:
        assert d["estimate"] is None and "no .tosa dump joined" in d["estimate_skipped"] and "u55_upsample.tosa.d" in d["estimate_skipped"]
    assert main(["inspect", str(alone), "--estimate"]) == 0
    assert "estimate: none (no .tosa dump joined: pass --tosa" in capsys.readouterr().out


def test_ambiguous_join_is_not_guessed(capsys):
    code, doc, _ = _json(capsys, str(DATA / "u55_sort.pte"), "--tosa", str(DATA / "u55_sort.tosa.d"), "--estimate")
    assert code == 0
    for d in doc["methods"][0]["delegates"]:
        assert d["estimate"] is None and "which one it compiled cannot be told" in d["estimate_skipped"]


def test_other_backends_need_no_vela(capsys, monkeypatch):
    _hide_vela(monkeypatch)
    code, doc, err = _json(capsys, str(DATA / "xnn_mlp.pte"), "--estimate")
    assert code == 0, err
    (d,) = doc["methods"][0]["delegates"]
    assert d["estimate"] is None and "not an Ethos-U delegate" in d["estimate_skipped"]


def _hide_vela(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(vela_module.importlib.util, "find_spec", lambda name, *a: None if name.startswith("ethosu") else real(name, *a))


def test_missing_vela_is_a_usage_error_naming_the_extra(capsys, monkeypatch):
    _hide_vela(monkeypatch)
    code = main(["inspect", str(DATA / "u55_cnn.pte"), "--tosa", str(DATA / "u55_cnn.tosa.d"), "--estimate"])
    err = capsys.readouterr().err
    assert code == 2 and "edgeinspect[export]" in err and "ethos-u-vela" in err and "Traceback" not in err


def test_usage_errors(capsys):
    assert main(["inspect", str(DATA / "u55_cnn.pte"), "--no-cache"]) == 2
    assert "--no-cache goes with --estimate" in capsys.readouterr().err
    dump = DATA / "u55_cnn.tosa.d" / "output_tag0_TOSA-1.0+INT+int16+int4+u55.tosa"
    assert main(["inspect", str(dump), "--estimate"]) == 2
    assert "--estimate goes with the .pte program" in capsys.readouterr().err


def test_no_cache_writes_nothing(capsys, tmp_path):
    args = [str(DATA / "u55_cnn.pte"), "--tosa", str(DATA / "u55_cnn.tosa.d"), "--estimate"]
    assert _json(capsys, *args, "--no-cache")[0] == 0
    assert not (tmp_path / "cache").exists()
    assert _json(capsys, *args)[0] == 0
    assert len(list((tmp_path / "cache" / "edgeinspect" / "vela").glob("*.json"))) == 1


def _write_rejected_dump(path):
    """A valid TOSA 1.0 graph with u55_upsample delegate 1's inputs and outputs
    ([1, 8, 32, 32] int8) made of BITWISE_NOT, which Vela cannot run on Ethos-U55."""
    ser = serializer.TosaSerializer("", tosa_version_minor=0, tosa_version_draft=False)
    x = ser.addPlaceholder([1, 8, 32, 32], DType.INT8, None)
    y = ser.addIntermediate([1, 8, 32, 32], DType.INT8)
    z = ser.addOutput([1, 8, 32, 32], DType.INT8)
    ser.addOperator(Op.BITWISE_NOT, [x.name], [y.name])
    ser.addOperator(Op.BITWISE_NOT, [y.name], [z.name])
    path.write_bytes(ser.serialize())


def test_a_dump_vela_rejects_is_one_delegates_message(capsys, tmp_path):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    good = "output_tag1_TOSA-1.0+INT+int16+int4+u55.tosa"  # delegate 0's dump
    shutil.copy(DATA / "u55_upsample.tosa.d" / good, dumps / good)
    _write_rejected_dump(dumps / "rejected.tosa")
    args = [str(DATA / "u55_upsample.pte"), "--tosa", str(dumps), "--estimate"]
    code, doc, err = _json(capsys, *args)
    assert code == 0, err
    first, second = doc["methods"][0]["delegates"]
    assert first["tosa_file"] == good and first["estimate"]["cycles_total"] == 6304
    assert second["tosa_file"] == "rejected.tosa" and second["estimate"] is None
    assert second["estimate_error"] == "Vela rejected the graph: RuntimeError: Non-passthrough operation (Not) could not run on NPU"
    assert main(["inspect", *args]) == 0
    assert "estimate: none, Vela could not estimate it: Vela rejected the graph" in capsys.readouterr().out


def test_hostile_compile_flags_refuse_one_delegate(capsys, tmp_path, monkeypatch):
    """compile_flags come from the file: an --output-dir in them is refused by name, and Vela
    never runs with it."""
    monkeypatch.chdir(tmp_path)
    data = (DATA / "u55_cnn.pte").read_bytes()
    assert data.count(b"--output-format=raw") == 1
    (tmp_path / "hostile.pte").write_bytes(data.replace(b"--output-format=raw", b"--output-dir=outdir"))
    code, doc, err = _json(capsys, "hostile.pte", "--tosa", str(DATA / "u55_cnn.tosa.d"), "--estimate")
    assert code == 0, err
    (d,) = doc["methods"][0]["delegates"]
    assert d["estimate"] is None and "'--output-dir=outdir' is not passed to Vela" in d["estimate_error"]
    assert not (tmp_path / "outdir").exists()


def test_vela_that_does_not_finish_is_stopped():
    install = find_vela()
    dump = (DATA / "u55_cnn.tosa.d" / "output_tag0_TOSA-1.0+INT+int16+int4+u55.tosa").read_bytes()
    flags = vela_flags("--accelerator-config=ethos-u55-128 --config=Arm/vela.ini", install.config_dir)
    with pytest.raises(VelaError, match="did not finish within 0.001 s"):
        run_vela(dump, flags, install, timeout=0.001)
