"""Model Explorer's local server, guarded against the web pages of other sites.

Model Explorer 0.1.34 answers any request that reaches its port. A page on any site the user
visits can make the browser send requests to ``127.0.0.1:PORT``; a DNS-rebinding host name
(``attacker.example`` resolving to 127.0.0.1) even lets it read the answers. Unguarded, such a
page could read any file (``/api/v1/read_text_file?path=/etc/passwd``), load any file with a
built-in adapter (the PyTorch one unpickles), and make the server delete a directory when it
stops (a convert command with ``deleteAfterConversion``).

:class:`Guard` (WSGI middleware, independent of Model Explorer) answers 403 to every request:

- whose ``Host`` header is not the address served (``127.0.0.1:PORT``, ``localhost:PORT``,
  ``[::1]:PORT``, and the bind address given) -- DNS rebinding and foreign hosts;
- that carries an ``Origin`` or ``Referer`` of another origin, or (for the API) a
  ``Sec-Fetch-Site`` other than ``same-origin``/``none`` -- cross-site requests;
- that asks to read, convert or watch a file the session was not started with (the model, its
  .tosa dumps, overlay files), uses another extension than edgeinspect's, asks
  ``deleteAfterConversion``, uploads a file or rewrites the configuration.

:func:`guarded` installs it on the Flask app Model Explorer builds, and makes sure no
directory is ever deleted when the server stops.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["LOOPBACK_NAMES", "Guard", "GuardedServing", "guarded"]

#: Host names that reach only this machine; ``Host`` must be one of them (with the port served).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: Largest request body read (a convert command is a few hundred bytes).
MAX_BODY = 1 << 20
#: Extensions a command may name (the built-in adapters read arbitrary files, one unpickles).
ALLOWED_EXTENSIONS = ("edgeinspect",)
_API = ("/api/", "/apipost/", "/apistream/")
_CLOSED = {
    "/apipost/v1/upload": "uploads are off: this server shows only the files it was started with",
    "/apipost/v1/update_config": "the configuration is fixed: this server shows only the files it was started with",
}


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(os.path.expanduser(path))
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


class Guard:
    """WSGI middleware that refuses foreign hosts, cross-site requests and foreign files.

    Parameters
    ----------
    app : WSGI callable
        The application to guard (Model Explorer's Flask app).
    port : int
        The port served.
    files : iterable of str
        The files the session may read or convert (symbolic links followed, any spelling).
    hosts : iterable of str
        Extra host names accepted besides :data:`LOOPBACK_NAMES` (the bind address).
    on_refusal : callable, optional
        Called with a one-line reason for each refused request.
    """

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        port: int,
        files: Iterable[str],
        hosts: Iterable[str] = (),
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        names = [*LOOPBACK_NAMES, *(f"[{h}]" if ":" in h and not h.startswith("[") else h for h in hosts)]
        self.hosts = {f"{n.lower()}:{port}" for n in names}
        self.origins = {f"http://{h}" for h in self.hosts}
        self.files = {i for i in (_identity(f) for f in files) if i is not None}
        self.on_refusal = on_refusal
        self.refusals: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        reason = self.refusal(environ)
        if reason is None:
            return self.app(environ, start_response)
        with self._lock:
            self.refusals.append(reason)
        if self.on_refusal is not None:
            self.on_refusal(reason)
        body = f"edgeinspect view refused this request: {reason}\n".encode("utf-8", "backslashreplace")
        start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    # -- the rules -------------------------------------------------------------------
    def refusal(self, environ: dict[str, Any]) -> str | None:
        """Why the request must be refused, or None to let it through (reads a POST body once
        and puts it back for the application)."""
        host = str(environ.get("HTTP_HOST", "")).lower()
        if host not in self.hosts:
            return f"Host {host!r} is not the address served ({', '.join(sorted(self.hosts))})"
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin.lower() not in self.origins:
            return f"Origin {origin!r} is another site"
        referer = environ.get("HTTP_REFERER")
        if referer is not None:
            parts = urlsplit(referer)
            if f"{parts.scheme}://{parts.netloc}".lower() not in self.origins:
                return f"Referer {referer[:200]!r} is another site"
        path = environ.get("PATH_INFO", "")
        if path.startswith(_API):
            site = environ.get("HTTP_SEC_FETCH_SITE")
            if site is not None and site not in ("same-origin", "none"):
                return f"a {site} request to the API"
        if path in _CLOSED:
            return _CLOSED[path]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if path in ("/api/v1/read_text_file", "/api/v1/notify_user_provided_model_path"):
            return self._file_refusal((query.get("path") or [""])[0])
        if path == "/api/v1/send_command":
            return self._command_refusal((query.get("json") or ["{}"])[0])
        if path == "/apipost/v1/send_command":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return "a bad Content-Length"
            if not 0 <= length <= MAX_BODY:
                return f"a command of {length:,} bytes"
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)  # the application reads it again
            return self._command_refusal(body)
        return None

    def _file_refusal(self, path: str) -> str | None:
        if not path or _identity(path) not in self.files:
            return f"{path[:200]!r} is not a file this session was started with"
        return None

    def _command_refusal(self, text: str | bytes) -> str | None:
        try:
            cmd = json.loads(text)
        except (ValueError, RecursionError):
            return "a command that is not JSON"
        if not isinstance(cmd, dict):
            return "a command that is not a JSON object"
        if cmd.get("deleteAfterConversion"):
            return "deleteAfterConversion is never honoured"
        if cmd.get("extensionId") not in ALLOWED_EXTENSIONS:
            return f"extension {str(cmd.get('extensionId'))[:100]!r} is not edgeinspect's"
        return self._file_refusal(str(cmd.get("modelPath", "")))


class GuardedServing:
    """What :func:`guarded` yields: the guards installed (with their refusals) and the servers
    started, so a caller (a notebook, a test) can stop them."""

    def __init__(self) -> None:
        self.guards: list[Guard] = []
        self.servers: list[Any] = []

    @property
    def refusals(self) -> list[str]:
        return [r for g in self.guards for r in g.refusals]

    def shutdown(self) -> None:
        """Stop every server started (Model Explorer's call then returns)."""
        for server in self.servers:
            server.shutdown()


@contextlib.contextmanager
def guarded(
    *, port: int, files: Iterable[str], host: str = "127.0.0.1", on_refusal: Callable[[str], None] | None = None
) -> Iterator[GuardedServing]:
    """Run ``model_explorer.visualize_from_config(...)`` inside this to serve it guarded.

    Model Explorer builds its Flask app inside its ``start()``; while the block runs, the app it
    builds is a subclass that wraps itself in a :class:`Guard` and serves with a werkzeug
    server the caller can stop (:meth:`GuardedServing.shutdown`), and its extension manager
    never records a directory to delete.

    Examples
    --------
    >>> with guarded(port=8123, files=["model.pte"]) as serving:   # doctest: +SKIP
    ...     model_explorer.visualize_from_config(config=config, host="127.0.0.1", port=8123, ...)
    """
    import flask
    import werkzeug.serving
    from model_explorer import server as me_server
    from model_explorer.extension_manager import ExtensionManager

    files = list(files)
    serving = GuardedServing()
    bind = [host] if host not in ("127.0.0.1", "localhost", "::1") else []

    class GuardedFlask(flask.Flask):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            guard = Guard(self.wsgi_app, port=port, files=files, hosts=bind, on_refusal=on_refusal)
            serving.guards.append(guard)
            self.wsgi_app = guard  # type: ignore[method-assign]

        def run(self, host: str | None = None, port: int | None = None, **_: Any) -> None:  # type: ignore[override]
            server = werkzeug.serving.make_server(host or "127.0.0.1", port or 5000, self, threaded=True)
            serving.servers.append(server)
            server.serve_forever()

    class KeepingExtensionManager(ExtensionManager):
        """Never deletes a directory when the server stops (``deleteAfterConversion``)."""

        def cleanup(self, cmd: Any) -> None:
            return None

        def delete_uploaded_model_dirs(self) -> None:
            return None

    # Only Model Explorer's server module sees these names: nothing else in the process changes.
    proxy = types.ModuleType("flask")
    proxy.Flask = GuardedFlask  # type: ignore[attr-defined]
    proxy.__getattr__ = lambda name: getattr(flask, name)  # type: ignore[attr-defined]
    saved = me_server.flask, me_server.ExtensionManager
    me_server.flask, me_server.ExtensionManager = proxy, KeepingExtensionManager  # type: ignore[assignment]
    try:
        yield serving
    finally:
        me_server.flask, me_server.ExtensionManager = saved
