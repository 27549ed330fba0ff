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
from edgeinspect.formats._fb import BOOL, F64, I8, I32, I64, U8, U32, U64, Buffer, Fields, Table
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
from edgeinspect.model.source import Frame

__all__ = ["FILE_IDENTIFIER", "read_pte", "read_extended_header"]

FILE_IDENTIFIER = b"ET12"
_HEADER_MAGIC = b"eh00"
_HEADER_MIN_LENGTH = 24  # magic, length, program_size, segment_base_offset
_HEADER_FULL_LENGTH = 32  # ... and segment_data_size

# -- Schema facts (program.fbs), named once ----------------------------------------------
# Field ids of each table, in schema order (a union field takes two ids: its type, then its
# value); union member names, whose tags are their positions (0 = none).


class _PROGRAM:
    (
        VERSION,
        EXECUTION_PLAN,
        CONSTANT_BUFFER,
        BACKEND_DELEGATE_DATA,
        SEGMENTS,
        CONSTANT_SEGMENT,
        MUTABLE_DATA_SEGMENTS,
        NAMED_DATA,
    ) = range(8)


class _EXECUTION_PLAN:
    NAME, CONTAINER_META_TYPE, VALUES, INPUTS, OUTPUTS, CHAINS, OPERATORS, DELEGATES, NON_CONST_BUFFER_SIZES = range(9)


class _CHAIN:
    INPUTS, OUTPUTS, INSTRUCTIONS, STACKTRACE = range(4)


class _INSTRUCTION:
    INSTR_ARGS_TYPE, INSTR_ARGS = range(2)


class _CALL:  # KernelCall (op_index, args) and DelegateCall (delegate_index, args)
    INDEX, ARGS = range(2)


class _MOVE_CALL:
    MOVE_FROM, MOVE_TO = range(2)


class _JUMP_FALSE_CALL:
    COND_VALUE_INDEX, DESTINATION_INSTRUCTION = range(2)


class _FREE_CALL:
    VALUE_INDEX = 0


class _EVALUE:
    VAL_TYPE, VAL = range(2)


class _TENSOR:
    (
        SCALAR_TYPE,
        STORAGE_OFFSET,
        SIZES,
        DIM_ORDER,
        REQUIRES_GRAD,
        DATA_BUFFER_IDX,
        ALLOCATION_INFO,
        LAYOUT,
        SHAPE_DYNAMISM,
        EXTRA_TENSOR_INFO,
    ) = range(10)


class _EXTRA_TENSOR_INFO:
    MUTABLE_DATA_SEGMENTS_IDX, FULLY_QUALIFIED_NAME, LOCATION = range(3)


class _SCALAR:  # Int (int_val), Bool (bool_val), Double (double_val), String (string_val)
    VALUE = 0


class _LIST:  # IntList, DoubleList, BoolList, TensorList, OptionalTensorList
    ITEMS = 0


class _OPERATOR:
    NAME, OVERLOAD = range(2)


class _BACKEND_DELEGATE:
    ID, PROCESSED, COMPILE_SPECS = range(3)


class _DATA_REFERENCE:  # BackendDelegateDataReference
    LOCATION, INDEX = range(2)


class _INLINE_DATA:  # BackendDelegateInlineData
    DATA = 0


class _COMPILE_SPEC:
    KEY, VALUE = range(2)


class _DATA_SEGMENT:
    OFFSET, SIZE = range(2)


class _NAMED_DATA:
    KEY, SEGMENT_INDEX = range(2)


class _FRAME_LIST:
    ITEMS = 0


class _FRAME:
    FILENAME, LINENO, NAME, CONTEXT = range(4)


# KernelTypes union members (EValue.val), tag = position.
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
# InstructionArguments union members, tag = position.
_INSTRUCTION_KINDS = (None, "kernel", "delegate", "move", "jump_false", "free")
# DataLocation enum.
_DATA_LOCATIONS = ("inline", "segment")

