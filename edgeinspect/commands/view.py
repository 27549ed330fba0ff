"""``edgeinspect view FILE [--tosa F ...] [--port N] [--host H] [--allow-remote] [side files]``.

Opens the program in Google Model Explorer's web app with the edgeinspect adapter and the
device / island / recommendation (and, with ``--etdump`` / ``--estimate``, time / cycles)
overlays, and prints the URL. The server binds to 127.0.0.1: another bind address is refused
unless ``--allow-remote`` is given (whoever reaches the port sees the session's files).

This command checks its arguments and runs the server as ``python -m edgeinspect_explorer``
with the same arguments (the adapter package sits above the commands, which never import it):
a process that imports neither torch nor Model Explorer's Python server, so it answers in a
fraction of a second. The server is guarded (``edgeinspect_explorer.server``): it refuses
requests for another host name (DNS rebinding), from another site, for a file it was not
started with, and never deletes anything. Ctrl+C (or SIGTERM to this process) stops both.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

from edgeinspect.commands import add_evidence_options, add_file_and_tosa
from edgeinspect.errors import UsageError

__all__ = ["LOOPBACK_HOSTS", "add_parser", "check_host", "free_port", "run", "server_argv"]

#: Bind addresses that only this machine can reach.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: The package that serves (rank 8, above the commands: started as a process, never imported).
SERVER_MODULE = "edgeinspect_explorer"
#: Environment variable naming this process for the server, which stops when it goes away.
PARENT_ENV = "EDGEINSPECT_VIEW_PARENT"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="open a .pte or .tosa in Google Model Explorer (local server, needs edgeinspect[explorer])")
    add_file_and_tosa(p)
    p.add_argument("--port", type=int, default=None, metavar="N", help="port to serve on (default: a free port)")
    p.add_argument("--host", default="127.0.0.1", metavar="H", help="bind address (default: 127.0.0.1; others need --allow-remote)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host; anyone who reaches it can read the session's files",
    )
    p.add_argument(
        "--no-overlays",
        action="store_true",
        help="start without the node-data overlays (device, island, recommendation, fallback, time, cycles)",
    )
    p.add_argument(
        "--group-by",
        choices=("partitions", "modules"),
        default="partitions",
        help="layers of a .pte: its partitions in execution order (default), or the modules of the model each node came from "
        "(needs --etrecord, or a program exported with its stack traces); nodes keep their device colours",
    )
    add_evidence_options(p)
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
        f"refusing to serve Model Explorer on {host!r}: whoever can reach the port could read the session's files "
        f"(Model Explorer's /api/v1/read_text_file endpoint is refused, but the model and its dumps are served). "
        f"Use --host 127.0.0.1 (the default) and an SSH tunnel (ssh -L PORT:127.0.0.1:PORT), or pass --allow-remote "
        f"if you really mean to expose it."
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port_taken(host: str, port: int) -> bool:
    """Whether another server listens on ``host:port`` (connections of an earlier one that are
    closing, in TIME_WAIT, do not count: the server binds with SO_REUSEADDR too)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if os.name == "posix":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def server_argv(args: argparse.Namespace, port: int) -> list[str]:
    """The arguments of ``python -m edgeinspect_explorer``: this command's, with the port chosen."""
    argv = [args.file]
    if args.tosa:
        argv += ["--tosa", *args.tosa]
    argv += ["--port", str(port), "--host", args.host, "--group-by", args.group_by]
    argv += [flag for flag, on in (("--allow-remote", args.allow_remote), ("--no-overlays", args.no_overlays)) if on]
    if args.etdump:
        argv += ["--etdump", args.etdump, "--warmup-runs", str(args.warmup_runs)]
    if args.method:
        argv += ["--method", args.method]
    argv += [flag for flag, on in (("--estimate", args.estimate), ("--no-cache", args.no_cache)) if on]
    if args.etrecord:
        argv += ["--etrecord", args.etrecord]
    return argv


def run(args: argparse.Namespace) -> int:
    check_host(args.host, args.allow_remote)
    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port (1..65535)")
    if not os.path.isfile(args.file):
        raise UsageError(f"{args.file}: no such file")
    if args.no_cache and not args.estimate:
        raise UsageError("--no-cache goes with --estimate")
    if args.port is not None and _port_taken(args.host, args.port):
        raise UsageError(f"port {args.port} on {args.host} is in use: pick another --port, or leave it out for a free one")
    if importlib.util.find_spec("model_explorer") is None or importlib.util.find_spec(SERVER_MODULE) is None:
        raise UsageError("edgeinspect view needs Model Explorer: pip install 'edgeinspect[explorer]'")
    port = args.port or free_port(args.host)
    env = dict(os.environ, **{PARENT_ENV: str(os.getpid())})
    # The server's stderr (its one-line errors, already made safe there) is relayed through this
    # process's sys.stderr, so the command reports like every other one, wherever stderr goes.
    proc = subprocess.Popen([sys.executable, "-m", SERVER_MODULE, *server_argv(args, port)], env=env, stderr=subprocess.PIPE)
    relay = threading.Thread(target=_relay, args=(proc.stderr, sys.stderr), daemon=True)
    relay.start()

    def forward(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    handled = (signal.SIGTERM, signal.SIGHUP) if hasattr(signal, "SIGHUP") else (signal.SIGTERM,)
    in_main = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = {s: signal.signal(s, forward) for s in handled} if in_main else {}
    try:
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:  # Ctrl+C reaches the server too (same process group); tell it anyway
                forward(signal.SIGINT, None)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        relay.join(timeout=5)
    return 0 if code in (-signal.SIGINT, -signal.SIGTERM) else code


def _relay(source: Any, sink: Any) -> None:
    """Copy the server's stderr to ``sink`` line by line until the server closes it."""
    for raw in iter(source.readline, b""):
        sink.write(raw.decode("utf-8", "replace"))
        sink.flush()
    source.close()
