"""``edgeinspect sweep`` end to end with the real toolchain: local worker pools, Ray, failures, resume.

The sweep of two of the fixture zoo's models (``edgeinspect.export.models:upsample_cnn`` and
``:small_cnn``, the models of ``u55_upsample``/``u85_upsample`` and ``u55_cnn``/``xnn_cnn``)
over ethos-u55-128, ethos-u85-256 and xnnpack runs with 2 workers, with 1, and on a local Ray
cluster; the three give the same rows and the same .pte bytes, and agree with the committed
fixtures (delegate counts, and the Ethos-U payloads byte for byte). Each run is a
``python -m edgeinspect.cli sweep`` process, as a user runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, zoo_index

pytestmark = pytest.mark.needs_export

REPO = Path(__file__).resolve().parents[2]
MODELS = ("edgeinspect.export.models:upsample_cnn", "edgeinspect.export.models:small_cnn")
TARGETS = "ethos-u55-128,ethos-u85-256,xnnpack"


def sweep(out: Path, *args: str, check: bool = True) -> tuple[dict, subprocess.CompletedProcess[str]]:
    """Run the command; return sweep.json and the process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "edgeinspect.cli", "sweep", *args, "-o", str(out), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=900,
    )
    if check:
        assert proc.returncode in (0, 1), proc.stderr[-3000:]
    doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    if doc:
        assert json.loads((out / "sweep.json").read_text()) == doc  # stdout is what the file holds
    return doc, proc


def results(doc: dict) -> list[dict]:
    """The rows without what describes the run (time, memory, resumed)."""
    return [{k: v for k, v in r.items() if k != "run"} for r in doc["rows"]]


def row(doc: dict, model: str, target: str) -> dict:
    return next(r for r in doc["rows"] if r["model"] == model and r["target"] == target)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep2")
    doc, proc = sweep(out, *MODELS, "--targets", TARGETS, "--workers", "2")
    return out, doc, proc


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep1")
    doc, proc = sweep(out, *MODELS, "--targets", TARGETS, "--workers", "1")
    return out, doc, proc


def test_two_workers_give_the_single_process_result(two_workers, one_worker):
    (out2, doc2, proc2), (out1, doc1, _) = two_workers, one_worker
    assert doc2["run"]["workers"] == 2 and doc1["run"]["workers"] == 1
    assert results(doc2) == results(doc1)
    assert [r["status"] for r in doc2["rows"]] == ["ok"] * 6
    for r in doc2["rows"]:  # the programs themselves, byte for byte (PYTHONHASHSEED=0 in every worker)
        assert (out2 / r["pte"]).read_bytes() == (out1 / r["pte"]).read_bytes(), r["pte"]
        for dump in r["tosa_dumps"]:
            assert (out2 / dump).read_bytes() == (out1 / dump).read_bytes()
    assert "2 local worker processes" in proc2.stderr
    assert proc2.returncode == 0  # no thresholds: fragmentation is a finding of the table, not a failure


