"""Sweep models across targets: export every model x target pair, analyse each program.

:func:`run_sweep` plans the pairs, skips those a previous run already did with the same
toolchain (resume), hands the others to a runner, writes what each export produced under
``DIR/<model>/<target>/`` and analyses it with edgeinspect's own core:

- the runner is a pool of local worker processes (:class:`LocalPool`, ``--workers N``) or a
  Ray cluster (:func:`ray_outcomes`, ``--ray [ADDRESS]``); both run the same task function,
  :func:`edgeinspect.export.worker.export_pair`, in processes started with
  ``PYTHONHASHSEED=0`` (the Arm lowering is reproducible only with a fixed hash seed), so a
  sweep gives the same rows wherever it runs;
- the exporting processes send the files back (no shared file system needed); this process
  writes each pair's directory atomically (a hidden partial directory renamed into place)
  and, last, ``result.json``: the model's identity, the toolchain's versions, the export's
  outcome and the row. A pair whose ``result.json`` names the same identity and versions is
  done: a rerun reuses its files and re-analyses them (milliseconds; Vela estimates come from
  edgeinspect's estimate cache);
- the analysis (:func:`analyse_pair`) loads the .pte with its dumped .tosa files, takes the
  fragmentation figures (:func:`edgeinspect.analysis.method_figures`), the top splitter and
  its fix (:func:`edgeinspect.recommend.recommend`) and, asked, Vela's cycles
  (:func:`edgeinspect.estimate.estimate_program`). None of it imports torch: this module
  does not either, so the command that drives a sweep stays light.

A failed export is a row with the stage and the error; it never ends the sweep. A worker
process that dies (killed, out of memory) fails its pair only, is replaced, and the pair is
not recorded as done.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edgeinspect.analysis.sweep import SweepRow, TopSplitter, mark_best
from edgeinspect.errors import UsageError
from edgeinspect.export.specs import ModelSpec
from edgeinspect.export.targets import target_kind
from edgeinspect.export.worker import ExportOutcome, ExportTask, receive, send, toolchain_versions

__all__ = [
    "EXPORT_MEMORY_BYTES",
    "LocalPool",
    "SweepEvent",
    "SweepResult",
    "analyse_pair",
    "default_workers",
    "ray_outcomes",
    "run_sweep",
]

SCHEMA_VERSION = 1
RESULT_FILE = "result.json"
#: What one export may take (measured: 0.6-1.2 GB peak for the built-in zoo); the default
#: worker count and the Ray tasks' memory request use it.
EXPORT_MEMORY_BYTES = 1536 * 1024 * 1024
HASH_SEED = "0"


# --- how many workers ----------------------------------------------------------------------


def _mem_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(tasks: int, *, cpus: int | None = None, mem_available: int | None = None) -> int:
    """Workers for ``tasks`` exports: one per CPU, no more than the available memory holds at
    :data:`EXPORT_MEMORY_BYTES` each (MemAvailable), never more than the tasks, at least one.

    Examples
    --------
    >>> default_workers(10, cpus=8, mem_available=4 * 1024**3)
    2
    >>> default_workers(3, cpus=8, mem_available=64 * 1024**3)
    3
    >>> default_workers(0, cpus=2, mem_available=None)
    1
    """
    cpus = _cpus() if cpus is None else cpus
    mem = _mem_available() if mem_available is None else mem_available
    n = cpus
    if mem is not None:
        n = min(n, mem // EXPORT_MEMORY_BYTES)
    return max(1, min(n, tasks))


# --- runners ---------------------------------------------------------------------------------


def _worker_env() -> dict[str, str]:
    """The environment of an exporting process: the fixed hash seed, and edgeinspect's own
    directory on the path (it may be a checkout the parent found through ``sys.path``)."""
    root = str(Path(__file__).resolve().parents[2])
    paths = [root, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root)]
    return {"PYTHONHASHSEED": HASH_SEED, "PYTHONPATH": os.pathsep.join(paths)}


class LocalPool:
    """``workers`` local exporting processes (``python -m edgeinspect.export.worker``), each
    fed one task at a time by a thread of this process; a process that dies fails its task
    only and is replaced for the next one.

    Use as a context manager; :meth:`outcomes` yields outcomes as they complete. Closing stops
    every process it started.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._procs: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self, log: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._closed:
                raise RuntimeError("pool closed")
            proc = subprocess.Popen(
                [sys.executable, "-m", "edgeinspect.export.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, **_worker_env()},
            )
            self._procs.append(proc)
        return proc

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            procs = list(self._procs)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            self._stop(proc)

    def outcomes(self, tasks: Iterable[ExportTask], on_start: Callable[[ExportTask], None] | None = None) -> Iterator[ExportOutcome]:
        """Run ``tasks``; yield each outcome as it completes (in completion order).

        ``on_start`` is called (in the consuming thread, like everything the generator does)
        when a task goes to a worker process.
        """
        todo: queue.Queue[ExportTask | None] = queue.Queue()
        count = 0
        for task in tasks:
            todo.put(task)
            count += 1
        done: queue.Queue[Any] = queue.Queue()
        threads = [threading.Thread(target=self._serve, args=(todo, done), daemon=True) for _ in range(min(self.workers, count))]
        for _ in threads:
            todo.put(None)
        for t in threads:
            t.start()
        try:
            finished = 0
            while finished < count:
                got = done.get()
                if isinstance(got, BaseException):
                    raise got
                if isinstance(got, ExportTask):
                    if on_start is not None:
                        on_start(got)
                    continue
                finished += 1
                yield got
        finally:
            self.close()
            for t in threads:
                t.join(timeout=10)

    def _serve(self, todo: queue.Queue[ExportTask | None], done: queue.Queue[Any]) -> None:
        with tempfile.TemporaryFile() as log:  # the worker's own stderr, for a crash report
            proc = None
            try:
                while True:
                    task = todo.get()
                    if task is None:
                        return
                    done.put(task)  # started
                    try:
                        if proc is None or proc.poll() is not None:
                            proc = self._start(log)
                        assert proc.stdin is not None and proc.stdout is not None
                        send(proc.stdin, task)
                        outcome = receive(proc.stdout)
                    except (OSError, EOFError, ValueError) as err:
                        if self._closed:
                            return
                        outcome = None
                        reason = f"{type(err).__name__}: {err}"
                    else:
                        reason = None
                    if outcome is None:
                        if self._closed:
                            return
                        assert proc is not None
                        code = proc.wait()
                        outcome = _crashed(task, code, reason, log)
                        proc = None
                    done.put(outcome)
            except BaseException as err:  # a bug of ours: end the sweep with it, not a hang
                done.put(err)
            finally:
                if proc is not None and proc.poll() is None:
                    self._stop(proc)


def _crashed(task: ExportTask, code: int | None, reason: str | None, log: Any) -> ExportOutcome:
    import signal

    if code is not None and code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
        if -code == signal.SIGKILL:
            how += " (out of memory?)"
    else:
        how = f"exited with code {code}"
    log.seek(0, os.SEEK_END)
    size = log.tell()
    log.seek(max(0, size - 600))
    tail = " ".join(log.read().decode("utf-8", "replace").split()[-60:])
    message = f"the exporting process {how}" + (f" ({reason})" if reason else "") + (f"; its last output: {tail}" if tail else "")
    return ExportOutcome(task.model, task.target, error_stage="worker", error=message, crashed=True)


#: Sentinel address: ``ray.init()`` with no address starts a local Ray cluster.
LOCAL_RAY = None


def ray_outcomes(
    tasks: Sequence[ExportTask],
    address: str | None = LOCAL_RAY,
    *,
    workers: int | None = None,
    on_start: Callable[[ExportTask], None] | None = None,
) -> Iterator[ExportOutcome]:
    """Run ``tasks`` as Ray tasks (the same :func:`~edgeinspect.export.worker.export_pair`),
    yielding outcomes as they complete.

    ``address`` None starts a local Ray cluster (``num_cpus=workers`` when given) and stops
    it at the end; ``"auto"`` joins the cluster ``ray start --head`` started on this machine;
    ``ray://host:10001`` connects a Ray Client. Each task asks for one CPU and
    :data:`EXPORT_MEMORY_BYTES` of memory, so Ray runs no more exports on a node than it
    holds; every worker gets ``PYTHONHASHSEED=0`` through the job's runtime environment. With
    ``workers``, at most that many tasks are in flight. A .pt2 SPEC travels as bytes (a
    remote node cannot read this machine's path); a ``module:function`` SPEC's module must be
    importable on the cluster's nodes, as edgeinspect and its ``export`` extra must be installed.
    """
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'edgeinspect[ray]'") from None
    import logging

    env = {"PYTHONHASHSEED": HASH_SEED}
    kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address is LOCAL_RAY:
        env = _worker_env()  # a local cluster's workers may use this checkout's path
        kwargs.update(include_dashboard=False, num_cpus=workers)
    else:
        kwargs["address"] = address
    started = not ray.is_initialized()
    if started:
        ray.init(runtime_env={"env_vars": env}, **kwargs)
    try:
        from edgeinspect.export.worker import export_pair

        remote = ray.remote(export_pair).options(num_cpus=1, memory=EXPORT_MEMORY_BYTES, max_retries=0)
        pending: dict[Any, ExportTask] = {}
        queued = list(tasks)
        limit = workers or len(queued) or 1
        while queued or pending:
            while queued and len(pending) < limit:
                task = queued.pop(0)
                if task.spec.kind == "pt2":
                    task = replace(task, pt2_data=Path(task.spec.source).read_bytes())
                if on_start is not None:
                    on_start(task)
                pending[remote.remote(task)] = task
            ready, _ = ray.wait(list(pending), num_returns=1)
            task = pending.pop(ready[0])
            try:
                yield ray.get(ready[0])
            except Exception as err:  # the worker died or Ray lost the task
                message = " ".join(f"{type(err).__name__}: {err}".split())[:2000]
                yield ExportOutcome(task.model, task.target, error_stage="worker", error=message, crashed=True)
    finally:
        if started:
            ray.shutdown()


# --- analysis ------------------------------------------------------------------------------


def analyse_pair(pair_dir: str | os.PathLike[str], model: str, target: str, *, estimate: bool = False, prefix: str = "") -> SweepRow:
    """The row of one exported pair, from its files alone: ``<model>.pte`` joined to the
    dumps in ``<model>.tosa.d``, analysed by edgeinspect's core (no torch).

    ``prefix`` is prepended to the file names the row records (``<model>/<target>/``).
    With ``estimate``, the Ethos-U delegates are compiled by Vela with their own flags and
    ``cycles`` is the sum of their ``cycles_total`` (None, with a note, when any delegate has
    no estimate).
    """
    from edgeinspect.analysis.figures import method_figures
    from edgeinspect.formats import read
    from edgeinspect.join import attach_tosa
    from edgeinspect.recommend import recommend

    pair = Path(pair_dir)
    pte = pair / f"{model}.pte"
    dumps = pair / f"{model}.tosa.d"
    program = read(pte)
    try:
        tosa_files = sorted(p.name for p in dumps.glob("*.tosa")) if dumps.is_dir() else []
        if tosa_files:
            program = attach_tosa(program, [str(dumps)])
        method = program.method("forward") if "forward" in program.method_names else program.methods[0]
        figures = method_figures(method)
        recs = [r for r in recommend(program) if r.method == method.name]
        top = None
        if recs:
            r = recs[0]
            top = TopSplitter(
                r.operator,
                tuple(r.requires),
                r.splits,
                r.delegates_if_supported,
                r.cf.transitions_saved,
                r.cf.bytes_saved,
                r.reason,
                r.fixes[0]["text"] if r.fixes else None,
            )
        cycles = seconds = note = None
        if estimate and target_kind(target) == "ethos-u":
            cycles, seconds, note = _estimate(program, method.name)
        etrecord = pair / f"{model}.etrecord"
        return SweepRow(
            model=model,
            target=target,
            status="ok",
            delegates=tuple(sorted(figures["delegated_subgraphs"].items())),
            transitions=figures["transitions"],
            boundary_bytes=figures["boundary_bytes"],
            coverage=figures["coverage"],
            cpu_islands=len(figures["islands"]),
            cpu_ops=tuple(sorted(figures["operators"].items())),
            top_splitter=top,
            cycles=cycles,
            inference_time_s=seconds,
            estimate_note=note,
            pte=f"{prefix}{pte.name}",
            pte_bytes=pte.stat().st_size,
            tosa_dumps=tuple(f"{prefix}{dumps.name}/{name}" for name in tosa_files),
            etrecord=f"{prefix}{etrecord.name}" if etrecord.is_file() else None,
        )
    finally:
        program.close()


def _estimate(program: Any, method: str) -> tuple[int | None, float | None, str | None]:
    from edgeinspect.estimate import estimate_program

    per = estimate_program(program, methods=[method]).get(method, {})
    estimates = [e.estimate for e in per.values() if e.estimate is not None]
    problems = [f"delegate {i}: {e.error or e.skipped}" for i, e in per.items() if e.estimate is None and (e.error or e.skipped)]
    if not estimates:
        return None, None, "; ".join(problems) or "no Ethos-U delegate to estimate"
    if problems:
        return None, None, "; ".join(problems)
    return sum(e.cycles_total for e in estimates), round(sum(e.inference_time_s for e in estimates), 9), None


# --- the sweep -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SweepEvent:
    """Progress: ``kind`` is ``planned`` (``message`` says what will run), ``started`` (a task
    went to a worker), ``finished`` (a pair's row is ready: exported now, or ``row.resumed``)."""

    kind: str
    done: int
    total: int
    elapsed: float
    model: str | None = None
    target: str | None = None
    row: SweepRow | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class SweepResult:
    """A finished sweep: the rows (models in the order given, targets in the order given,
    best marked), what they came from, and how the run went."""

    specs: tuple[ModelSpec, ...]
    targets: tuple[str, ...]
    rows: tuple[SweepRow, ...]
    toolchain: dict[str, str | None]
    runner: str
    workers: int
    seconds: float
    estimate: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``sweep.json``); :mod:`edgeinspect.report.sweep` renders it."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "sweep",
            "targets": list(self.targets),
            "models": [{"name": s.name, "spec": s.text, "kind": s.kind, "identity": s.identity} for s in self.specs],
            "toolchain": dict(self.toolchain),
            "estimate": self.estimate,
            "rows": [r.to_dict() for r in self.rows],
            "best": {s.name: [r.target for r in self.rows if r.model == s.name and r.best] for s in self.specs},
            "run": {
                "runner": self.runner,
                "workers": self.workers,
                "seconds": round(self.seconds, 3),
                "exported": sum(1 for r in self.rows if not r.resumed and r.error_stage != "worker"),
                "resumed": sum(1 for r in self.rows if r.resumed),
                "failed": sum(1 for r in self.rows if not r.ok),
            },
        }


