"""Hostile .pte files built by hand with the flatbuffers builder (slot numbers from program.fbs).

- :func:`huge_vector_pte`: a method whose ``values`` vector declares 0xFFFFFFF0 entries
  in a file of a few hundred bytes (a reader that trusts the length allocates ~64 GB).
- :func:`aliasing_pte`: ``values`` holds ``n`` references that all point at ONE EValue
  whose tensor has ``m`` sizes: about ``4(n + m)`` bytes of file that decode to
  ``n * m`` integers (10^10 for the defaults) unless the reader bounds the work.
"""

from __future__ import annotations

import struct

import flatbuffers

# Slots (field ids) of the tables used, in schema order.
_PROGRAM_VERSION, _PROGRAM_PLANS = 0, 1
_PLAN_NAME, _PLAN_VALUES = 0, 2
_EVALUE_TYPE, _EVALUE_VAL = 0, 1
_TENSOR_SCALAR_TYPE, _TENSOR_SIZES = 0, 2
_KIND_TENSOR = 5


def _tensor_value(b: flatbuffers.Builder, sizes_vec: int) -> int:
    b.StartObject(10)
    b.PrependInt8Slot(_TENSOR_SCALAR_TYPE, 6, 0)  # float32
    b.PrependUOffsetTRelativeSlot(_TENSOR_SIZES, sizes_vec, 0)
    tensor = b.EndObject()
    b.StartObject(2)
    b.PrependUint8Slot(_EVALUE_TYPE, _KIND_TENSOR, 0)
    b.PrependUOffsetTRelativeSlot(_EVALUE_VAL, tensor, 0)
    return b.EndObject()


def _program(b: flatbuffers.Builder, values_vec: int) -> bytes:
    name = b.CreateString("forward")
    b.StartObject(9)
    b.PrependUOffsetTRelativeSlot(_PLAN_NAME, name, 0)
    b.PrependUOffsetTRelativeSlot(_PLAN_VALUES, values_vec, 0)
    plan = b.EndObject()
    b.StartVector(4, 1, 4)
    b.PrependUOffsetTRelative(plan)
    plans = b.EndVector()
    b.StartObject(9)
    b.PrependUint32Slot(_PROGRAM_VERSION, 0, 0)
    b.PrependUOffsetTRelativeSlot(_PROGRAM_PLANS, plans, 0)
    root = b.EndObject()
    b.Finish(root, file_identifier=b"ET12")
    return bytes(b.Output())


def huge_vector_pte(declared: int = 0xFFFFFFF0) -> bytes:
    """A valid-looking program whose values vector claims ``declared`` entries."""
    b = flatbuffers.Builder(256)
    b.StartVector(4, 1, 4)
    b.PrependInt32(1)
    sizes = b.EndVector()
    value = _tensor_value(b, sizes)
    b.StartVector(4, 1, 4)
    b.PrependUOffsetTRelative(value)
    values = b.EndVector()
    values_from_end = values  # builder offsets count from the end of the buffer
    data = bytearray(_program(b, values))
    pos = len(data) - values_from_end
    assert struct.unpack_from("<I", data, pos)[0] == 1
    struct.pack_into("<I", data, pos, declared)
    return bytes(data)


def aliasing_pte(references: int = 100_000, sizes: int = 100_000) -> bytes:
    """``references`` values that all alias one tensor with ``sizes`` dimensions."""
    b = flatbuffers.Builder(4 * (references + sizes) + 1024)
    b.StartVector(4, sizes, 4)
    for _ in range(sizes):
        b.PrependInt32(1)
    sizes_vec = b.EndVector()
    value = _tensor_value(b, sizes_vec)
    b.StartVector(4, references, 4)
    for _ in range(references):
        b.PrependUOffsetTRelative(value)
    values = b.EndVector()
    return _program(b, values)
