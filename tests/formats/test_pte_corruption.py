"""The corruption contract: truncated or mutated fixtures parse or raise FormatError, fast.

Every truncation of every fixture, and a few thousand seeded single-byte mutations each,
must either load (and build its graph and metrics) or raise ``edgeinspect.FormatError``
that names the file, an offset and a field; nothing else may escape, and no case may take
a second.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from conftest import pte_fixtures

import edgeinspect
from edgeinspect.analysis import method_metrics

FIXTURES = pte_fixtures()
IDS = [p.stem for p in FIXTURES]
MUTATIONS = 2000


def _exercise(data: bytes, name: str) -> float:
    """Load, graph and measure; return the seconds it took. Only FormatError may escape."""
    start = time.perf_counter()
    try:
        program = edgeinspect.load(data, name=name)
        for m in program.methods:
            method_metrics(m)
            m.to_networkx()
            for d in m.delegates:
                d.payload()
    except edgeinspect.FormatError as err:
        assert err.path == name
        assert err.offset is not None and err.offset >= 0
        assert err.field, str(err)
        assert str(err).startswith(f"{name}: offset 0x")
    return time.perf_counter() - start


@pytest.mark.parametrize("pte", FIXTURES, ids=IDS)
def test_every_truncation(pte: Path):
    data = pte.read_bytes()
    worst = 0.0
    for n in range(len(data)):
        worst = max(worst, _exercise(data[:n], pte.name))
    assert worst < 1.0


@pytest.mark.parametrize("pte", FIXTURES, ids=IDS)
def test_single_byte_mutations(pte: Path):
    data = bytearray(pte.read_bytes())
    rng = random.Random(f"{pte.name}-mutations")
    worst = 0.0
    for _ in range(MUTATIONS):
        pos = rng.randrange(len(data))
        old = data[pos]
        data[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, old ^ (1 << rng.randrange(8)), rng.randrange(256)))
        worst = max(worst, _exercise(bytes(data), pte.name))
        data[pos] = old
    assert worst < 1.0


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
