"""``edgeinspect view``: the bind-address guard, tested without starting a server."""

from __future__ import annotations

import socket

import pytest
from conftest import DATA

from edgeinspect.cli import main
from edgeinspect.commands.view import check_host, free_port
from edgeinspect.errors import UsageError


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_refuses_non_loopback_bind(host, capsys, monkeypatch):
    started = []
    monkeypatch.setattr("socket.socket.bind", lambda *a, **k: started.append(a))  # nothing may bind
    assert main(["view", str(DATA / "u55_multi.pte"), "--host", host]) == 2
    err = capsys.readouterr().err
    assert f"refusing to serve Model Explorer on {host!r}" in err
    assert "--allow-remote" in err and "read_text_file" in err
    assert started == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_is_allowed(host):
    check_host(host, allow_remote=False)


def test_allow_remote_is_explicit():
    check_host("0.0.0.0", allow_remote=True)
    with pytest.raises(UsageError):
        check_host("0.0.0.0", allow_remote=False)


def test_bad_port_and_missing_file_are_usage_errors(capsys, tmp_path):
    assert main(["view", str(DATA / "u55_multi.pte"), "--port", "70000"]) == 2
    assert "not a TCP port" in capsys.readouterr().err
    assert main(["view", str(tmp_path / "missing.pte")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_free_port_is_bindable():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


# -- the server process (issue 16 item 1, issue 13 item 5) ------------------------------------
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

from edgeinspect.cli import build_parser  # noqa: E402
from edgeinspect.commands.view import server_argv  # noqa: E402

needs_web_app = pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("model_explorer") is None, reason="Model Explorer is not installed"
)


def test_server_argv_carries_every_option():
    argv = ["view", "m.pte", "--tosa", "a.tosa", "b.tosa", "--host", "::1", "--no-overlays", "--group-by", "modules"]
    argv += ["--etdump", "r.etdp", "--warmup-runs", "2", "--method", "forward", "--estimate", "--no-cache", "--etrecord", "e.etrecord"]
    args = build_parser("view").parse_args(argv)
    again = build_parser("view").parse_args(["view", *server_argv(args, 8123)])
    assert {**vars(args), "port": 8123} == vars(again)


def _view(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgeinspect.cli", "view", *argv], capture_output=True, text=True, timeout=timeout)


@needs_web_app
def test_a_busy_port_is_our_one_line_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = _view(str(DATA / "u55_multi.pte"), "--port", str(port))
    assert proc.returncode == 2
    assert proc.stderr == f"edgeinspect: error: port {port} on 127.0.0.1 is in use: pick another --port, or leave it out for a free one\n"
    assert proc.stdout == ""


@needs_web_app
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--etdump", "x.etdp"], "--etdump goes with a .pte program, not a .tosa file"),
        (["--group-by", "modules"], None),
    ],
)
def test_wrong_side_files_are_usage_errors(argv, message):
    target = sorted((DATA / "u55_multi.tosa.d").glob("*.tosa"))[0] if message else DATA / "u55_multi.pte"
    proc = _view(str(target), *argv)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("edgeinspect: error: ")
    assert (message or "--group-by modules needs to know where each instruction came from") in proc.stderr
    assert "Traceback" not in proc.stderr


_NO_HEAVY = """
import json, sys, threading, time, urllib.request
from edgeinspect_explorer import session
port = sys.argv[2]
threading.Thread(target=session.main, args=([sys.argv[1], "--port", port],), daemon=True).start()
body = None
for _ in range(600):
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/apipost/v1/send_command", headers={"Content-Type": "application/json"},
            data=json.dumps({"cmdId": "convert", "extensionId": "edgeinspect", "modelPath": sys.argv[1], "settings": {}}).encode())
        body = urllib.request.urlopen(req, timeout=5).read()
        break
    except OSError:
        time.sleep(0.1)
names = {"torch", "executorch", "torchao", "model_explorer", "flask", "IPython", "requests"}
heavy = sorted({m.split(".")[0] for m in sys.modules} & names)
print("RESULT " + json.dumps({"heavy": heavy, "graphs": len(json.loads(body)["graphCollections"][0]["graphs"])}), flush=True)
"""


@needs_web_app
def test_the_server_imports_neither_torch_nor_model_explorers_server():
    """With torch installed, nothing in the view path imports it (Model Explorer's own server
    would: its PyTorch adapter loads at start)."""
    proc = subprocess.run(
        [sys.executable, "-c", _NO_HEAVY, str(DATA / "u55_multi.pte"), str(free_port())], capture_output=True, text=True, timeout=120
    )
    # (the server thread prints its address meanwhile: read the one JSON value after the marker)
    out, _ = json.JSONDecoder().raw_decode(proc.stdout.split("RESULT ", 1)[1])
    assert out == {"heavy": [], "graphs": 1}, proc.stderr


@needs_web_app
def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _peak_rss(pid: int) -> int:
    """Peak resident set of a process, bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def test_start_prints_one_address_and_nothing_else_and_stops_with_the_command():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgeinspect.cli", "view", str(DATA / "u55_multi.pte"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"edgeinspect: Model Explorer is ready at http://127.0.0.1:{port}/?data=")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/check_health", timeout=5) as resp:
            assert resp.read() == b"model_explorer_ok"
        # The session stays small with torch installed (issue 16: under 150 MB): the command and
        # the server process it started, each at its peak so far (Linux's VmHWM).
        peaks = {pid: _peak_rss(pid) for pid in (proc.pid, *_children(proc.pid))}
        assert len(peaks) == 2 and all(0 < peak < 150 * 2**20 for peak in peaks.values()), peaks
    finally:
        proc.terminate()  # SIGTERM to the command: the server process it started stops too
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out == "" and err == ""  # no second address, no warnings (torchao, pytree: torch is never imported)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/check_health", timeout=1)
        except OSError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the server outlived the view command")
