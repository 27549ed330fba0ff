"""ETDumps built by hand with the flatbuffers builder (slot numbers from etdump_schema_flatcc.fbs),
for what real runs never write: impossible tick spans, and hostile files.

- :func:`etdump`: blocks of profile events given as tuples.
- :func:`aliasing_metadata_etdump`: ``n`` events that all reference ONE profile event whose
  ``delegate_debug_metadata`` holds ``m`` bytes: about ``4n + m`` bytes of file that decode to
  ``n * m`` bytes unless the reader bounds the work.
- :func:`huge_events_etdump`: a block whose events vector declares 0xFFFFFFF0 entries.
- :func:`aliasing_blocks_etdump`: ``n`` run blocks that all reference ONE block of ``m`` events:
  ``n * m`` events to decode from about ``4(n + m)`` bytes unless the reader bounds them.
"""

from __future__ import annotations

import struct

import flatbuffers

# Slots (field ids) in schema order.
_ETDUMP_VERSION, _ETDUMP_RUN_DATA = 0, 1
_RUN_NAME, _RUN_BUNDLED, _RUN_ALLOCATORS, _RUN_EVENTS = 0, 1, 2, 3
_EVENT_PROFILE = 0
_PE_NAME, _PE_CHAIN, _PE_INSTRUCTION, _PE_DD_INT, _PE_DD_STR, _PE_META, _PE_START, _PE_END = range(8)

#: Where the last events vector built starts, counted from the end of the buffer.
_LAST_EVENTS_VECTOR: list[int] = [0]

#: (name, chain_index, instruction_id, start, end)
Event = tuple[str | None, int, int, int, int]


def _profile_event(b: flatbuffers.Builder, event: Event, metadata: int | None = None) -> int:
    name, chain, instruction, start, end = event
    name_at = b.CreateString(name) if name is not None else None
    b.StartObject(8)
    if name_at is not None:
        b.PrependUOffsetTRelativeSlot(_PE_NAME, name_at, 0)
    b.PrependInt32Slot(_PE_CHAIN, chain, 0)
    b.PrependInt32Slot(_PE_INSTRUCTION, instruction, -1)
    if metadata is not None:
        b.PrependUOffsetTRelativeSlot(_PE_META, metadata, 0)
    b.PrependUint64Slot(_PE_START, start, 0)
    b.PrependUint64Slot(_PE_END, end, 0)
    profile = b.EndObject()
    b.StartObject(3)
    b.PrependUOffsetTRelativeSlot(_EVENT_PROFILE, profile, 0)
    return b.EndObject()


def _finish(b: flatbuffers.Builder, blocks: list[tuple[str, list[int]]], size_prefixed: bool) -> bytes:
    runs = []
    for name, events in blocks:
        name_at = b.CreateString(name)
        b.StartVector(4, len(events), 4)
        for e in reversed(events):
            b.PrependUOffsetTRelative(e)
        vec = b.EndVector()
        _LAST_EVENTS_VECTOR[:] = [vec]
        b.StartObject(4)
        b.PrependUOffsetTRelativeSlot(_RUN_NAME, name_at, 0)
        b.PrependInt32Slot(_RUN_BUNDLED, -1, -1)
        b.PrependUOffsetTRelativeSlot(_RUN_EVENTS, vec, 0)
        runs.append(b.EndObject())
    b.StartVector(4, len(runs), 4)
    for r in reversed(runs):
        b.PrependUOffsetTRelative(r)
    run_data = b.EndVector()
    b.StartObject(2)
    b.PrependUint32Slot(_ETDUMP_VERSION, 0, 0)
    b.PrependUOffsetTRelativeSlot(_ETDUMP_RUN_DATA, run_data, 0)
    root = b.EndObject()
    if size_prefixed:
        b.FinishSizePrefixed(root, file_identifier=b"ED00")
    else:
        b.Finish(root, file_identifier=b"ED00")
    return bytes(b.Output())


def etdump(blocks: list[tuple[str, list[Event]]], *, size_prefixed: bool = True) -> bytes:
    """An ETDump with the given blocks of profile events."""
    b = flatbuffers.Builder(1024)
    built = [(name, [_profile_event(b, e) for e in events]) for name, events in blocks]
    return _finish(b, built, size_prefixed)


def aliasing_metadata_etdump(references: int = 100_000, metadata_bytes: int = 100_000) -> bytes:
    """``references`` events that all alias one profile event carrying ``metadata_bytes`` bytes."""
    b = flatbuffers.Builder(4 * references + metadata_bytes + 1024)
    meta = b.CreateByteVector(b"\xab" * metadata_bytes)
    event = _profile_event(b, ("DELEGATE_CALL", 0, 0, 10, 20), meta)
    return _finish(b, [("Execute", [event] * references)], True)


def huge_events_etdump(declared: int = 0xFFFFFFF0) -> bytes:
    """A valid-looking ETDump whose one block declares ``declared`` events."""
    b = flatbuffers.Builder(1024)
    event = _profile_event(b, ("OPERATOR_CALL", 0, 0, 1, 2))
    data = bytearray(_finish(b, [("Execute", [event])], True))
    pos = len(data) - _LAST_EVENTS_VECTOR[0]  # builder offsets count from the end of the buffer
    assert struct.unpack_from("<I", data, pos)[0] == 1
    struct.pack_into("<I", data, pos, declared)
    return bytes(data)


def aliasing_blocks_etdump(references: int = 20_000, events: int = 20_000) -> bytes:
    """``references`` run blocks that all alias one block of ``events`` events (one shared table)."""
    b = flatbuffers.Builder(4 * (references + events) + 1024)
    event = _profile_event(b, ("OPERATOR_CALL", 0, 0, 10, 20))
    name = b.CreateString("Execute")
    b.StartVector(4, events, 4)
    for _ in range(events):
        b.PrependUOffsetTRelative(event)
    vec = b.EndVector()
    b.StartObject(4)
    b.PrependUOffsetTRelativeSlot(_RUN_NAME, name, 0)
    b.PrependUOffsetTRelativeSlot(_RUN_EVENTS, vec, 0)
    run = b.EndObject()
    b.StartVector(4, references, 4)
    for _ in range(references):
        b.PrependUOffsetTRelative(run)
    run_data = b.EndVector()
    b.StartObject(2)
    b.PrependUOffsetTRelativeSlot(_ETDUMP_RUN_DATA, run_data, 0)
    root = b.EndObject()
    b.FinishSizePrefixed(root, file_identifier=b"ED00")
    return bytes(b.Output())
