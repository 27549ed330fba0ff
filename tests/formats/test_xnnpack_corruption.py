"""Corruption contract for payload decoders (XNNPACK here, Ethos-U and TOSABackend too): every
truncation and seeded single-byte mutations of real payloads decode or raise FormatError."""

from __future__ import annotations

import random
import time

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.formats.payloads import decode_payload
from edgeinspect.model.payload import TosaPayload, XnnpackPayload

MUTATIONS = 2000


def _payload(pte: str, backend: str) -> tuple[bytes, int]:
    program = edgeinspect.load(DATA / pte)
    d = next(d for d in program.delegates if d.backend_id == backend)
    return d.payload(), d.payload_offset


CASES = [
    ("xnn_cnn.pte", "XnnpackBackend"),
    ("u55_where.pte", "EthosUBackend"),
    ("tosa_topk.pte", "TOSABackend"),
]


def _exercise(backend: str, data: bytes, base: int) -> float:
    start = time.perf_counter()
    try:
        p = decode_payload(backend, data, base=base, path="m.pte")
        p.summary()
        if isinstance(p, (XnnpackPayload, TosaPayload)):
            p.graph.to_networkx()
    except edgeinspect.FormatError as err:
        assert err.path == "m.pte" and err.offset is not None and err.offset >= base, str(err)
    return time.perf_counter() - start


@pytest.mark.parametrize("pte,backend", CASES, ids=[c[1] for c in CASES])
def test_every_truncation(pte, backend):
    data, base = _payload(pte, backend)
    assert max(_exercise(backend, data[:n], base) for n in range(len(data))) < 1.0


@pytest.mark.parametrize("pte,backend", CASES, ids=[c[1] for c in CASES])
def test_single_byte_mutations(pte, backend):
    data, base = _payload(pte, backend)
    buf = bytearray(data)
    rng = random.Random(f"{pte}-{backend}-mutations")
    worst = 0.0
    for _ in range(MUTATIONS):
        pos = rng.randrange(len(buf))
        old = buf[pos]
        buf[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, old ^ (1 << rng.randrange(8)), rng.randrange(256)))
        worst = max(worst, _exercise(backend, bytes(buf), base))
        buf[pos] = old
    assert worst < 1.0
