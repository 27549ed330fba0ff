"""One ``edgeinspect view`` session: read the model and its side files, build what the page shows,
serve it guarded until stopped.

``edgeinspect view`` (the command, which never imports this package) checks its arguments and
runs ``python -m edgeinspect_explorer`` with them; that process runs :func:`serve`:

1. the server starts at once (it answers ``/check_health`` before the model is read; requests
   for the graph wait for it), guarded (:class:`~edgeinspect_explorer.server.Guard`);
2. the model is read with what ``--tosa/--etdump/--estimate/--etrecord`` say
   (:func:`edgeinspect.commands.evidence_from_args`, the path every command takes), and its
   graphs and overlays are built once, as JSON;
3. the address is printed once; Ctrl+C (or SIGTERM, or the ``view`` process going away) stops it.

A model that cannot be read stops the server with our one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any

from edgeinspect.errors import UsageError
from edgeinspect_explorer.app import ExplorerApp, Session, make_server, web_app_dir
from edgeinspect_explorer.server import Guard

__all__ = ["PARENT_ENV", "Serving", "build_session", "serve", "serve_in_background", "session_files"]

#: The ``view`` process that started this one (its pid): when it goes away, so does the server.
PARENT_ENV = "EDGEINSPECT_VIEW_PARENT"


def session_files(path: str, tosa: list[str]) -> list[str]:
    """The files the server may read or convert: the model and its .tosa dumps (given, or beside it)."""
    from edgeinspect.join import tosa_beside

    out = [path]
    for t in tosa or tosa_beside(path) or []:
        if os.path.isdir(t):
            out.extend(os.path.join(t, name) for name in sorted(os.listdir(t)) if name.endswith(".tosa"))
        else:
            out.append(t)
    return out


def _is_tosa(path: str) -> bool:
    """A TOSA flatbuffer (file identifier ``TOSA``), not a .pte program."""
    with open(path, "rb") as f:
        return f.read(8)[4:8] == b"TOSA"


def build_session(args: argparse.Namespace) -> Session:
    """Read ``args.file`` with its side files and build the graphs and overlays (``view``'s arguments)."""
    from edgeinspect.commands import evidence_from_args
    from edgeinspect.formats import read
    from edgeinspect.model import Program
    from edgeinspect.report.overlays import overlays
    from edgeinspect_explorer.graphs import convert_json, initial_selection

    path = os.path.abspath(args.file)
    tosa = [os.path.abspath(t) for t in args.tosa]
    if _is_tosa(path):
        model: Any = read(path)
        evidence = None
        given = [flag for flag, on in (("--etdump", args.etdump), ("--estimate", args.estimate), ("--etrecord", args.etrecord)) if on]
        if given:
            raise UsageError(f"{' and '.join(given)} {'goes' if len(given) == 1 else 'go'} with a .pte program, not a .tosa file")
    else:
        evidence = evidence_from_args(args, program=None)
        model = evidence.program
        if args.group_by == "modules" and evidence.sources is None:
            from edgeinspect.recommend.sources import NO_PROVENANCE

            raise UsageError(f"--group-by modules needs to know where each instruction came from: {NO_PROVENANCE}")
    body, graphs = convert_json(model, path, evidence=evidence, group_by=args.group_by)
    session = Session(path=path, files=session_files(path, tosa), converted={path: body})
    session.convert = lambda other: convert_json(read(other), other)[0]  # a .tosa dump the user opens
    if isinstance(model, Program) and not args.no_overlays:
        docs = overlays(model, evidence=evidence)
        # Model Explorer shows the last node data first: put the device colours there.
        session.node_data = [
            (name, json.dumps(doc, separators=(",", ":"))) for name, doc in sorted(docs.items(), key=lambda kv: kv[0] == "device")
        ]
    selected = initial_selection(graphs[0]) if graphs else None
    if selected:
        session.ui_state = {
            "paneStates": [
                {
                    "deepestExpandedGroupNodeIds": [],
                    "selectedNodeId": selected,
                    "selectedGraphId": graphs[0]["id"],
                    "selectedCollectionLabel": os.path.basename(path),
                    "widthFraction": 1,
                }
            ]
        }
    model.close()
    return session


class _Stop(Exception):
    """SIGTERM, or the ``view`` process gone: stop as on Ctrl+C."""


def _start(args: argparse.Namespace) -> tuple[Any, threading.Thread, ExplorerApp]:
    """Start the guarded server for ``view``'s arguments (port chosen) in a thread; no session yet."""
    from edgeinspect.commands.view import check_host
    from edgeinspect.textsafe import TEXT_LIMIT, safe

    check_host(args.host, args.allow_remote)
    path = os.path.abspath(args.file)
    if not os.path.isfile(path):
        raise UsageError(f"{args.file}: no such file")
    tosa = [os.path.abspath(t) for t in args.tosa]
    app = ExplorerApp(web_app_dir())

    def refused(reason: str) -> None:
        print(f"edgeinspect: refused a request: {safe(reason, TEXT_LIMIT)}", file=sys.stderr, flush=True)

    bind = [args.host] if args.host not in ("127.0.0.1", "localhost", "::1") else []
    guard = Guard(app, port=int(args.port), files=session_files(path, tosa), hosts=bind, on_refusal=refused)
    server = make_server(args.host, int(args.port), guard)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="edgeinspect-view", daemon=True)
    thread.start()
    return server, thread, app


