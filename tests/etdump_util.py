"""Helpers shared by the ETDump tests: the fixtures, and our reader's view in the oracle's shape
(``edgeinspect.export.profile.summarize_etdump``, which the expected JSON holds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgeinspect.model.etdump import DebugEvent, ETDump

ETDUMP_DATA = Path(__file__).parent / "data" / "etdump"


def etdump_fixtures() -> list[Path]:
    """Every committed .etdp fixture."""
    return sorted(ETDUMP_DATA.glob("*.etdp"))


def expected(etdp: Path) -> dict[str, Any]:
    """The fixture's expected JSON (what ExecuTorch's deserializer and Inspector read)."""
    return json.loads(etdp.with_suffix(".expected.json").read_text())


def _debug(d: DebugEvent) -> dict[str, Any]:
    return {
        "name": d.name,
        "chain_index": d.chain_index,
        "instruction_id": d.instruction_id,
        "delegate_debug_id_int": d.delegate_debug_id_int,
        "delegate_debug_id_str": d.delegate_debug_id_str,
        "value_kind": d.value_kind,
        "output": d.output,
        "value": d.value,
        "tensors": [
            {"scalar_type": t.scalar_type, "sizes": list(t.sizes), "strides": list(t.strides), "offset": t.buffer_offset} for t in d.tensors
        ],
    }


def summarize(etdump: ETDump) -> dict[str, Any]:
    """Our reader's view of an ETDump: per block, its fields and its events of each kind in file
    order, each event in the shape ``summarize_etdump`` gives it."""
    blocks = []
    for block in etdump.run_blocks:
        profile = [
            {
                "name": p.name,
                "chain_index": p.chain_index,
                "instruction_id": p.instruction_id,
                "delegate_debug_id_int": p.delegate_debug_id_int,
                "delegate_debug_id_str": p.delegate_debug_id_str,
                "delegate_debug_metadata": None if p.delegate_debug_metadata is None else p.delegate_debug_metadata.hex(),
                "start_time": p.start,
                "end_time": p.end,
            }
            for p in block.profile_events()
        ]
        allocation = [{"allocator_id": a.allocator_id, "allocation_size": a.allocation_size} for a in block.allocation_events()]
        debug = [_debug(d) for d in block.debug_events()]
        blocks.append(
            {
                "name": block.name,
                "bundled_input_index": block.bundled_input_index,
                "allocators": list(block.allocators),
                "profile": profile,
                "allocation": allocation,
                "debug": debug,
            }
        )
    return {"version": etdump.version, "run_data": blocks}


def assert_same_events(ours: dict[str, Any], reference: dict[str, Any]) -> None:
    """Our summary equals the reference (``summarize_etdump``): every field of every event."""
    assert ours["version"] == reference["version"]
    assert len(ours["run_data"]) == len(reference["run_data"])
    for b, (mine, theirs) in enumerate(zip(ours["run_data"], reference["run_data"])):
        for key in ("name", "bundled_input_index", "allocators"):
            assert mine[key] == theirs[key], (b, key)
        for kind in ("profile", "allocation", "debug"):
            assert mine[kind] == [e[kind] for e in theirs["events"] if kind in e], (b, kind)
