"""Reader for ExecuTorch programs (.pte), written from the layout of ``program.fbs``.

Layout facts used (schema ``executorch_flatbuffer``, identifier ``ET12``): the root
table ``Program`` (version, execution_plan, constant_buffer, backend_delegate_data,
segments, constant_segment, mutable_data_segments, named_data); an optional
extended header at byte 8 (``eh00``, u32 length, u64 program_size, u64
segment_base_offset, u64 segment_data_size when length >= 32); delegate payloads
inline in ``backend_delegate_data`` or in segments at ``segment_base_offset +
offset``. Union members are numbered from 1 in schema order.

Nothing here imports torch, and neither weights nor payloads are read: the file is
memory-mapped and only the program tables are touched.
"""

from __future__ import annotations

import struct
from typing import Any

from edgeinspect.errors import FormatError
from edgeinspect.formats._fb import BOOL, F64, I8, I32, I64, U8, U32, U64, Buffer, Table
from edgeinspect.formats._source import Source
from edgeinspect.model import (
    CompileSpec,
    Delegate,
    ExtendedHeader,
    Instruction,
    Method,
    Operator,
    Program,
    Tensor,
    Value,
)

__all__ = ["FILE_IDENTIFIER", "read_pte", "read_extended_header"]

FILE_IDENTIFIER = b"ET12"
_HEADER_MAGIC = b"eh00"
_HEADER_MIN_LENGTH = 24  # magic, length, program_size, segment_base_offset
_HEADER_FULL_LENGTH = 32  # ... and segment_data_size

# KernelTypes union members (EValue.val), numbered from 1 in schema order.
_VALUE_KINDS = (
    None,
    "null",
    "int",
    "bool",
    "double",
    "tensor",
    "string",
    "int_list",
    "double_list",
    "bool_list",
    "tensor_list",
    "optional_tensor_list",
)
# InstructionArguments union members, numbered from 1.
_INSTRUCTION_KINDS = (None, "kernel", "delegate", "move", "jump_false", "free")
_DATA_LOCATIONS = ("inline", "segment")

_HEADER = struct.Struct("<4sIQQ")


def read_extended_header(data: Any, path: str | None = None) -> ExtendedHeader | None:
    """Parse the ``eh00`` extended header at byte 8, or return None when there is none."""
    if len(data) < 8 + _HEADER.size or bytes(data[8:12]) != _HEADER_MAGIC:
        return None
    _, length, program_size, segment_base = _HEADER.unpack_from(data, 8)
    if length < _HEADER_MIN_LENGTH:
        raise FormatError(f"extended header length {length} is below the minimum {_HEADER_MIN_LENGTH}", path=path, offset=12, field="extended_header.length")
    segment_data_size = 0
    if length >= _HEADER_FULL_LENGTH:
        if len(data) < 8 + _HEADER_FULL_LENGTH:
            raise FormatError("file ends inside the extended header", path=path, offset=len(data), field="extended_header")
        segment_data_size = U64.unpack_from(data, 32)[0]
    return ExtendedHeader(length, program_size, segment_base, segment_data_size)


def read_pte(source: Source) -> Program:
    """Read a .pte from a :class:`Source` into a :class:`~edgeinspect.model.Program`.

    Raises
    ------
    FormatError
        When the bytes are not a well-formed ExecuTorch program.
    """
    data = source.data
    path = source.path
    file_size = len(data)
    if file_size < 8:
        raise FormatError(f"{file_size} bytes is too short for an ExecuTorch program", path=path, offset=0, field="header")
    ident = bytes(data[4:8])
    if ident != FILE_IDENTIFIER:
        raise FormatError(f"not an ExecuTorch program: file identifier is {ident!r}, expected b'ET12'", path=path, offset=4, field="file_identifier")
    header = read_extended_header(data, path)
    program_size = file_size
    segment_base = 0
    if header is not None:
        if header.program_size > file_size or header.program_size < 8:
            raise FormatError(
                f"extended header declares a {header.program_size}-byte program but the file has {file_size} bytes (truncated?)",
                path=path, offset=16, field="extended_header.program_size",
            )
        program_size = header.program_size
        segment_base = header.segment_base_offset
        if segment_base > file_size:
            raise FormatError(
                f"segment base offset {segment_base:#x} lies past the end of the file ({file_size} bytes; truncated?)",
                path=path, offset=24, field="extended_header.segment_base_offset",
            )
    view = data if program_size == file_size else memoryview(data)[:program_size]
    buf = Buffer(view, path)
    return _Reader(buf, source, header, segment_base).program()


