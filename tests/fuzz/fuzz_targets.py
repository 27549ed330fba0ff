"""Fuzz targets over every reader and payload decoder, shared by tests/fuzz and benchmarks/fuzz_long.py.

A target takes bytes and must either succeed or raise :class:`edgeinspect.FormatError`;
anything else (IndexError, struct.error, RecursionError, MemoryError, a hang) is a bug.
Each target exercises more than the parse: the figures the lint computes, the graph,
the report, so a hostile-but-parseable file cannot crash the layers above either.

Adding a payload decoder is one line in :data:`DECODERS`: (target name, module,
function, backend ids whose payloads seed it). The .pte target also holds the reader's fast
path to its checked accessors: every input must read to the same program, or fail the same way.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import edgeinspect
from edgeinspect.errors import FormatError
from edgeinspect.formats import detect_format
from edgeinspect.formats.payloads import decode_delegate
from edgeinspect.report.tosa import tosa_dict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for ei_testutil (benchmarks/fuzz_long.py too)
from ei_testutil import assert_fast_path_agrees  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"

#: (target name, module, function taking the payload bytes, backend ids that seed it).
DECODERS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("xnnpack", "edgeinspect.formats.xnnpack", "decode_xnnpack", ("XnnpackBackend",)),
    ("ethosu", "edgeinspect.formats.ethosu", "decode_ethosu", ("EthosUBackend",)),
    ("tosa-payload", "edgeinspect.formats.tosa", "parse_tosa", ("TOSABackend",)),
]


@dataclass(frozen=True)
class Target:
    """One fuzz target: a name, seed inputs, and the function under test."""

    name: str
    seeds: tuple[bytes, ...]
    run: Callable[[bytes], object]


def _exercise_pte(data: bytes) -> None:
    from edgeinspect.analysis.figures import method_figures
    from edgeinspect.lint.config import Settings
    from edgeinspect.lint.rules import check_method, check_program

    if detect_format(data) == "pte":
        assert_fast_path_agrees(data, "fuzz.pte")
    program = edgeinspect.load(data, name="fuzz.pte")
    settings = Settings(max_transitions=0, min_coverage=1.0, max_boundary_bytes=(("*", 0),))
    try:
        check_program(program, "fuzz.pte")
        for method in program.methods:
            check_method(method, method_figures(method), settings, "fuzz.pte")
            method.to_networkx()
        _decode_payloads(program)
    finally:
        program.close()


def _decode_payloads(program: edgeinspect.Program) -> None:
    """Run the generic payload decoder over every delegate."""
    for d in program.delegates:
        with contextlib.suppress(FormatError):
            decode_delegate(d)


def _exercise_tosa(data: bytes) -> None:
    graph = edgeinspect.load(data, name="fuzz.tosa")
    graph.to_networkx()
    tosa_dict(graph)


def _exercise_etdump(data: bytes) -> None:
    """Read every event of every kind, then join the file to each program an ETDump fixture
    profiles and render the result: the join may say the file does not belong (UsageError)."""
    from edgeinspect.analysis import profile_method
    from edgeinspect.report.render import render_inspect

    dump = edgeinspect.load_etdump(data, name="fuzz.etdp")
    for block in dump.run_blocks:
        block.profile_events()
        block.allocation_events()
        block.debug_events()
        block.event_counts()
    for program in _etdump_programs():
        try:
            profile = profile_method(program.methods[0], dump)
        except edgeinspect.UsageError as err:
            if "does not belong" not in str(err):
                raise
            continue
        render_inspect(program, "text", profiles={program.methods[0].name: profile})


_PROGRAMS: list[object] = []


def _etdump_programs() -> list:
    """The programs the ETDump fixtures profile (read once)."""
    if not _PROGRAMS:
        names = sorted({json.loads(p.read_text())["pte"] for p in (DATA / "etdump").glob("*.expected.json")})
        _PROGRAMS.extend(edgeinspect.load((DATA / n).read_bytes(), name=n) for n in names)
    return _PROGRAMS


def _files(pattern: str, limit: int = 6) -> list[Path]:
    """The smallest few fixtures matching ``pattern`` (small seeds mutate into more paths per second)."""
    return sorted(DATA.glob(pattern), key=lambda p: (p.stat().st_size, p.name))[:limit]


def _payload_seeds(backends: tuple[str, ...], limit: int = 6) -> tuple[bytes, ...]:
    seeds: dict[bytes, None] = {}
    for path in sorted(DATA.glob("*.pte"), key=lambda p: p.stat().st_size):
        with edgeinspect.load(path) as program:
            for d in program.delegates:
                if d.backend_id in backends and len(seeds) < limit:
                    seeds[d.payload()] = None
    return tuple(seeds)


def targets() -> list[Target]:
    """Every target: the two file readers and each payload decoder of :data:`DECODERS`."""
    out = [
        Target("pte", tuple(p.read_bytes() for p in _files("*.pte")), _exercise_pte),
        Target("tosa", tuple(p.read_bytes() for p in _files("*.tosa.d/*.tosa")), _exercise_tosa),
        Target("etdump", tuple(p.read_bytes() for p in _files("etdump/*.etdp")), _exercise_etdump),
    ]
    for name, module, function, backends in DECODERS:
        out.append(Target(name, _payload_seeds(backends), getattr(importlib.import_module(module), function)))
    return out


INTERESTING_U32 = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFF)


def mutate(seed: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    """Apply mutation ops ``(kind, position, value)`` to a seed; positions wrap, so any ints work.

    Kinds: 0 set a byte, 1 overwrite an aligned u32 with an interesting value, 2 truncate,
    3 duplicate a slice (aliasing-ish), 4 flip a bit, 5 delete a byte.
    """
    buf = bytearray(seed)
    for kind, pos, value in ops:
        if not buf:
            break
        pos %= len(buf)
        k = kind % 6
        if k == 0:
            buf[pos] = value & 0xFF
        elif k == 1:
            p = pos & ~3
            if p + 4 <= len(buf):
                buf[p : p + 4] = INTERESTING_U32[value % len(INTERESTING_U32)].to_bytes(4, "little")
        elif k == 2:
            del buf[pos:]
        elif k == 3:
            n = 1 + value % 64
            buf[pos:pos] = buf[pos : pos + n]
        elif k == 4:
            buf[pos] ^= 1 << (value % 8)
        else:
            del buf[pos]
    return bytes(buf)


def check(target: Target, data: bytes) -> None:
    """Run one input; re-raise anything but FormatError (with the input's size in the message)."""
    try:
        target.run(data)
    except FormatError as err:
        assert err.offset is None or err.offset >= 0, f"negative offset in {err}"
