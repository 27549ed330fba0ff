"""Corruption contract for payload decoders (XNNPACK here, Ethos-U and TOSABackend too): every
truncation and seeded single-byte mutations of real payloads decode or raise FormatError.

A decoder that accepted everything would pass that, so each case also holds the decoder to
what it reads: the payload itself decodes to what an independent reader sees (executorch's
flatc for XNNPACK, tosa-tools for TOSA, the .pte's own tensors for Vela's inputs and
outputs); a mutation in bytes the decoder locates but never reads (XNNPACK constant data,
Vela weight data, TOSA constant data) decodes to the same summary; and mutations elsewhere
are rejected often enough.
"""

from __future__ import annotations

import json
import math
import random
import struct
import time

import pytest
from conftest import DATA
from ei_testutil import flatc_xnnpack

import edgeinspect
from edgeinspect.formats.payloads import decode_payload
from edgeinspect.model import DecodedPayload, EthosUPayload, TosaPayload, XnnpackPayload

MUTATIONS = 2000


def _delegate(pte: str, backend: str) -> tuple[edgeinspect.Program, edgeinspect.Delegate]:
    program = edgeinspect.load(DATA / pte)
    return program, next(d for d in program.delegates if d.backend_id == backend)


def _payload(pte: str, backend: str) -> tuple[bytes, int]:
    _, d = _delegate(pte, backend)
    return d.payload(), d.payload_offset


CASES = [
    ("xnn_cnn.pte", "XnnpackBackend"),
    ("u55_where.pte", "EthosUBackend"),
    ("tosa_topk.pte", "TOSABackend"),
]


def _exercise(backend: str, data: bytes, base: int) -> tuple[float, DecodedPayload | None]:
    start = time.perf_counter()
    p = None
    try:
        p = decode_payload(backend, data, base=base, path="m.pte")
        p.summary()
        if isinstance(p, (XnnpackPayload, TosaPayload)):
            p.graph.to_networkx()
    except edgeinspect.FormatError as err:
        assert err.path == "m.pte" and err.offset is not None and err.offset >= base, str(err)
        p = None
    return time.perf_counter() - start, p


def _check_read_correctly(pte: str, backend: str, p: DecodedPayload) -> None:
    """The unmutated payload decodes to what an independent reader sees."""
    program, d = _delegate(pte, backend)
    if isinstance(p, XnnpackPayload):
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            oracle = flatc_xnnpack(d.payload(), Path(tmp))
        assert [n.type for n in p.graph.nodes] == [n["xnode_union_type"] for n in oracle["xnodes"]]
        assert list(p.graph.input_ids) == oracle["input_ids"] and list(p.graph.output_ids) == oracle["output_ids"]
    elif isinstance(p, TosaPayload):
        tosa_graph = pytest.importorskip("tosa.TosaGraph").TosaGraph
        op_names = {v: k for k, v in vars(pytest.importorskip("tosa.Op").Op).items() if not k.startswith("_")}
        g = tosa_graph.GetRootAs(bytearray(d.payload()), 0)
        ops = [
            op_names[g.Regions(r).Blocks(b).Operators(o).Op()]
            for r in range(g.RegionsLength())
            for b in range(g.Regions(r).BlocksLength())
            for o in range(g.Regions(r).Blocks(b).OperatorsLength())
        ]
        assert sorted(op for op in ops if op not in ("CONST", "CONST_SHAPE")) == sorted(op for op, n in p.ops.items() for _ in range(n))
    else:
        assert isinstance(p, EthosUPayload)
        assert [b.name for b in p.stream.blocks] == [
            "vela_bin_stream",
            "cmd_data",
            "weight_data",
            "scratch_size",
            "inputs",
            "outputs",
            "vela_end_stream",
        ]
        method = next(m for m in program.methods if d in m.delegates)
        call = next(i for i in method.instructions if i.kind == "delegate" and i.delegate == d.index)
        args = [method.tensor(v) for v in method.tensor_args(call)]
        outs = args[len(args) - len(p.stream.outputs) :]
        assert [math.prod(t.shape6) for t in p.stream.outputs] == [a.numel for a in outs]


def _unread(p: DecodedPayload, data: bytes, base: int, program: edgeinspect.Program) -> list[tuple[int, int]]:
    """Byte ranges of the payload (relative to its start) that the decoder locates but never reads."""
    if isinstance(p, XnnpackPayload):
        # Constant data after the flatbuffer (XH00 header: u16 length, u32 flatbuffer offset and
        # size, u32 constant-data offset, u64 size), and the text of the keys of constants kept
        # in the program's named data store (only their presence counts).
        _, _, _, const_offset, const_size = struct.unpack_from("<HIIIQ", data, 8)
        keys = [(k, k + len(key)) for key, _ in program.named_data if key and (k := data.find(key.encode())) >= 0]
        return keys + ([(const_offset, const_offset + const_size)] if const_size else [])
    if isinstance(p, EthosUPayload):
        weights = p.stream.block("weight_data")
        return [(weights.offset - base, weights.offset - base + weights.length)] if weights and weights.length else []
    assert isinstance(p, TosaPayload)
    return [(t.data_offset - base, t.data_offset - base + t.data_bytes) for _, b in p.graph.blocks for t in b.tensors if t.data_bytes]


@pytest.mark.parametrize("pte,backend", CASES, ids=[c[1] for c in CASES])
def test_every_truncation(pte, backend):
    data, base = _payload(pte, backend)
    assert max(_exercise(backend, data[:n], base)[0] for n in range(len(data))) < 1.0


@pytest.mark.parametrize(
    "pte,backend",
    [pytest.param(*c, marks=pytest.mark.needs_export) if c[1] == "XnnpackBackend" else c for c in CASES],
    ids=[c[1] for c in CASES],
)
def test_unmutated_payload_reads_as_an_independent_reader_reads_it(pte, backend):
    """What the mutations start from is read right (executorch's flatc for XNNPACK, tosa-tools for
    TOSA, the .pte's own tensors for Vela)."""
    data, base = _payload(pte, backend)
    _, original = _exercise(backend, data, base)
    assert original is not None
    _check_read_correctly(pte, backend, original)


@pytest.mark.parametrize("pte,backend", CASES, ids=[c[1] for c in CASES])
def test_single_byte_mutations(pte, backend):
    data, base = _payload(pte, backend)
    _, original = _exercise(backend, data, base)
    assert original is not None
    summary = json.dumps(original.summary(), sort_keys=True)
    unread = _unread(original, data, base, _delegate(pte, backend)[0])
    assert unread, "every case has bytes its decoder must not depend on"
    buf = bytearray(data)
    rng = random.Random(f"{pte}-{backend}-mutations")
    worst = 0.0
    rejected = untouched = 0
    for _ in range(MUTATIONS):
        pos = rng.randrange(len(buf))
        old = buf[pos]
        buf[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, old ^ (1 << rng.randrange(8)), rng.randrange(256)))
        seconds, p = _exercise(backend, bytes(buf), base)
        worst = max(worst, seconds)
        rejected += p is None
        if any(a <= pos < b for a, b in unread):
            untouched += 1
            assert p is not None and json.dumps(p.summary(), sort_keys=True) == summary, f"a byte at {pos} the decoder never reads"
        buf[pos] = old
    assert worst < 30.0  # a hang guard, not a speed target (speed: benchmarks/)
    assert untouched > 0
    # A decoder that accepted anything would reject nothing.
    assert rejected >= MUTATIONS // 100, f"only {rejected} of {MUTATIONS} mutations were rejected"
