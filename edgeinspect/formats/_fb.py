"""A small, bounds-checked flatbuffer reader shared by every format of edgeinspect.

Flatbuffers are read in place: nothing is copied until a field is asked for, and
every offset, vtable and vector length is checked against the buffer before it is
followed, so a corrupt or hostile file raises :class:`~edgeinspect.errors.FormatError`
(path, offset, field) and never a ``struct.error``, an ``IndexError`` or a huge
allocation. Offsets in flatbuffers only point forward (``uoffset`` is unsigned), so
no chain of references can loop; the one quadratic risk, many vectors aliasing one
big vector, is bounded by an element budget proportional to the buffer size.

The layout facts used here are those of the flatbuffers binary format: a table
starts with an ``int32`` offset back to its vtable; a vtable is ``uint16`` vtable
length, ``uint16`` table length, then one ``uint16`` field offset per slot (0 =
absent); references are ``uint32`` offsets relative to where they are stored;
vectors and strings are a ``uint32`` length followed by the elements.
"""

from __future__ import annotations

import struct
from typing import Any

from edgeinspect.errors import FormatError

__all__ = ["Buffer", "Table"]

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_HH = struct.Struct("<HH")

#: Element budget: a file may decode at most this many vector elements per byte
#: (plus a constant), which honest files never approach and aliasing attacks hit.
_ELEMENTS_PER_BYTE = 8
_ELEMENTS_FLOOR = 1 << 20


class Buffer:
    """Bounds-checked access to flatbuffer bytes.

    Parameters
    ----------
    data : bytes, bytearray, memoryview or mmap
        The flatbuffer; it is not copied.
    path : str or None
        File name for error messages.
    base : int
        Offset of ``data`` inside the file, so errors give file offsets.
    """

    __slots__ = ("data", "size", "path", "base", "budget")

    def __init__(self, data: Any, path: str | None = None, base: int = 0) -> None:
        self.data = data
        self.size = len(data)
        self.path = path
        self.base = base
        self.budget = _ELEMENTS_PER_BYTE * self.size + _ELEMENTS_FLOOR

    # -- errors ---------------------------------------------------------------
    def error(self, pos: int, field: str, message: str) -> FormatError:
        """Build a FormatError at buffer position ``pos``."""
        return FormatError(message, path=self.path, offset=self.base + pos, field=field)

    # -- primitives -----------------------------------------------------------
    def unpack(self, st: struct.Struct, pos: int, field: str) -> Any:
        """Unpack one struct at ``pos`` after checking it lies inside the buffer."""
        if pos < 0 or pos + st.size > self.size:
            raise self.error(max(pos, 0), field, f"{st.size}-byte read at {pos + self.base:#x} runs past the end of the data ({self.size + self.base:#x})")
        return st.unpack_from(self.data, pos)[0]

    def root(self, identifier: bytes | None, field: str = "root") -> Table:
        """Return the root table, checking the 4-byte file identifier if given."""
        if self.size < 8:
            raise self.error(0, field, f"{self.size} bytes is too short for a flatbuffer")
        if identifier is not None:
            found = bytes(self.data[4:8])
            if found != identifier:
                raise self.error(4, "file_identifier", f"expected identifier {identifier.decode()!r}, found {found!r}")
        return self.table_at(self.unpack(_U32, 0, field), field)

    def table_at(self, pos: int, field: str) -> Table:
        """Return the table that starts at ``pos``, with its vtable checked."""
        size = self.size
        if pos < 0 or pos + 4 > size:
            raise self.error(max(pos, 0), field, f"table offset {pos + self.base:#x} lies outside the data ({size + self.base:#x} bytes)")
        vt = pos - _I32.unpack_from(self.data, pos)[0]
        if vt < 0 or vt + 4 > size:
            raise self.error(pos, field, f"vtable offset {vt + self.base:#x} lies outside the data")
        vt_len, t_len = _HH.unpack_from(self.data, vt)
        if vt_len < 4 or vt_len & 1 or vt + vt_len > size:
            raise self.error(vt, field, f"vtable length {vt_len} is invalid")
        if t_len < 4 or pos + t_len > size:
            raise self.error(pos, field, f"table length {t_len} runs past the end of the data")
        n = (vt_len - 4) >> 1
        slots = struct.unpack_from(f"<{n}H", self.data, vt + 4) if n else ()
        return Table(self, pos, slots, t_len)

    def vector(self, pos: int, elem_size: int, field: str) -> tuple[int, int]:
        """Check the vector at ``pos``; return (start of elements, count)."""
        size = self.size
        if pos < 0 or pos + 4 > size:
            raise self.error(max(pos, 0), field, f"vector offset {pos + self.base:#x} lies outside the data")
        n = _U32.unpack_from(self.data, pos)[0]
        start = pos + 4
        if start + n * elem_size > size:
            raise self.error(pos, field, f"vector length {n} exceeds the data size ({size} bytes)")
        self.budget -= n
        if self.budget < 0:
            raise self.error(pos, field, "too many elements decoded for the file size (aliased vectors?)")
        return start, n


