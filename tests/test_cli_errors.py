"""Every subcommand on missing, empty, corrupt, unrelated and directory inputs: one line on stderr,
exit 2 (the lint: exit 1 with finding EI001 for a file it could open, as docs/lint.md documents),
never a traceback, nothing on stdout but the lint's own report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeinspect.cli import COMMANDS, main

DATA = Path(__file__).parent / "data"
GOOD = DATA / "xnn_mlp.pte"


def _argv(command: str, bad: Path, tmp: Path) -> list[list[str]]:
    """Invocations of ``command`` where ``bad`` is the input that must be rejected."""
    if command == "diff":
        return [["diff", str(bad), str(GOOD)], ["diff", str(GOOD), str(bad)]]
    if command == "report":
        return [["report", str(bad), "-o", str(tmp / "r.html")]]
    if command == "profile":
        return [["profile", str(bad), "-o", str(tmp / "run.etdp")]]
    if command == "sweep":  # a model file that is not a torch.export-ed .pt2 program
        return [["sweep", str(bad), "--targets", "xnnpack", "-o", str(tmp / "sweep")]]
    if command in ("inspect", "explain"):
        return [[command, str(bad)], [command, str(GOOD), "--tosa", str(bad)]] if bad.suffix == ".tosa" else [[command, str(bad)]]
    return [[command, str(bad)]]


@pytest.fixture()
def bad_inputs(tmp_path):
    files = {
        "missing": tmp_path / "missing.pte",
        "empty": tmp_path / "empty.pte",
        "truncated": tmp_path / "truncated.pte",
        "corrupt": tmp_path / "corrupt.pte",
        "unrelated": tmp_path / "notes.txt",
        "directory": tmp_path / "adir",
        "bad_tosa": tmp_path / "bad.tosa",
    }
    files["empty"].write_bytes(b"")
    data = GOOD.read_bytes()
    files["truncated"].write_bytes(data[:300])
    corrupt = bytearray(data)
    corrupt[0:4] = (0xFFFFFFF0).to_bytes(4, "little")  # root offset far past the end
    files["corrupt"].write_bytes(bytes(corrupt))
    files["unrelated"].write_text("hello, not a model\n" * 10)
    files["directory"].mkdir()
    tosa = next(DATA.glob("*.tosa.d/*.tosa")).read_bytes()
    files["bad_tosa"].write_bytes(tosa[:40])
    return files


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "corrupt", "unrelated", "directory", "bad_tosa"])
def test_bad_input_is_one_line_never_a_traceback(command, kind, bad_inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EDGEINSPECT_DEBUG", raising=False)
    bad = bad_inputs[kind]
    for argv in _argv(command, bad, tmp_path):
        capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, argv
        if command == "lint":
            _check_lint(kind, code, out, err, bad)
            continue
        assert code == 2, (argv, code, out, err)
        assert out == "", (argv, out)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("edgeinspect: error: "), (argv, err)
        assert bad.name in lines[0], (argv, err)


def _check_lint(kind: str, code: int, out: str, err: str, bad: Path) -> None:
    if kind == "missing":
        assert code == 2 and out == ""
        assert err.strip().splitlines() == [f"edgeinspect: error: {bad}: no such file or directory"]
    elif kind == "directory":  # an empty directory: nothing to lint, nothing wrong
        assert code == 0 and err == "" and out == "All checks passed: 0 files\n"
    else:  # a file that exists but is not a valid model: finding EI001, exit 1
        lines = out.strip().splitlines()
        assert code == 1 and err == ""
        assert len(lines) == 2 and " EI001 invalid-model not a valid model: " in lines[1] and lines[1].startswith(str(bad))
        assert lines[0].startswith("Found 1 finding in 1 file: EI001 x1")  # the summary first


def test_lint_json_on_every_bad_input_is_one_document(bad_inputs, capsys):
    paths = [str(p) for k, p in bad_inputs.items() if k not in ("missing", "directory")]
    capsys.readouterr()
    code = main(["lint", *paths, "--format", "json"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == 1 and err == ""
    assert [f["status"] for f in doc["files"]] == ["invalid"] * len(paths)
    assert [f["code"] for f in doc["findings"]] == ["EI001"] * len(paths)


def test_fifos_never_hang_any_command(tmp_path):
    # inspect, diff, report, --tosa DIR and --baseline all refuse a FIFO at once (exit 2)
    import os
    import subprocess
    import sys

    fifo = tmp_path / "p.pte"
    os.mkfifo(fifo)
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    os.mkfifo(dumps / "x.tosa")
    data = Path(__file__).parent / "data"
    commands = [
        ["inspect", str(fifo)],
        ["diff", str(data / "xnn_mlp.pte"), str(fifo)],
        ["report", str(fifo), "-o", str(tmp_path / "r.html")],
        ["inspect", str(data / "u55_cnn.pte"), "--tosa", str(dumps)],
        ["lint", str(data / "xnn_mlp.pte"), "--baseline", str(fifo)],
    ]
    for argv in commands:
        out = subprocess.run([sys.executable, "-m", "edgeinspect.cli", *argv], capture_output=True, text=True, timeout=30)
        assert out.returncode == 2, (argv, out.stderr)
        assert "not a regular file" in out.stderr and "Traceback" not in out.stderr, (argv, out.stderr)
