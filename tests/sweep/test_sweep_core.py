"""The sweep's torch-free parts: targets, SPECs, the rows and "best", worker counts, the
renderers and the analysis of an exported pair (on the committed fixtures)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import DATA

from edgeinspect.analysis.sweep import SweepRow, TopSplitter, mark_best
from edgeinspect.errors import UsageError
from edgeinspect.export.specs import BUILTIN_MODELS, parse_spec
from edgeinspect.export.sweep import EXPORT_MEMORY_BYTES, analyse_pair, default_workers
from edgeinspect.export.targets import check_target, ethos_u_targets, target_kind
from edgeinspect.report.sweep import progress_line, sweep_html, sweep_json, sweep_text

GiB = 1024**3


def test_targets_are_the_toolchains_names():
    assert check_target("ethos-u65-256") == "ethos-u65-256"
    assert {"ethos-u55-32", "ethos-u55-256", "ethos-u85-2048"} <= set(ethos_u_targets())
    assert check_target("TOSA-1.0+fp") == "TOSA-1.0+FP"
    assert check_target("tosa-1.1+INT+INT16") == "TOSA-1.1+INT+int16"
    assert [target_kind(t) for t in ("xnnpack-int8", "portable")] == ["xnnpack", "portable"]
    for bad in ("ethos-u55-100", "TOSA-1.0", "TOSA-1.0+BF16", "cuda", ""):
        with pytest.raises(UsageError):
            check_target(bad)


def test_specs_parse_without_torch(tmp_path, monkeypatch):
    s = parse_spec("mobilenet_v2")
    assert (s.name, s.kind, s.source) == ("mobilenet_v2", "zoo", "builtin:mobilenet_v2")
    assert parse_spec("mobilenet_v2").identity == s.identity != parse_spec("resnet18").identity
    f = parse_spec("edgeinspect.export.models:upsample_cnn")
    assert (f.name, f.kind) == ("upsample_cnn", "function")
    assert parse_spec("up=edgeinspect.export.models:upsample_cnn").name == "up"
    # A module in the current directory is found (as the command imports it) and its source
    # is part of the identity: editing the model invalidates the previous export.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mymodels.py").write_text("def build():\n    return 1\n")
    first = parse_spec("mymodels:build").identity
    (tmp_path / "mymodels.py").write_text("def build():\n    return 2\n")
    assert parse_spec("mymodels:build").identity != first
    (tmp_path / "m.pt2").write_bytes(b"x")
    p = parse_spec("m.pt2")
    assert (p.name, p.kind, Path(p.source)) == ("m", "pt2", tmp_path / "m.pt2")
    for bad, message in (
        ("nosuch", "built-in zoo"),
        ("no.such.module:f", "cannot find module"),
        ("mymodels:not-an-identifier", "module:function"),
        ("gone.pt2", "no such file"),
        ("bad name=mobilenet_v2", "built-in zoo"),
        ("a/b=mobilenet_v2", "not a .pt2 file"),
        ("models/net.onnx", "not a .pt2 file"),
    ):
        with pytest.raises(UsageError, match=message):
            parse_spec(bad)
    with pytest.raises(UsageError, match="unknown zoo"):
        parse_spec("resnet18", zoo="timm")


def test_torchvision_zoo_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torchvision" else real(name, *a))
    with pytest.raises(UsageError, match="torchvision 0.28 of the same build as torch 2.13"):
        parse_spec("resnet18", zoo="torchvision")


def test_default_workers_are_memory_aware():
    assert default_workers(12, cpus=2, mem_available=64 * GiB) == 2
    assert default_workers(12, cpus=16, mem_available=3 * EXPORT_MEMORY_BYTES + 1) == 3
    assert default_workers(12, cpus=16, mem_available=GiB) == 1  # never zero
    assert default_workers(2, cpus=16, mem_available=64 * GiB) == 2  # never more than the tasks
    assert default_workers(5) >= 1


def _row(target, transitions, coverage, nbytes, cycles=None, status="ok", delegates=(("B", 1),)):
    delegates = delegates if status == "ok" else ()
    return SweepRow(
        "m", target, status, delegates=delegates, transitions=transitions, coverage=coverage, boundary_bytes=nbytes, cycles=cycles
    )


def test_best_is_fewest_transitions_then_coverage_then_bytes_then_cycles():
    rows = mark_best([_row("a", 4, 1.0, 10), _row("b", 2, 0.5, 99), _row("c", 2, 0.9, 99)])
    assert [r.best for r in rows] == [False, False, True]
    assert rows[2].best_reason == "highest coverage: 90.0% (b: 50.0%)"
    rows = mark_best([_row("a", 2, None, 10), _row("b", 2, 0.1, 99)])
    assert rows[1].best and rows[1].best_reason == "highest coverage: 10.0% (a: unknown)"  # unknown loses
    rows = mark_best([_row("a", 2, 1.0, 10, cycles=500), _row("b", 2, 1.0, 10, cycles=400), _row("x", 2, 1.0, 10)])
    assert [r.target for r in rows if r.best] == ["b", "x"]  # x has no estimate: cycles do not count against it
    rows = mark_best([_row("a", 2, 1.0, 10, cycles=500), _row("b", 2, 1.0, 10, cycles=400)])
    assert [r.best_reason for r in rows] == [None, "fewest Vela cycles: 400 (a: 500)"]
    rows = mark_best([_row("a", 2, 1.0, 10), _row("b", 2, 1.0, 10)])
    assert [r.best for r in rows] == [True, True] and rows[0].best_reason == "tied with b on every criterion"
    rows = mark_best([_row("a", None, None, None, status="failed"), _row("b", None, None, None, status="failed")])
    assert not any(r.best for r in rows)
    # A program all on the CPU (0 transitions) never beats one that uses its accelerator.
    rows = mark_best([_row("portable", 0, 0.0, 0, delegates=()), _row("u55", 4, 0.9, 100)])
    assert [r.target for r in rows if r.best] == ["u55"] and rows[1].best_reason == "delegates at all: yes (portable: no, all on the CPU)"


def test_rows_round_trip_through_json():
    row = SweepRow(
        "m",
        "ethos-u55-128",
        "ok",
        delegates=(("EthosUBackend", 2),),
        transitions=4,
        boundary_bytes=10,
        coverage=0.5,
        cpu_islands=1,
        cpu_ops=(("aten::where.self_out", 1),),
        top_splitter=TopSplitter("aten::where", ("aten::gt",), 1, 1, 2, 10, "why", "fix it"),
        cycles=123,
        pte="m/ethos-u55-128/m.pte",
        tosa_dumps=("m/ethos-u55-128/m.tosa.d/output.tosa",),
        best=True,
        best_reason="r",
        seconds=1.5,
        peak_rss_bytes=7,
        resumed=True,
    )
    again = SweepRow.from_dict(json.loads(json.dumps(row.to_dict())))
    assert again == row and row.delegate_calls == 2
    assert "run" not in row.result_dict()


def _pair(tmp_path: Path, fixture: str, model: str) -> Path:
    """A pair directory laid out as the sweep writes it, from a committed fixture."""
    pair = tmp_path / model / "t"
    pair.mkdir(parents=True)
    shutil.copy(DATA / f"{fixture}.pte", pair / f"{model}.pte")
    if (DATA / f"{fixture}.tosa.d").is_dir():
        shutil.copytree(DATA / f"{fixture}.tosa.d", pair / f"{model}.tosa.d")
    return pair


def test_analyse_pair_reads_the_files_alone(tmp_path):
    up = analyse_pair(_pair(tmp_path, "u55_upsample", "up"), "up", "ethos-u55-128", prefix="up/t/")
    assert up.delegates == (("EthosUBackend", 2),) and up.transitions == 4 and up.cpu_islands == 1
    assert up.coverage is not None and 0 < up.coverage < 1  # known: the dumps are joined
    assert up.top_splitter.operator == "aten::upsample_bilinear2d" and "nearest" in up.top_splitter.fix
    assert up.pte == "up/t/up.pte" and len(up.tosa_dumps) == 2 and up.tosa_dumps[0].startswith("up/t/up.tosa.d/")
    clean = analyse_pair(_pair(tmp_path, "xnn_cnn", "cnn"), "cnn", "xnnpack")
    assert clean.delegates == (("XnnpackBackend", 1),) and clean.transitions == 2 and clean.top_splitter is None
    assert clean.coverage == 1.0 and clean.tosa_dumps == ()


def test_analyse_pair_estimates_with_vela(tmp_path):
    pytest.importorskip("ethosu.vela")
    up = analyse_pair(_pair(tmp_path, "u55_upsample", "up"), "up", "ethos-u55-128", estimate=True)
    assert up.cycles is not None and up.cycles > 0 and up.inference_time_s > 0 and up.estimate_note is None


def _doc(rows):
    rows = mark_best(rows)
    return {
        "schema_version": 1,
        "kind": "sweep",
        "targets": list(dict.fromkeys(r.target for r in rows)),
        "models": [{"name": m, "spec": m, "kind": "zoo", "identity": "x"} for m in dict.fromkeys(r.model for r in rows)],
        "toolchain": {"executorch": "1.5.1"},
        "estimate": True,
        "rows": [r.to_dict() for r in rows],
        "best": {},
        "run": {"runner": "local", "workers": 2, "seconds": 1.0, "exported": 2, "resumed": 0, "failed": 1},
    }


HOSTILE = "<script>alert(1)</script>\x1b[31m\nred\x00"


def test_renderers_escape_and_clean_everything():
    rows = [
        SweepRow(
            "m",
            "ethos-u55-128",
            "ok",
            delegates=(("EthosUBackend", 2),),
            transitions=4,
            boundary_bytes=10,
            coverage=0.5,
            top_splitter=TopSplitter("aten::" + HOSTILE, (), 1, 1, 2, 10, HOSTILE, HOSTILE),
            cycles=9,
        ),
        SweepRow("m", "ethos-u85-256", "failed", error_stage="lower", error=HOSTILE * 200),
        SweepRow("m", "xnnpack", "ok", delegates=(("XnnpackBackend", 1),), transitions=2, boundary_bytes=30, coverage=1.0),
    ]
    doc = _doc(rows)
    page = sweep_html(doc)
    assert "<script" not in page and "&lt;script&gt;" in page and "\x1b" not in page and "\x00" not in page
    assert len(page) < 40_000  # a 2 MB error message is clipped
    text = sweep_text(doc)
    assert "\x1b" not in text and "\x00" not in text
    assert all(len(line) < 1000 for line in text.splitlines())
    head = next(line for line in text.splitlines() if line.startswith("m "))
    assert head.split() == ["m", "ethos-u55-128", "ethos-u85-256", "xnnpack", "*"]
    assert "ethos-u85-256 failed at lower" in text and "best: xnnpack (fewest transitions: 2 (ethos-u55-128: 4))" in text
    assert json.loads(sweep_json(doc)) == doc


def test_progress_lines_are_plain_text():
    row = SweepRow("m", "xnnpack", "failed", error_stage="lower", error=HOSTILE, seconds=3.0)
    line = progress_line("finished", 1, 4, 10.0, model="m", target="xnnpack", row=row, exported=1)
    assert line.startswith("[#####...............] 1/4  25%  0:10 elapsed, ~0:30 left  m x xnnpack: FAILED at lower")
    assert "\n" not in line and "\x1b" not in line
    assert progress_line("started", 0, 4, 0.0, model="m", target="t").endswith("m x t: exporting")
    assert progress_line("planned", 0, 4, 0.0, message="4 pairs").endswith("4 pairs")


def test_builtin_model_names_are_parsed_torch_free():
    assert len(BUILTIN_MODELS) == 7 and len(set(BUILTIN_MODELS)) == 7


def test_a_failure_inside_vela_is_said_to_be_vela():
    """The stage of a failed export is the step that was running, or ``vela`` when the error
    came out of the Ethos-U compiler's own code (a frame in the ethosu package or arm_vela.py)."""
    from edgeinspect.export.worker import _message, _stage_of

    code = compile(
        "def compile_graph():\n    raise RuntimeError('Vela: invalid tensor shape\\nwhile compiling')\n",
        "/site-packages/ethosu/vela/vela.py",
        "exec",
    )
    scope: dict = {}
    exec(code, scope)
    try:
        scope["compile_graph"]()
    except RuntimeError as err:
        assert _stage_of(err, "lower") == "vela"
        assert _message(err) == "RuntimeError: Vela: invalid tensor shape"  # the first line only
    try:
        raise ValueError("quantizer said no")
    except ValueError as err:
        assert _stage_of(err, "quantize") == "quantize"


def test_sweep_without_the_export_extra_is_a_usage_error_naming_it(monkeypatch, capsys, tmp_path):
    """No torch or executorch: exit 2 and one line that names the extra, before anything is written."""
    import importlib.util

    from edgeinspect.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("torch", "executorch") else real(name, *a))
    code = main(["sweep", "squeezenet1_1", "--targets", "xnnpack", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines() == [
        "edgeinspect: error: sweep exports with torch and executorch: pip install 'edgeinspect[export]'"
    ]
    assert not (tmp_path / "out").exists()


def test_ray_without_ray_names_the_extra(monkeypatch):
    import sys

    from edgeinspect.export.sweep import ray_outcomes

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(UsageError, match=r"--ray needs Ray: pip install 'edgeinspect\[ray\]'"):
        next(iter(ray_outcomes([])))
