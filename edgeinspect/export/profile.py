"""Run a program on this host with ExecuTorch's own runtime and ETDump on; make the ETDump fixtures.

:func:`run_profile` is what ``edgeinspect profile`` calls: it loads the .pte with the
runtime of the executorch wheel (``executorch.extension.pybindings.portable_lib``: portable
kernels and XNNPACK), runs one method ``runs`` times on seeded random inputs made from the
method's metadata (or on given ones), and writes the ETDump the runtime recorded.

``python -m edgeinspect.export.profile --fixtures tests/data`` profiles zoo programs into
``tests/data/etdump/<name>.etdp`` and writes ``<name>.expected.json`` beside each: what
ExecuTorch's own ETDump deserializer (``deserialize_from_etdump_flatcc``) and its devtools
``Inspector`` read from the file, the references the torch-free reader and join are tested
against. ETDumps hold wall-clock ticks, so they are not byte-reproducible: regenerating
changes the figures, never the structure (blocks, events, instruction ids).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeinspect.errors import UsageError
from edgeinspect.model import Program

__all__ = [
    "ETDUMP_FIXTURES",
    "EtdumpFixture",
    "check_host_runnable",
    "inspector_figures",
    "make_inputs",
    "run_profile",
    "summarize_etdump",
]

#: ExecuTorch ScalarType -> torch dtype name, for the inputs we make or convert.
_DTYPES = {
    0: "uint8",
    1: "int8",
    2: "int16",
    3: "int32",
    4: "int64",
    5: "float16",
    6: "float32",
    7: "float64",
    11: "bool",
    15: "bfloat16",
}

_DEVICE_ONLY = "profile it on the Corstone FVP or the device with ETDump on, and pass the .etdp to --etdump"


@contextlib.contextmanager
def _captured_stderr() -> Iterator[Any]:
    """Send what the C++ runtime logs on file descriptor 2 to a temporary file (read back on
    failure), so a successful run prints only our own output."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield log
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _tail(log: Any, lines: int = 3) -> str:
    """The last lines the runtime logged, without control characters."""
    log.seek(0)
    text = log.read().decode("utf-8", "replace")
    kept = [re.sub(r"[^\x20-\x7e]", "?", line) for line in text.splitlines() if line.strip()][-lines:]
    return "; ".join(kept)


def _runtime() -> Any:
    """ExecuTorch's runtime bindings, imported without the noise torch and torchao print on
    stderr while loading (shown only if the import fails)."""
    with _captured_stderr() as log:
        try:
            import torch  # noqa: F401  (the bindings need it loaded first)
            from executorch.extension.pybindings import portable_lib
        except ImportError as err:
            raise ImportError(f"{err} ({_tail(log)})" if _tail(log) else str(err)) from err
    return portable_lib


def _dtype(scalar_type: int) -> Any:
    import torch

    name = _DTYPES.get(scalar_type)
    return None if name is None else getattr(torch, name)


def check_host_runnable(program: Program, method: str) -> None:
    """Raise UsageError, before anything runs, when the host runtime lacks a delegate backend or
    a kernel that ``method`` calls (Ethos-U and TOSA delegates never run on a host)."""
    runtime = _runtime()
    m = program.method(method)
    backends = set(runtime._get_registered_backend_names())
    missing = sorted({d.backend_id for d in m.delegates} - backends)
    if missing:
        raise UsageError(
            f"{os.path.basename(program.path or 'the program')}: method {method!r} has {', '.join(missing)} delegates, which the "
            f"ExecuTorch runtime on this host cannot run (it has {', '.join(sorted(backends)) or 'none'}): {_DEVICE_ONLY}"
        )
    kernels = set(runtime._get_operator_names())
    absent = sorted({ins.name for ins in m.instructions if ins.kind == "kernel"} - kernels)
    if absent:
        raise UsageError(
            f"{os.path.basename(program.path or 'the program')}: the host runtime has no kernel for {', '.join(absent)}: {_DEVICE_ONLY}"
        )