_NULL, _INT, _BOOL, _DOUBLE, _TENSOR_TAG = (_VALUE_KINDS.index(k) for k in ("null", "int", "bool", "double", "tensor"))
_INT_LIST, _TENSOR_LIST, _OPTIONAL_TENSOR_LIST = (_VALUE_KINDS.index(k) for k in ("int_list", "tensor_list", "optional_tensor_list"))
_KERNEL_CALL, _DELEGATE_CALL = _INSTRUCTION_KINDS.index("kernel"), _INSTRUCTION_KINDS.index("delegate")

_HEADER = struct.Struct("<4sIQQ")
#: Arguments a method may name beyond one per 4 bytes of file (see ``_check_references``).
_REFERENCE_SLACK = 1 << 16

# Fields read together on the fast paths (slot, struct code or R(eference)/P(resence), default).
_INSTRUCTION_FIELDS = Fields(1, ((_INSTRUCTION.INSTR_ARGS_TYPE, "B", 0), (_INSTRUCTION.INSTR_ARGS, "R", -1)))
_CALL_FIELDS = Fields(2, ((_CALL.INDEX, "i", 0), (_CALL.ARGS, "R", -1)))  # KernelCall and DelegateCall alike
_EVALUE_FIELDS = Fields(3, ((_EVALUE.VAL_TYPE, "B", 0), (_EVALUE.VAL, "R", -1)))
_TENSOR_FIELDS = Fields(
    4,
    (
        (_TENSOR.SCALAR_TYPE, "b", 0),
        (_TENSOR.STORAGE_OFFSET, "i", 0),
        (_TENSOR.SIZES, "R", -1),
        (_TENSOR.DIM_ORDER, "R", -1),
        (_TENSOR.REQUIRES_GRAD, "B", 0),
        (_TENSOR.DATA_BUFFER_IDX, "I", 0),
        (_TENSOR.ALLOCATION_INFO, "P", False),  # present: memory planned
        (_TENSOR.SHAPE_DYNAMISM, "b", 0),
        (_TENSOR.EXTRA_TENSOR_INFO, "R", -1),
    ),
)
_INT_FIELDS = Fields(5, ((_SCALAR.VALUE, "q", 0),))
_BOOL_FIELDS = Fields(6, ((_SCALAR.VALUE, "B", 0),))
_DOUBLE_FIELDS = Fields(7, ((_SCALAR.VALUE, "d", 0.0),))
_LIST_FIELDS = Fields(8, ((_LIST.ITEMS, "R", -1),))
_NO_FIELDS = Fields(9, ())


def read_extended_header(data: Any, path: str | None = None) -> ExtendedHeader | None:
    """Parse the ``eh00`` extended header at byte 8, or return None when there is none."""
    if len(data) < 8 + _HEADER.size or bytes(data[8:12]) != _HEADER_MAGIC:
        return None
    _, length, program_size, segment_base = _HEADER.unpack_from(data, 8)
    if length < _HEADER_MIN_LENGTH:
        raise FormatError(
            f"extended header length {length} is below the minimum {_HEADER_MIN_LENGTH}",
            path=path,
            offset=12,
            field="extended_header.length",
        )
    segment_data_size = 0
    if length >= _HEADER_FULL_LENGTH:
        if len(data) < 8 + _HEADER_FULL_LENGTH:
            raise FormatError("file ends inside the extended header", path=path, offset=len(data), field="extended_header")
        segment_data_size = U64.unpack_from(data, 32)[0]
    return ExtendedHeader(length, program_size, segment_base, segment_data_size)


