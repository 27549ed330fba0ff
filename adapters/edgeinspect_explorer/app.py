"""The server behind ``edgeinspect view``: Model Explorer's web app, a session's graphs, nothing else.

Model Explorer's own Python server (``model_explorer.server``) imports torch when it is installed
(its built-in PyTorch adapter is loaded at start: 3.6 s and 370 MB here), pulls in requests,
watchdog and IPython, converts on request through dataclasses, and answers far more than a
viewer needs (any file through ``read_text_file``, uploads, configuration changes, deletions).
This module serves the same web app (the files Model Explorer ships in its ``web_app``
directory, found without importing the package) with the few endpoints the page calls, from
a :class:`Session` whose graphs are built once, as JSON, by :mod:`edgeinspect_explorer.graphs`:

- ``/check_health``; ``/`` and the web app's files;
- ``/api/v1/get_extensions`` (the edgeinspect adapter only) and ``/api/v1/check_new_version``
  (answered locally: no network at run time);
- ``send_command`` with ``convert`` for the session's files (the prebuilt JSON, sent as is);
- ``/api/v1/load_node_data`` (the overlays), ``/apistream/server_director`` (an empty stream);
- ``read_text_file`` and ``notify_user_provided_model_path`` answered without reading anything.

Everything else is 404, and every request first passes the :class:`~edgeinspect_explorer.server.Guard`
(foreign hosts, other sites, foreign files: 403). It runs on the standard library's WSGI server
with a thread per request, so the page's parallel requests never wait on each other.
"""

from __future__ import annotations

import importlib.util
import json
import mimetypes
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from edgeinspect.errors import UsageError

__all__ = ["ExplorerApp", "Session", "make_server", "web_app_dir"]

from edgeinspect_explorer import ADAPTER_ID

#: What ``/api/v1/get_extensions`` lists: this adapter, and the JSON adapter the page always offers.
_EXTENSIONS = [
    {
        "id": ADAPTER_ID,
        "name": "edgeinspect (.pte / .tosa)",
        "description": "ExecuTorch programs and TOSA flatbuffers through edgeinspect: partitions as layers, devices coloured, "
        "delegate internals, boundary bytes, fragmentation metrics.",
        "source_repo": "",
        "fileExts": ["pte", "tosa"],
        "type": "adapter",
    },
    {
        "fileExts": ["json"],
        "type": "adapter",
        "id": "builtin_json",
        "name": "JSON adapter",
        "description": "Convert graphs json data file.",
    },
]
#: Model Explorer keeps its settings in the page's local storage under this key; the page is
#: served with edgeinspect's defaults for the settings the user has not set (see :data:`SETTINGS`).
_SETTINGS_KEY = "model_explorer_settings"
#: Defaults for Model Explorer settings: keep a layer that holds one node (a delegate of one
#: operator, an island of one kernel are partitions too: without this the page removes their
#: layer, and the collapsed graph no longer reads as the timeline of partitions).
SETTINGS = {"keep_layers_with_a_single_child": True}
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html", ".json": "application/json"}


def web_app_dir() -> Path:
    """Model Explorer's web app (its ``web_app`` directory), located without importing the package
    (importing it imports torch when torch is installed).

    Raises
    ------
    UsageError
        When Model Explorer is not installed.
    """
    spec = importlib.util.find_spec("model_explorer")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for base in locations:
        web = Path(base) / "web_app"
        if (web / "index.html").is_file():
            return web
    raise UsageError("edgeinspect view needs Model Explorer's web app: pip install 'edgeinspect[explorer]'")