def make_inputs(meta: Any, seed: int) -> list[Any]:
    """Seeded random torch tensors from a method's metadata: standard normal floats, integers
    and bools uniform in {0, 1} (a small range, so index inputs stay in bounds)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    out = []
    for i in range(meta.num_inputs()):
        try:
            info = meta.input_tensor_meta(i)
        except Exception as err:  # the runtime raises a bare RuntimeError for non-tensor inputs
            raise UsageError(f"input {i} of method {meta.name()!r} is not a tensor: give the inputs with --inputs") from err
        dtype = _dtype(int(info.dtype()))
        if dtype is None:
            raise UsageError(
                f"input {i} has scalar type {int(info.dtype())}, which random inputs do not cover: give the inputs with --inputs"
            )
        sizes = tuple(info.sizes())
        if dtype.is_floating_point:
            out.append(torch.randn(sizes, generator=generator).to(dtype))
        else:
            out.append(torch.randint(0, 2, sizes, generator=generator).to(dtype))
    return out


def _npz_inputs(path: str, meta: Any) -> list[Any]:
    """The arrays of a .npz as method inputs (``arr_0, arr_1, ...`` in number order, else file order)."""
    import numpy as np
    import torch

    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            if all(re.fullmatch(r"arr_\d+", n) for n in names):
                names.sort(key=lambda n: int(n[4:]))
            arrays = [npz[n] for n in names]
    except (OSError, ValueError, EOFError) as err:
        raise UsageError(f"{path}: cannot read these inputs as a NumPy .npz: {err}") from err
    if len(arrays) != meta.num_inputs():
        raise UsageError(f"{path} holds {len(arrays)} array(s), method {meta.name()!r} takes {meta.num_inputs()} input(s)")
    out = []
    for i, array in enumerate(arrays):
        info = meta.input_tensor_meta(i)
        if tuple(array.shape) != tuple(info.sizes()):
            raise UsageError(f"{path}: input {i} ({names[i]}) has shape {list(array.shape)}, the method takes {list(info.sizes())}")
        dtype = _dtype(int(info.dtype()))
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        out.append(tensor.to(dtype) if dtype is not None else tensor)
    return out


def run_profile(
    program: Program,
    method: str,
    output: str | os.PathLike[str],
    *,
    runs: int = 5,
    inputs: str | None = None,
    seed: int = 0,
    debug_buffer_size: int = 0,
) -> None:
    """Run ``method`` of ``program`` ``runs`` times with ETDump on and write the ETDump to ``output``.

    The file is written beside ``output`` under a temporary name and moved into place, so a
    failed run leaves no partial file. ``debug_buffer_size`` > 0 also records debug events
    (the logged intermediate values; their data goes to a buffer that is not kept).

    Raises
    ------
    UsageError
        When the host runtime cannot run the method (checked before running for missing
        backends and kernels), the inputs do not fit, or a run fails.
    """
    if program.path is None:
        raise UsageError("run_profile needs a program read from a file")
    check_host_runnable(program, method)
    runtime = _runtime()
    output = os.fspath(output)
    directory = os.path.dirname(os.path.abspath(output))
    with _captured_stderr() as log:
        try:
            module = runtime._load_for_executorch(program.path, enable_etdump=True, debug_buffer_size=debug_buffer_size)
            meta = module.method_meta(method)
            tensors = _npz_inputs(inputs, meta) if inputs else make_inputs(meta, seed)
            for _ in range(runs):
                module.run_method(method, tensors)
        except RuntimeError as err:
            raise UsageError(
                f"the ExecuTorch runtime on this host could not run method {method!r}: {err} ({_tail(log)}); "
                f"a kernel may not support these shapes here: {_DEVICE_ONLY}"
            ) from err
        fd, tmp = tempfile.mkstemp(prefix=".edgeinspect-", suffix=".etdp.tmp", dir=directory)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the result is an ordinary file
        try:
            module.write_etdump_result_to_file(tmp)
            os.replace(tmp, output)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


# --- the references: what ExecuTorch's own tools read from an ETDump --------------------------


def summarize_etdump(data: bytes, *, size_prefixed: bool = True) -> dict[str, Any]:
    """Every field of every event, as ExecuTorch's ``deserialize_from_etdump_flatcc`` reads them."""
    from executorch.devtools.etdump.serialize import deserialize_from_etdump_flatcc

    etdump = deserialize_from_etdump_flatcc(data, size_prefixed=size_prefixed)
    blocks = []
    for run in etdump.run_data:
        events = []
        for e in run.events or []:
            entry: dict[str, Any] = {}
            if e.profile_event is not None:
                p = e.profile_event
                entry["profile"] = {
                    "name": p.name,
                    "chain_index": p.chain_index,
                    "instruction_id": p.instruction_id,
                    "delegate_debug_id_int": p.delegate_debug_id_int,
                    "delegate_debug_id_str": p.delegate_debug_id_str,
                    "delegate_debug_metadata": None if p.delegate_debug_metadata is None else bytes(p.delegate_debug_metadata).hex(),
                    "start_time": p.start_time,
                    "end_time": p.end_time,
                }
            if e.allocation_event is not None:
                a = e.allocation_event
                entry["allocation"] = {"allocator_id": a.allocator_id, "allocation_size": a.allocation_size}
            if e.debug_event is not None:
                entry["debug"] = _debug_summary(e.debug_event)
            events.append(entry)
        blocks.append(
            {
                "name": run.name,
                "bundled_input_index": run.bundled_input_index,
                "allocators": [a.name for a in run.allocators or []],
                "events": events,
            }
        )
    return {"version": etdump.version, "run_data": blocks}


