"""``edgeinspect view FILE [--tosa F ...] [--port N] [--host H] [--allow-remote]``.

Starts Google Model Explorer with the edgeinspect adapter and the device / island /
recommendation overlays, and prints the URL. The server binds to 127.0.0.1: Model Explorer
serves ``/api/v1/read_text_file?path=``, which reads any file the user can read, so any other
bind address is refused unless ``--allow-remote`` is given. The server is guarded
(``edgeinspect_explorer.server``): it refuses requests for another host name (DNS rebinding),
from another site, for a file it was not started with, and never deletes anything.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time

from edgeinspect.commands import add_file_and_tosa
from edgeinspect.errors import UsageError

__all__ = ["LOOPBACK_HOSTS", "add_parser", "check_host", "free_port", "run"]

#: Bind addresses that only this machine can reach.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="open a .pte or .tosa in Google Model Explorer (local server, needs edgeinspect[explorer])")
    add_file_and_tosa(p)
    p.add_argument("--port", type=int, default=None, metavar="N", help="port to serve on (default: a free port)")
    p.add_argument("--host", default="127.0.0.1", metavar="H", help="bind address (default: 127.0.0.1; others need --allow-remote)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host; anyone who reaches it can read any file this user can read",
    )
    p.add_argument("--no-overlays", action="store_true", help="start without the device/island/recommendation/fallback overlays")
    p.set_defaults(run=run)


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a bind address other than loopback unless explicitly allowed.

    Raises
    ------
    UsageError
        For a non-loopback ``host`` without ``allow_remote``.
    """
    if host in LOOPBACK_HOSTS or allow_remote:
        return
    raise UsageError(
        f"refusing to serve Model Explorer on {host!r}: its /api/v1/read_text_file endpoint reads any file on this "
        f"machine for whoever can reach the port. Use --host 127.0.0.1 (the default) and an SSH tunnel "
        f"(ssh -L PORT:127.0.0.1:PORT), or pass --allow-remote if you really mean to expose it."
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _announce_when_ready(base: str, url: str, timeout: float = 120.0) -> None:
    import urllib.request  # here, not at the top: every CLI start imports this module

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/check_health", timeout=2) as resp:
                if resp.status == 200:
                    print(f"edgeinspect: Model Explorer is ready at {url}", flush=True)
                    return
        except OSError:
            time.sleep(0.2)
    print(f"edgeinspect: Model Explorer did not answer on {base} within {timeout:.0f} s", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    check_host(args.host, args.allow_remote)
    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port (1..65535)")
    path = os.path.abspath(args.file)
    if not os.path.isfile(path):
        raise UsageError(f"{args.file}: no such file")
    from edgeinspect.model import Program
    from edgeinspect.report.overlays import ADAPTER_ID, TOSA_FILES, load_for_view, overlays

    # Load once here, before the slow Model Explorer import (it imports torch), so a bad
    # file fails at once with our message, not inside the web page.
    tosa = [os.path.abspath(t) for t in args.tosa]
    model = load_for_view(path, tosa or None)
    try:
        import model_explorer
        from model_explorer.config import ModelExplorerConfig
    except ImportError as err:
        raise UsageError(f"edgeinspect view needs Model Explorer ({err}): pip install 'edgeinspect[explorer]'") from err

    TOSA_FILES[path] = tosa  # for the adapter, which Model Explorer imports and calls with the path
    config = ModelExplorerConfig()
    config.add_model_from_path(path, adapterId=ADAPTER_ID)
    if not args.no_overlays and isinstance(model, Program):
        # Model Explorer shows the last node data first: put the device colours there.
        for name, doc in sorted(overlays(model).items(), key=lambda kv: kv[0] == "device"):
            config.add_node_data(name=name, node_data=json.dumps(doc))

    from edgeinspect_explorer.server import guarded

    port = args.port or free_port(args.host)
    host_in_url = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{host_in_url}:{port}"
    url = f"{base}/?data={config.to_url_param_value()}"
    threading.Thread(target=_announce_when_ready, args=(base, url), daemon=True).start()
    with guarded(port=port, files=_session_files(path, tosa), host=args.host, on_refusal=_report_refusal):
        model_explorer.visualize_from_config(
            config=config,
            extensions=["edgeinspect_explorer"],
            host=args.host,
            port=port,
            no_open_in_browser=True,
        )
    return 0


def _session_files(path: str, tosa: list[str]) -> list[str]:
    """The files the server may read or convert: the model and its .tosa dumps (given, or beside it)."""
    from edgeinspect.report.overlays import tosa_beside

    out = [path]
    for t in tosa or tosa_beside(path) or []:
        if os.path.isdir(t):
            out.extend(os.path.join(t, name) for name in sorted(os.listdir(t)))
        else:
            out.append(t)
    return out


def _report_refusal(reason: str) -> None:
    from edgeinspect.textsafe import TEXT_LIMIT, safe

    print(f"edgeinspect: refused a request: {safe(reason, TEXT_LIMIT)}", file=sys.stderr, flush=True)