class _Reader:
    """One pass over the program tables."""

    def __init__(self, buf: Buffer, source: Source, header: ExtendedHeader | None, segment_base: int) -> None:
        self.buf = buf
        self.source = source
        self.header = header
        self.segment_base = segment_base

    def program(self) -> Program:
        buf = self.buf
        root = buf.root(None, "Program")
        version = root.scalar(0, U32, 0, "version")
        segments = self._segments(root)
        inline_data = self._inline_data(root)
        methods = []
        for i, pos in enumerate(root.table_offsets(1, "execution_plan")):
            field = f"execution_plan[{i}]"
            try:
                methods.append(self._method(buf.table_at(pos, field), segments, inline_data))
            except FormatError as err:
                raise err.within(field) if not err.field.startswith(field) else err
        constant_buffers = len(root.table_offsets(2, "constant_buffer"))
        named = []
        for i, t in enumerate(root.tables(7, "named_data")):
            key = t.string(0, f"named_data[{i}].key") or ""
            named.append((key, t.scalar(1, U32, 0, f"named_data[{i}].segment_index")))
        return Program(
            path=self.source.path,
            version=version,
            methods=tuple(methods),
            file_size=self.source.size,
            header=self.header,
            segments=tuple(segments),
            num_constant_buffers=constant_buffers,
            named_data=tuple(named),
            _source=self.source,
        )

    def _segments(self, root: Table) -> list[tuple[int, int]]:
        out = []
        file_size = self.source.size
        for i, t in enumerate(root.tables(4, "segments")):
            f = f"segments[{i}]"
            off = t.scalar(0, U64, 0, f + ".offset")
            size = t.scalar(1, U64, 0, f + ".size")
            if self.segment_base + off + size > file_size:
                raise self.buf.error(t.pos, f, f"segment [{off:#x}, +{size}) lies past the end of the file ({file_size} bytes; truncated?)")
            out.append((off, size))
        return out

    def _inline_data(self, root: Table) -> list[tuple[int, int]]:
        out = []
        for i, pos in enumerate(root.table_offsets(3, "backend_delegate_data")):
            f = f"backend_delegate_data[{i}]"
            t = self.buf.table_at(pos, f)
            rng = t.byte_range(0, f + ".data")
            out.append(rng if rng is not None else (0, 0))
        return out

    # -- methods ------------------------------------------------------------------
    def _method(self, plan: Table, segments: list[tuple[int, int]], inline_data: list[tuple[int, int]]) -> Method:
        name = plan.string(0, "name") or ""
        values = self._values(plan)
        n_values = len(values)
        inputs = plan.scalars(3, "i", 4, "inputs")
        outputs = plan.scalars(4, "i", 4, "outputs")
        for fname, idx in (("inputs", inputs), ("outputs", outputs)):
            for j, v in enumerate(idx):
                if not 0 <= v < n_values:
                    raise self.buf.error(plan.pos, f"{fname}[{j}]", f"value index {v} out of range (method has {n_values} values)")
        operators = []
        for i, t in enumerate(plan.tables(6, "operators")):
            operators.append(Operator(t.string(0, f"operators[{i}].name") or "", t.string(1, f"operators[{i}].overload") or ""))
        delegates = []
        for i, t in enumerate(plan.tables(7, "delegates")):
            try:
                delegates.append(self._delegate(i, t, segments, inline_data))
            except FormatError as err:
                raise err.within(f"delegates[{i}]")
        instructions: list[Instruction] = []
        chains = plan.table_offsets(5, "chains")
        for c, pos in enumerate(chains):
            chain = self.buf.table_at(pos, f"chains[{c}]")
            self._instructions(chain, c, instructions, operators, delegates, n_values)
        sizes = plan.scalars(8, "q", 8, "non_const_buffer_sizes")
        return Method(
            name=name,
            values=values,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            instructions=tuple(instructions),
            operators=tuple(operators),
            delegates=tuple(delegates),
            non_const_buffer_sizes=tuple(sizes),
            num_chains=len(chains),
            offset=plan.offset,
        )

    def _delegate(self, index: int, t: Table, segments: list[tuple[int, int]], inline_data: list[tuple[int, int]]) -> Delegate:
        backend = t.string(0, "id") or ""
        ref = t.table(1, "processed")
        location, data_index = "inline", 0
        if ref is not None:
            loc = ref.scalar(0, I8, 0, "processed.location")
            if not 0 <= loc < len(_DATA_LOCATIONS):
                raise self.buf.error(ref.pos, "processed.location", f"unknown data location {loc}")
            location = _DATA_LOCATIONS[loc]
            data_index = ref.scalar(1, U32, 0, "processed.index")
        if location == "inline":
            if data_index >= len(inline_data):
                raise self.buf.error(t.pos, "processed.index", f"inline data index {data_index} out of range ({len(inline_data)} entries)")
            start, size = inline_data[data_index]
            payload_offset = self.buf.base + start
        else:
            if data_index >= len(segments):
                raise self.buf.error(t.pos, "processed.index", f"segment index {data_index} out of range ({len(segments)} segments)")
            off, size = segments[data_index]
            payload_offset = self.segment_base + off
        specs = []
        for i, cs in enumerate(t.tables(2, "compile_specs")):
            key = cs.string(0, f"compile_specs[{i}].key") or ""
            rng = cs.byte_range(1, f"compile_specs[{i}].value")
            value = bytes(self.buf.data[rng[0] : rng[0] + rng[1]]) if rng else b""
            specs.append(CompileSpec(key, value))
        return Delegate(
            index=index,
            backend_id=backend,
            location=location,
            data_index=data_index,
            compile_specs=tuple(specs),
            payload_offset=payload_offset,
            payload_size=size,
            offset=t.offset,
            _reader=self.source.read,
        )

    def _instructions(
        self,
        chain: Table,
        chain_index: int,
        out: list[Instruction],
        operators: list[Operator],
        delegates: list[Delegate],
        n_values: int,
    ) -> None:
        buf = self.buf
        table_at = buf.table_at
        n_ops = len(operators)
        n_dels = len(delegates)
        op_names = [o.full_name for o in operators]
        del_names = [d.backend_id for d in delegates]
        for i, pos in enumerate(chain.table_offsets(2, "instructions")):
            index = len(out)
            field = f"chains[{chain_index}].instructions[{i}]"
            ins = table_at(pos, field)
            kind_no = ins.scalar(0, U8, 0, field + ".instr_args_type")
            call = ins.table(1, field + ".instr_args")
            if kind_no >= len(_INSTRUCTION_KINDS) or kind_no == 0 or call is None:
                out.append(Instruction(index, "unknown", None, (), f"unknown({kind_no})", None, ins.offset))
                continue
            kind = _INSTRUCTION_KINDS[kind_no]
            if kind == "kernel" or kind == "delegate":
                target = call.scalar(0, I32, 0, field + ".op_index")
                args = call.scalars(1, "i", 4, field + ".args")
                for j, a in enumerate(args):
                    if not 0 <= a < n_values:
                        raise buf.error(call.pos, f"{field}.args[{j}]", f"value index {a} out of range (method has {n_values} values)")
                if kind == "kernel":
                    if not 0 <= target < n_ops:
                        raise buf.error(call.pos, field + ".op_index", f"operator index {target} out of range ({n_ops} operators)")
                    out.append(Instruction(index, kind, target, args, op_names[target], "CPU", ins.offset))
                else:
                    if not 0 <= target < n_dels:
                        raise buf.error(call.pos, field + ".delegate_index", f"delegate index {target} out of range ({n_dels} delegates)")
                    name = del_names[target]
                    out.append(Instruction(index, kind, target, args, name, name, ins.offset))
            elif kind == "move":
                a = call.scalar(0, I32, 0, field + ".move_from")
                b = call.scalar(1, I32, 0, field + ".move_to")
                out.append(Instruction(index, kind, None, (a, b), "move", None, ins.offset))
            elif kind == "jump_false":
                cond = call.scalar(0, I32, 0, field + ".cond_value_index")
                dest = call.scalar(1, I32, 0, field + ".destination_instruction")
                out.append(Instruction(index, kind, dest, (cond,), "jump_false", None, ins.offset))
            else:
                v = call.scalar(0, I32, 0, field + ".value_index")
                out.append(Instruction(index, kind, None, (v,), "free", None, ins.offset))

    # -- values -------------------------------------------------------------------
    def _values(self, plan: Table) -> tuple[Value, ...]:
        buf = self.buf
        table_at = buf.table_at
        out = []
        for i, pos in enumerate(plan.table_offsets(2, "values")):
            field = f"values[{i}]"
            ev = table_at(pos, field)
            kind_no = ev.scalar(0, U8, 0, field + ".val_type")
            if kind_no == 0 or kind_no >= len(_VALUE_KINDS):
                out.append(Value("unknown" if kind_no else "null", kind_no or None, ev.offset))
                continue
            kind = _VALUE_KINDS[kind_no]
            t = ev.table(1, field + ".val")
            if t is None:
                if kind != "null":
                    raise buf.error(ev.pos, field + ".val", f"{kind} value has no table (union member missing)")
                out.append(Value(kind, None, ev.offset))
                continue
            if kind == "tensor":
                out.append(Value(kind, self._tensor(t, field), ev.offset))
            elif kind == "int":
                out.append(Value(kind, t.scalar(0, I64, 0, field + ".int_val"), ev.offset))
            elif kind == "bool":
                out.append(Value(kind, bool(t.scalar(0, BOOL, 0, field + ".bool_val")), ev.offset))
            elif kind == "double":
                out.append(Value(kind, t.scalar(0, F64, 0.0, field + ".double_val"), ev.offset))
            elif kind == "string":
                out.append(Value(kind, t.string(0, field + ".string_val") or "", ev.offset))
            elif kind == "int_list":
                out.append(Value(kind, t.scalars(0, "q", 8, field + ".items"), ev.offset))
            elif kind == "double_list":
                out.append(Value(kind, t.scalars(0, "d", 8, field + ".items"), ev.offset))
            elif kind == "bool_list":
                out.append(Value(kind, tuple(bool(b) for b in t.scalars(0, "B", 1, field + ".items")), ev.offset))
            elif kind == "null":
                out.append(Value(kind, None, ev.offset))
            else:  # tensor_list, optional_tensor_list
                out.append(Value(kind, t.scalars(0, "i", 4, field + ".items"), ev.offset))
        return tuple(out)

    def _tensor(self, t: Table, field: str) -> Tensor:
        extra = t.table(9, field + ".extra_tensor_info")
        fqn = extra.string(1, field + ".extra_tensor_info.fully_qualified_name") if extra is not None else None
        return Tensor(
            scalar_type=t.scalar(0, I8, 0, field + ".scalar_type"),
            sizes=t.scalars(2, "i", 4, field + ".sizes"),
            dim_order=t.scalars(3, "B", 1, field + ".dim_order"),
            data_buffer_idx=t.scalar(5, U32, 0, field + ".data_buffer_idx"),
            shape_dynamism=t.scalar(8, I8, 0, field + ".shape_dynamism"),
            storage_offset=t.scalar(1, I32, 0, field + ".storage_offset"),
            requires_grad=bool(t.scalar(4, BOOL, 0, field + ".requires_grad")),
            memory_planned=t.has(6),
            constant_name=fqn,
            offset=t.offset,
        )
