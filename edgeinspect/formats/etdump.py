"""Reader for ExecuTorch runtime profiles (ETDump, ``.etdp``), written from the layout of the
ETDump flatcc schema (``etdump_schema_flatcc.fbs`` in the executorch wheel).

Layout facts used (namespace ``etdump``, identifier ``ED00``): the file the runtime writes is
a *size-prefixed* flatbuffer (a ``u32`` byte count of what follows, then the flatbuffer, whose
identifier therefore sits at bytes 8..12; a plain flatbuffer with the identifier at 4..8 is
read too). Root ``ETDump`` (version, run_data); ``RunData`` (name, bundled_input_index = -1,
allocators, events); ``Allocator`` (name); ``Event`` (profile_event, allocation_event,
debug_event: one of them set); ``ProfileEvent`` (name, chain_index, instruction_id = -1,
delegate_debug_id_int = -1, delegate_debug_id_str, delegate_debug_metadata, start_time,
end_time); ``AllocationEvent`` (allocator_id, allocation_size); ``DebugEvent`` (chain_index
as u64, instruction_id = -1, debug_entry, delegate_debug_id_int = -1, delegate_debug_id_str,
name); ``Value`` (val: a ``ValueType`` byte, then one table per kind: tensor, tensor_list,
int_value, float_value, double_value, bool_value, and output, a Bool); ``Tensor``
(scalar_type, sizes, strides, offset).

Only the block list is read by :func:`read_etdump`; a block's events are decoded when the
caller asks (:class:`~edgeinspect.model.etdump.RunBlock`), each request with its own element
budget, so a hostile file cannot make repeated reads, or one read, blow up.
"""

from __future__ import annotations

import struct
from typing import Any

from edgeinspect.errors import FormatError
from edgeinspect.formats._fb import BOOL, F32, F64, I8, I32, I64, U32, U64, Buffer, Fields, Table
from edgeinspect.formats._source import Source
from edgeinspect.model.etdump import (
    AllocationEvent,
    DebugEvent,
    DebugTensor,
    ETDump,
    EventCounts,
    ProfileEvent,
    RunBlock,
    profile_kind,
    tick_span,
)

__all__ = ["FILE_IDENTIFIER", "is_etdump", "open_etdump", "read_etdump"]

FILE_IDENTIFIER = b"ED00"

_VALUE_KINDS = ("Null", "Int", "Bool", "Float", "Double", "Tensor", "TensorList", "String")

_EVENT_FIELDS = Fields(1, ((0, "R", -1), (1, "R", -1), (2, "R", -1)))
_PROFILE_FIELDS = Fields(
    2,
    (
        (0, "R", -1),  # name
        (1, "i", 0),  # chain_index
        (2, "i", -1),  # instruction_id
        (3, "i", -1),  # delegate_debug_id_int
        (4, "R", -1),  # delegate_debug_id_str
        (5, "R", -1),  # delegate_debug_metadata
        (6, "Q", 0),  # start_time
        (7, "Q", 0),  # end_time
    ),
)
_U32_ARRAY = "<{}I"


def is_etdump(data: Any) -> bool:
    """Whether bytes look like an ETDump: identifier ``ED00`` at 8..12 (size-prefixed) or 4..8."""
    return (len(data) >= 12 and bytes(data[8:12]) == FILE_IDENTIFIER) or (len(data) >= 8 and bytes(data[4:8]) == FILE_IDENTIFIER)


def open_etdump(path_or_data: Any, name: str | None = None) -> ETDump:
    """Map an ETDump file (or take its bytes) and read its block list; see :func:`read_etdump`."""
    source = Source(path_or_data, name)
    try:
        return read_etdump(source)
    except BaseException:
        source.close()
        raise