class Table:
    """One flatbuffer table: slot lookups with bounds checks.

    Slots are numbered in schema order; a union field takes two slots (type, value).
    Accessors return the schema default when a field is absent.
    """

    __slots__ = ("buf", "pos", "slots", "t_len")

    def __init__(self, buf: Buffer, pos: int, slots: tuple[int, ...], t_len: int) -> None:
        self.buf = buf
        self.pos = pos
        self.slots = slots
        self.t_len = t_len

    @property
    def offset(self) -> int:
        """File offset of the table."""
        return self.buf.base + self.pos

    def _field(self, slot: int, size: int, field: str) -> int:
        slots = self.slots
        if slot >= len(slots):
            return -1
        o = slots[slot]
        if not o:
            return -1
        # Writers (flatc among them) record a table length that can stop short of an
        # 8-byte field, so, like the reference verifier, check fields against the buffer.
        p = self.pos + o
        if p + size > self.buf.size:
            raise self.buf.error(p, field, f"field at table offset {o} runs past the end of the data")
        return p

    def has(self, slot: int) -> bool:
        """Whether the field in ``slot`` is present."""
        return slot < len(self.slots) and self.slots[slot] != 0

    def scalar(self, slot: int, st: struct.Struct, default: Any, field: str) -> Any:
        """Read a scalar field."""
        p = self._field(slot, st.size, field)
        if p < 0:
            return default
        return st.unpack_from(self.buf.data, p)[0]

    def ref(self, slot: int, field: str) -> int:
        """Follow the ``uoffset`` stored in ``slot``; -1 if absent."""
        p = self._field(slot, 4, field)
        if p < 0:
            return -1
        target = p + _U32.unpack_from(self.buf.data, p)[0]
        if target >= self.buf.size:
            raise self.buf.error(p, field, f"reference to {target + self.buf.base:#x} points past the end of the data")
        return target

    def table(self, slot: int, field: str) -> Table | None:
        """The sub-table in ``slot``, or None."""
        t = self.ref(slot, field)
        return None if t < 0 else self.buf.table_at(t, field)

    def string(self, slot: int, field: str) -> str | None:
        """The string in ``slot`` (invalid UTF-8 is replaced, not fatal), or None."""
        t = self.ref(slot, field)
        if t < 0:
            return None
        start, n = self.buf.vector(t, 1, field)
        return bytes(self.buf.data[start : start + n]).decode("utf-8", "replace")

    def byte_range(self, slot: int, field: str) -> tuple[int, int] | None:
        """(start, length) of a ``[ubyte]`` vector without copying it, or None."""
        t = self.ref(slot, field)
        if t < 0:
            return None
        return self.buf.vector(t, 1, field)

    def scalars(self, slot: int, st_char: str, size: int, field: str) -> tuple[Any, ...]:
        """A vector of scalars (``st_char`` is a struct code such as ``i`` or ``q``)."""
        t = self.ref(slot, field)
        if t < 0:
            return ()
        start, n = self.buf.vector(t, size, field)
        return struct.unpack_from(f"<{n}{st_char}", self.buf.data, start) if n else ()

    def tables(self, slot: int, field: str) -> list[Table]:
        """A vector of tables."""
        t = self.ref(slot, field)
        if t < 0:
            return []
        start, n = self.buf.vector(t, 4, field)
        if not n:
            return []
        rel = struct.unpack_from(f"<{n}I", self.buf.data, start)
        table_at = self.buf.table_at
        out = []
        for i, r in enumerate(rel):
            p = start + 4 * i
            out.append(table_at(p + r, f"{field}[{i}]"))
        return out

    def table_offsets(self, slot: int, field: str) -> list[int]:
        """Positions of the tables of a vector, unchecked until each is opened with ``Buffer.table_at``."""
        t = self.ref(slot, field)
        if t < 0:
            return []
        start, n = self.buf.vector(t, 4, field)
        if not n:
            return []
        rel = struct.unpack_from(f"<{n}I", self.buf.data, start)
        return [start + 4 * i + r for i, r in enumerate(rel)]

    def strings(self, slot: int, field: str) -> list[str]:
        """A vector of strings."""
        out = []
        buf = self.buf
        for i, p in enumerate(self.table_offsets(slot, field)):
            start, n = buf.vector(p, 1, f"{field}[{i}]")
            out.append(bytes(buf.data[start : start + n]).decode("utf-8", "replace"))
        return out


U8 = _U8
U16 = _U16
I32 = _I32
U32 = _U32
I8 = struct.Struct("<b")
I64 = struct.Struct("<q")
U64 = struct.Struct("<Q")
F32 = struct.Struct("<f")
F64 = struct.Struct("<d")
BOOL = _U8