@dataclass
class Session:
    """What one server shows: a model, the files it may name, its graphs and overlays.

    Attributes
    ----------
    path : str
        The model's absolute path (the page asks to convert it by this path).
    files : list of str
        Every file the session may read or convert (the model and its ``.tosa`` dumps).
    converted : dict
        Absolute path -> the ``convert`` answer as JSON bytes.
    convert : callable, optional
        Builds the answer for another session file on first request (a ``.tosa`` dump).
    node_data : list of (name, JSON text)
        The overlays, in the order the page lists them.
    ui_state : dict, optional
        Model Explorer's initial view (which layer is selected).
    """

    path: str
    files: list[str]
    converted: dict[str, bytes] = field(default_factory=dict)
    convert: Callable[[str], bytes] | None = None
    node_data: list[tuple[str, str]] = field(default_factory=list)
    ui_state: dict[str, Any] | None = None

    def url_data(self) -> str:
        """The ``?data=`` of the page's address: the model, the overlays, the initial view."""
        data: dict[str, Any] = {"models": [{"url": self.path, "adapterId": ADAPTER_ID}]}
        if self.node_data:
            data["nodeData"] = [f"node_data://{name}/{k}" for k, (name, _) in enumerate(self.node_data)]
            data["nodeDataTargets"] = [""] * len(self.node_data)
        if self.ui_state:
            data["uiState"] = self.ui_state
        return quote(json.dumps(data, separators=(",", ":")))


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class ExplorerApp:
    """The WSGI application (see the module docstring). ``session`` may arrive after the server
    starts (:meth:`set_session`); requests that need it wait for it."""

    def __init__(self, web: Path, *, session: Session | None = None, wait: float = 600.0) -> None:
        self.web = web.resolve()
        self._files: dict[str, bytes] = {}
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self.session: Session | None = None
        self.failure: str | None = None
        self.wait = wait
        if session is not None:
            self.set_session(session)

    def set_session(self, session: Session) -> None:
        self.session = session
        self._ready.set()

    def fail(self, message: str) -> None:
        """The session could not be built: requests that need it answer with this message."""
        self.failure = message
        self._ready.set()

    # -- WSGI ----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if path == "/check_health":
            return _send(start_response, b"model_explorer_ok", "text/plain")
        if path == "/api/v1/check_new_version":
            return _json(start_response, {"version": "", "runningVersion": "", "releaseUrl": "", "desktopAppUrl": ""})
        if path == "/api/v1/get_extensions":
            return _json(start_response, _EXTENSIONS)
        if path == "/apistream/server_director":
            # The page listens here for "refresh" directives; this server sends none. Tell the
            # browser to come back in a day rather than holding a thread per tab.
            return _send(start_response, b"retry: 86400000\n\n", "text/event-stream")
        if path == "/api/v1/read_text_file":
            return _json(start_response, {"error": "edgeinspect view serves no file contents"})
        if path == "/api/v1/notify_user_provided_model_path":
            return _json(start_response, {"status": "ok"})
        if path == "/api/v1/load_graphs_json":
            return _json(start_response, {})
        if path == "/api/v1/load_node_data":
            return self._node_data(start_response, (query.get("node_data_index") or [""])[0])
        if path == "/api/v1/send_command" and method == "GET":
            return self._command(start_response, (query.get("json") or ["{}"])[0])
        if path == "/apipost/v1/send_command" and method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            body = environ["wsgi.input"].read(length) if length > 0 else b"{}"
            return self._command(start_response, body)
        if method == "GET":
            return self._static(start_response, "index.html" if path == "/" else path.lstrip("/"))
        return _send(start_response, b"not found\n", "text/plain", "404 Not Found")

    def _session(self) -> Session | None:
        self._ready.wait(self.wait)
        return self.session

    def _command(self, start_response: Callable[..., Any], text: str | bytes) -> Iterable[bytes]:
        try:
            cmd = json.loads(text)
        except (ValueError, RecursionError):
            cmd = None
        if not isinstance(cmd, dict) or cmd.get("cmdId") != "convert" or cmd.get("extensionId") != ADAPTER_ID:
            return _json(start_response, {"error": "edgeinspect view answers only convert commands for its own files"})
        session = self._session()
        if session is None:
            return _json(start_response, {"error": self.failure or "the model is still being read"})
        model = os.path.abspath(os.path.expanduser(str(cmd.get("modelPath", ""))))
        with self._lock:
            body = session.converted.get(model)
            if body is None:
                known = next((p for p in session.converted if _same_file(p, model)), None)
                body = session.converted.get(known) if known else None
            if body is None and session.convert is not None and any(_same_file(f, model) for f in session.files):
                try:
                    body = session.convert(model)
                except Exception as err:  # shown in the page, as Model Explorer shows an adapter's error
                    from edgeinspect.textsafe import TEXT_LIMIT, safe

                    return _json(start_response, {"error": f"{type(err).__name__}: {safe(str(err), TEXT_LIMIT)}"})
                session.converted[model] = body
        if body is None:
            return _json(start_response, {"error": "not a file of this session"})
        return _send(start_response, body, "application/json")

    def _node_data(self, start_response: Callable[..., Any], index: str) -> Iterable[bytes]:
        session = self._session()
        if session is None or not index.isdigit() or int(index) >= len(session.node_data):
            return _json(start_response, {})
        return _json(start_response, {"content": session.node_data[int(index)][1]})

    def _static(self, start_response: Callable[..., Any], rel: str) -> Iterable[bytes]:
        if "\\" in rel or any(part in ("", ".", "..") for part in rel.split("/")):
            return _send(start_response, b"not found\n", "text/plain", "404 Not Found")
        body = self._files.get(rel)
        if body is None:
            target = (self.web / rel).resolve()
            if self.web not in target.parents or not target.is_file():
                return _send(start_response, b"not found\n", "text/plain", "404 Not Found")
            body = target.read_bytes()
            if rel == "index.html":
                body = _with_settings(body)
            self._files[rel] = body
        kind = _TYPES.get(os.path.splitext(rel)[1]) or mimetypes.guess_type(rel)[0] or "application/octet-stream"
        return _send(start_response, body, kind)


