"""Outputs never destroy inputs and are never half-written (issue 12, item 4).

``report F -o F`` once died with SIGBUS and left F empty; ``lint F -o F`` and
``--write-baseline F`` overwrote the model. An output that is one of the inputs, under any
spelling (relative, ``./``, a symbolic or a hard link), is now a usage error that touches
nothing; every output is written to a unique temporary file beside it and renamed over it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import threading

import pytest
from conftest import DATA

from edgeinspect.cli import main
from edgeinspect.errors import UsageError
from edgeinspect.outputs import check_not_input, same_file, write_output

FIXTURE = DATA / "u55_multi.pte"


@pytest.fixture
def model(tmp_path):
    """A copy of a real fixture with its dumps, so an attack that succeeds destroys only the copy."""
    pte = tmp_path / "model.pte"
    shutil.copy(FIXTURE, pte)
    shutil.copytree(DATA / "u55_multi.tosa.d", tmp_path / "model.tosa.d")
    return pte


def _spellings(model):
    """The same file under other names: as given, relative, ./, a symlink, a hard link."""
    os.symlink(model, model.parent / "link.pte")
    os.link(model, model.parent / "hard.pte")
    return [
        str(model),
        os.path.relpath(model),
        f"./{os.path.relpath(model)}",
        str(model.parent / "link.pte"),
        str(model.parent / "hard.pte"),
    ]


def test_report_over_its_input_is_refused_under_any_spelling(model, capsys, monkeypatch):
    monkeypatch.chdir(model.parent)
    before = model.read_bytes()
    for out in _spellings(model):
        assert main(["report", str(model), "-o", out]) == 2
        err = capsys.readouterr().err
        assert "refusing to write the report" in err and "over an input" in err, err
        assert model.read_bytes() == before
    # A dump it reads is an input too.
    dump = next((model.parent / "model.tosa.d").glob("*.tosa"))
    dump_before = dump.read_bytes()
    assert main(["report", str(model), "-o", str(dump)]) == 2
    assert "over an input" in capsys.readouterr().err and dump.read_bytes() == dump_before


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "junit"])
def test_lint_output_over_its_input_is_refused(model, capsys, fmt):
    before = model.read_bytes()
    for out in _spellings(model):
        assert main(["lint", str(model), "--format", fmt, "-o", out]) == 2
        assert "over an input" in capsys.readouterr().err
        assert model.read_bytes() == before


def test_write_baseline_over_a_linted_file_is_refused(model, capsys):
    before = model.read_bytes()
    for out in _spellings(model):
        assert main(["lint", str(model), "--write-baseline", out, "--format", "json"]) == 2
        doc = json.loads(capsys.readouterr().out)
        assert doc["exit_code"] == 2 and "refusing to write the baseline" in doc["errors"][0]["message"]
        assert model.read_bytes() == before
    # ... also when the file was found by walking a directory.
    assert main(["lint", str(model.parent), "--write-baseline", str(model)]) == 2
    assert model.read_bytes() == before


def test_lint_document_and_baseline_cannot_share_a_path(model, capsys, tmp_path):
    out = tmp_path / "same.json"
    assert main(["lint", str(model), "--write-baseline", str(out), "-o", str(out)]) == 2
    assert "--write-baseline" in capsys.readouterr().err


def test_honest_outputs_still_work(model, tmp_path, capsys):
    report, doc, base = tmp_path / "r.html", tmp_path / "lint.sarif", tmp_path / "base.json"
    assert main(["report", str(model), "-o", str(report)]) == 0
    assert main(["lint", str(model), "--format", "sarif", "-o", str(doc), "--write-baseline", str(base)]) == 0
    assert report.read_text().startswith("<!DOCTYPE html>")
    assert json.loads(doc.read_text())["version"] == "2.1.0" and json.loads(base.read_text())["schema_version"] == 1
    # Permissions are those a new file gets (the temporary file's 0600 is not kept).
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(report.stat().st_mode) == 0o666 & ~mask
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    capsys.readouterr()


def test_same_file_and_check_not_input(tmp_path):
    a = tmp_path / "a"
    a.write_text("x")
    os.symlink(a, tmp_path / "s")
    assert same_file(a, tmp_path / "s") and not same_file(a, tmp_path / "missing")
    check_not_input(tmp_path / "new", [a])  # not there yet: cannot be an input
    with pytest.raises(UsageError, match="over an input"):
        check_not_input(tmp_path / "s", [a])


def test_a_device_output_is_written_in_place():
    """``-o /dev/stdout`` style outputs: nothing to rename over (and a device node must survive)."""
    write_output(os.devnull, "ignored")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_output_to_a_directory_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        write_output(tmp_path, "x")


_FAILING_WRITER = textwrap.dedent(
    """
    import resource, signal, sys
    from edgeinspect.outputs import write_output
    from edgeinspect.errors import UsageError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        write_output(sys.argv[1], "y" * 100_000)
    except UsageError as err:
        print("refused:", err)
    """
)


def test_a_failed_write_leaves_the_old_file_whole_and_no_debris(tmp_path):
    """Disk full mid-write (a file size limit here): the old content stays, no temporary file remains."""
    target = tmp_path / "report.html"
    target.write_text("old report")
    proc = subprocess.run([sys.executable, "-c", _FAILING_WRITER, str(target)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "refused: cannot write" in proc.stdout, proc.stdout + proc.stderr
    assert target.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_parallel_writers_each_leave_a_whole_file(tmp_path):
    """pre-commit runs hooks in parallel: concurrent writers of one path never interleave."""
    target = tmp_path / "out.json"
    payloads = [json.dumps({"writer": k, "data": [k] * 200_000}) for k in range(8)]
    errors: list[BaseException] = []

    def write(text: str) -> None:
        try:
            for _ in range(5):
                write_output(target, text)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert target.read_text() in payloads
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_parallel_lint_processes_write_one_whole_document(model, tmp_path):
    out = tmp_path / "lint.json"
    cmd = [sys.executable, "-m", "edgeinspect.cli", "lint", str(model), "--format", "json", "-o", str(out), "--exit-zero"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(4)]
    assert all(p.wait(120) == 0 for p in procs)
    assert json.loads(out.read_text())["summary"]["files"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lint.json", "model.pte", "model.tosa.d"]