def _key(spec: ModelSpec, target: str, toolchain: dict[str, str | None], etrecord: bool) -> dict[str, Any]:
    return {"identity": spec.identity, "target": target, "toolchain": toolchain, "etrecord": etrecord}


def _done(pair: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The previous run's ``result.json`` when it recorded this very pair (same model
    identity, target, toolchain versions and options) and its files are all there."""
    try:
        result = json.loads((pair / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(result, dict) or result.get("key") != key or result.get("status") not in ("ok", "failed"):
        return None
    files = result.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) and (pair / f).is_file() for f in files):
        return None
    return result


def _safe_relative(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _failed_row(spec: ModelSpec, target: str, stage: str | None, error: str | None, **run: Any) -> SweepRow:
    return SweepRow(spec.name, target, "failed", error_stage=stage, error=error, **run)


def _write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a temporary file beside it, renamed into place)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _store(out: Path, spec: ModelSpec, target: str, key: dict[str, Any], outcome: ExportOutcome, estimate: bool) -> SweepRow:
    """Write one outcome's pair directory atomically and return its row."""
    run = {"seconds": outcome.seconds, "peak_rss_bytes": outcome.peak_rss_bytes}
    if outcome.crashed:  # not the export's fault: keep any previous result, record nothing
        return _failed_row(spec, target, outcome.error_stage, outcome.error, **run)
    model_dir = out / spec.name
    model_dir.mkdir(parents=True, exist_ok=True)
    for stale in model_dir.glob(f".{target}.partial-*"):  # left by an interrupted run
        shutil.rmtree(stale, ignore_errors=True)
    partial = model_dir / f".{target}.partial-{os.getpid()}"
    partial.mkdir()
    for name, data in sorted(outcome.files.items()):
        if not _safe_relative(name):
            raise RuntimeError(f"an exporting process returned a file outside its directory: {name!r}")
        path = partial / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    prefix = f"{spec.name}/{target}/"
    if outcome.ok:
        try:
            row = replace(analyse_pair(partial, spec.name, target, estimate=estimate, prefix=prefix), **run)
        except Exception as err:  # an unreadable program is this pair's failure, not the sweep's
            row = _failed_row(spec, target, "analysis", " ".join(f"{type(err).__name__}: {err}".split()), **run)
    else:
        row = _failed_row(spec, target, outcome.error_stage, outcome.error, **run)
    result = {
        "schema_version": SCHEMA_VERSION,
        "model": spec.name,
        "target": target,
        "spec": {"spec": spec.text, "kind": spec.kind, "identity": spec.identity},
        "key": key,
        "status": "ok" if outcome.ok else "failed",
        "files": sorted(outcome.files),
        "export": {
            "error": None if outcome.ok else {"stage": outcome.error_stage, "message": outcome.error},
            "seconds": outcome.seconds,
            "peak_rss_bytes": outcome.peak_rss_bytes,
            "delegation_info": outcome.delegation_info,
            "notes": list(outcome.notes),
            "toolchain": outcome.toolchain,
            "python_hash_seed": outcome.hash_seed,
        },
        "row": row.to_dict(),
    }
    _write_json(partial / RESULT_FILE, result)
    final = model_dir / target
    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)
    return row