def _with_settings(index: bytes) -> bytes:
    """index.html with a script that fills in :data:`SETTINGS` where the user has set nothing."""
    script = (
        "<script>(function(){try{var k=" + json.dumps(_SETTINGS_KEY) + ",d=" + json.dumps(SETTINGS) + ","
        "s=JSON.parse(localStorage.getItem(k)||'{}');for(var n in d){if(!(n in s))s[n]=d[n];}"
        "localStorage.setItem(k,JSON.stringify(s));}catch(e){}})();</script>"
    ).encode()
    head = index.find(b"<head>")
    if head < 0:
        return script + index
    return index[: head + 6] + script + index[head + 6 :]


def _send(start_response: Callable[..., Any], body: bytes, kind: str, status: str = "200 OK") -> list[bytes]:
    if kind.startswith("text/") and "charset" not in kind:
        kind += "; charset=utf-8"
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body))), ("Cache-Control", "no-cache")])
    return [body]


def _json(start_response: Callable[..., Any], doc: Any) -> list[bytes]:
    return _send(start_response, json.dumps(doc, separators=(",", ":")).encode(), "application/json")


# -- the HTTP server -----------------------------------------------------------------------------
class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return None  # no access log: the guard reports refusals itself


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True  # a restart right after a stop binds even with connections in TIME_WAIT


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


def make_server(host: str, port: int, app: Callable[..., Any]) -> WSGIServer:
    """A threaded WSGI server for ``app`` on ``host:port`` (not serving yet: call ``serve_forever``).

    Raises
    ------
    UsageError
        When the port is taken, or the address cannot be bound.
    """
    cls = _ThreadingServer6 if ":" in host else _ThreadingServer
    try:
        server = cls((host, port), _Handler)
    except OSError as err:
        if getattr(err, "errno", None) in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise UsageError(f"port {port} on {host} is in use: pick another --port, or leave it out for a free one") from err
        raise UsageError(f"cannot serve on {host}:{port}: {err.strerror or err}") from err
    server.set_app(app)
    return server


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


if sys.platform == "win32":  # pragma: no cover - allow_reuse_address means something else there
    _ThreadingServer.allow_reuse_address = False
