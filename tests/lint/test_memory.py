"""The memory lint (issue 10 item 6): the scratch (arena) an Ethos-U delegate asks for, from its
payload (EI501, no Vela), and the SRAM Vela estimates for it (EI502, --estimate), against limits set
per target (--max-scratch-bytes ethos-u55-128=N, [tool.edgeinspect.lint.targets."ethos-u55-128"]),
naming the delegate that needs the most; EI503 when a figure is unknown. Every figure is read here
from the zoo's U55/U85 payloads by a parser of the test's own and from the vela command's CSV."""

from __future__ import annotations

import csv
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import zoo_index
from lint_helpers import DATA, copy_fixture, run_cli

import edgeinspect

ETHOS_U = [e for e in zoo_index() if e["flow"] in ("ethos-u55", "ethos-u85") and any(e["delegate_calls"].values())]  # something delegated
VELA = shutil.which("vela", path=os.path.dirname(sys.executable)) or shutil.which("vela")


def _scratch(payload: bytes) -> int:
    """The ``scratch_size`` block of a Vela payload: blocks of a 32-byte header (16-byte name,
    u32 length, u8 external flag, 11 reserved bytes), then the data padded to 16 bytes."""
    at = 0
    while at + 32 <= len(payload):
        name = payload[at : at + 16].rstrip(b"\0").decode()
        (length,) = struct.unpack_from("<I", payload, at + 16)
        if name == "scratch_size":
            return struct.unpack_from("<I", payload, at + 32)[0]
        at += 32 + (length + 15) // 16 * 16
    raise AssertionError("no scratch_size block")


def _delegates(pte: Path) -> list[tuple[str, int, str, int, int]]:
    """(method, delegate index, target, first call instruction, scratch bytes) of each Ethos-U delegate."""
    out = []
    with edgeinspect.load(pte) as program:
        for m in program.methods:
            calls = {}
            for ins in m.instructions:
                if ins.kind == "delegate":
                    calls.setdefault(ins.delegate, ins.index)
            for d in m.delegates:
                if d.backend_id == "EthosUBackend":
                    out.append((m.name, d.index, d.target, calls[d.index], _scratch(bytes(d.payload_view()))))
    return out


def _findings(capsys, *argv) -> tuple[int, list[dict]]:
    code, out, err = run_cli(capsys, "lint", *argv, "--format", "json")
    doc = json.loads(out)
    assert doc["errors"] == [], err
    return code, doc["findings"]


@pytest.mark.parametrize("entry", ETHOS_U, ids=[e["name"] for e in ETHOS_U])
def test_scratch_limit_names_the_delegate_that_needs_the_most(capsys, entry):
    pte = str(DATA / entry["pte"])
    delegates = _delegates(DATA / entry["pte"])
    for method in {d[0] for d in delegates}:
        own = [d for d in delegates if d[0] == method]
        most = max(d[4] for d in own)
        worst = next(d for d in own if d[4] == most)  # the first on a tie
        code, findings = _findings(capsys, pte, "--select", "EI5", "--max-scratch-bytes", str(most - 1))
        (finding,) = [f for f in findings if f["code"] == "EI501" and f["method"] == method]
        over = [d for d in own if d[4] > most - 1]
        assert code == 1 and finding["figures"]["most"] == worst[1]
        assert finding["figures"]["bytes"] == {str(d[1]): d[4] for d in over}
        assert finding["instruction"] == worst[3]
        assert finding["message"].startswith(
            f"'{method}': delegate {worst[1]} (instruction {worst[3]}) needs {most:,} B of scratch (arena) memory, "
            f"over the {worst[2]} limit of {most - 1:,} B"
        )
    code, findings = _findings(capsys, pte, "--select", "EI5", "--max-scratch-bytes", str(max(d[4] for d in delegates)))
    assert code == 0 and findings == []


def test_the_zoo_has_u55_and_u85_targets():
    targets = {d[2] for e in ETHOS_U for d in _delegates(DATA / e["pte"])}
    assert {"ethos-u55-128", "ethos-u85-256"} <= targets


