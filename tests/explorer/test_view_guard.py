"""``edgeinspect view`` cannot be driven by another web page (issue 12, item 1).

The attacks themselves, sent to a real running server: a foreign Host, a DNS-rebinding host
name, a foreign Origin and Referer, cross-site fetch metadata, reads of /etc/passwd (directly
and through a symbolic link), commands for other files and other extensions, uploads, and
``deleteAfterConversion`` -- which, against Model Explorer unguarded, really deletes the
directory when the server stops (shown by a control run). The Guard's rules are also unit
tested on a plain WSGI app (no Model Explorer needed).
"""

from __future__ import annotations

import http.client
import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from urllib.parse import quote

import pytest
from conftest import DATA

from edgeinspect.commands.view import free_port

FIXTURE = "u55_multi"


# -- the rules, on a plain WSGI app -----------------------------------------------------------
def _guard(tmp_path):
    from edgeinspect_explorer.server import Guard

    model = tmp_path / "m.pte"
    model.write_bytes(b"x")
    seen = []

    def app(environ, start_response):
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"ok"]

    return Guard(app, port=8000, files=[str(model)]), model, seen


def _call(guard, path="/", method="GET", query="", body=b"", **headers):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_HOST": "127.0.0.1:8000",
    }
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    status = []
    guard(environ, lambda s, h: status.append(s))
    return status[0]


def test_guard_rules(tmp_path):
    guard, model, seen = _guard(tmp_path)
    ok, refused = "200 OK", "403 Forbidden"
    assert _call(guard) == ok
    for host in ("localhost:8000", "LOCALHOST:8000", "[::1]:8000"):
        assert _call(guard, host=host) == ok
    for host in ("evil.example:8000", "127.0.0.1:8001", "127.0.0.1", "", "127.0.0.1.nip.io:8000"):
        assert _call(guard, host=host) == refused, host
    assert _call(guard, origin="http://127.0.0.1:8000") == ok
    for origin in ("http://evil.example", "null", "http://127.0.0.1:8001", "https://127.0.0.1:8000"):
        assert _call(guard, origin=origin) == refused, origin
    assert _call(guard, referer="http://localhost:8000/?data=x") == ok
    assert _call(guard, referer="http://evil.example/page") == refused
    assert _call(guard, "/api/v1/get_extensions", sec_fetch_site="cross-site") == refused
    assert _call(guard, "/api/v1/get_extensions", sec_fetch_site="same-origin") == ok
    assert _call(guard, "/main.js", sec_fetch_site="same-site") == ok  # the page itself may be framed (a notebook)
    assert _call(guard, "/api/v1/read_text_file", query=f"path={model}") == ok
    assert _call(guard, "/api/v1/read_text_file", query="path=/etc/passwd") == refused
    os.symlink("/etc/passwd", tmp_path / "innocent.pte")
    assert _call(guard, "/api/v1/read_text_file", query=f"path={tmp_path / 'innocent.pte'}") == refused
    good = {"cmdId": "convert", "extensionId": "edgeinspect", "modelPath": str(model), "settings": {}, "deleteAfterConversion": False}
    body = json.dumps(good).encode()
    assert _call(guard, "/apipost/v1/send_command", "POST", body=body) == ok and seen[-1] == body  # the body is passed on
    for bad in ({"deleteAfterConversion": True}, {"extensionId": "builtin_pytorch"}, {"modelPath": "/etc/passwd"}):
        assert _call(guard, "/apipost/v1/send_command", "POST", body=json.dumps({**good, **bad}).encode()) == refused, bad
    assert _call(guard, "/apipost/v1/send_command", "POST", body=b"[" * 10) == refused
    assert _call(guard, "/api/v1/send_command", query="json=" + json.dumps({**good, "deleteAfterConversion": True})) == refused
    assert _call(guard, "/apipost/v1/upload", "POST") == refused and _call(guard, "/apipost/v1/update_config", "POST") == refused
    assert len(guard.refusals) == 20


# -- the attacks, on a real server ----------------------------------------------------------
pytest.importorskip("model_explorer")

_UNGUARDED = textwrap.dedent(
    """
    import sys, model_explorer
    from model_explorer.config import ModelExplorerConfig
    config = ModelExplorerConfig()
    config.add_model_from_path(sys.argv[1], adapterId="edgeinspect")
    model_explorer.visualize_from_config(config=config, extensions=["edgeinspect_explorer"], host="127.0.0.1",
                                         port=int(sys.argv[2]), no_open_in_browser=True)
    """
)


def _start(cmd: list[str], ready: str) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    return proc, lines