def _debug_summary(d: Any) -> dict[str, Any]:
    v = d.debug_entry
    kind = v.val if isinstance(v.val, str) else getattr(v.val, "value", str(v.val))
    tensors = []
    if v.tensor is not None and kind == "Tensor":
        tensors = [v.tensor]
    elif v.tensor_list is not None and kind == "TensorList":
        tensors = list(v.tensor_list.tensors)
    value = None
    for name, attr in (("Int", "int_value"), ("Float", "float_value"), ("Double", "double_value"), ("Bool", "bool_value")):
        holder = getattr(v, attr)
        if kind == name and holder is not None:
            value = next(iter(vars(holder).values()))
    return {
        "name": d.name,
        "chain_index": d.chain_index,
        "instruction_id": d.instruction_id,
        "delegate_debug_id_int": d.delegate_debug_id_int,
        "delegate_debug_id_str": d.delegate_debug_id_str,
        "value_kind": kind,
        "output": bool(v.output.bool_val) if v.output is not None else False,
        "value": value,
        "tensors": [
            {"scalar_type": int(t.scalar_type), "sizes": list(t.sizes), "strides": list(t.strides), "offset": t.offset or 0}
            for t in tensors
        ],
    }


def inspector_figures(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """What the devtools ``Inspector`` makes of an ETDump, in ticks (source and target time
    scale both nanoseconds, so no conversion): per event block, per event its instruction id,
    delegate debug identifier and raw durations over the runs grouped in the block."""
    import warnings

    from executorch.devtools import Inspector
    from executorch.devtools.inspector._inspector_utils import TimeScale

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Output Buffer not found": we pass no debug buffer
        inspector = Inspector(etdump_path=os.fspath(path), source_time_scale=TimeScale.NS, target_time_scale=TimeScale.NS)
    out = []
    for block in inspector.event_blocks:
        events = []
        for e in block.events:
            ident = e.delegate_debug_identifier
            events.append(
                {
                    "name": e.name,
                    "instruction_id": e._instruction_id,
                    "delegate_debug_identifier": ident,
                    "is_delegated_op": e.is_delegated_op,
                    "raw": [float(x) for x in e.perf_data.raw] if e.perf_data is not None else None,
                }
            )
        out.append({"name": block.name, "events": events})
    return out


# --- the fixtures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EtdumpFixture:
    """One ETDump fixture: a zoo program profiled on this host (or, with ``synthetic``, an
    ETDump written by ExecuTorch's own serializer for a program no host can run)."""

    name: str
    pte: str
    description: str
    runs: int = 5
    seed: int = 0
    method: str = "forward"
    debug_buffer_size: int = 0
    synthetic: bool = False
    #: Synthetic only: allocators and allocation events in the Default block (the devtools
    #: Inspector raises ValueError on allocation events, so such a file has no Inspector figures).
    allocations: bool = False


ETDUMP_FIXTURES: tuple[EtdumpFixture, ...] = (
    EtdumpFixture("xnn_cumsum", "xnn_cumsum.pte", "XNNPACK program split by cumsum: 2 delegate calls around a CPU island", runs=5),
    EtdumpFixture(
        "xnn_cond",
        "xnn_cond.pte",
        "torch.cond between two XNNPACK delegates: the same seeded inputs every run, so one branch never runs",
        runs=4,
    ),
    EtdumpFixture("xnn_many_delegates", "xnn_many_delegates.pte", "12 XNNPACK delegate calls alternating with 11 CPU islands", runs=3),
    EtdumpFixture(
        "xnn_cumsum_debug",
        "xnn_cumsum.pte",
        "xnn_cumsum with a debug buffer: the runtime also logs debug events (intermediate and output tensors)",
        runs=2,
        debug_buffer_size=1 << 20,  # the runtime aborts when the logged tensors overflow it
    ),
    EtdumpFixture(
        "u55_multi_synthetic",
        "u55_multi.pte",
        "SYNTHETIC ticks for u55_multi (Ethos-U55, 3 delegate calls, glue around 2 islands), written by ExecuTorch's "
        "ETDump serializer (its schema and flatc, size-prefixed) with integer delegate debug ids and output debug "
        "events: no host can run Ethos-U delegates, so no runtime recorded these",
        runs=3,
        synthetic=True,
    ),
    EtdumpFixture(
        "u55_upsample_allocations",
        "u55_upsample.pte",
        "SYNTHETIC: u55_upsample's events as in u55_multi_synthetic, plus allocators and allocation events (which "
        "the devtools Inspector cannot read), written by ExecuTorch's ETDump serializer",
        runs=2,
        synthetic=True,
        allocations=True,
    ),
    # issue 9 item 5 (diff of two profiles) and issue 13 (delegates back to back)
    EtdumpFixture("xnn_cumsum_fixed", "xnn_cumsum_fixed.pte", "xnn_cumsum with the cumsum as F.linear: one XNNPACK delegate call", runs=5),
    EtdumpFixture(
        "xnn_dynamic_quant",
        "xnn_dynamic_quant.pte",
        "3 XNNPACK delegate calls back to back (dynamically quantized linears), handing tensors straight to each other",
        runs=5,
    ),
)


def _synthetic_etdump(program: Program, fixture: EtdumpFixture) -> bytes:
    """An ETDump shaped like a device run of ``fixture``'s method, written by ExecuTorch's
    serializer: a Default block (loading, allocators, allocations), then one Execute block per
    run with the runtime's event pattern (``native_call_<op>`` inside ``OPERATOR_CALL``, the
    backend's events before ``DELEGATE_CALL``, ``Method::execute`` last) and seeded ticks."""
    from executorch.devtools.etdump import schema_flatcc as s
    from executorch.exir.scalar_type import ScalarType

    rng = random.Random(f"{fixture.name}-{fixture.seed}")
    method = program.method(fixture.method)

    def profile(name, start, ticks, *, chain=0, instruction=-1, dd_int=-1, dd_str=None, meta=None):
        return s.Event(
            profile_event=s.ProfileEvent(name, chain, instruction, dd_int, dd_str, meta, start, start + ticks),
            allocation_event=None,
            debug_event=None,
        )

    clock = 1_000
    default = [
        profile("Program::load_method", clock, 40_000 + rng.randrange(1000), chain=-1, instruction=0),
        profile("Method::init", clock + 100, 35_000 + rng.randrange(1000), chain=-1, instruction=0),
    ]
    allocators = None
    if fixture.allocations:
        allocators = [s.Allocator("method_allocator"), s.Allocator("temp_allocator")]
        for allocator, size in ((0, 4096), (0, 19200), (1, 512)):
            default.append(s.Event(profile_event=None, allocation_event=s.AllocationEvent(allocator, size), debug_event=None))
    blocks = [s.RunData("Default", -1, allocators, default)]
    clock = 100_000
    for run in range(fixture.runs):
        events = []
        begin = clock
        slow = 3 if run == 0 else 1  # the first run is the warm-up
        for ins in method.instructions:
            clock += 200
            start = clock
            if ins.kind == "kernel":
                body = slow * (2_000 if "quantize" in ins.name else 30_000) + rng.randrange(500)
                events.append(profile(f"native_call_{ins.name}", start + 150, body, instruction=ins.index))
                events.append(profile("OPERATOR_CALL", start, body + 300, instruction=ins.index))
                clock += body + 300
            elif ins.kind == "delegate":
                inner = slow * 50_000 + rng.randrange(2000)
                events.append(profile(None, start + 400, inner, instruction=ins.index, dd_int=ins.delegate, meta=b""))
                events.append(profile("DELEGATE_CALL", start, inner + 900, instruction=ins.index))
                clock += inner + 900
        output = s.Value(
            val="Tensor",
            tensor=s.Tensor(scalar_type=ScalarType.BYTE, sizes=[1, 8, 32, 32], strides=[8192, 1024, 32, 1], offset=64 * run),
            tensor_list=None,
            int_value=None,
            float_value=None,
            double_value=None,
            bool_value=None,
            output=s.Bool(True),
        )
        events.append(s.Event(profile_event=None, allocation_event=None, debug_event=s.DebugEvent(None, 2**64 - 1, 0, -1, None, output)))
        clock += 300
        events.append(profile("Method::execute", begin, clock - begin, chain=-1, instruction=0))
        blocks.append(s.RunData("Execute", -1, None, events))
        clock += 10_000
    return _serialize_size_prefixed(s.ETDumpFlatCC(version=0, run_data=blocks))


def _serialize_size_prefixed(etdump: Any) -> bytes:
    """``serialize_to_etdump_flatcc`` with flatc's ``--size-prefixed``: the framing the runtime
    writes (the public function writes a plain flatbuffer, which the Inspector cannot open)."""
    from executorch.devtools.etdump import serialize as ser
    from executorch.exir._serialize._flatbuffer import _run_flatc

    with tempfile.TemporaryDirectory() as d:
        ser._write_schema(d, ser.ETDUMP_FLATCC_SCHEMA_NAME)
        ser._write_schema(d, ser.SCALAR_TYPE_SCHEMA_NAME)
        schema = os.path.join(d, f"{ser.ETDUMP_FLATCC_SCHEMA_NAME}.fbs")
        data = os.path.join(d, f"{ser.ETDUMP_FLATCC_SCHEMA_NAME}.json")
        Path(data).write_text(ser._serialize_from_etdump_to_json(etdump))
        _run_flatc(["--binary", "--size-prefixed", "-o", d, schema, data])
        return Path(d, f"{ser.ETDUMP_FLATCC_SCHEMA_NAME}.etdp").read_bytes()


def make_fixture(fixture: EtdumpFixture, data_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Write ``<name>.etdp`` and ``<name>.expected.json`` of one fixture into ``out_dir``."""
    from edgeinspect.formats import read

    out_dir.mkdir(parents=True, exist_ok=True)
    etdp = out_dir / f"{fixture.name}.etdp"
    with read(data_dir / fixture.pte) as program:
        if fixture.synthetic:
            etdp.write_bytes(_synthetic_etdump(program, fixture))
        else:
            run_profile(program, fixture.method, etdp, runs=fixture.runs, seed=fixture.seed, debug_buffer_size=fixture.debug_buffer_size)
    data = etdp.read_bytes()
    expected = {
        "name": fixture.name,
        "pte": fixture.pte,
        "method": fixture.method,
        "runs": fixture.runs,
        "seed": fixture.seed,
        "synthetic": fixture.synthetic,
        "description": fixture.description,
        "generated_by": "python -m edgeinspect.export.profile --fixtures tests/data",
        "file_bytes": len(data),
        "etdump": summarize_etdump(data),
        "inspector": None if fixture.allocations else inspector_figures(etdp),
    }
    (out_dir / f"{fixture.name}.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    return expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgeinspect.export.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", metavar="DIR", required=True, help="the zoo's directory (tests/data); writes DIR/etdump/")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=[f.name for f in ETDUMP_FIXTURES], help="only these fixtures")
    args = parser.parse_args(argv)
    data_dir = Path(args.fixtures)
    for fixture in ETDUMP_FIXTURES:
        if args.only and fixture.name not in args.only:
            continue
        expected = make_fixture(fixture, data_dir, data_dir / "etdump")
        events = sum(len(b["events"]) for b in expected["etdump"]["run_data"])
        print(f"{fixture.name}: {expected['file_bytes']} B, {len(expected['etdump']['run_data'])} blocks, {events} events", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
