"""Ethos-U (Vela) payloads of the zoo: block layout, and inputs/outputs against the .pte's own tensors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.formats.ethosu import decode_ethosu, depad
from edgeinspect.formats.payloads import decode_delegate

PTES = [p for p in sorted(DATA.glob("*.pte")) if any(d.backend_id == "EthosUBackend" for d in edgeinspect.load(p).delegates)]
_PAD = 6


def _pad(shape):
    return (1,) * (_PAD - len(shape)) + tuple(shape)


def test_zoo_has_ethos_u():
    assert len(PTES) >= 8


@pytest.mark.parametrize("pte", PTES, ids=[p.stem for p in PTES])
def test_stream_layout_and_io(pte: Path):
    program = edgeinspect.load(pte)
    for m in program.methods:
        for ins in m.instructions:
            if ins.kind != "delegate":
                continue
            d = m.delegates[ins.target]
            payload = d.payload()
            s = decode_ethosu(payload, path=str(pte), base=d.payload_offset)
            names = [b.name for b in s.blocks]
            assert names == ["vela_bin_stream", "cmd_data", "weight_data", "scratch_size", "inputs", "outputs", "vela_end_stream"]
            # blocks tile the payload exactly: 32-byte headers + data padded to 16
            assert sum(32 + b.length + (-b.length % 16) for b in s.blocks) == len(payload)
            assert s.command_stream_bytes > 0 and s.command_stream_bytes % 4 == 0
            assert s.weight_bytes is not None and s.scratch_bytes is not None
            # The call passes the delegate's inputs (maybe extra unused ones) then its outputs.
            args = [m.tensor(v) for v in m.tensor_args(ins)]
            outs = args[len(args) - len(s.outputs) :]
            # Vela can reshape (a [2, 16] input is [1, 1, 2, 1, 1, 16] in u55_two_methods):
            # element counts and sizes always agree, shapes padded to 6-D almost always.
            assert [math.prod(t.shape6) for t in s.outputs] == [a.numel for a in outs]
            assert [t.element_size for t in s.outputs] == [a.element_size for a in outs]
            remaining = iter(args[: len(args) - len(s.outputs)])
            for t in s.inputs:  # an ordered subsequence of the remaining arguments
                assert any(a.numel == math.prod(t.shape6) and a.element_size == t.element_size for a in remaining)
            for t in s.inputs + s.outputs:
                assert t.shape == depad(t.shape6) and t.nbytes == t.element_size * math.prod(t.shape6)
            decoded = decode_delegate(d)
            assert decoded.kind == "ethos-u" and decoded.ops is None and decoded.num_ops is None
            summary = decoded.summary()
            assert summary["ethos_u"]["command_stream_bytes"] == s.command_stream_bytes
            assert summary["ops"] is None


def test_most_shapes_are_exact():
    """Vela keeps the .pte's output shapes (padded to 6-D) almost always, over the whole zoo
    (counted here, not left over from other tests: it runs alone as well)."""
    exact = total = 0
    for pte in PTES:
        program = edgeinspect.load(pte)
        for m in program.methods:
            for ins in m.instructions:
                if ins.kind != "delegate":
                    continue
                d = m.delegates[ins.target]
                s = decode_ethosu(d.payload(), path=str(pte), base=d.payload_offset)
                args = [m.tensor(v) for v in m.tensor_args(ins)]
                outs = args[len(args) - len(s.outputs) :]
                exact += sum(t.shape6 == _pad(a.sizes) for t, a in zip(s.outputs, outs))
                total += len(outs)
    assert total >= len(PTES)
    assert exact >= 0.9 * total


def test_not_vela_is_a_format_error():
    with pytest.raises(edgeinspect.FormatError, match="vela_bin_stream"):
        decode_ethosu(b"x" * 64, path="m.pte", base=100)


def test_opaque_backend_summary():
    from edgeinspect.formats.payloads import decode_payload

    p = decode_payload("CoreMLBackend", b"\x01\x02\x03", compile_specs={"k": "v"})
    assert p.kind == "opaque" and p.ops is None and p.summary()["payload_bytes"] == 3 and p.summary()["compile_specs"] == {"k": "v"}