def _wait(proc, lines, ready: str, log: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        log.append(line)
        if ready in line:
            return
    proc.kill()
    pytest.fail(f"server did not come up:\n{''.join(log)}")


def _stop(proc, lines, log: list[str]) -> None:
    """Ctrl+C: Model Explorer deletes what it was asked to delete when it stops this way."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    while not lines.empty():
        log.append(lines.get())


def _victim(root):
    d = root
    d.mkdir()
    shutil.copy(DATA / f"{FIXTURE}.pte", d / "model.pte")
    (d / "precious.txt").write_text("the user's work")
    return d


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """``edgeinspect view`` on a copy of a fixture, and (the control) Model Explorer unguarded on
    another copy, started together."""
    root = tmp_path_factory.mktemp("view")
    guarded_dir, control_dir = _victim(root / "guarded"), _victim(root / "control")
    shutil.copytree(DATA / f"{FIXTURE}.tosa.d", guarded_dir / "model.tosa.d")
    port, control_port = free_port(), free_port()
    view = _start([sys.executable, "-m", "edgeinspect.cli", "view", str(guarded_dir / "model.pte"), "--port", str(port)], "")
    control = _start([sys.executable, "-c", _UNGUARDED, str(control_dir / "model.pte"), str(control_port)], "")
    logs: dict[str, list[str]] = {"view": [], "control": []}
    try:
        _wait(*view, "Model Explorer is ready at", logs["view"])
        _wait(*control, "Starting Model Explorer server at", logs["control"])
        yield {
            "port": port,
            "dir": guarded_dir,
            "control_port": control_port,
            "control_dir": control_dir,
            "view": view,
            "control": control,
            "logs": logs,
        }
    finally:
        for p, _ in (view, control):
            if p.poll() is None:
                p.kill()
                p.wait(10)


def _request(port: int, method: str, path: str, *, host: str | None = None, body: bytes | None = None, **headers: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        hdrs = {"Host": host or f"127.0.0.1:{port}", **{k.replace("_", "-"): v for k, v in headers.items()}}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _convert(path, delete=False, extension="edgeinspect") -> bytes:
    cmd = {"cmdId": "convert", "extensionId": extension, "modelPath": str(path), "settings": {}, "deleteAfterConversion": delete}
    return json.dumps(cmd).encode()


def test_the_page_and_its_own_requests_still_work(servers):
    port, model = servers["port"], servers["dir"] / "model.pte"
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert _request(port, "GET", "/", host=host)[0] == 200
    status, body = _request(port, "POST", "/apipost/v1/send_command", body=_convert(model), Origin=f"http://127.0.0.1:{port}")
    assert status == 200 and json.loads(body)["graphCollections"][0]["graphs"][0]["id"] == "forward"
    dump = next((servers["dir"] / "model.tosa.d").glob("*.tosa"))
    status, body = _request(port, "GET", f"/api/v1/read_text_file?path={quote(str(dump))}", Referer=f"http://127.0.0.1:{port}/?data=x")
    assert status == 200  # a dump of the session: allowed (binary, so Model Explorer answers with an error text)


@pytest.mark.parametrize(
    "what, method, path, kwargs",
    [
        ("foreign Host", "GET", "/", {"host": "evil.example"}),
        ("DNS rebinding", "GET", "/api/v1/read_text_file?path=MODEL", {"host": "rebind.attacker.example:PORT"}),
        ("right name, other port", "GET", "/", {"host": "127.0.0.1:1"}),
        ("foreign Origin", "POST", "/apipost/v1/send_command", {"body": "CONVERT", "Origin": "http://evil.example"}),
        ("opaque Origin", "POST", "/apipost/v1/send_command", {"body": "CONVERT", "Origin": "null"}),
        ("foreign Referer", "GET", "/api/v1/read_text_file?path=MODEL", {"Referer": "http://evil.example/attack.html"}),
        ("cross-site fetch", "GET", "/api/v1/send_command?json=CONVERT", {"Sec_Fetch_Site": "cross-site"}),
        ("/etc/passwd", "GET", "/api/v1/read_text_file?path=/etc/passwd", {}),
        ("another extension", "POST", "/apipost/v1/send_command", {"body": "PYTORCH"}),
        ("another file", "POST", "/apipost/v1/send_command", {"body": "OTHER"}),
        ("upload", "POST", "/apipost/v1/upload", {}),
        ("configuration rewrite", "POST", "/apipost/v1/update_config", {"body": "{}"}),
    ],
)
def test_attacks_are_refused(servers, what, method, path, kwargs):
    port, model = servers["port"], servers["dir"] / "model.pte"
    other = servers["control_dir"] / "model.pte"  # a real model, not of this session
    bodies = {"CONVERT": _convert(model), "PYTORCH": _convert(model, extension="builtin_pytorch"), "OTHER": _convert(other), "{}": b"{}"}
    kwargs = dict(kwargs)
    if "host" in kwargs:
        kwargs["host"] = kwargs["host"].replace("PORT", str(port))
    if "body" in kwargs:
        kwargs["body"] = bodies[kwargs["body"]]
    path = path.replace("MODEL", quote(str(model))).replace("CONVERT", quote(_convert(model).decode()))
    status, body = _request(port, method, path, **kwargs)
    assert status == 403, (what, status, body[:300])
    assert body.startswith(b"edgeinspect view refused this request")
    assert b"root:" not in body


def test_delete_after_conversion_is_never_honoured(servers):
    """The control run shows the attack is real: unguarded, Model Explorer deletes the model's
    whole directory on Ctrl+C. Guarded, the command is refused and nothing is deleted."""
    port, control_port = servers["port"], servers["control_port"]
    status, _ = _request(port, "POST", "/apipost/v1/send_command", body=_convert(servers["dir"] / "model.pte", delete=True))
    assert status == 403
    status, _ = _request(port, "GET", "/api/v1/send_command?json=" + quote(_convert(servers["dir"] / "model.pte", delete=True).decode()))
    assert status == 403
    # The control: the same command to Model Explorer unguarded, from a page of another site.
    status, _ = _request(
        control_port,
        "POST",
        "/apipost/v1/send_command",
        body=_convert(servers["control_dir"] / "model.pte", delete=True),
        Origin="http://evil.example",
    )
    assert status == 200
    _stop(*servers["control"], servers["logs"]["control"])
    _stop(*servers["view"], servers["logs"]["view"])
    assert not servers["control_dir"].exists(), "the control run should show the deletion"
    assert (servers["dir"] / "precious.txt").read_text() == "the user's work" and (servers["dir"] / "model.pte").exists()
    log = "".join(servers["logs"]["view"])
    assert "edgeinspect: refused a request: deleteAfterConversion is never honoured" in log
