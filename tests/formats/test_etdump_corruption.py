"""The corruption contract for .etdp: every truncation and seeded single-byte mutations of every
ETDump fixture either read (every event of every kind, the join to its program, the report) or
raise FormatError; the join alone may also say the file does not belong to the method
(UsageError). Nothing else escapes, nothing hangs."""

from __future__ import annotations

import random
import time

import pytest
from conftest import DATA
from etdump_util import etdump_fixtures, expected

import edgeinspect
from edgeinspect.analysis import profile_method
from edgeinspect.analysis.evidence import Evidence
from edgeinspect.report.render import render_inspect

FIXTURES = etdump_fixtures()
IDS = [p.stem for p in FIXTURES]
MUTATIONS = 1500


def _exercise(data: bytes, name: str, program: edgeinspect.Program) -> float:
    start = time.perf_counter()
    try:
        dump = edgeinspect.load_etdump(data, name=name)
        for block in dump.run_blocks:
            block.profile_events()
            block.allocation_events()
            block.debug_events()
            block.event_counts()
        try:
            profile = profile_method(program.methods[0], dump)
        except edgeinspect.UsageError as err:
            assert "does not belong" in str(err) or "chains" in str(err), str(err)
        else:
            evidence = Evidence(program, profiles={program.methods[0].name: profile})
            render_inspect(evidence, "json")
            render_inspect(evidence, "text")
    except edgeinspect.FormatError as err:
        assert err.path == name and err.offset is not None and err.offset >= 0, str(err)
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def programs():
    loaded = {p.stem: edgeinspect.load(DATA / expected(p)["pte"]) for p in FIXTURES}
    yield loaded
    for program in loaded.values():
        program.close()


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_every_truncation(path, programs):
    data = path.read_bytes()
    worst = max(_exercise(data[:n], path.name, programs[path.stem]) for n in range(len(data)))
    assert worst < 30.0  # a hang guard, not a speed target (speed: benchmarks/)


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_every_truncation_of_the_plain_flatbuffer(path, programs):
    data = path.read_bytes()[4:]  # the same buffer without its size prefix
    for n in range(0, len(data), 3):
        _exercise(data[:n], path.name, programs[path.stem])


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_single_byte_mutations(path, programs):
    data = bytearray(path.read_bytes())
    rng = random.Random(f"{path.name}-etdump-mutations")
    worst = 0.0
    for _ in range(MUTATIONS):
        pos = rng.randrange(len(data))
        old = data[pos]
        data[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, old ^ (1 << rng.randrange(8)), rng.randrange(256)))
        worst = max(worst, _exercise(bytes(data), path.name, programs[path.stem]))
        data[pos] = old
    assert worst < 30.0  # a hang guard, not a speed target (speed: benchmarks/)
