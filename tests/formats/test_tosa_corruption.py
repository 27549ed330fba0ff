"""The corruption contract for .tosa: every truncation and seeded single-byte mutations of real
dumps either parse (and build their graph and report) or raise FormatError; nothing else escapes.

A reader that accepted everything would pass that, so the mutation tests also hold the reader
to what it reads: the dump itself reads as tosa-tools reads it, a mutation inside constant
data (located, never read) reads the same graph, and mutations elsewhere are rejected often
enough."""

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
    return _read(data, name)[0]


def _read(data: bytes, name: str) -> tuple[float, dict | None]:
    """(seconds, the inspect document of the graph, or None when it did not read)."""
    start = time.perf_counter()
    doc = None
    try:
        g = edgeinspect.load(data, name=name)
        g.to_networkx()
        doc = tosa_dict(g)
        for _, b in g.blocks:
            for t in b.tensors[:4]:
                try:
                    g.constant_data(t)
                except edgeinspect.FormatError:
                    pass
    except edgeinspect.FormatError as err:
        assert err.path == name and err.offset is not None and err.offset >= 0, str(err)
        doc = None
    return time.perf_counter() - start, doc


def _tools_operators(data: bytes) -> list[str]:
    """Operator names of every block, as tosa-tools reads them."""
    graph = pytest.importorskip("tosa.TosaGraph").TosaGraph.GetRootAs(bytearray(data), 0)
    names = {v: k for k, v in vars(pytest.importorskip("tosa.Op").Op).items() if not k.startswith("_")}
    return [
        names[graph.Regions(r).Blocks(b).Operators(o).Op()]
        for r in range(graph.RegionsLength())
        for b in range(graph.Regions(r).BlocksLength())
        for o in range(graph.Regions(r).Blocks(b).OperatorsLength())
    ]


def test_every_truncation():
    data = SMALLEST.read_bytes()
    worst = max(_exercise(data[:n], SMALLEST.name) for n in range(len(data)))
    assert worst < 30.0  # a hang guard, not a speed target (speed: benchmarks/)


@pytest.mark.parametrize("path", [SMALLEST, MEDIUM[0]], ids=["smallest", "medium"])
def test_single_byte_mutations(path):
    data = bytearray(path.read_bytes())
    graph = edgeinspect.load(bytes(data), name=path.name)
    assert [op.op for op in graph.operators] == _tools_operators(bytes(data))
    original = tosa_dict(graph)
    constants = [(t.data_offset, t.data_offset + t.data_bytes) for _, b in graph.blocks for t in b.tensors if t.data_bytes]
    assert constants
    rng = random.Random(f"{path.name}-tosa-mutations")
    worst = 0.0
    rejected = untouched = 0
    runs = MUTATIONS if path is SMALLEST else MUTATIONS // 2
    for _ in range(runs):
        pos = rng.randrange(len(data))
        old = data[pos]
        data[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, old ^ (1 << rng.randrange(8)), rng.randrange(256)))
        seconds, doc = _read(bytes(data), path.name)
        worst = max(worst, seconds)
        rejected += doc is None
        if any(a <= pos < b for a, b in constants):  # constant data is located, never read
            untouched += 1
            assert doc == original, f"a byte at {pos} inside constant data"
        data[pos] = old
    assert worst < 30.0  # a hang guard, not a speed target (speed: benchmarks/)
    assert untouched > 0
    # A reader that accepted anything would reject nothing.
    assert rejected >= runs // 20, f"only {rejected} of {runs} mutations were rejected"


def test_sampled_truncations_of_a_larger_file():
    data = MEDIUM[0].read_bytes()
    for n in range(0, len(data), 5):
        _exercise(data[:n], MEDIUM[0].name)