def test_limits_per_target_from_the_command_line_and_the_configuration(capsys, tmp_path, monkeypatch):
    u55, u85 = DATA / "u55_multi.pte", DATA / "u85_lrn.pte"
    small = min(d[4] for d in _delegates(u55) + _delegates(u85)) - 1
    # a limit for the U55 only leaves the U85 model alone
    code, findings = _findings(capsys, str(u55), str(u85), "--select", "EI5", "--max-scratch-bytes", f"ethos-u55-128={small}")
    assert {Path(f["path"]).name for f in findings} == {"u55_multi.pte"} and code == 1
    # a bare N is the default for every target; a named target overrides it
    code, findings = _findings(
        capsys, str(u55), str(u85), "--select", "EI5", "--max-scratch-bytes", str(small), "--max-scratch-bytes", "ethos-u85-256=1000000"
    )
    assert {Path(f["path"]).name for f in findings} == {"u55_multi.pte"}
    # the same from [tool.edgeinspect.lint.targets."ethos-u85-256"]
    (tmp_path / "pyproject.toml").write_text(
        "[tool.edgeinspect.lint]\nmax-scratch-bytes = 1000000\n\n"
        f'[tool.edgeinspect.lint.targets."ethos-u85-256"]\nmax-scratch-bytes = {small}\n'
    )
    monkeypatch.chdir(tmp_path)
    code, findings = _findings(capsys, str(u55), str(u85), "--select", "EI5")
    assert {Path(f["path"]).name for f in findings} == {"u85_lrn.pte"}
    assert all("over the ethos-u85-256 limit of" in f["message"] for f in findings)


def _vela_sram(dump: str, compile_flags: str, out: Path) -> int:
    """``sram_memory_used`` (KiB) of the vela command's summary CSV, in bytes."""
    subprocess.run([VELA, dump, *compile_flags.split(), "--verbose-performance", "--output-dir", str(out)], capture_output=True, check=True)
    (summary,) = out.glob("*_summary_*.csv")
    with open(summary, newline="") as f:
        (row,) = list(csv.DictReader(f))
    return int(float(row["sram_memory_used"]) * 1024)


@pytest.mark.skipif(VELA is None, reason="the vela command (ethos-u-vela, the export extra) is not installed")
@pytest.mark.parametrize("name", ["u55_multi", "u85_lrn"])
def test_sram_limit_from_vela_names_the_delegate_that_needs_the_most(capsys, tmp_path, name):
    pte = DATA / f"{name}.pte"
    program = edgeinspect.load(pte, tosa="auto")
    calls = {ins.target: ins.index for ins in program.method("forward").instructions if ins.kind == "delegate"}
    sram = {}
    for d in program.method("forward").delegates:
        assert d.tosa is not None, d.tosa_join
        sram[d.index] = _vela_sram(d.tosa.path, d.specs["compile_flags"], tmp_path / str(d.index))
    most = max(sram.values())
    worst = next(i for i, b in sram.items() if b == most)
    code, findings = _findings(capsys, str(pte), "--estimate", "--no-cache", "--select", "EI5", "--max-sram-bytes", str(most - 1))
    (finding,) = findings
    assert code == 1 and finding["code"] == "EI502" and finding["figures"]["most"] == worst
    assert finding["figures"]["bytes"] == {str(i): b for i, b in sram.items() if b > most - 1}
    target = program.method("forward").delegates[worst].target
    assert finding["message"].startswith(
        f"'forward': delegate {worst} (instruction {calls[worst]}) needs {most:,} B of SRAM, "
        f"over the {target} limit of {most - 1:,} B (vela "
    )
    code, findings = _findings(capsys, str(pte), "--estimate", "--select", "EI5", "--max-sram-bytes", str(most))
    assert code == 0 and findings == []


def test_unknown_memory_is_said_never_guessed(capsys, tmp_path):
    # no --estimate: Vela's SRAM is not known
    code, findings = _findings(capsys, str(DATA / "u55_multi.pte"), "--select", "EI5", "--max-sram-bytes", "1")
    (finding,) = findings
    assert finding["code"] == "EI503" and finding["severity"] == "warning" and code == 1
    assert (
        "the SRAM of delegates 0, 1, 2 is unknown, so --max-sram-bytes cannot be checked: Vela's estimate needs --estimate"
        in finding["message"]
    )
    # with --estimate but no dumps joined: each delegate says why it has no estimate
    alone = copy_fixture("u55_cnn", tmp_path / "u55_cnn.pte")
    if VELA is not None:
        code, findings = _findings(capsys, str(alone), "--estimate", "--select", "EI5", "--max-sram-bytes", "1")
        (finding,) = findings
        assert finding["code"] == "EI503" and "no Vela estimate" in finding["message"]


def test_memory_budgets_apply_with_a_baseline(capsys, tmp_path):
    """A baseline grandfathers fragmentation figures, not a device's memory limit."""
    model = copy_fixture("u55_multi", tmp_path / "m.pte")
    base = tmp_path / "baseline.json"
    assert run_cli(capsys, "lint", str(model), "--write-baseline", str(base))[0] == 0
    code, findings = _findings(capsys, str(model), "--baseline", str(base), "--max-scratch-bytes", "1")
    assert code == 1 and {f["code"] for f in findings} == {"EI501"}