def read_pte(source: Source, *, fast: bool = True) -> Program:
    """Read a .pte from a :class:`Source` into a :class:`~edgeinspect.model.Program`.

    Instructions and values, read by the thousand, take a fast path (several fields in one
    unpack, :meth:`~edgeinspect.formats._fb.Buffer.fields`) that hands anything irregular to
    the checked accessors; ``fast=False`` reads every table with the checked accessors only.
    Both give the same program, or the same error, for every input: the tests hold them to
    it on every fixture and every mutation the corruption tests and the fuzzer make.

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
        raise FormatError(
            f"not an ExecuTorch program: file identifier is {ident!r}, expected b'ET12'", path=path, offset=4, field="file_identifier"
        )
    header = read_extended_header(data, path)
    program_size = file_size
    segment_base = 0
    if header is not None:
        if header.program_size > file_size or header.program_size < 8:
            raise FormatError(
                f"extended header declares a {header.program_size}-byte program but the file has {file_size} bytes (truncated?)",
                path=path,
                offset=16,
                field="extended_header.program_size",
            )
        program_size = header.program_size
        segment_base = header.segment_base_offset
        if segment_base > file_size:
            raise FormatError(
                f"segment base offset {segment_base:#x} lies past the end of the file ({file_size} bytes; truncated?)",
                path=path,
                offset=24,
                field="extended_header.segment_base_offset",
            )
    view = data if program_size == file_size else memoryview(data)[:program_size]
    buf = Buffer(view, path)
    return _Reader(buf, source, header, segment_base, fast=fast).program()


def _never(*_: Any) -> None:
    """The fast path turned off: every table goes to the checked accessors."""
    return None


class _Reader:
    """One pass over the program tables."""

    def __init__(self, buf: Buffer, source: Source, header: ExtendedHeader | None, segment_base: int, *, fast: bool = True) -> None:
        self.buf = buf
        self.source = source
        self.header = header
        self.segment_base = segment_base
        self.fast = fast

    def program(self) -> Program:
        buf = self.buf
        root = buf.root(None, "Program")
        version = root.scalar(_PROGRAM.VERSION, U32, 0, "version")
        segments = self._segments(root)
        inline_data = self._inline_data(root)
        methods = []
        for i, pos in enumerate(root.table_offsets(_PROGRAM.EXECUTION_PLAN, "execution_plan")):
            field = f"execution_plan[{i}]"
            try:
                methods.append(self._method(buf.table_at(pos, field), segments, inline_data))
            except FormatError as err:
                if not err.field.startswith(field):
                    err.within(field)
                raise
        constant_buffers = len(root.table_offsets(_PROGRAM.CONSTANT_BUFFER, "constant_buffer"))
        named = []
        for i, t in enumerate(root.tables(_PROGRAM.NAMED_DATA, "named_data")):
            key = t.string(_NAMED_DATA.KEY, f"named_data[{i}].key") or ""
            named.append((key, t.scalar(_NAMED_DATA.SEGMENT_INDEX, U32, 0, f"named_data[{i}].segment_index")))
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
        for i, t in enumerate(root.tables(_PROGRAM.SEGMENTS, "segments")):
            f = f"segments[{i}]"
            off = t.scalar(_DATA_SEGMENT.OFFSET, U64, 0, f + ".offset")
            size = t.scalar(_DATA_SEGMENT.SIZE, U64, 0, f + ".size")
            if self.segment_base + off + size > file_size:
                raise self.buf.error(t.pos, f, f"segment [{off:#x}, +{size}) lies past the end of the file ({file_size} bytes; truncated?)")
            out.append((off, size))
        return out

    def _inline_data(self, root: Table) -> list[tuple[int, int]]:
        out = []
        for i, pos in enumerate(root.table_offsets(_PROGRAM.BACKEND_DELEGATE_DATA, "backend_delegate_data")):
            f = f"backend_delegate_data[{i}]"
            t = self.buf.table_at(pos, f)
            rng = t.byte_range(_INLINE_DATA.DATA, f + ".data")
            out.append(rng if rng is not None else (0, 0))
        return out

    # -- methods ------------------------------------------------------------------
    def _method(self, plan: Table, segments: list[tuple[int, int]], inline_data: list[tuple[int, int]]) -> Method:
        name = plan.string(_EXECUTION_PLAN.NAME, "name") or ""
        values = self._values(plan)
        n_values = len(values)
        inputs = plan.scalars(_EXECUTION_PLAN.INPUTS, "i", 4, "inputs")
        outputs = plan.scalars(_EXECUTION_PLAN.OUTPUTS, "i", 4, "outputs")
        for fname, idx in (("inputs", inputs), ("outputs", outputs)):
            for j, v in enumerate(idx):
                if not 0 <= v < n_values:
                    raise self.buf.error(plan.pos, f"{fname}[{j}]", f"value index {v} out of range (method has {n_values} values)")
        operators = []
        for i, t in enumerate(plan.tables(_EXECUTION_PLAN.OPERATORS, "operators")):
            name_, overload = t.string(_OPERATOR.NAME, f"operators[{i}].name"), t.string(_OPERATOR.OVERLOAD, f"operators[{i}].overload")
            operators.append(Operator(name_ or "", overload or ""))
        delegates = []
        for i, t in enumerate(plan.tables(_EXECUTION_PLAN.DELEGATES, "delegates")):
            try:
                delegates.append(self._delegate(i, t, segments, inline_data))
            except FormatError as err:
                err.within(f"delegates[{i}]")
                raise
        instructions: list[Instruction] = []
        frames: list[tuple[Frame, ...]] = []
        chains = plan.table_offsets(_EXECUTION_PLAN.CHAINS, "chains")
        for c, pos in enumerate(chains):
            chain = self.buf.table_at(pos, f"chains[{c}]")
            first = len(instructions)
            self._instructions(chain, c, instructions, operators, delegates, n_values)
            if chain.has(_CHAIN.STACKTRACE):
                frames.extend(() for _ in range(first - len(frames)))
                frames.extend(self._stacktrace(chain, c, len(instructions) - first))
        if any(frames):
            frames.extend(() for _ in range(len(instructions) - len(frames)))
        self._check_references(plan, instructions, values)
        sizes = plan.scalars(_EXECUTION_PLAN.NON_CONST_BUFFER_SIZES, "q", 8, "non_const_buffer_sizes")
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
            frames=tuple(frames) if any(frames) else (),
        )

    def _stacktrace(self, chain: Table, chain_index: int, count: int) -> list[tuple[Frame, ...]]:
        """The frames of each of the chain's ``count`` instructions (``Chain.stacktrace``, a
        ``FrameList`` per instruction). executorch 1.5.1 writes one only for the kernel calls
        before the chain's first other instruction: the list can be shorter than the chain,
        and a longer one holds nothing we can place."""
        out: list[tuple[Frame, ...]] = []
        for i, frame_list in enumerate(chain.tables(_CHAIN.STACKTRACE, f"chains[{chain_index}].stacktrace")[:count]):
            field = f"chains[{chain_index}].stacktrace[{i}]"
            items = []
            for j, t in enumerate(frame_list.tables(_FRAME_LIST.ITEMS, field + ".items")):
                f = f"{field}.items[{j}]"
                items.append(
                    Frame(
                        file=t.string(_FRAME.FILENAME, f + ".filename") or "",
                        line=t.scalar(_FRAME.LINENO, I32, 0, f + ".lineno"),
                        function=t.string(_FRAME.NAME, f + ".name") or "",
                        code=t.string(_FRAME.CONTEXT, f + ".context") or "",
                    )
                )
            out.append(tuple(items))
        out.extend(() for _ in range(count - len(out)))
        return out

    def _check_references(self, plan: Table, instructions: list[Instruction], values: tuple[Value, ...]) -> None:
        """Refuse instructions that share argument vectors to multiply the dataflow graph.

        Each argument of an instruction (a tensor list counts its items) is an edge of the
        method's graph. Written honestly, every argument is an int32 in the instruction's own
        vector, so a file of S bytes holds fewer than S/4; instructions that alias one long
        vector (or one long tensor list) would make a graph many times the file's size.
        """
        extra = {i: len(v.data) for i, v in enumerate(values) if v.kind in ("tensor_list", "optional_tensor_list") and v.data}
        limit = self.source.size // 4 + _REFERENCE_SLACK
        total = 0
        for ins in instructions:
            total += len(ins.args)
            if extra:
                total += sum(extra.get(a, 0) for a in ins.args)
            if total > limit:
                raise self.buf.error(
                    plan.pos,
                    f"instructions[{ins.index}].args",
                    f"the instructions name {total:,}+ arguments, more than a {self.source.size:,}-byte file holds "
                    "without sharing argument vectors (a hostile file multiplying the graph)",
                )

    def _delegate(self, index: int, t: Table, segments: list[tuple[int, int]], inline_data: list[tuple[int, int]]) -> Delegate:
        backend = t.string(_BACKEND_DELEGATE.ID, "id") or ""
        ref = t.table(_BACKEND_DELEGATE.PROCESSED, "processed")
        location, data_index = "inline", 0
        if ref is not None:
            loc = ref.scalar(_DATA_REFERENCE.LOCATION, I8, 0, "processed.location")
            if not 0 <= loc < len(_DATA_LOCATIONS):
                raise self.buf.error(ref.pos, "processed.location", f"unknown data location {loc}")
            location = _DATA_LOCATIONS[loc]
            data_index = ref.scalar(_DATA_REFERENCE.INDEX, U32, 0, "processed.index")
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
        for i, cs in enumerate(t.tables(_BACKEND_DELEGATE.COMPILE_SPECS, "compile_specs")):
            key = cs.string(_COMPILE_SPEC.KEY, f"compile_specs[{i}].key") or ""
            rng = cs.byte_range(_COMPILE_SPEC.VALUE, f"compile_specs[{i}].value")
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
        base = buf.base
        fields = buf.fields if self.fast else _never
        scalar_vector = buf.scalar_vector
        n_ops = len(operators)
        n_dels = len(delegates)
        op_names = [o.full_name for o in operators]
        del_names = [d.backend_id for d in delegates]
        for i, pos in enumerate(chain.table_offsets(_CHAIN.INSTRUCTIONS, "instructions")):
            # Fast path for kernel and delegate calls; anything else, or anything that
            # fails a check, is read again by _instruction, which raises the precise error.
            budget = buf.budget
            head = fields(pos, _INSTRUCTION_FIELDS)
            if head is not None and (head[0] == _KERNEL_CALL or head[0] == _DELEGATE_CALL) and head[1] >= 0:
                call = fields(head[1], _CALL_FIELDS)
                if call is not None:
                    args = scalar_vector(call[1], "i", 4)
                    if args is not None and (not args or (min(args) >= 0 and max(args) < n_values)):
                        target = call[0]
                        if head[0] == _KERNEL_CALL:
                            if 0 <= target < n_ops:
                                out.append(Instruction(len(out), "kernel", target, args, op_names[target], "CPU", base + pos))
                                continue
                        elif 0 <= target < n_dels:
                            name = del_names[target]
                            out.append(Instruction(len(out), "delegate", target, args, name, name, base + pos))
                            continue
            buf.budget = budget
            out.append(self._instruction(pos, f"chains[{chain_index}].instructions[{i}]", len(out), op_names, del_names, n_values))

    def _instruction(self, pos: int, field: str, index: int, op_names: list[str], del_names: list[str], n_values: int) -> Instruction:
        """Read one instruction with the checked accessors (the slow path, and every error)."""
        buf = self.buf
        ins = buf.table_at(pos, field)
        kind_no = ins.scalar(_INSTRUCTION.INSTR_ARGS_TYPE, U8, 0, field + ".instr_args_type")
        call = ins.table(_INSTRUCTION.INSTR_ARGS, field + ".instr_args")
        if kind_no >= len(_INSTRUCTION_KINDS) or kind_no == 0 or call is None:
            return Instruction(index, "unknown", None, (), f"unknown({kind_no})", None, ins.offset)
        kind = _INSTRUCTION_KINDS[kind_no]
        if kind == "kernel" or kind == "delegate":
            target = call.scalar(_CALL.INDEX, I32, 0, field + ".op_index")
            args = call.scalars(_CALL.ARGS, "i", 4, field + ".args")
            for j, a in enumerate(args):
                if not 0 <= a < n_values:
                    raise buf.error(call.pos, f"{field}.args[{j}]", f"value index {a} out of range (method has {n_values} values)")
            if kind == "kernel":
                if not 0 <= target < len(op_names):
                    raise buf.error(call.pos, field + ".op_index", f"operator index {target} out of range ({len(op_names)} operators)")
                return Instruction(index, kind, target, args, op_names[target], "CPU", ins.offset)
            if not 0 <= target < len(del_names):
                raise buf.error(call.pos, field + ".delegate_index", f"delegate index {target} out of range ({len(del_names)} delegates)")
            name = del_names[target]
            return Instruction(index, kind, target, args, name, name, ins.offset)
        if kind == "move":
            a = call.scalar(_MOVE_CALL.MOVE_FROM, I32, 0, field + ".move_from")
            b = call.scalar(_MOVE_CALL.MOVE_TO, I32, 0, field + ".move_to")
            return Instruction(index, kind, None, (a, b), "move", None, ins.offset)
        if kind == "jump_false":
            cond = call.scalar(_JUMP_FALSE_CALL.COND_VALUE_INDEX, I32, 0, field + ".cond_value_index")
            dest = call.scalar(_JUMP_FALSE_CALL.DESTINATION_INSTRUCTION, I32, 0, field + ".destination_instruction")
            return Instruction(index, kind, dest, (cond,), "jump_false", None, ins.offset)
        v = call.scalar(_FREE_CALL.VALUE_INDEX, I32, 0, field + ".value_index")
        return Instruction(index, kind, None, (v,), "free", None, ins.offset)

    # -- values -------------------------------------------------------------------
    def _values(self, plan: Table) -> tuple[Value, ...]:
        buf = self.buf
        out = []
        fast = self._fast_value if self.fast else _never
        for i, pos in enumerate(plan.table_offsets(_EXECUTION_PLAN.VALUES, "values")):
            budget = buf.budget
            value = fast(pos)
            if value is None:
                buf.budget = budget
                value = self._value(pos, f"values[{i}]")
            out.append(value)
        return tuple(out)

    def _fast_value(self, pos: int) -> Value | None:
        """The common values (tensors, scalars, int and tensor lists) in a few unpacks, or None
        when the value is of another kind or fails a check (then :meth:`_value` reads it)."""
        buf = self.buf
        head = buf.fields(pos, _EVALUE_FIELDS)
        if head is None:
            return None
        kind_no, t = head
        if t < 0:
            return None
        base = buf.base
        if kind_no == _TENSOR_TAG:
            f = buf.fields(t, _TENSOR_FIELDS)
            if f is None:
                return None
            scalar_type, storage_offset, sizes_at, dim_order_at, requires_grad, data_buffer_idx, planned, dynamism, extra = f
            sizes = buf.scalar_vector(sizes_at, "i", 4)
            if sizes is None:
                return None
            dim_order = buf.scalar_vector(dim_order_at, "B", 1)
            if dim_order is None:
                return None
            if extra >= 0:
                return None  # a named tensor: rare, read by _value with its field names
            tensor = Tensor(
                scalar_type, sizes, dim_order, data_buffer_idx, dynamism, storage_offset, bool(requires_grad), planned, None, base + t
            )
            return Value("tensor", tensor, base + pos)
        if kind_no == _INT:
            f = buf.fields(t, _INT_FIELDS)
            return None if f is None else Value("int", f[0], base + pos)
        if kind_no == _BOOL:
            f = buf.fields(t, _BOOL_FIELDS)
            return None if f is None else Value("bool", bool(f[0]), base + pos)
        if kind_no == _DOUBLE:
            f = buf.fields(t, _DOUBLE_FIELDS)
            return None if f is None else Value("double", f[0], base + pos)
        if kind_no == _NULL:
            return None if buf.fields(t, _NO_FIELDS) is None else Value("null", None, base + pos)
        if kind_no in (_INT_LIST, _TENSOR_LIST, _OPTIONAL_TENSOR_LIST):
            f = buf.fields(t, _LIST_FIELDS)
            if f is None:
                return None
            items = buf.scalar_vector(f[0], "q" if kind_no == _INT_LIST else "i", 8 if kind_no == _INT_LIST else 4)
            return None if items is None else Value(_VALUE_KINDS[kind_no], items, base + pos)
        return None

    def _value(self, pos: int, field: str) -> Value:
        """Read one value with the checked accessors (the slow path, and every error)."""
        ev = self.buf.table_at(pos, field)
        kind_no = ev.scalar(_EVALUE.VAL_TYPE, U8, 0, field + ".val_type")
        if kind_no == 0 or kind_no >= len(_VALUE_KINDS):
            return Value("unknown" if kind_no else "null", kind_no or None, ev.offset)
        kind = _VALUE_KINDS[kind_no]
        t = ev.table(_EVALUE.VAL, field + ".val")
        if t is None:
            return Value(kind, None, ev.offset)
        if kind == "tensor":
            return Value(kind, self._tensor(t, field), ev.offset)
        if kind == "int":
            return Value(kind, t.scalar(_SCALAR.VALUE, I64, 0, field + ".int_val"), ev.offset)
        if kind == "bool":
            return Value(kind, bool(t.scalar(_SCALAR.VALUE, BOOL, 0, field + ".bool_val")), ev.offset)
        if kind == "double":
            return Value(kind, t.scalar(_SCALAR.VALUE, F64, 0.0, field + ".double_val"), ev.offset)
        if kind == "string":
            return Value(kind, t.string(_SCALAR.VALUE, field + ".string_val") or "", ev.offset)
        if kind == "int_list":
            return Value(kind, t.scalars(_LIST.ITEMS, "q", 8, field + ".items"), ev.offset)
        if kind == "double_list":
            return Value(kind, t.scalars(_LIST.ITEMS, "d", 8, field + ".items"), ev.offset)
        if kind == "bool_list":
            return Value(kind, tuple(bool(b) for b in t.scalars(_LIST.ITEMS, "B", 1, field + ".items")), ev.offset)
        if kind == "null":
            return Value(kind, None, ev.offset)
        # tensor_list, optional_tensor_list
        return Value(kind, t.scalars(_LIST.ITEMS, "i", 4, field + ".items"), ev.offset)

    def _tensor(self, t: Table, field: str) -> Tensor:
        extra = t.table(_TENSOR.EXTRA_TENSOR_INFO, field + ".extra_tensor_info")
        fqn = (
            extra.string(_EXTRA_TENSOR_INFO.FULLY_QUALIFIED_NAME, field + ".extra_tensor_info.fully_qualified_name")
            if extra is not None
            else None
        )
        return Tensor(
            scalar_type=t.scalar(_TENSOR.SCALAR_TYPE, I8, 0, field + ".scalar_type"),
            sizes=t.scalars(_TENSOR.SIZES, "i", 4, field + ".sizes"),
            dim_order=t.scalars(_TENSOR.DIM_ORDER, "B", 1, field + ".dim_order"),
            data_buffer_idx=t.scalar(_TENSOR.DATA_BUFFER_IDX, U32, 0, field + ".data_buffer_idx"),
            shape_dynamism=t.scalar(_TENSOR.SHAPE_DYNAMISM, I8, 0, field + ".shape_dynamism"),
            storage_offset=t.scalar(_TENSOR.STORAGE_OFFSET, I32, 0, field + ".storage_offset"),
            requires_grad=bool(t.scalar(_TENSOR.REQUIRES_GRAD, BOOL, 0, field + ".requires_grad")),
            memory_planned=t.has(_TENSOR.ALLOCATION_INFO),
            constant_name=fqn,
            offset=t.offset,
        )
