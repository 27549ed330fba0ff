"""The corruption contract for .tosa: every truncation and seeded single-byte mutations of real
dumps either parse (and build their graph and report) or raise FormatError; nothing else escapes."""

from __future__ import annotations

import random
import time

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.report.tosa import tosa_dict

SMALLEST = min(DATA.glob("*.tosa.d/*.tosa"), key=lambda p: p.stat().st_size)
MEDIUM = sorted(DATA.glob("u55_gather_fixed.tosa.d/*.tosa"))[:1] or [SMALLEST]
MUTATIONS = 2000


def _exercise(data: bytes, name: str) -> float:
    start = time.perf_counter()
    try:
        g = edgeinspect.load(data, name=name)
        g.to_networkx()
        tosa_dict(g)
        for _, b in g.blocks:
            for t in b.tensors[:4]:
                try:
                    g.constant_data(t)
                except edgeinspect.FormatError:
                    pass
    except edgeinspect.FormatError as err:
        assert err.path == name and err.offset is not None and err.offset >= 0, str(err)
    return time.perf_counter() - start


def test_every_truncation():
    data = SMALLEST.read_bytes()
    worst = max(_exercise(data[:n], SMALLEST.name) for n in range(len(data)))
    assert worst < 1.0


@pytest.mark.parametrize("path", [SMALLEST, MEDIUM[0]], ids=["smallest", "medium"])
def test_single_byte_mutations(path):
    data = bytearray(path.read_bytes())
    rng = random.Random(f"{path.name}-tosa-mutations")
    worst = 0.0
    for _ in range(MUTATIONS if path is SMALLEST else MUTATIONS // 2):
        pos = rng.randrange(len(data))
        old = data[pos]
        data[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, old ^ (1 << rng.randrange(8)), rng.randrange(256)))
        worst = max(worst, _exercise(bytes(data), path.name))
        data[pos] = old
    assert worst < 1.0


def test_sampled_truncations_of_a_larger_file():
    data = MEDIUM[0].read_bytes()
    for n in range(0, len(data), 5):
        _exercise(data[:n], MEDIUM[0].name)
