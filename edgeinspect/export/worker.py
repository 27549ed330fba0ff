"""One sweep task: build a model, export it for one target, hand back the files.

:func:`export_pair` is the task function. The same function runs in the local worker
processes of :mod:`edgeinspect.export.sweep` (``python -m edgeinspect.export.worker``,
which serves tasks over its standard input) and in Ray workers. It exports into a
temporary directory of its own and returns the artifacts' bytes, so it needs no file
system shared with the process that asked: the caller writes them under its output
directory. Everything the toolchain prints (Vela's report, torchao's warnings) is captured,
at the file-descriptor level, into the pair's ``export.log``.

This module imports torch only inside :func:`export_pair`: the sweep's driver imports it
(Ray pickles the function by reference) without loading torch.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from edgeinspect.export.specs import ModelSpec

__all__ = ["ExportOutcome", "ExportTask", "export_pair", "peak_rss_bytes", "serve", "toolchain_versions"]

#: The seed the exporter's ``torch.manual_seed`` gets before a model is built (as the zoo).
TORCH_SEED = 0
#: The tail of the captured toolchain output kept as ``export.log``.
LOG_LIMIT = 64 * 1024
#: Error messages are bounded: a toolchain can put a whole graph in one.
MESSAGE_LIMIT = 2000
_PACKAGES = ("torch", "executorch", "ethos-u-vela", "tosa-tools", "edgeinspect")


def toolchain_versions() -> dict[str, str | None]:
    """Installed versions of what decides an export (None when missing), without importing them.

    Examples
    --------
    >>> sorted(toolchain_versions())
    ['edgeinspect', 'ethos-u-vela', 'executorch', 'torch', 'tosa-tools']
    """
    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    if out["edgeinspect"] is None:  # a checkout on the path, not installed
        from edgeinspect._version import __version__

        out["edgeinspect"] = __version__
    return out


@dataclass(frozen=True, slots=True)
class ExportTask:
    """One model x target pair to export. ``cwd`` is put first on ``sys.path`` (as the
    command's directory is for the command) so ``module:function`` SPECs import the same way;
    ``pt2_data`` carries a .pt2 file's bytes to a process that cannot read the path."""

    spec: ModelSpec
    target: str
    etrecord: bool = True
    cwd: str | None = None
    pt2_data: bytes | None = None

    @property
    def model(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class ExportOutcome:
    """What one export produced: ``files`` (path relative to the pair's directory -> bytes;
    ``export.log`` always), or ``error_stage`` and ``error`` when it failed.

    ``crashed`` marks a failure of the exporting process itself (killed, out of memory), not
    of the export: the sweep does not record it as done, so a rerun tries again.
    """

    model: str
    target: str
    files: dict[str, bytes] = field(default_factory=dict)
    error_stage: str | None = None
    error: str | None = None
    crashed: bool = False
    delegation_info: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    peak_rss_bytes: int | None = None
    toolchain: dict[str, str | None] = field(default_factory=dict)
    hash_seed: str | None = None
    host: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def peak_rss_bytes() -> int | None:
    """This process's peak resident memory (``VmHWM``), or None where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> None:
    """Start a new peak (Linux >= 4.0: writing 5 to clear_refs resets VmHWM), so a long-lived
    worker reports each task's own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


@contextlib.contextmanager
def _captured(log_path: str) -> Iterator[None]:
    """Send file descriptors 1 and 2 (Python's and C code's output alike) to ``log_path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)


def _message(err: BaseException) -> str:
    """The exception's type and the first line of its message (torch appends the graph node
    and the model's source lines after it; the whole traceback is in ``export.log``)."""
    first = next((line.strip() for line in str(err).splitlines() if line.strip()), "")
    text = f"{type(err).__name__}: {first}" if first else type(err).__name__
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "\u2026"


def _stage_of(err: BaseException, stage: str) -> str:
    """``vela`` when the error came out of the Ethos-U compiler, else the stage running."""
    for frame in traceback.extract_tb(err.__traceback__):
        name = frame.filename.replace("\\", "/")
        if "/ethosu/" in name or name.endswith("/arm_vela.py"):
            return "vela"
    return stage


def _tail(path: str) -> bytes:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - LOG_LIMIT))
        return f.read()