def read_etdump(source: Source) -> ETDump:
    """Read the block list of an ETDump from a :class:`Source`; events stay in the file until asked for.

    Raises
    ------
    FormatError
        When the bytes are not a well-formed ETDump.
    """
    data = source.data
    path = source.path
    size = len(data)
    if size >= 12 and bytes(data[8:12]) == FILE_IDENTIFIER:
        declared = U32.unpack_from(data, 0)[0]
        if declared > size - 4:
            raise FormatError(
                f"size prefix says {declared} bytes follow, but the file has {size - 4} (truncated?)",
                path=path,
                offset=0,
                field="size_prefix",
            )
        view = data if declared == size - 4 else memoryview(data)[: 4 + declared]
        buf = Buffer(view, path)
        root_at = 4 + buf.unpack(U32, 4, "root")
        root = buf.table_at(root_at, "ETDump")
        prefixed = True
    elif size >= 8 and bytes(data[4:8]) == FILE_IDENTIFIER:
        view = data
        buf = Buffer(view, path)
        root = buf.root(FILE_IDENTIFIER, "ETDump")
        prefixed = False
    else:
        found = bytes(data[8:12]) if size >= 12 else bytes(data[:12])
        raise FormatError(
            f"not an ETDump: expected identifier b'ED00' at bytes 8..12 (after the size prefix), found {found!r}",
            path=path,
            offset=8 if size >= 12 else 0,
            field="file_identifier",
        )
    version = root.scalar(0, U32, 0, "version")
    decoder = _Decoder(view, path)
    blocks = []
    total = 0
    for b, pos in enumerate(root.table_offsets(1, "run_data")):
        f = f"run_data[{b}]"
        run = buf.table_at(pos, f)
        name = run.string(0, f + ".name") or ""
        bundled = run.scalar(1, I32, -1, f + ".bundled_input_index")
        allocators = []
        for a, apos in enumerate(run.table_offsets(2, f + ".allocators")):
            allocators.append(buf.table_at(apos, f"{f}.allocators[{a}]").string(0, f"{f}.allocators[{a}].name") or "")
        events_at = run.ref(3, f + ".events")
        start, n = buf.vector(events_at, 4, f + ".events") if events_at >= 0 else (0, 0)
        total += n
        if 4 * total > size:  # each event reference takes 4 bytes of its own in an honest file
            raise buf.error(events_at, f + ".events", f"{total} events in blocks of a {size}-byte file: blocks share their events")
        decoder.blocks.append((start, n))
        blocks.append(RunBlock(b, name, bundled, tuple(allocators), n, run.offset, decoder))
    return ETDump(path, version, source.size, tuple(blocks), prefixed, source)


