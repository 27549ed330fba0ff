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

import operator
import struct
from typing import Any

from edgeinspect.errors import FormatError

__all__ = ["Buffer", "Fields", "Table"]

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_HH = struct.Struct("<HH")

#: Element budget: a file may decode at most this many vector elements per byte
#: (plus a constant), which honest files never approach and aliasing attacks hit.
_ELEMENTS_PER_BYTE = 8
_ELEMENTS_FLOOR = 1 << 20
#: Upper bound on the number of distinct :class:`Fields` keys (they share one cache).
_MAX_FIELD_SETS = 64


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

    __slots__ = ("data", "size", "path", "base", "budget", "_layouts")

    def __init__(self, data: Any, path: str | None = None, base: int = 0) -> None:
        self.data = data
        self.size = len(data)
        self.path = path
        self.base = base
        self.budget = _ELEMENTS_PER_BYTE * self.size + _ELEMENTS_FLOOR
        self._layouts: dict[tuple[int, int], Any] = {}

    # -- errors ---------------------------------------------------------------
    def error(self, pos: int, field: str, message: str) -> FormatError:
        """Build a FormatError at buffer position ``pos``."""
        return FormatError(message, path=self.path, offset=self.base + pos, field=field)

    # -- primitives -----------------------------------------------------------
    def unpack(self, st: struct.Struct, pos: int, field: str) -> Any:
        """Unpack one struct at ``pos`` after checking it lies inside the buffer."""
        if pos < 0 or pos + st.size > self.size:
            raise self.error(
                max(pos, 0),
                field,
                f"{st.size}-byte read at {pos + self.base:#x} runs past the end of the data ({self.size + self.base:#x})",
            )
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

    # -- fast path ----------------------------------------------------------------
    def fields(self, pos: int, spec: Fields) -> tuple[Any, ...] | list[Any] | None:
        """Read several fields of the table at ``pos`` in one struct unpack, or return None.

        The fast path for tables read by the thousand: the same checks as :meth:`table_at`
        and :meth:`Table.scalar` / :meth:`Table.ref`, done once per vtable (flatbuffer writers
        share vtables) plus one span check per table. Anything irregular (a check that fails,
        fields that overlap) returns None, and the caller re-reads the table with the checked
        accessors, which raise the precise :class:`FormatError` or return the same values.

        Returns
        -------
        list or None
            One item per ``spec`` entry: the scalar, or for a reference the absolute position
            it points to (-1 when absent), or for a presence test a bool.
        """
        size = self.size
        if pos < 0 or pos + 4 > size:
            return None
        data = self.data
        key = (pos - _I32.unpack_from(data, pos)[0]) * _MAX_FIELD_SETS + spec.key
        layout = self._layouts.get(key)
        if layout is None:
            layout = self._layouts[key] = spec.compile(self, key // _MAX_FIELD_SETS)
        if layout is False:
            return None
        st, start, end, tail, pick, refs = layout
        if pos + end > size:  # covers the table length and every field
            return None
        out = pick(st.unpack_from(data, pos + start) + tail)
        if refs:
            out = list(out)
            for place, o in refs:
                target = out[place] + pos + o
                if target >= size:
                    return None
                out[place] = target
        return out

    def scalar_vector(self, pos: int, code: str, elem_size: int) -> tuple[Any, ...] | None:
        """Fast path of :meth:`Table.scalars` for a reference already followed (``pos`` from
        :meth:`fields`; -1 = absent gives ``()``): the same checks, None where they fail."""
        if pos < 0:
            return ()
        if pos + 4 > self.size:
            return None
        n = _U32.unpack_from(self.data, pos)[0]
        if not n:
            return ()
        if pos + 4 + n * elem_size > self.size or self.budget < n:
            return None
        self.budget -= n
        return struct.unpack_from(f"<{n}{code}", self.data, pos + 4)

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


class Fields:
    """A set of fields read together by :meth:`Buffer.fields` (one per table schema and use).

    Parameters
    ----------
    key : int
        Distinct per instance among those used on one buffer (a small constant).
    entries : sequence of (slot, code, default)
        ``code`` is a :mod:`struct` code (``b``, ``B``, ``i``, ``I``, ``q``...), ``"R"`` for a
        reference (``uoffset``; default -1) or ``"P"`` for presence only (no read, a bool).
    """

    __slots__ = ("key", "entries")

    def __init__(self, key: int, entries: tuple[tuple[int, str, Any], ...]) -> None:
        self.key = key
        self.entries = entries

    def compile(self, buf: Buffer, vt: int) -> Any:
        """Check the vtable at ``vt`` as :meth:`Buffer.table_at` does and plan one unpack, or False."""
        size, data = buf.size, buf.data
        if vt < 0 or vt + 4 > size:
            return False
        vt_len, t_len = _HH.unpack_from(data, vt)
        if vt_len < 4 or vt_len & 1 or vt + vt_len > size or t_len < 4:
            return False
        n = (vt_len - 4) >> 1
        slots = struct.unpack_from(f"<{n}H", data, vt + 4) if n else ()
        present = []
        absent: list[tuple[int, Any]] = []
        for place, (slot, code, default) in enumerate(self.entries):
            o = slots[slot] if slot < n else 0
            if code == "P":
                absent.append((place, o != 0))
            elif o:
                present.append((o, place, "I" if code == "R" else code))
            else:
                absent.append((place, -1 if code == "R" else default))
        present.sort()
        fmt = ["<"]
        start = end = present[0][0] if present else 0
        order = []
        refs = []
        for o, place, code in present:
            if o < end:
                return False  # overlapping fields: leave them to the checked accessors
            if o > end:
                fmt.append(f"{o - end}x")
            fmt.append(code)
            end = o + struct.calcsize("<" + code)
            order.append(place)
            if self.entries[place][1] == "R":
                refs.append((place, o))
        order += [place for place, _ in absent]
        # pick() puts the unpacked fields, then the defaults of the absent ones, in entry order.
        where = [order.index(place) for place in range(len(self.entries))]
        if len(where) > 1:
            pick = operator.itemgetter(*where)
        else:  # itemgetter of one index returns the item, not a 1-tuple
            pick = (lambda raw, i=where[0]: (raw[i],)) if where else (lambda raw: ())
        return struct.Struct("".join(fmt)), start, max(end, t_len, 4), tuple(v for _, v in absent), pick, tuple(refs)


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
        """A vector of tables, each opened (and checked) with ``Buffer.table_at``."""
        table_at = self.buf.table_at
        return [table_at(p, f"{field}[{i}]") for i, p in enumerate(self.table_offsets(slot, field))]

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