def export_pair(task: ExportTask) -> ExportOutcome:
    """Export ``task.spec`` for ``task.target`` and return the files; never raises for a
    failed export (the outcome says where and why).

    Files (relative to the pair's directory): ``<model>.pte``; for Arm targets
    ``<model>.tosa.d/output*.tosa`` (the TOSA handed to each delegate; the .pte stores the
    relative ``<model>.tosa.d``); ``<model>.etrecord`` when asked and it can be written;
    ``export.log``.
    """
    import socket

    started = time.perf_counter()
    _reset_peak_rss()
    name = task.model
    dump = f"{name}.tosa.d"
    stage = "build"
    files: dict[str, bytes] = {}
    notes: list[str] = []
    info = None
    error: BaseException | None = None
    if task.cwd and task.cwd not in sys.path:
        sys.path.insert(0, task.cwd)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="edgeinspect-sweep-") as tmp:
        log = os.path.join(tmp, "export.log")
        work = Path(tmp) / "out"
        work.mkdir()
        with _captured(log):
            try:
                import copy

                import torch
                from executorch.exir import ExecutorchBackendConfig

                from edgeinspect.export import flows
                from edgeinspect.export.specs import build_model

                # One thread per export: the parallelism is the sweep's workers, and the same
                # thread count everywhere keeps calibration bit-identical across machines.
                torch.set_num_threads(1)
                torch.manual_seed(TORCH_SEED)
                spec = task.spec
                if task.pt2_data is not None:
                    local = Path(tmp) / "model.pt2"
                    local.write_bytes(task.pt2_data)
                    spec = ModelSpec(spec.name, spec.text, spec.kind, str(local), spec.identity)
                methods = {"forward": build_model(spec)}

                def at(step: str) -> None:
                    nonlocal stage
                    stage = step

                os.chdir(work)  # the dump directory is relative: it is stored in the .pte
                try:
                    edge = flows.lower(methods, task.target, dump, on_stage=at)
                finally:
                    os.chdir(cwd)
                stage = "serialize"
                info = flows.delegation_info(edge)  # before to_executorch(), which mutates
                edge_copy = copy.deepcopy(edge) if task.etrecord else None
                program = edge.to_executorch(ExecutorchBackendConfig())
                files[f"{name}.pte"] = bytes(program.buffer)
                if edge_copy is not None:
                    try:
                        from executorch.devtools import generate_etrecord

                        generate_etrecord(str(work / f"{name}.etrecord"), edge_copy, program)
                        files[f"{name}.etrecord"] = (work / f"{name}.etrecord").read_bytes()
                    except Exception as err:  # a missing ETRecord is not a failed export
                        notes.append(f"no ETRecord: {_message(err)}")
                dumps = work / dump
                if dumps.is_dir():
                    # The per-delegate dumps only: Vela's working copy and report are litter.
                    for entry in sorted(dumps.iterdir()):
                        if entry.is_file() and entry.name.startswith("output") and entry.suffix == ".tosa":
                            files[f"{dump}/{entry.name}"] = entry.read_bytes()
            except Exception as err:
                error = err
                files = {}
                traceback.print_exc()
        files["export.log"] = _tail(log)
    seconds = time.perf_counter() - started
    return ExportOutcome(
        model=name,
        target=task.target,
        files=files,
        error_stage=None if error is None else _stage_of(error, stage),
        error=None if error is None else _message(error),
        delegation_info=info,
        notes=tuple(notes),
        seconds=round(seconds, 3),
        peak_rss_bytes=peak_rss_bytes(),
        toolchain=toolchain_versions(),
        hash_seed=os.environ.get("PYTHONHASHSEED"),
        host=socket.gethostname(),
    )


# --- the local worker process: tasks in on stdin, outcomes out on a private descriptor ---

_HEADER = struct.Struct("<Q")


def _read(stream: Any) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    return data if len(data) == size else None


def send(stream: Any, obj: Any) -> None:
    """Write one length-prefixed pickle (the protocol between the sweep and its workers)."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: Any) -> Any:
    """Read one length-prefixed pickle; None at the end of the stream. Only the sweep's own
    processes are on the other end (these pickles never come from a file)."""
    data = _read(stream)
    return None if data is None else pickle.loads(data)


def serve() -> int:
    """Serve tasks: read :class:`ExportTask` pickles on stdin, answer each with an
    :class:`ExportOutcome` on the descriptor that was stdout (then made a copy of stderr, so
    nothing the toolchain prints can corrupt the answers). Ends at the end of stdin."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import torch  # noqa: F401  (imported once per worker, not per task)

    import edgeinspect.export.flows  # noqa: F401

    tasks = sys.stdin.buffer
    while True:
        task = receive(tasks)
        if task is None:
            return 0
        send(answers, export_pair(task))


if __name__ == "__main__":
    # Through the module's import name, not __main__: outcomes must unpickle as
    # edgeinspect.export.worker.ExportOutcome in the sweep.
    from edgeinspect.export import worker

    raise SystemExit(worker.serve())
