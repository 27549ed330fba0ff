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