def _url(args: argparse.Namespace, session: Session) -> str:
    host_in_url = f"[{args.host}]" if ":" in args.host else args.host
    return f"http://{host_in_url}:{args.port}/?data={session.url_data()}"


def serve(args: argparse.Namespace) -> int:
    """Serve ``args.file`` (``view``'s arguments, with the port chosen) until stopped."""
    server, thread, app = _start(args)

    def stop(*_: Any) -> None:
        raise _Stop

    previous = signal.signal(signal.SIGTERM, stop) if threading.current_thread() is threading.main_thread() else None
    try:
        try:
            session = build_session(args)
        except BaseException as err:
            app.fail(str(err) if isinstance(err, UsageError) else "the model could not be read")
            raise
        app.set_session(session)
        print(f"edgeinspect: Model Explorer is ready at {_url(args, session)}", flush=True)
        parent = os.environ.get(PARENT_ENV)
        while thread.is_alive():
            thread.join(0.5)
            if parent and str(os.getppid()) != parent:
                break  # the view command is gone (killed): nobody can stop this server any more
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        server.shutdown()
        server.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


class Serving:
    """A server started by :func:`serve_in_background`: its address, and how to stop it.

    Attributes
    ----------
    base : str
        ``http://HOST:PORT``.
    path : str
        The page's path and query (``/?data=...``): the model, the overlays, the first view.
    url : str
        ``base + path``.
    refusals : list of str
        The requests the guard refused so far.
    """

    def __init__(self, server: Any, thread: threading.Thread, base: str, path: str, guard: Any) -> None:
        self._server, self._thread, self._guard = server, thread, guard
        self.base, self.path, self.url = base, path, base + path

    @property
    def refusals(self) -> list[str]:
        return list(self._guard.refusals)

    def shutdown(self) -> None:
        """Stop the server (its thread ends)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


def serve_in_background(path: str | os.PathLike[str], *options: str, port: int | None = None, host: str = "127.0.0.1") -> Serving:
    """Serve a model from this process in a background thread, as ``edgeinspect view`` does from its
    own (guarded, the same graphs and overlays); for a notebook, where a blocking call would hold
    the cell. ``options`` are ``view``'s (``"--tosa", "dumps/"``, ``"--etdump", "run.etdp"``, ...).

    Returns when the model is read and the graphs are built; raises as ``view`` would exit 2.

    Examples
    --------
    >>> serving = serve_in_background("model.pte", "--tosa", "model.tosa.d")   # doctest: +SKIP
    >>> IPython.display.IFrame(serving.url, width="100%", height=720)           # doctest: +SKIP
    >>> serving.shutdown()                                                       # doctest: +SKIP
    """
    from edgeinspect.cli import build_parser
    from edgeinspect.commands.view import free_port

    args = build_parser("view").parse_args(["view", os.fspath(path), "--host", host, *options])
    args.port = port or free_port(host)
    server, thread, app = _start(args)
    try:
        session = build_session(args)
    except BaseException:
        server.shutdown()
        server.server_close()
        raise
    app.set_session(session)
    url = _url(args, session)
    base, _, query = url.partition("/?")
    return Serving(server, thread, base, "/?" + query, server.get_app())


def main(argv: list[str] | None = None) -> int:
    """``python -m edgeinspect_explorer FILE [view's options]``: serve one session in this process."""
    from edgeinspect.cli import build_parser, run_args

    args = build_parser("view").parse_args(["view", *(sys.argv[1:] if argv is None else argv)])
    if args.port is None:
        from edgeinspect.commands.view import free_port

        args.port = free_port(args.host)
    args.run = serve
    return run_args(args)