class _Decoder:
    """Decodes the events of one block on request (``RunBlock`` calls it with its index)."""

    __slots__ = ("view", "path", "blocks")

    def __init__(self, view: Any, path: str | None) -> None:
        self.view = view
        self.path = path
        self.blocks: list[tuple[int, int]] = []

    def __call__(self, block: int, what: str) -> Any:
        start, n = self.blocks[block]
        # A fresh buffer per request: its element budget bounds this request alone.
        buf = Buffer(self.view, self.path)
        positions = self._positions(buf, start, n)
        prefix = f"run_data[{block}].events"
        if what == "profile":
            return self._profile_events(buf, positions, prefix)
        if what == "counts":
            return self._counts(buf, positions, prefix)
        slot = 1 if what == "allocation" else 2
        read = self._allocation if what == "allocation" else self._debug
        out = []
        for i, pos in enumerate(positions):
            field = f"{prefix}[{i}]"
            refs = buf.fields(pos, _EVENT_FIELDS)
            if refs is None:
                ref = buf.table_at(pos, field).ref(slot, field)
            else:
                ref = refs[slot]
            if ref >= 0:
                try:
                    out.append(read(buf.table_at(ref, field)))
                except FormatError as err:
                    if not err.field.startswith(prefix):
                        err.within(f"{field}.{'allocation_event' if slot == 1 else 'debug_event'}")
                    raise
        return tuple(out)

    @staticmethod
    def _positions(buf: Buffer, start: int, n: int) -> list[int]:
        if not n:
            return []
        rel = struct.unpack_from(_U32_ARRAY.format(n), buf.data, start)
        return [start + 4 * i + r for i, r in enumerate(rel)]

    def _counts(self, buf: Buffer, positions: list[int], prefix: str) -> EventCounts:
        profile = allocation = debug = empty = 0
        for i, pos in enumerate(positions):
            refs = buf.fields(pos, _EVENT_FIELDS)
            if refs is None:
                field = f"{prefix}[{i}]"
                t = buf.table_at(pos, field)
                refs = (t.ref(0, field + ".profile_event"), t.ref(1, field + ".allocation_event"), t.ref(2, field + ".debug_event"))
            p, a, d = refs[0] >= 0, refs[1] >= 0, refs[2] >= 0
            profile += p
            allocation += a
            debug += d
            empty += not (p or a or d)
        return EventCounts(profile, allocation, debug, empty)

    def _profile_events(self, buf: Buffer, positions: list[int], prefix: str) -> tuple[ProfileEvent, ...]:
        """Every profile event of a block. The loop reads the common case inline: each vtable
        is checked once (flatcc shares them), each table is one struct unpack after one span
        check, strings are decoded once per distinct value. Anything irregular goes to
        :meth:`_profile_checked`, which raises the precise FormatError or reads the same values."""
        data = buf.data
        size = buf.size
        i32 = I32.unpack_from
        u32 = U32.unpack_from
        event_slots: dict[int, Any] = {}
        layouts: dict[int, Any] = {}
        strings: dict[bytes, str] = {}
        kinds: dict[str | None, Any] = {}
        copy = isinstance(data, memoryview)  # slices of bytes and mmap are bytes already (hashable)
        out: list[ProfileEvent] = []
        append = out.append
        budget = buf.budget
        for i, pos in enumerate(positions):
            values = None
            p = -1
            if 0 <= pos <= size - 4:
                vt = pos - i32(data, pos)[0]
                slot = event_slots.get(vt)
                if slot is None:
                    slot = event_slots[vt] = _first_ref_slot(buf, vt)
                if slot is not False and pos + slot[1] <= size:
                    o = slot[0]
                    if not o:
                        continue  # an allocation or debug event
                    p = pos + o + u32(data, pos + o)[0]
                    if p <= size - 4:
                        vt = p - i32(data, p)[0]
                        layout = layouts.get(vt)
                        if layout is None:
                            layout = layouts[vt] = _PROFILE_FIELDS.compile(buf, vt)
                        if layout is not False and p + layout[2] <= size:
                            st, start, _, tail, pick, refs = layout
                            values = list(pick(st.unpack_from(data, p + start) + tail))
                            for place, field_at in refs:
                                values[place] += p + field_at
                                if values[place] > size - 4:
                                    values = None
                                    break
            event = None
            if values is not None:
                name_at, chain, instruction, dd_int, dd_str_at, meta_at, start, end = values
                name = dd_str = meta = None
                if name_at >= 0:
                    n = u32(data, name_at)[0]
                    raw = data[name_at + 4 : name_at + 4 + n] if name_at + 4 + n <= size and budget >= n else None
                    if copy and raw is not None:
                        raw = bytes(raw)
                    if raw is None:
                        values = None  # let the checked path say what is wrong
                    else:
                        budget -= n
                        name = strings.get(raw)
                        if name is None:
                            name = strings[raw] = raw.decode("utf-8", "replace")
                if dd_str_at >= 0 and values is not None:
                    n = u32(data, dd_str_at)[0]
                    raw = data[dd_str_at + 4 : dd_str_at + 4 + n] if dd_str_at + 4 + n <= size and budget >= n else None
                    if copy and raw is not None:
                        raw = bytes(raw)
                    if raw is None:
                        values = None
                    else:
                        budget -= n
                        dd_str = strings.get(raw)
                        if dd_str is None:
                            dd_str = strings[raw] = raw.decode("utf-8", "replace")
                if meta_at >= 0 and values is not None:
                    n = u32(data, meta_at)[0]
                    if meta_at + 4 + n <= size and budget >= n:
                        budget -= n
                        meta = bytes(data[meta_at + 4 : meta_at + 4 + n])
                    else:
                        values = None
                if values is not None:
                    if dd_int == -1 and not dd_str:
                        kind = kinds.get(name)
                        if kind is None:
                            kind = kinds[name] = profile_kind(name, False)
                    else:
                        kind = "delegate"
                    event = ProfileEvent(name, kind, chain, instruction, dd_int, dd_str, start, end, meta, p)
            if event is None:
                buf.budget = budget
                event = self._profile_checked(buf, pos, f"{prefix}[{i}]")
                budget = buf.budget
                if event is None:
                    continue
            if event.end < event.start and tick_span(event.start, event.end) is None:
                raise FormatError(
                    f"event ends at tick {event.end}, before it starts ({event.start}); no 32-bit counter wraps like that",
                    path=self.path,
                    offset=event.offset,
                    field=f"{prefix}[{i}].profile_event.end_time",
                )
            append(event)
        buf.budget = budget
        return tuple(out)

    def _profile_checked(self, buf: Buffer, pos: int, field: str) -> ProfileEvent | None:
        """One event read with the checked accessors: the profile event, or None when the event
        holds none; FormatError when anything is out of bounds."""
        p = buf.table_at(pos, field).ref(0, field + ".profile_event")
        return None if p < 0 else self._profile_slow(buf, p, field + ".profile_event")

    @staticmethod
    def _profile_slow(buf: Buffer, pos: int, field: str) -> ProfileEvent:
        """Read one profile event with the checked accessors (the slow path, and every error)."""
        t = buf.table_at(pos, field)
        name = t.string(0, field + ".name")
        dd_int = t.scalar(3, I32, -1, field + ".delegate_debug_id_int")
        dd_str = t.string(4, field + ".delegate_debug_id_str")
        rng = t.byte_range(5, field + ".delegate_debug_metadata")
        meta = None if rng is None else bytes(buf.data[rng[0] : rng[0] + rng[1]])
        return ProfileEvent(
            name=name,
            kind=profile_kind(name, dd_int != -1 or bool(dd_str)),
            chain_index=t.scalar(1, I32, 0, field + ".chain_index"),
            instruction_id=t.scalar(2, I32, -1, field + ".instruction_id"),
            delegate_debug_id_int=dd_int,
            delegate_debug_id_str=dd_str,
            start=t.scalar(6, U64, 0, field + ".start_time"),
            end=t.scalar(7, U64, 0, field + ".end_time"),
            delegate_debug_metadata=meta,
            offset=t.offset,
        )

    @staticmethod
    def _allocation(t: Table) -> AllocationEvent:
        return AllocationEvent(t.scalar(0, I32, 0, "allocator_id"), t.scalar(1, U64, 0, "allocation_size"), t.offset)

    def _debug(self, t: Table) -> DebugEvent:
        entry = t.table(2, "debug_entry")
        kind, output, value, tensors = "Null", False, None, ()
        if entry is not None:
            kind, output, value, tensors = self._value(entry)
        return DebugEvent(
            name=t.string(5, "name"),
            chain_index=t.scalar(0, U64, 0, "chain_index"),
            instruction_id=t.scalar(1, I32, -1, "instruction_id"),
            delegate_debug_id_int=t.scalar(3, I32, -1, "delegate_debug_id_int"),
            delegate_debug_id_str=t.string(4, "delegate_debug_id_str"),
            value_kind=kind,
            output=output,
            value=value,
            tensors=tensors,
            offset=t.offset,
        )

    @staticmethod
    def _value(v: Table) -> tuple[Any, bool, Any, tuple[DebugTensor, ...]]:
        f = "debug_entry"
        kind_no = v.scalar(0, I8, 0, f + ".val")
        kind = _VALUE_KINDS[kind_no] if 0 <= kind_no < len(_VALUE_KINDS) else "unknown"
        out = v.table(7, f + ".output")
        output = bool(out.scalar(0, BOOL, 0, f + ".output.bool_val")) if out is not None else False
        value: Any = None
        tensors: tuple[DebugTensor, ...] = ()
        if kind == "Tensor":
            t = v.table(1, f + ".tensor")
            tensors = () if t is None else (_tensor(t, f + ".tensor"),)
        elif kind == "TensorList":
            tl = v.table(2, f + ".tensor_list")
            if tl is not None:
                tensors = tuple(_tensor(t, f"{f}.tensor_list.tensors[{i}]") for i, t in enumerate(tl.tables(0, f + ".tensor_list.tensors")))
        elif kind in ("Int", "Float", "Double", "Bool"):
            slot, st, name = {"Int": (3, I64, "int_value"), "Float": (4, F32, "float_value"), "Double": (5, F64, "double_value")}.get(
                kind, (6, BOOL, "bool_value")
            )
            s = v.table(slot, f"{f}.{name}")
            if s is not None:
                value = s.scalar(0, st, 0, f"{f}.{name}.val")
                if kind == "Bool":
                    value = bool(value)
        return kind, output, value, tensors


def _tensor(t: Table, field: str) -> DebugTensor:
    return DebugTensor(
        scalar_type=t.scalar(0, I8, 0, field + ".scalar_type"),
        sizes=t.scalars(1, "q", 8, field + ".sizes"),
        strides=t.scalars(2, "q", 8, field + ".strides"),
        buffer_offset=t.scalar(3, I64, 0, field + ".offset"),
    )


def _first_ref_slot(buf: Buffer, vt: int) -> tuple[int, int] | bool:
    """For the Event vtable at ``vt``: (offset of slot 0, the profile event reference, 0 when
    absent; bytes the table must span), or False when the vtable is out of bounds or invalid."""
    size, data = buf.size, buf.data
    if vt < 0 or vt + 4 > size:
        return False
    vt_len, t_len = struct.unpack_from("<HH", data, vt)
    if vt_len < 4 or vt_len & 1 or vt + vt_len > size or t_len < 4:
        return False
    o = struct.unpack_from("<H", data, vt + 4)[0] if vt_len >= 6 else 0
    return o, max(t_len, o + 4 if o else 4)
