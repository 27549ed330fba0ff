"""The smaller holes of issue 12, item 7: unreadable directories in a lint walk, backtracking
globs, files changed under a mapping (SIGBUS), and what ``load()`` raises for what is no file."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

import edgeinspect
from edgeinspect.errors import EdgeInspectError, UsageError
from edgeinspect.lint import lint_paths
from edgeinspect.lint.config import _glob_states, _tokens, glob_match

# -- an unreadable directory is a tool error ------------------------------------------------


def test_an_unreadable_directory_in_a_walk_is_a_tool_error(tmp_path, monkeypatch, capsys):
    shutil.copy(DATA / "xnn_mlp.pte", tmp_path / "ok.pte")
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(DATA / "xnn_mlp.pte", locked / "hidden.pte")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == str(locked):  # what a directory without read permission does (tests may run as root)
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = lint_paths([str(tmp_path)])
    assert [f.path for f in result.files] == [str(tmp_path / "ok.pte")]
    (error,) = result.errors
    assert error.path == str(locked) and "cannot read this directory" in error.message and "Permission denied" in error.message
    assert result.exit_code() == 2

    from edgeinspect.cli import main

    assert main(["lint", str(tmp_path), "--exit-zero"]) == 2  # --exit-zero never hides it
    assert f"{locked}: cannot read this directory" in capsys.readouterr().err


def _walk_as_a_user(root: str) -> tuple[int, list[list[str]]]:
    """(effective uid, the walk's tool errors as [path, message]) of ``lint_paths([root])`` run by
    a user the kernel holds to file permissions.

    Root reads any directory, and CI runs as root: then the walk runs in a forked child that
    drops to ``nobody`` (setgroups, setgid, setuid: irreversible) before it starts, and sends its
    errors back through a pipe. A fork, not a subprocess: the interpreter and the code live in
    directories ``nobody`` may not read (a root-owned home), so every module the walk needs is
    imported by a first walk as root, and the child only runs it.
    """
    if os.geteuid() != 0:
        return os.geteuid(), [[e.path, e.message] for e in lint_paths([root]).errors]
    import json
    import pwd

    lint_paths([root])  # as root: imports everything the walk needs before privileges drop
    nobody = pwd.getpwnam("nobody")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            out = [os.geteuid(), [[e.path, e.message] for e in lint_paths([root]).errors]]
        except BaseException as err:  # reported to the parent, which fails the test with it
            out = [-1, [["child", repr(err)]]]
        os.write(write, json.dumps(out).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    uid, errors = json.loads(data)
    return uid, errors


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_directory_without_permission():
    import tempfile

    # Not pytest's tmp_path: its parent is private to the user running the tests (root in CI),
    # and the walk must be able to reach the tree to be refused only the locked directory.
    root = tempfile.mkdtemp(prefix="edgeinspect-perm-")
    try:
        os.chmod(root, 0o755)
        shutil.copy(DATA / "xnn_mlp.pte", os.path.join(root, "ok.pte"))
        locked = os.path.join(root, "locked")
        os.mkdir(locked)
        shutil.copy(DATA / "xnn_mlp.pte", os.path.join(locked, "hidden.pte"))
        for path in (root, os.path.join(root, "ok.pte")):
            os.chmod(path, os.stat(path).st_mode | 0o444)
        os.chmod(locked, 0)
        uid, errors = _walk_as_a_user(root)
        assert uid > 0, errors  # the walk really ran without root's privileges
        assert [path for path, _ in errors] == [locked], errors
        assert "cannot read this directory" in errors[0][1] and "Permission denied" in errors[0][1]
    finally:
        os.chmod(os.path.join(root, "locked"), 0o755)
        shutil.rmtree(root)


# -- globs: linear matching ----------------------------------------------------------------


def _reference(pattern: str) -> re.Pattern[str]:
    """The regular expression the globs were translated to before (a backtracking matcher)."""
    parts, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(parts) + r"\Z")


def test_many_double_stars_on_a_deep_path_take_linear_work():
    """``**/`` x 40 on a 400-folder path: exponential for a backtracking matcher; here the work is
    at most (path length + 1) x (2 x tokens + 1) state visits, twice (moves and closures)."""
    pattern = "**/" * 40 + "x.pte"
    path = "d/" * 400 + "y.pte"  # no match: a backtracking matcher tries every split
    tokens = _tokens(pattern)
    matched, work = _glob_states(tokens, path)
    assert not matched
    assert work <= 2 * (len(path) + 1) * (2 * len(tokens) + 1), work
    # Doubling the path doubles the work (no more).
    _, work2 = _glob_states(tokens, "d/" * 800 + "y.pte")
    assert work2 <= 2.1 * work
    assert glob_match("d/" * 400 + "x.pte", pattern)


def test_exclude_with_many_double_stars_through_the_cli(tmp_path, capsys):
    deep = tmp_path.joinpath(*["d"] * 60)
    deep.mkdir(parents=True)
    shutil.copy(DATA / "xnn_mlp.pte", deep / "m.pte")
    from edgeinspect.cli import main

    assert main(["lint", str(tmp_path), "--exclude", "**/" * 30 + "nothing.pte", "--format", "json"]) == 0
    assert '"files": 1' in capsys.readouterr().out


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(
    pattern=st.lists(st.sampled_from(["a", "b", "/", "*", "?", "**", "**/", "."]), max_size=6).map("".join),
    path=st.lists(st.sampled_from(["a", "b", "/", "."]), max_size=8).map("".join),
)
def test_glob_matching_means_what_it_meant(pattern, path):
    assert _glob_states(_tokens(pattern), path)[0] == (_reference(pattern).match(path) is not None), (pattern, path)


# -- files changed after load() --------------------------------------------------------------

_AFTER_LOAD = textwrap.dedent(
    """
    import os, sys
    import edgeinspect
    from edgeinspect.formats.payloads import decode_delegate
    from edgeinspect.report.inspect import inspect_dict
    path, how = sys.argv[1], sys.argv[2]
    program = edgeinspect.load(path)
    size = os.path.getsize(path)
    if how == "truncate":
        os.truncate(path, 64)
    else:  # rewritten in place: same size, other bytes, a later modification time
        with open(path, "r+b") as f:
            f.seek(size // 2)
            f.write(b"\\xff" * 16)
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    outcomes = []
    for attempt in (lambda d: d.payload(), lambda d: d.payload_view(), decode_delegate):
        try:
            attempt(program.delegates[0])
            outcomes.append("read")
        except edgeinspect.FormatError as err:
            outcomes.append(str(err))
    try:
        inspect_dict(program)
        outcomes.append("inspected")
    except edgeinspect.FormatError as err:
        outcomes.append(str(err))
    print("\\n".join(outcomes))
    """
)


@pytest.mark.parametrize("how", ["truncate", "rewrite"])
def test_a_file_changed_after_load_is_a_format_error_not_sigbus(tmp_path, how):
    target = tmp_path / "model.pte"
    shutil.copy(DATA / "xnn_mlp.pte", target)
    proc = subprocess.run([sys.executable, "-c", _AFTER_LOAD, str(target), how], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"process died ({proc.returncode}): {proc.stderr[-2000:]}"
    lines = proc.stdout.splitlines()
    assert len(lines) == 4 and all("changed since load" in line for line in lines[:3]), lines
    assert "model.pte" in lines[0]


def test_the_sigbus_is_real_without_the_check(tmp_path):
    """Touching the mapping itself after the truncation kills the process: what the check prevents."""
    target = tmp_path / "model.pte"
    shutil.copy(DATA / "xnn_mlp.pte", target)
    code = (
        "import os, sys, edgeinspect\n"
        "p = edgeinspect.load(sys.argv[1]); os.truncate(sys.argv[1], 64)\n"
        "print(p._source.data[len(p._source.data) - 1])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGBUS


# -- load() on what is not a file ------------------------------------------------------------


def test_load_on_a_directory_a_fifo_or_a_missing_file_raises_usage_error(tmp_path):
    fifo = tmp_path / "pipe.pte"
    os.mkfifo(fifo)
    for path, message in ((tmp_path, "is a directory"), (fifo, "not a regular file"), (tmp_path / "none.pte", "no such file")):
        with pytest.raises(UsageError, match=message) as info:
            edgeinspect.load(path)
        assert isinstance(info.value, EdgeInspectError) and not isinstance(info.value, edgeinspect.FormatError)


def test_payload_after_close_is_a_usage_error():
    program = edgeinspect.load(DATA / "xnn_mlp.pte")
    program.close()
    with pytest.raises(UsageError, match="closed"):
        program.delegates[0].payload()