def test_sweep_agrees_with_the_fixture_zoo(two_workers):
    """The bilinear upsample splits U55 (2 delegates) and not U85 (1): the committed fixtures'
    counts, and the very same Vela payloads (same model, weights, quantization, compiler)."""
    import edgeinspect

    out, doc, _ = two_workers
    zoo = {e["name"]: e for e in zoo_index()}
    expected = {
        ("upsample_cnn", "ethos-u55-128"): "u55_upsample",
        ("upsample_cnn", "ethos-u85-256"): "u85_upsample",
        ("small_cnn", "ethos-u55-128"): "u55_cnn",
        ("small_cnn", "xnnpack"): "xnn_cnn",
    }
    for (model, target), fixture in expected.items():
        r = row(doc, model, target)
        assert r["delegate_calls"] == zoo[fixture]["delegate_calls"]["forward"], (model, target)
        ours, theirs = edgeinspect.load(out / r["pte"]), edgeinspect.load(DATA / f"{fixture}.pte")
        if target.startswith("ethos-u"):
            assert [d.payload() for d in ours.delegates] == [d.payload() for d in theirs.delegates]
            assert [(out / d).read_bytes() for d in r["tosa_dumps"]] == [
                (DATA / d).read_bytes() for d in json.loads((DATA / f"{fixture}.expected.json").read_text())["tosa_dumps"]
            ]
    u55, u85 = row(doc, "upsample_cnn", "ethos-u55-128"), row(doc, "upsample_cnn", "ethos-u85-256")
    assert (u55["transitions"], u85["transitions"]) == (4, 2)
    assert u55["top_splitter"]["operator"] == "aten::upsample_bilinear2d" and "nearest" in u55["top_splitter"]["fix"]
    assert u85["top_splitter"] is None and u85["best"] and not u55["best"]
    assert doc["best"]["upsample_cnn"] == ["ethos-u85-256"]
    # The per-pair layout: .pte, dumps, ETRecord, result.json; dump path stored relative; no
    # partial directory left behind.
    assert sorted(p.name for p in (out / "upsample_cnn").iterdir()) == ["ethos-u55-128", "ethos-u85-256", "xnnpack"]
    pair = out / "upsample_cnn" / "ethos-u55-128"
    assert sorted(p.name for p in pair.iterdir()) == [
        "export.log",
        "result.json",
        "upsample_cnn.etrecord",
        "upsample_cnn.pte",
        "upsample_cnn.tosa.d",
    ]
    specs = edgeinspect.load(pair / "upsample_cnn.pte").delegates[0].specs
    assert specs["debug_artifact_path"] == "upsample_cnn.tosa.d"
    assert str(out) not in (pair / "upsample_cnn.pte").read_bytes().decode("latin-1")
    result = json.loads((pair / "result.json").read_text())
    assert result["key"]["toolchain"]["executorch"] == "1.5.1" and result["export"]["python_hash_seed"] == "0"
    assert result["export"]["delegation_info"]["forward"]["num_delegated_subgraphs"] == 2


def test_the_same_sweep_on_a_local_ray_cluster(two_workers, tmp_path):
    """Started and stopped by the command (``ray.init()`` with no address): same rows, same bytes."""
    import importlib.util

    assert importlib.util.find_spec("ray") is not None, "Ray is part of edgeinspect[all]: pip install 'edgeinspect[ray]'"
    out2, doc2, _ = two_workers
    doc, proc = sweep(tmp_path, *MODELS, "--targets", TARGETS, "--ray", "--workers", "2")
    assert doc["run"]["runner"] == "ray"
    assert results(doc) == results(doc2)
    for r in doc["rows"]:
        assert (tmp_path / r["pte"]).read_bytes() == (out2 / r["pte"]).read_bytes()
    assert "on Ray" in proc.stderr


def test_resume_skips_done_pairs(two_workers, tmp_path):
    import shutil

    out, doc, _ = two_workers
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    stamps = {p: p.stat().st_mtime_ns for p in copy.rglob("*.pte")}
    again, proc = sweep(copy, *MODELS, "--targets", TARGETS)
    assert again["run"]["exported"] == 0 and again["run"]["resumed"] == 6
    assert results(again) == results(doc)
    assert "0 to export" in proc.stderr and proc.stderr.count("(reused)") == 6
    assert {p: p.stat().st_mtime_ns for p in copy.rglob("*.pte")} == stamps
    # A pair recorded with another toolchain is exported again, and only that one.
    result_file = copy / "small_cnn" / "xnnpack" / "result.json"
    result = json.loads(result_file.read_text())
    result["key"]["toolchain"]["executorch"] = "1.4.0"
    result_file.write_text(json.dumps(result))
    third, proc = sweep(copy, *MODELS, "--targets", TARGETS)
    assert third["run"]["exported"] == 1 and third["run"]["resumed"] == 5
    assert [r["target"] for r in third["rows"] if not r["run"]["resumed"]] == ["xnnpack"]
    assert results(third) == results(doc)


