"""The corruption contract: truncated or mutated fixtures parse or raise FormatError, fast.

Every truncation of every fixture, and a few thousand seeded single-byte mutations each,
must either load (and build its graph and metrics) or raise ``edgeinspect.FormatError``
that names the file, an offset and a field; nothing else may escape, and no case may take
a second.

A reader that accepted everything would pass that, so the tests also hold the reader to what
it reads: the fixture itself reads exactly as executorch's deserializer does (its expected
JSON); a truncation either fails or cut only bytes the reader never reads (the padding at
the end) and reads the same program; a mutation inside a delegate payload (bytes the reader
locates but never reads) reads the same program; and enough mutations fail. On every input,
the reader's fast path agrees with its checked accessors (same program, same offsets, or the
same error).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
from conftest import pte_fixtures
from ei_testutil import assert_fast_path_agrees, summarize

import edgeinspect
from edgeinspect.analysis import method_metrics
from edgeinspect.formats import detect_format
from edgeinspect.model import Program

FIXTURES = pte_fixtures()
IDS = [p.stem for p in FIXTURES]
MUTATIONS = 2000


def _content(program: Program) -> str:
    """What the program says (executorch's normalized shape), comparable even with NaN doubles."""
    return json.dumps(summarize(program)["program"], sort_keys=True)


def _read_correctly(pte: Path) -> Program:
    """The fixture read, after checking it is what executorch's deserializer read."""
    expected = json.loads((pte.parent / f"{pte.stem}.expected.json").read_text())["program"]
    program = edgeinspect.load(pte.read_bytes(), name=pte.name)
    assert _content(program) == json.dumps(expected, sort_keys=True)
    return program


def _same(program: Program, original: Program) -> bool:
    """The same program (records compared; through their JSON when a NaN double spoils ``==``)."""
    return program.methods == original.methods or _content(program) == _content(original)


#: A guard against a hang (a loop over a hostile count), not a speed target: speed is
#: measured in benchmarks/; one file takes milliseconds.
HANG_SECONDS = 30.0


def _check_error(err: edgeinspect.FormatError, name: str) -> None:
    assert err.path == name
    assert err.offset is not None and err.offset >= 0
    assert err.field, str(err)
    assert str(err).startswith(f"{name}: offset 0x")


def _exercise(data: bytes, name: str) -> tuple[float, Program | None]:
    """Load, graph and measure; return the seconds it took and the program (None when it did
    not read). Only FormatError may escape; the fast path must agree with the checked accessors."""
    start = time.perf_counter()
    program = None
    try:
        program = edgeinspect.load(data, name=name)
    except edgeinspect.FormatError as err:
        _check_error(err, name)
        read: Program | edgeinspect.FormatError = err
    else:
        read = program
        try:
            for m in program.methods:
                method_metrics(m)
                m.to_networkx()
                for d in m.delegates:
                    d.payload()
        except edgeinspect.FormatError as err:
            _check_error(err, name)
    elapsed = time.perf_counter() - start
    if detect_format(data) == "pte":
        assert_fast_path_agrees(data, name, read)
    return elapsed, program


@pytest.mark.parametrize("pte", FIXTURES, ids=IDS)
def test_every_truncation(pte: Path):
    data = pte.read_bytes()
    original = _read_correctly(pte)
    worst = 0.0
    for n in range(len(data)):
        seconds, program = _exercise(data[:n], pte.name)
        worst = max(worst, seconds)
        if program is not None:  # only unread trailing padding was cut
            assert _same(program, original), f"{n}-byte truncation read as a different program"
    assert worst < HANG_SECONDS


@pytest.mark.parametrize("pte", FIXTURES, ids=IDS)
def test_single_byte_mutations(pte: Path):
    data = bytearray(pte.read_bytes())
    original = _read_correctly(pte)
    payloads = [(d.payload_offset, d.payload_offset + d.payload_size) for d in original.delegates]
    rng = random.Random(f"{pte.name}-mutations")
    worst = 0.0
    failed = unread = 0
    for _ in range(MUTATIONS):
        pos = rng.randrange(len(data))
        old = data[pos]
        data[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, old ^ (1 << rng.randrange(8)), rng.randrange(256)))
        seconds, program = _exercise(bytes(data), pte.name)
        worst = max(worst, seconds)
        failed += program is None
        if any(a <= pos < b for a, b in payloads):  # the reader locates payloads, never reads them
            unread += 1
            assert program is not None and _same(program, original), f"a byte changed at {pos:#x} inside a payload"
        data[pos] = old
    assert worst < HANG_SECONDS
    # A reader that accepted anything would fail no mutation; every fixture has real structure.
    assert failed >= MUTATIONS // 50, f"only {failed} of {MUTATIONS} mutations were rejected"
    assert unread > 0 or not payloads


def test_error_names_the_field():
    pte = FIXTURES[0]
    data = pte.read_bytes()
    # cut inside the program tables: the error points into execution_plan
    program = edgeinspect.load(data, name=pte.name)
    offset = program.methods[0].offset
    with pytest.raises(edgeinspect.FormatError) as info:
        edgeinspect.load(data[: offset + 2], name=pte.name)
    assert info.value.offset is not None
    top = info.value.field.split(".")[0].split("[")[0]
    assert top in {
        "Program",
        "version",
        "execution_plan",
        "constant_buffer",
        "backend_delegate_data",
        "segments",
        "named_data",
        "extended_header",
    }
