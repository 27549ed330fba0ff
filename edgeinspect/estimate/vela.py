"""Run the installed Vela on TOSA graphs and read its performance CSVs.

Vela runs in child processes, never in ours. Its compiler core (regor) is native code fed an
untrusted file: in a child, a crash, a hang or a memory blow-up on a hostile dump is one
delegate's error (each child is stopped at a timeout), never the end of the command. One
driver process imports Vela once (0.3 s, more than a small graph takes to compile) and forks
a child per graph, several at a time, each running Vela's own command-line entry
(``ethosu.vela.vela.main``, what the ``vela`` command runs) on its graph. The CSVs read back
are the very files the ``vela`` command writes, so the figures are Vela's own by
construction. (Vela also has an in-process API, ``ethosu.regor.compile``, but it is
undocumented and not stable.) Without ``fork`` (Windows), each graph gets its own
``python -m ethosu.vela`` process.

Each graph gets a private temporary directory: its bytes are written there (the bytes hashed
for the cache are the bytes compiled), Vela writes into ``out/`` there, and everything is
removed afterwards.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edgeinspect.errors import EdgeInspectError, UsageError
from edgeinspect.estimate._util import shown as _shown
from edgeinspect.estimate.records import MEMORIES, LayerEstimate, VelaEstimate, kib_to_bytes

__all__ = ["VelaError", "VelaInstall", "find_vela", "parse_per_layer_csv", "parse_summary_csv", "run_vela", "run_vela_many"]

#: Seconds one Vela run may take before it is stopped (a big model takes minutes).
DEFAULT_TIMEOUT = 900.0

_NETWORK = "delegate.tosa"
_LOG_TAIL = 16 * 1024
_MAX_CSV_BYTES = 256 * 1024 * 1024  # output proportional to the graph; refuse absurd files

_PER_LAYER_HEADER = (
    "Original Operator",
    "NNG Operator",
    "Target",
    "Staging Usage",
    "Peak% (Staging)",
    "Op Cycles",
    "Network% (cycles)",
    "NPU",
    "SRAM AC",
    "DRAM AC",
    "OnFlash AC",
    "OffFlash AC",
    "MAC Count",
    "Network% (MAC)",
    "Util% (MAC)",
    "Name",
)


class VelaError(EdgeInspectError):
    """Vela rejected a graph, crashed, timed out, or wrote figures that cannot be read."""


@dataclass(frozen=True, slots=True)
class VelaInstall:
    """The installed Vela: its version, the folder that holds its ``ethosu`` package (put
    first on the child's path, so the child runs this very Vela) and its ``config_files``."""

    version: str
    package_parent: str
    config_dir: str

    @property
    def source(self) -> str:
        """``"vela <version>"``, the ``source`` of every estimate it makes."""
        return f"vela {self.version}"


def find_vela() -> VelaInstall:
    """Locate the installed Vela (the ``ethos-u-vela`` package) without importing it.

    Raises
    ------
    UsageError
        When Vela is not installed; the message names the ``export`` extra that installs it.
    """
    try:
        spec = importlib.util.find_spec("ethosu.vela")
    except (ImportError, ValueError):
        spec = None
    from importlib import metadata  # 20 ms: only when Vela is wanted

    try:
        version = metadata.version("ethos-u-vela")
    except metadata.PackageNotFoundError:
        version = None
    if spec is None or spec.origin is None or version is None:
        raise UsageError(
            "--estimate needs Vela (the ethos-u-vela package), which is not installed; install it with: pip install 'edgeinspect[export]'"
        )
    package = os.path.dirname(os.path.dirname(os.path.abspath(spec.origin)))  # .../ethosu
    return VelaInstall(version, os.path.dirname(package), os.path.join(package, "config_files"))


def run_vela(data: bytes, flags: Sequence[str], install: VelaInstall, *, timeout: float | None = DEFAULT_TIMEOUT) -> VelaEstimate:
    """Compile a TOSA graph with Vela and return its performance estimate.

    Parameters
    ----------
    data : bytes
        The .tosa file's bytes.
    flags : sequence of str
        Checked Vela options (:func:`edgeinspect.estimate.vela_flags`); ``--output-dir`` and
        ``--verbose-performance`` are added here.
    install : VelaInstall
        From :func:`find_vela`.
    timeout : float or None
        Seconds before the run is stopped.

    Raises
    ------
    VelaError
        When Vela rejects the graph (the message is Vela's last line), crashes, times out
        or writes CSVs that cannot be read.
    """
    (result,) = run_vela_many([(data, flags)], install, timeout=timeout)
    if isinstance(result, VelaError):
        raise result
    return result


# Imports Vela once, then forks one child per graph: each child runs Vela's own `main` on its
# graph in its own directory, logs to its own file and is stopped by SIGALRM at the timeout.
# The import (0.3 s) is paid once per command instead of once per delegate, and a crash or a
# hang still ends only its child. Results go to stdout as JSON lines: [job, exit code].
_DRIVER = r"""
import json, os, signal, sys, traceback
config = json.loads(sys.stdin.read())
from ethosu.vela.vela import main
pending = list(range(len(config["jobs"])))
running = {}
while pending or running:
    while pending and len(running) < config["parallel"]:
        job = pending.pop(0)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.chdir(config["jobs"][job]["dir"])
                log = os.open("vela.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(log, 1)
                os.dup2(log, 2)
                if config["timeout"]:
                    signal.setitimer(signal.ITIMER_REAL, config["timeout"])
                try:
                    code = main(config["jobs"][job]["argv"]) or 0
                except SystemExit as exit:
                    code = exit.code if isinstance(exit.code, int) else 1
                except BaseException:
                    traceback.print_exc()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
        running[pid] = job
    pid, status = os.wait()
    print(json.dumps([running.pop(pid), os.waitstatus_to_exitcode(status)]), flush=True)
"""


def run_vela_many(
    items: Sequence[tuple[bytes, Sequence[str]]],
    install: VelaInstall,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    jobs: int | None = None,
) -> list[VelaEstimate | VelaError]:
    """Compile several TOSA graphs with Vela, ``jobs`` at a time; one result per graph, in order.

    Each graph is written into its own private directory and compiled by a child process
    (see the module docstring); a graph Vela rejects, crashes on or does not finish within
    ``timeout`` seconds gets a :class:`VelaError` in its place, and the others are unaffected.
    """
    if not items:
        return []
    parallel = max(1, min(len(items), jobs or os.cpu_count() or 1))
    root = tempfile.mkdtemp(prefix="edgeinspect-vela-")
    try:
        dirs = []
        for i, (data, _) in enumerate(items):
            d = os.path.join(root, str(i))
            os.mkdir(d, 0o700)
            with open(os.path.join(d, _NETWORK), "wb") as f:
                f.write(data)
            dirs.append(d)
        argvs = [[_NETWORK, *flags, "--verbose-performance", "--output-dir=out"] for _, flags in items]
        if hasattr(os, "fork"):
            codes = _run_forked(root, dirs, argvs, install, timeout, parallel)
        else:  # pragma: no cover - not POSIX: one process per graph
            codes = [_run_process(d, argv, install, timeout) for d, argv in zip(dirs, argvs)]
        return [_result(d, code, flags, install, timeout) for d, code, (_, flags) in zip(dirs, codes, items)]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _child_env(install: VelaInstall) -> dict[str, str]:
    env = dict(os.environ)
    # The child runs this very Vela, whatever its own path would find first.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (install.package_parent, env.get("PYTHONPATH")) if p)
    # No BLAS/OpenMP threads in a process that forks.
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def _run_forked(
    root: str, dirs: list[str], argvs: list[list[str]], install: VelaInstall, timeout: float | None, parallel: int
) -> list[int | None]:
    config = {"jobs": [{"dir": d, "argv": a} for d, a in zip(dirs, argvs)], "timeout": timeout, "parallel": parallel}
    rounds = -(-len(dirs) // parallel)
    # The children stop themselves at `timeout`; this bounds the whole batch in case the
    # driver itself hangs (its import, say).
    limit = None if timeout is None else timeout * rounds + 120
    log_path = os.path.join(root, "driver.log")
    with open(log_path, "wb") as log:
        # cwd is the private directory, first on the driver's path; it holds nothing importable.
        proc = subprocess.Popen(
            [sys.executable, "-c", _DRIVER],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=_child_env(install),
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(json.dumps(config).encode(), timeout=limit)
        except subprocess.TimeoutExpired:
            _stop(proc)
            out = b""
        except BaseException:
            _stop(proc)
            raise
    codes: list[int | None] = [None] * len(dirs)
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            job, code = json.loads(line)
        except (ValueError, TypeError):
            continue
        if type(job) is int and type(code) is int and 0 <= job < len(dirs):
            codes[job] = code
    if any(c is None for c in codes):
        note = _last_line(log_path)
        for d, c in zip(dirs, codes):
            if c is None:
                with open(os.path.join(d, "vela.log"), "ab") as f:
                    f.write(f"\nVela's driver ended without a result for this graph: {note}\n".encode())
    return codes


def _run_process(workdir: str, argv: list[str], install: VelaInstall, timeout: float | None) -> int | None:  # pragma: no cover
    with open(os.path.join(workdir, "vela.log"), "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ethosu.vela", *argv],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_child_env(install),
        )
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(proc)
            return -signal.SIGALRM if hasattr(signal, "SIGALRM") else -9


def _result(workdir: str, code: int | None, flags: Sequence[str], install: VelaInstall, timeout: float | None) -> VelaEstimate | VelaError:
    log_path = os.path.join(workdir, "vela.log")
    if code is None:
        return VelaError(f"Vela did not report on this graph: {_last_line(log_path)}")
    if hasattr(signal, "SIGALRM") and code == -signal.SIGALRM:
        return VelaError(f"Vela did not finish within {timeout:g} s and was stopped")
    if code < 0:
        return VelaError(f"Vela crashed ({_signal_name(-code)}): {_last_line(log_path)}")
    if code != 0:
        return VelaError(f"Vela rejected the graph: {_last_line(log_path)}")
    out = os.path.join(workdir, "out")
    summaries = _outputs(out, "_summary_")
    layers = _outputs(out, "_per-layer.csv")
    if len(summaries) != 1 or len(layers) > 1:
        return VelaError(f"Vela wrote {len(summaries)} summary CSV(s) and {len(layers)} per-layer CSV(s); expected one of each")
    try:
        per_layer = parse_per_layer_csv(_read(layers[0]) if layers else "")
        return parse_summary_csv(_read(summaries[0]), source=install.source, flags=flags, layers=per_layer)
    except VelaError as err:
        return err


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        if hasattr(os, "killpg") and proc.pid:
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - not POSIX
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _last_line(log_path: str) -> str:
    """The last non-empty line Vela printed (its error), shown safely."""
    with open(log_path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - _LOG_TAIL))
        tail = f.read().decode("utf-8", "replace")
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return _shown(lines[-1], 400) if lines else "no message"


def _outputs(out: str, marker: str) -> list[str]:
    try:
        names = sorted(os.listdir(out))
    except OSError:
        return []
    return [os.path.join(out, n) for n in names if marker in n and n.endswith(".csv")]


def _read(path: str) -> str:
    if os.path.getsize(path) > _MAX_CSV_BYTES:
        raise VelaError(f"Vela wrote a {os.path.getsize(path)}-byte CSV: too large to read")
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def _number(text: str, column: str) -> float | None:
    """A float cell; ``NaN`` (what Vela writes when a ratio has no denominator) is None."""
    try:
        value = float(text)
    except ValueError as err:
        raise VelaError(f"Vela's CSV column {column!r} holds {_shown(text)!r}, not a number") from err
    if math.isnan(value):
        return None
    if not math.isfinite(value):
        raise VelaError(f"Vela's CSV column {column!r} holds {_shown(text)!r}")
    return value


def _integer(text: str, column: str) -> int:
    """An integer cell (``"140352"``; also ``"4.0"``, as a float that holds an integer)."""
    try:
        return int(text)
    except ValueError:
        value = _number(text, column)
        if value is None or not value.is_integer():
            raise VelaError(f"Vela's CSV column {column!r} holds {_shown(text)!r}, not an integer") from None
        return int(value)


def parse_summary_csv(text: str, *, source: str, flags: Sequence[str] = (), layers: Sequence[LayerEstimate] = ()) -> VelaEstimate:
    """A :class:`VelaEstimate` from the summary CSV Vela writes (``<network>_summary_<system config>.csv``).

    Raises
    ------
    VelaError
        When the CSV is not one header and one row with the columns Vela writes.
    """
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise VelaError(f"Vela's summary CSV cannot be read: {err}") from None
    if len(rows) != 2 or len(rows[0]) != len(rows[1]):
        raise VelaError(f"Vela's summary CSV has {len(rows)} rows; expected a header and one row")
    row = dict(zip(rows[0], rows[1]))

    def cell(column: str) -> str:
        if column not in row:
            raise VelaError(f"Vela's summary CSV has no column {column!r} (is this Vela version supported?)")
        return row[column]

    def integer(column: str) -> int:
        return _integer(cell(column), column)

    def number(column: str) -> float | None:
        return _number(cell(column), column)

    def kib(column: str) -> int:
        value = number(column)
        try:
            return kib_to_bytes(value if value is not None else math.nan)
        except ValueError as err:
            raise VelaError(f"Vela's summary CSV column {column!r}: {err}") from None

    def required(column: str) -> float:
        value = number(column)
        if value is None:
            raise VelaError(f"Vela's summary CSV column {column!r} is NaN")
        return value

    return VelaEstimate(
        source=source,
        flags=tuple(flags),
        accelerator=cell("accelerator_configuration"),
        system_config=cell("system_config"),
        memory_mode=cell("memory_mode"),
        core_clock_hz=required("core_clock"),
        arena_cache_bytes=kib("arena_cache_size"),
        # Vela writes bytes/s / 1024**3 ("GB/s"): dividing by powers of two is exact, so is
        # multiplying back.
        bandwidth_bytes_per_s={m: required(f"{m}_bandwidth") * 1024**3 for m in MEMORIES},
        weights_storage_area=cell("weights_storage_area"),
        feature_map_storage_area=cell("feature_map_storage_area"),
        inferences_per_second=number("inferences_per_second"),
        batch_size=integer("batch_size"),
        inference_time_s=required("inference_time"),
        passes_before_fusing=integer("passes_before_fusing"),
        passes_after_fusing=integer("passes_after_fusing"),
        sram_bytes=kib("sram_memory_used"),
        dram_bytes=kib("dram_memory_used"),
        on_chip_flash_bytes=kib("on_chip_flash_memory_used"),
        off_chip_flash_bytes=kib("off_chip_flash_memory_used"),
        original_weight_bytes=integer("total_original_weights"),
        encoded_weight_bytes=integer("total_npu_encoded_weights"),
        traffic={
            m: {
                f"{kind}_bytes": integer(f"{m}_{kind}_bytes")
                for kind in ("feature_map_read", "feature_map_write", "weight_read", "weight_write", "total")
            }
            for m in MEMORIES
        },
        nn_macs=integer("nn_macs"),
        nn_tops=required("nn_tops"),
        cycles_npu=integer("cycles_npu"),
        cycles_sram_access=integer("cycles_sram_access"),
        cycles_dram_access=integer("cycles_dram_access"),
        cycles_on_chip_flash_access=integer("cycles_on_chip_flash_access"),
        cycles_off_chip_flash_access=integer("cycles_off_chip_flash_access"),
        cycles_total=integer("cycles_total"),
        layers=tuple(layers),
    )


def parse_per_layer_csv(text: str) -> tuple[LayerEstimate, ...]:
    """The rows of the per-layer CSV Vela writes (``<network>_per-layer.csv``).

    Vela joins the cells with commas and quotes nothing, and ``Name`` (the last column)
    comes from the graph: a name may hold commas, and a name with a line break continues
    on the next line. So each line is split into at most 16 cells, and a line that is not
    a whole row continues the name of the row before it.

    Raises
    ------
    VelaError
        When the header is not the one Vela writes, or a row cannot be read.
    """
    if not text:
        return ()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = tuple(lines[0].rstrip("\r").split(","))
    if header != _PER_LAYER_HEADER:
        raise VelaError(f"Vela's per-layer CSV header is {_shown(lines[0], 200)!r}, not the one this version of edgeinspect reads")
    rows: list[list[str]] = []
    for line in lines[1:]:
        cells = line.split(",", len(_PER_LAYER_HEADER) - 1)
        if len(cells) == len(_PER_LAYER_HEADER) and _is_row(cells):
            rows.append(cells)
        elif rows:
            rows[-1][-1] += "\n" + line
        else:
            raise VelaError(f"Vela's per-layer CSV starts with an unreadable row {_shown(line, 200)!r}")
    return tuple(_layer(cells) for cells in rows)


def _is_row(cells: list[str]) -> bool:
    try:
        for i in (3, 5, 7, 8, 9, 10, 11, 12):
            _integer(cells[i], _PER_LAYER_HEADER[i])
        for i in (4, 6, 13, 14):
            _number(cells[i], _PER_LAYER_HEADER[i])
    except VelaError:
        return False
    return True


def _layer(cells: list[str]) -> LayerEstimate:
    c: dict[str, Any] = dict(zip(_PER_LAYER_HEADER, cells))

    def integer(column: str) -> int:
        return _integer(c[column], column)

    def number(column: str) -> float | None:
        return _number(c[column], column)

    return LayerEstimate(
        name=c["Name"].rstrip("\r"),
        original_operator=c["Original Operator"],
        operator=c["NNG Operator"],
        target=c["Target"],
        staging_bytes=integer("Staging Usage"),
        staging_peak_percent=number("Peak% (Staging)"),
        cycles=integer("Op Cycles"),
        cycles_percent=number("Network% (cycles)"),
        npu_cycles=integer("NPU"),
        sram_access_cycles=integer("SRAM AC"),
        dram_access_cycles=integer("DRAM AC"),
        on_chip_flash_access_cycles=integer("OnFlash AC"),
        off_chip_flash_access_cycles=integer("OffFlash AC"),
        macs=integer("MAC Count"),
        macs_percent=number("Network% (MAC)"),
        utilisation_percent=number("Util% (MAC)"),
    )