def test_a_failed_export_is_a_row_and_the_sweep_goes_on(tmp_path):
    """``Float64Head`` computes a score in float64: the Arm int8 flow fails in the quantizer
    (executorch 1.5.1: "Expecting input to have dtype torch.float32, but got dtype:
    torch.float64"), XNNPACK exports it with the float64 part on the CPU. Beside it, a model of
    the built-in zoo and a torch.export-ed .pt2 file."""
    pt2 = tmp_path / "cnn.pt2"
    code = (
        "import sys, torch; from edgeinspect.export.models import small_cnn; torch.manual_seed(0); m, ex = small_cnn(); "
        "torch.export.save(torch.export.export(m, ex), sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, str(pt2)], check=True, cwd=REPO, capture_output=True)
    out = tmp_path / "out"
    specs = ("edgeinspect.export.models:float64_head", "squeezenet1_1", str(pt2))
    doc, proc = sweep(out, *specs, "--targets", "ethos-u55-128,xnnpack", "--no-etrecord")
    assert proc.returncode == 0
    failed = row(doc, "float64_head", "ethos-u55-128")
    assert failed["status"] == "failed" and failed["error"]["stage"] == "quantize"
    assert "torch.float64" in failed["error"]["message"] and failed["delegate_calls"] is None
    assert "Traceback" in (out / "float64_head" / "ethos-u55-128" / "export.log").read_text()
    assert row(doc, "float64_head", "xnnpack")["status"] == "ok"
    assert doc["best"]["float64_head"] == ["xnnpack"]
    assert row(doc, "float64_head", "xnnpack")["best_reason"] == "the only target that exported"
    for model in ("squeezenet1_1", "cnn"):
        for target in ("ethos-u55-128", "xnnpack"):
            r = row(doc, model, target)
            assert r["status"] == "ok" and r["delegate_calls"] >= 1 and r["etrecord"] is None, (model, target)
    assert doc["run"]["failed"] == 1 and "FAILED at quantize" in proc.stderr
    # A failed export is done too: a rerun does not try it again.
    again, _ = sweep(out, *specs, "--targets", "ethos-u55-128,xnnpack", "--no-etrecord")
    assert again["run"]["exported"] == 0 and results(again) == results(doc)
    # With a threshold, a pair that breaks it or failed to export fails the run (exit 1).
    gated, proc = sweep(out, *specs, "--targets", "ethos-u55-128,xnnpack", "--no-etrecord", "--max-transitions", "2")
    assert proc.returncode == 1 and gated["findings"] == [] and gated["thresholds"] == {"max_transitions": 2}
    assert proc.stdout == (out / "sweep.json").read_text()


def test_thresholds_use_the_lint_rules(two_workers, tmp_path):
    import shutil

    out, _, _ = two_workers
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    doc, proc = sweep(copy, *MODELS, "--targets", TARGETS, "--max-delegates", "1", "--max-transitions", "2")
    assert proc.returncode == 1
    assert [(f["code"], f["path"]) for f in doc["findings"]] == [
        ("EI101", "upsample_cnn/ethos-u55-128/upsample_cnn.pte"),
        ("EI103", "upsample_cnn/ethos-u55-128/upsample_cnn.pte"),
    ]
    _, proc = sweep(copy, *MODELS, "--targets", TARGETS, "--max-transitions", "4", "--min-coverage", "80%")
    assert proc.returncode == 0
    _, proc = sweep(copy, *MODELS, "--targets", TARGETS, "--max-transitions", "2", "--exit-zero")
    assert proc.returncode == 0


def test_sweep_text_is_side_by_side(two_workers, tmp_path):
    import shutil

    out, _, _ = two_workers
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "edgeinspect.cli", "sweep", *MODELS, "--targets", TARGETS, "-o", str(copy), "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    lines = proc.stdout.splitlines()
    head = next(line for line in lines if line.startswith("upsample_cnn "))
    assert head.split() == ["upsample_cnn", "ethos-u55-128", "ethos-u85-256", "*", "xnnpack"]
    assert any(line.split()[:3] == ["transitions", "4", "2"] for line in lines)
    assert "fix: Upsample with nearest neighbour" in proc.stdout
    assert proc.stderr == ""  # -q: no progress


def test_usage_errors_exit_2(tmp_path):
    for args, message in (
        (["nosuchmodel"], "not a model of the built-in zoo"),
        (["edgeinspect.export.models:upsample_cnn", "--targets", "ethos-u99-1"], "unknown target"),
        (["nosuchmodule.x:build"], "cannot find module"),
        (["missing.pt2"], "no such file"),
        (["a=small_cnn_typo"], "not a model of the built-in zoo"),
        (["resnet18", "x=resnet18", "--targets", "xnnpack", "--workers", "0"], "--workers takes a positive number"),
        (["resnet18", "resnet18"], "two models are named resnet18"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "edgeinspect.cli", "sweep", *args, "-o", str(tmp_path / "o")],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
        )
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_sweep_html_renders_in_chromium(two_workers, tmp_path):
    """The page the sweep writes, in headless Chromium: no page or console errors, nothing
    fetched, one matrix cell per pair, the best marked."""
    import shutil

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("Debian chromium is not installed (scripts/test.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    out, doc, _ = two_workers
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless=new", "--no-sandbox", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "sweep.html").as_uri())
            assert page.locator("table.matrix td.cell").count() == len(doc["rows"]) == 6
            assert page.locator("table.matrix td.best").count() == sum(len(v) for v in doc["best"].values())
            assert page.locator("h2").all_inner_texts() == ["upsample_cnn", "small_cnn"]
            box = page.locator("table.matrix").bounding_box()
            assert box is not None and box["width"] > 400
            page.screenshot(path=str(tmp_path / "sweep.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith("file://")] == []


def test_a_dying_worker_fails_its_pair_only(tmp_path):
    """A model whose building kills the exporting process (as the kernel's OOM killer would):
    that pair fails at stage ``worker``, a fresh process takes the next pair, and the crash
    is not recorded as done (a rerun tries it again)."""
    (tmp_path / "crashy.py").write_text("import os, signal\n\n\ndef build():\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "edgeinspect.cli", "sweep", "crashy:build", "edgeinspect.export.models:small_cnn"]
    args += ["--targets", "xnnpack", "--workers", "1", "--no-etrecord", "-o", "out", "--format", "json"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    crashed, fine = row(doc, "build", "xnnpack"), row(doc, "small_cnn", "xnnpack")
    assert crashed["status"] == "failed" and crashed["error"]["stage"] == "worker"
    assert "killed by SIGKILL" in crashed["error"]["message"]
    assert fine["status"] == "ok" and fine["delegate_calls"] == 1
    assert not (tmp_path / "out" / "build" / "xnnpack" / "result.json").exists()


def test_every_kind_of_target_exports(tmp_path):
    """The targets beyond the main sweep's: another U55 size, the U65, TOSA INT and FP (no
    NPU compiler), XNNPACK int8 and the portable CPU baseline, on the fixture zoo's CNN."""
    targets = "ethos-u55-256,ethos-u65-256,TOSA-1.0+INT,tosa-1.0+fp,xnnpack,portable"
    doc, proc = sweep(tmp_path, "edgeinspect.export.models:small_cnn", "--targets", targets, "--xnnpack-int8", "--no-etrecord")
    assert proc.returncode == 0
    assert doc["targets"] == ["ethos-u55-256", "ethos-u65-256", "TOSA-1.0+INT", "TOSA-1.0+FP", "xnnpack-int8", "portable"]
    got = {r["target"]: (r["status"], r["delegates"]) for r in doc["rows"]}
    assert got == {
        "ethos-u55-256": ("ok", {"EthosUBackend": 1}),
        "ethos-u65-256": ("ok", {"EthosUBackend": 1}),
        "TOSA-1.0+INT": ("ok", {"TOSABackend": 1}),
        "TOSA-1.0+FP": ("ok", {"TOSABackend": 1}),
        "xnnpack-int8": ("ok", {"XnnpackBackend": 1}),
        "portable": ("ok", {}),
    }
    import edgeinspect

    programs = {r["target"]: edgeinspect.load(tmp_path / r["pte"]) for r in doc["rows"]}
    assert programs["ethos-u65-256"].delegates[0].target == "ethos-u65-256"
    assert "--accelerator-config=ethos-u55-256" in programs["ethos-u55-256"].delegates[0].specs["compile_flags"]
    assert programs["TOSA-1.0+FP"].delegates[0].specs["tosa_spec"].startswith("TOSA-1.0+FP")
    # int8 XNNPACK: the delegate converts to and from int8 itself (XNNConvert), which the fp32
    # export of the same model (the xnn_cnn fixture) does not
    from edgeinspect.formats.payloads import known_delegate_ops

    int8_ops = known_delegate_ops(programs["xnnpack-int8"].delegates[0])
    fp32_ops = known_delegate_ops(edgeinspect.load(DATA / "xnn_cnn.pte").delegates[0])
    assert int8_ops["XNNConvert"] == 2 and "XNNConvert" not in fp32_ops and int8_ops["XNNConv2d"] == fp32_ops["XNNConv2d"] == 2
    assert row(doc, "small_cnn", "portable")["transitions"] == 0 and row(doc, "small_cnn", "portable")["coverage"] == 0.0


FAKE_TORCHVISION = '''
"""A stand-in for torchvision (which cannot be installed beside torch 2.13 here): the two
functions of torchvision.models the sweep calls, returning a small real network."""
import types

import torch

__version__ = "0.0.0+test"


def _net(weights=None):
    assert weights is None
    layers = [torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(4, 10))


models = types.SimpleNamespace(list_models=lambda: ["tinynet"], get_model=lambda name, weights=None: _net(weights))
'''


def test_torchvision_zoo_path(tmp_path):
    """``--zoo torchvision`` end to end, with a stand-in package that has torchvision's name,
    version metadata and the two functions the sweep calls (the real one cannot be installed
    here): the model is built with weights=None on a 224x224 input, and an unknown name is a
    row that failed at ``build``."""
    (tmp_path / "torchvision").mkdir()
    (tmp_path / "torchvision" / "__init__.py").write_text(FAKE_TORCHVISION)
    meta = tmp_path / "torchvision-0.0.0+test.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: torchvision\nVersion: 0.0.0+test\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "edgeinspect.cli", "sweep", "tinynet", "nosuchnet", "--zoo", "torchvision"]
    args += ["--targets", "xnnpack", "--no-etrecord", "-o", "out", "--format", "json", "--workers", "1"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert row(doc, "tinynet", "xnnpack")["status"] == "ok" and row(doc, "tinynet", "xnnpack")["delegate_calls"] == 1
    assert row(doc, "tinynet", "xnnpack")["boundary_bytes"] == 3 * 224 * 224 * 4 + 10 * 4
    failed = row(doc, "nosuchnet", "xnnpack")
    assert failed["error"]["stage"] == "build" and "has no model named 'nosuchnet'" in failed["error"]["message"]


def test_the_command_with_estimate_gives_velas_cycles(tmp_path):
    """`sweep --estimate` end to end: each Ethos-U row holds Vela's cycles for that pair's own dumps,
    the same figure edgeinspect.gather(estimate=True) gives on the files the sweep wrote."""
    import edgeinspect

    out = tmp_path / "est"
    doc, _ = sweep(out, "edgeinspect.export.models:upsample_cnn", "--targets", "ethos-u55-128,xnnpack", "--estimate", "--workers", "1")
    u55, xnn = row(doc, "upsample_cnn", "ethos-u55-128"), row(doc, "upsample_cnn", "xnnpack")
    ev = edgeinspect.gather(out / u55["pte"], tosa=[out / d for d in u55["tosa_dumps"]], estimate=True, cache=False)
    found = ev.method_estimates("forward")
    assert len(found) == 2 and all(f.estimate is not None for f in found.values())  # the upsample splits U55 in two
    assert u55["cycles"] == sum(f.estimate.cycles_total for f in found.values())
    assert xnn["cycles"] is None  # Vela predicts Ethos-U only
    assert f"{u55['cycles']:,}" in (out / "sweep.html").read_text()