def _resumed(out: Path, spec: ModelSpec, target: str, result: dict[str, Any], estimate: bool) -> SweepRow:
    """The row of a pair a previous run exported: its files analysed again."""
    pair = out / spec.name / target
    export = result.get("export") or {}
    run = {"seconds": export.get("seconds"), "peak_rss_bytes": export.get("peak_rss_bytes"), "resumed": True}
    if result["status"] != "ok":
        error = export.get("error") or {}
        return _failed_row(spec, target, error.get("stage"), error.get("message"), **run)
    try:
        row = replace(analyse_pair(pair, spec.name, target, estimate=estimate, prefix=f"{spec.name}/{target}/"), **run)
    except Exception as err:
        row = _failed_row(spec, target, "analysis", " ".join(f"{type(err).__name__}: {err}".split()), **run)
    if result.get("row") != row.to_dict():
        _write_json(pair / RESULT_FILE, {**result, "row": row.to_dict()})
    return row


def run_sweep(
    specs: Sequence[ModelSpec],
    targets: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    workers: int | None = None,
    ray: bool = False,
    ray_address: str | None = LOCAL_RAY,
    estimate: bool = False,
    etrecord: bool = True,
    force: bool = False,
    progress: Callable[[SweepEvent], None] | None = None,
) -> SweepResult:
    """Export every model of ``specs`` for every target of ``targets`` (checked names, see
    :func:`edgeinspect.export.targets.check_target`) into ``out_dir`` and analyse them.

    Parameters
    ----------
    workers : int, optional
        Local exporting processes (default :func:`default_workers`); with ``ray``, the most
        tasks in flight (default: as many as the cluster takes).
    ray, ray_address
        Run the exports on Ray: a local cluster started for the sweep (address None),
        ``"auto"`` or ``"ray://host:port"``.
    estimate : bool
        Add Vela's cycles for the Ethos-U targets.
    etrecord : bool
        Write each pair's ETRecord.
    force : bool
        Export every pair again, even those a previous run did.
    progress : callable, optional
        Called with a :class:`SweepEvent` as the sweep goes (in this thread).

    Raises
    ------
    UsageError
        Two models with one name, no models or targets, or an input file the sweep would overwrite.
    """
    started = time.perf_counter()
    specs, targets = tuple(specs), tuple(dict.fromkeys(targets))
    if not specs or not targets:
        raise UsageError("a sweep needs at least one model and one target")
    names = [s.name for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"two models are named {', '.join(twice)}: name them with NAME=SPEC")
    out = Path(out_dir)
    for s in specs:
        if s.kind == "pt2":
            for t in targets:
                pair = (out / s.name / t).resolve()
                if Path(s.source) == pair or pair in Path(s.source).parents:
                    raise UsageError(f"{s.text}: the sweep would overwrite its own input (it lies in {out / s.name / t})")
    out.mkdir(parents=True, exist_ok=True)
    toolchain = toolchain_versions()
    total = len(specs) * len(targets)
    rows: dict[tuple[str, str], SweepRow] = {}
    keys = {(s.name, t): _key(s, t, toolchain, etrecord) for s in specs for t in targets}
    by_name = {s.name: s for s in specs}

    def emit(kind: str, **fields: Any) -> None:
        if progress is not None:
            progress(SweepEvent(kind, len(rows), total, time.perf_counter() - started, **fields))

    todo: list[ExportTask] = []
    previous: list[tuple[ModelSpec, str, dict[str, Any]]] = []
    for s in specs:
        for t in targets:
            result = None if force else _done(out / s.name / t, keys[(s.name, t)])
            if result is None:
                todo.append(ExportTask(s, t, etrecord=etrecord, cwd=os.getcwd()))
            else:
                previous.append((s, t, result))
    if ray:
        n_workers = workers or 0  # 0: as many as the cluster takes
        where = "on Ray" + (f", at most {workers} at a time" if workers else "")
    else:
        n_workers = min(workers or default_workers(len(todo)), len(todo))
        where = f"in {n_workers} local worker process{'es' if n_workers != 1 else ''}"
    emit(
        "planned",
        message=f"{total} pairs ({len(specs)} models x {len(targets)} targets): {len(previous)} done before, "
        f"{len(todo)} to export" + (f" {where}" if todo else ""),
    )
    for s, t, result in previous:
        row = _resumed(out, s, t, result, estimate)
        rows[(s.name, t)] = row
        emit("finished", model=s.name, target=t, row=row)

    def on_start(task: ExportTask) -> None:
        emit("started", model=task.model, target=task.target)

    if todo:
        if ray:
            stream: Iterator[ExportOutcome] = ray_outcomes(todo, ray_address, workers=workers, on_start=on_start)
            pool = None
        else:
            pool = LocalPool(n_workers)
            stream = pool.outcomes(todo, on_start=on_start)
        try:
            for outcome in stream:
                spec = by_name[outcome.model]
                row = _store(out, spec, outcome.target, keys[(spec.name, outcome.target)], outcome, estimate)
                rows[(spec.name, outcome.target)] = row
                emit("finished", model=spec.name, target=outcome.target, row=row)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            if pool is not None:
                pool.close()
    ordered = mark_best(rows[(s.name, t)] for s in specs for t in targets)
    return SweepResult(
        specs, targets, tuple(ordered), toolchain, "ray" if ray else "local", n_workers, time.perf_counter() - started, estimate
    )
