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


# -- a general program builder ------------------------------------------------------------
# Field ids (slots) of program.fbs, in schema order; union member numbers count from 1.
_VALUE_KIND = {"null": 1, "int": 2, "bool": 3, "double": 4, "tensor": 5, "string": 6, "int_list": 7, "tensor_list": 10}
_INSTRUCTION_KIND = {"kernel": 1, "delegate": 2, "move": 3, "jump_false": 4, "free": 5}


def tensor(*sizes: int, scalar_type: int = 6, constant: bool = False) -> tuple:
    """A tensor value for :func:`build_pte` (float32 by default); ``constant`` gives it a data buffer."""
    return ("tensor", tuple(sizes), scalar_type, 1 if constant else 0)


def _vector_i32(b: flatbuffers.Builder, items) -> int:
    items = list(items)
    b.StartVector(4, len(items), 4)
    for x in reversed(items):
        b.PrependInt32(x)
    return b.EndVector()


def _vector_i64(b: flatbuffers.Builder, items) -> int:
    items = list(items)
    b.StartVector(8, len(items), 8)
    for x in reversed(items):
        b.PrependInt64(x)
    return b.EndVector()


def _vector_bytes(b: flatbuffers.Builder, data: bytes, alignment: int = 16) -> int:
    b.StartVector(1, len(data), alignment)
    b.head = b.head - len(data)
    b.Bytes[b.head : b.head + len(data)] = data
    return b.EndVector()


def _vector_tables(b: flatbuffers.Builder, offsets) -> int:
    offsets = list(offsets)
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _value(b: flatbuffers.Builder, spec: tuple, strings: dict[str, int]) -> int:
    kind = spec[0]
    if kind == "tensor":
        _, sizes, scalar_type, buffer = spec
        sizes_vec = _vector_i32(b, sizes)
        b.StartObject(10)
        b.PrependInt8Slot(0, scalar_type, 0)
        b.PrependUOffsetTRelativeSlot(2, sizes_vec, 0)
        b.PrependUint32Slot(5, buffer, 0)
        body = b.EndObject()
    elif kind in ("int", "bool"):
        b.StartObject(1)
        (b.PrependInt64Slot if kind == "int" else b.PrependBoolSlot)(0, spec[1], 0)
        body = b.EndObject()
    elif kind == "string":
        text = _string(b, spec[1], strings)
        b.StartObject(1)
        b.PrependUOffsetTRelativeSlot(0, text, 0)
        body = b.EndObject()
    elif kind in ("int_list", "tensor_list"):
        items = (_vector_i64 if kind == "int_list" else _vector_i32)(b, spec[1])
        b.StartObject(1)
        b.PrependUOffsetTRelativeSlot(0, items, 0)
        body = b.EndObject()
    else:  # null
        b.StartObject(0)
        body = b.EndObject()
    b.StartObject(2)
    b.PrependUint8Slot(0, _VALUE_KIND[kind], 0)
    b.PrependUOffsetTRelativeSlot(1, body, 0)
    return b.EndObject()


def _string(b: flatbuffers.Builder, text: str, strings: dict[str, int]) -> int:
    """Each distinct string is written once and shared (as flatc's CreateSharedString does)."""
    if text not in strings:
        strings[text] = b.CreateString(text)
    return strings[text]


def _instruction(b: flatbuffers.Builder, spec: tuple, shared: dict[tuple[int, ...], int] | None = None) -> int:
    kind = spec[0]
    if kind in ("kernel", "delegate"):
        _, target, args = spec
        args = tuple(args)
        if shared is not None and args in shared:
            args_vec = shared[args]
        else:
            args_vec = _vector_i32(b, args)
            if shared is not None:
                shared[args] = args_vec
        b.StartObject(2)
        b.PrependInt32Slot(0, target, 0)
        b.PrependUOffsetTRelativeSlot(1, args_vec, 0)
    else:
        b.StartObject(2)
        b.PrependInt32Slot(0, spec[1], 0)
        if len(spec) > 2:
            b.PrependInt32Slot(1, spec[2], 0)
    body = b.EndObject()
    b.StartObject(1 + 1)
    b.PrependUint8Slot(0, _INSTRUCTION_KIND[kind], 0)
    b.PrependUOffsetTRelativeSlot(1, body, 0)
    return b.EndObject()


def build_pte(
    *,
    values: list[tuple],
    instructions: list[tuple],
    operators: list[tuple[str, str]] = (),
    delegates: list[tuple[str, bytes, list[tuple[str, bytes]]]] = (),
    inputs: tuple[int, ...] = (),
    outputs: tuple[int, ...] = (),
    method: str = "forward",
    share_vectors: bool = False,
) -> bytes:
    """Synthesize a valid .pte with the flatbuffers builder, from program.fbs's field layout.

    Parameters
    ----------
    values : list of tuple
        ``tensor(...)``, ``("int", n)``, ``("bool", b)``, ``("string", s)``, ``("int_list", items)``,
        ``("tensor_list", value indices)`` or ``("null",)``.
    instructions : list of tuple
        ``("kernel", operator index, args)``, ``("delegate", delegate index, args)``,
        ``("move", from, to)``, ``("jump_false", cond value, destination)``, ``("free", value)``.
        ExecuTorch appends a kernel's out-arguments to its arguments, so an out-variant kernel
        reading ``a`` and writing ``b`` has args ``(a, b, b)``.
    operators : list of (name, overload)
    delegates : list of (backend id, inline payload bytes, compile specs [(key, value bytes)])
    inputs, outputs : tuple of int
        Value indices of the method's inputs and outputs.
    share_vectors : bool
        Calls with equal arguments point at one argument vector (legal flatbuffers, which no
        honest writer produces).

    Returns
    -------
    bytes
        A program edgeinspect (and ExecuTorch) can read: one method, delegate payloads inline.
    """
    b = flatbuffers.Builder(1024)
    strings: dict[str, int] = {}
    # Identical delegates share one inline payload and one table, identical values one table:
    # legal flatbuffers that keep a crafted file as small as the attack it carries.
    distinct = list(dict.fromkeys((backend, payload, tuple(specs)) for backend, payload, specs in delegates))
    payloads = []
    for _, payload, _ in distinct:
        data = _vector_bytes(b, payload)
        b.StartObject(1)
        b.PrependUOffsetTRelativeSlot(0, data, 0)
        payloads.append(b.EndObject())
    delegate_table: dict[tuple, int] = {}
    for k, (backend, payload, specs) in enumerate(distinct):
        spec_tables = []
        for key, value in specs:
            key_s = _string(b, key, strings)
            value_v = _vector_bytes(b, value, 1)
            b.StartObject(2)
            b.PrependUOffsetTRelativeSlot(0, key_s, 0)
            b.PrependUOffsetTRelativeSlot(1, value_v, 0)
            spec_tables.append(b.EndObject())
        specs_vec = _vector_tables(b, spec_tables)
        backend_s = _string(b, backend, strings)
        b.StartObject(2)
        b.PrependInt8Slot(0, 0, 0)  # INLINE
        b.PrependUint32Slot(1, k, 0)
        ref = b.EndObject()
        b.StartObject(3)
        b.PrependUOffsetTRelativeSlot(0, backend_s, 0)
        b.PrependUOffsetTRelativeSlot(1, ref, 0)
        b.PrependUOffsetTRelativeSlot(2, specs_vec, 0)
        delegate_table[(backend, payload, specs)] = b.EndObject()
    delegate_tables = [delegate_table[(backend, payload, tuple(specs))] for backend, payload, specs in delegates]
    operator_tables = []
    for name, overload in operators:
        name_s = _string(b, name, strings)
        overload_s = _string(b, overload, strings)
        b.StartObject(2)
        b.PrependUOffsetTRelativeSlot(0, name_s, 0)
        b.PrependUOffsetTRelativeSlot(1, overload_s, 0)
        operator_tables.append(b.EndObject())
    value_table = {v: _value(b, v, strings) for v in dict.fromkeys(values)}
    value_tables = [value_table[v] for v in values]
    arg_vectors: dict[tuple[int, ...], int] = {}
    instruction_tables = [_instruction(b, i, arg_vectors if share_vectors else None) for i in instructions]
    instructions_vec = _vector_tables(b, instruction_tables)
    b.StartObject(4)
    b.PrependUOffsetTRelativeSlot(2, instructions_vec, 0)
    chain = b.EndObject()
    chains = _vector_tables(b, [chain])
    values_vec = _vector_tables(b, value_tables)
    operators_vec = _vector_tables(b, operator_tables)
    delegates_vec = _vector_tables(b, delegate_tables)
    inputs_vec = _vector_i32(b, inputs)
    outputs_vec = _vector_i32(b, outputs)
    buffers = _vector_i64(b, [0])
    name = _string(b, method, strings)
    b.StartObject(10)
    b.PrependUOffsetTRelativeSlot(0, name, 0)
    b.PrependUOffsetTRelativeSlot(2, values_vec, 0)
    b.PrependUOffsetTRelativeSlot(3, inputs_vec, 0)
    b.PrependUOffsetTRelativeSlot(4, outputs_vec, 0)
    b.PrependUOffsetTRelativeSlot(5, chains, 0)
    b.PrependUOffsetTRelativeSlot(6, operators_vec, 0)
    b.PrependUOffsetTRelativeSlot(7, delegates_vec, 0)
    b.PrependUOffsetTRelativeSlot(8, buffers, 0)
    plan = b.EndObject()
    plans = _vector_tables(b, [plan])
    inline = _vector_tables(b, payloads)
    b.StartObject(8)
    b.PrependUint32Slot(0, 0, 0)
    b.PrependUOffsetTRelativeSlot(1, plans, 0)
    b.PrependUOffsetTRelativeSlot(3, inline, 0)
    root = b.EndObject()
    b.Finish(root, file_identifier=b"ET12")
    return bytes(b.Output())


def alternating_pte(islands: int, *, distinct: int | None = None, backend: str = "XnnpackBackend", op_name: str = "custom::op") -> bytes:
    """``islands + 1`` delegate calls with one CPU kernel between each two: the shape that
    makes every CPU operator a splitter.

    Operator ``k`` is ``{op_name}_{k % distinct}.out`` (``distinct`` defaults to ``islands``:
    every island has its own operator). Values form one chain ``input -> d0 -> op -> d1 -> ...``
    of float32 ``[1, 16]`` tensors.
    """
    distinct = islands if distinct is None else distinct
    operators = [(f"{op_name}_{k}", "out") for k in range(distinct)]
    calls = 2 * islands + 1
    values = [tensor(1, 16) for _ in range(calls + 1)]
    instructions = []
    for i in range(calls):
        if i % 2 == 0:
            instructions.append(("delegate", i // 2, (i, i + 1)))
        else:
            instructions.append(("kernel", (i // 2) % distinct, (i, i + 1, i + 1)))
    delegates = [(backend, b"", []) for _ in range(islands + 1)]
    return build_pte(values=values, instructions=instructions, operators=operators, delegates=delegates, inputs=(0,), outputs=(calls,))


# -- TOSA ----------------------------------------------------------------------------------
# Field ids of tosa_1.0.fbs: TosaGraph(version 0, regions 1), Version(_major 0, _minor 1,
# _patch 2, _draft 3), TosaRegion(name 0, blocks 1), TosaBasicBlock(name 0, operators 1,
# tensors 2, inputs 3, outputs 4), TosaOperator(op 0, attribute_type 1, attribute 2, inputs 3,
# outputs 4), TosaTensor(name 0, shape 1, type 2). Op enum: ADD 15, IDENTITY 68; DType FP32 7.
TOSA_ADD, TOSA_IDENTITY, TOSA_FP32 = 15, 68, 7


def _strings(b: flatbuffers.Builder, names, strings: dict[str, int]) -> int:
    return _vector_tables(b, [_string(b, n, strings) for n in names])


def build_tosa(
    *,
    operators: list[tuple[int, list[str], list[str]]],
    tensors: list[tuple[str, tuple[int, ...]]],
    inputs: list[str],
    outputs: list[str],
    region: str = "main",
    block: str = "main",
    share_vectors: bool = False,
) -> bytes:
    """Synthesize a TOSA 1.0 flatbuffer: one region, one block.

    ``operators`` are ``(op enum value, input names, output names)``; ``tensors`` are FP32
    ``(name, shape)``. With ``share_vectors``, operators whose name lists are equal point at one
    vector (legal flatbuffers, which no honest writer produces).
    """
    b = flatbuffers.Builder(1024)
    strings: dict[str, int] = {}
    vectors: dict[tuple[str, ...], int] = {}

    def names_vector(names: list[str]) -> int:
        key = tuple(names)
        if share_vectors and key in vectors:
            return vectors[key]
        vectors[key] = _strings(b, names, strings)
        return vectors[key]

    op_tables = []
    for op, ins, outs in operators:
        ins_v, outs_v = names_vector(ins), names_vector(outs)
        b.StartObject(6)
        b.PrependUint32Slot(0, op, 0)
        b.PrependUOffsetTRelativeSlot(3, ins_v, 0)
        b.PrependUOffsetTRelativeSlot(4, outs_v, 0)
        op_tables.append(b.EndObject())
    tensor_tables = []
    for name, shape in tensors:
        name_s = _string(b, name, strings)
        shape_v = _vector_i32(b, shape)
        b.StartObject(9)
        b.PrependUOffsetTRelativeSlot(0, name_s, 0)
        b.PrependUOffsetTRelativeSlot(1, shape_v, 0)
        b.PrependUint32Slot(2, TOSA_FP32, 0)
        tensor_tables.append(b.EndObject())
    ops_v, tensors_v = _vector_tables(b, op_tables), _vector_tables(b, tensor_tables)
    ins_v, outs_v = _strings(b, inputs, strings), _strings(b, outputs, strings)
    block_name = _string(b, block, strings)
    b.StartObject(6)
    b.PrependUOffsetTRelativeSlot(0, block_name, 0)
    b.PrependUOffsetTRelativeSlot(1, ops_v, 0)
    b.PrependUOffsetTRelativeSlot(2, tensors_v, 0)
    b.PrependUOffsetTRelativeSlot(3, ins_v, 0)
    b.PrependUOffsetTRelativeSlot(4, outs_v, 0)
    block_t = b.EndObject()
    blocks_v = _vector_tables(b, [block_t])
    region_name = _string(b, region, strings)
    b.StartObject(2)
    b.PrependUOffsetTRelativeSlot(0, region_name, 0)
    b.PrependUOffsetTRelativeSlot(1, blocks_v, 0)
    region_t = b.EndObject()
    regions_v = _vector_tables(b, [region_t])
    b.StartObject(4)
    b.PrependInt32Slot(0, 1, -1)  # version 1.0.0 (the schema's defaults are -1)
    b.PrependInt32Slot(1, 0, -1)
    b.PrependInt32Slot(2, 0, -1)
    b.PrependBoolSlot(3, False, True)
    version = b.EndObject()
    b.StartObject(3)
    b.PrependUOffsetTRelativeSlot(0, version, 0)
    b.PrependUOffsetTRelativeSlot(1, regions_v, 0)
    root = b.EndObject()
    b.Finish(root, file_identifier=b"TOSA")
    return bytes(b.Output())


def _short_name(k: int) -> str:
    """``a``, ``b``, ... ``z``, ``ba``...: the shortest distinct names (1-2 bytes for 676)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = letters[k % 26]
    while k >= 26:
        k //= 26
        out = letters[k % 26] + out
    return out


def aliased_inputs_tosa(operators: int = 400, names: int = 1000) -> bytes:
    """Every operator reads (and the first writes) the same ``names`` tensors through ONE shared
    name vector: a file of a few tens of KB that names ``operators * names`` tensor uses (400,000
    by default, within the readers' element budget), each an edge of the graph unless the reader
    bounds them."""
    tensor_names = [_short_name(k) for k in range(names)]
    ops = [(TOSA_IDENTITY, [], tensor_names)] + [(TOSA_ADD, tensor_names, tensor_names[:1]) for _ in range(operators - 1)]
    return build_tosa(
        operators=ops,
        tensors=[(n, (1,)) for n in tensor_names],
        inputs=[],
        outputs=tensor_names[:1],
        share_vectors=True,
    )


def named_pte(*, operator: str, backend: str = "XnnpackBackend", method: str = "forward", islands: int = 3) -> bytes:
    """``islands + 1`` delegate calls of ``backend`` with one ``operator`` kernel between each
    two, in method ``method``: every name a hostile file controls appears in every output."""
    values = [tensor(1, 4) for _ in range(2 * islands + 2)]
    instructions = []
    for i in range(2 * islands + 1):
        instructions.append(("delegate", i // 2, (i, i + 1)) if i % 2 == 0 else ("kernel", 0, (i, i + 1, i + 1)))
    delegates = [(backend, b"", [("debug_artifact_path", b"/builds/" + backend.encode("utf-8", "replace"))])] * (islands + 1)
    return build_pte(
        values=values,
        instructions=instructions,
        operators=[(operator, "out")],
        delegates=delegates,
        inputs=(0,),
        outputs=(2 * islands + 1,),
        method=method,
    )


def aliased_args_pte(calls: int = 1000, args: int = 1000) -> bytes:
    """``calls`` kernel calls that all point at ONE vector of ``args`` arguments: a few KB that
    name ``calls * args`` arguments (a million by default), each an edge of the dataflow graph."""
    values = [tensor(1) for _ in range(args)]
    instructions = [("kernel", 0, tuple(range(args)))] * calls
    return build_pte(
        values=values, instructions=instructions, operators=[("aten::add", "out")], share_vectors=True, inputs=(0,), outputs=(0,)
    )


def fragmented_pte(
    instructions: int,
    delegates: int,
    *,
    payload: bytes = b"",
    backend: str = "XnnpackBackend",
    island_op: str = "aten::cumsum",
    tail_ops: tuple[str, ...] = ("aten::sin", "aten::cos"),
) -> bytes:
    """A big fragmented program: ``delegates`` calls of ``backend`` alternating with one
    ``island_op`` kernel each (``delegates - 1`` CPU islands), then a CPU tail of ``tail_ops``
    kernels in turn up to ``instructions`` instructions in all.

    The shape of a real export that leaves one operator on the CPU between many delegated
    blocks, followed by a long part no backend takes; 20,000 instructions make a file of a few
    hundred KB. Every delegate shares one ``payload`` (pass a real one, e.g. the XNNPACK
    payload of a zoo fixture, so the operators inside are known). Values form one chain
    ``input -> d0 -> op -> d1 -> ...`` of float32 ``[1, 16]`` tensors.
    """
    alternating = 2 * delegates - 1
    if delegates < 1 or instructions < alternating:
        raise ValueError(f"{instructions} instructions cannot hold {delegates} delegate calls alternating with kernels")
    operators = [(island_op, "out"), *((op, "out") for op in tail_ops)]
    values = [tensor(1, 16) for _ in range(instructions + 1)]
    calls = []
    for i in range(instructions):
        if i < alternating:
            calls.append(("delegate", i // 2, (i, i + 1)) if i % 2 == 0 else ("kernel", 0, (i, i + 1, i + 1)))
        else:
            calls.append(("kernel", 1 + (i - alternating) % len(tail_ops), (i, i + 1, i + 1)))
    return build_pte(
        values=values,
        instructions=calls,
        operators=operators,
        delegates=[(backend, payload, [])] * delegates,
        inputs=(0,),
        outputs=(instructions,),
    )


# -- big honest programs (Model Explorer tests and benchmarks) --------------------------------
def chain_pte(instructions: int, *, operators: tuple[tuple[str, str], ...] = (("aten::sin", "out"), ("aten::cos", "out"))) -> bytes:
    """``instructions`` CPU kernel calls in one chain (each reads the tensor the one before wrote),
    cycling through ``operators``: the shape of a long non-delegated program, and the worst
    case for a viewer that walks chains recursively. About 30 bytes per instruction."""
    values = [tensor(1, 16) for _ in range(instructions + 1)]
    calls = [("kernel", i % len(operators), (i, i + 1, i + 1)) for i in range(instructions)]
    return build_pte(values=values, instructions=calls, operators=list(operators), inputs=(0,), outputs=(instructions,))


def repeated_delegates_pte(
    islands: int, *, payload: bytes = b"", backend: str = "XnnpackBackend", operator: tuple[str, str] = ("aten::cumsum", "out")
) -> bytes:
    """``islands + 1`` calls of one delegate (``payload``, e.g. a real XNNPACK Linear taken from a
    fixture) alternating with one ``operator`` kernel: the repeated pattern of a model whose
    partitioner leaves one operator on the CPU in every block. The payload is stored once."""
    calls = 2 * islands + 1
    values = [tensor(1, 16) for _ in range(calls + 1)]
    instructions = [("delegate", i // 2, (i, i + 1)) if i % 2 == 0 else ("kernel", 0, (i, i + 1, i + 1)) for i in range(calls)]
    delegates = [(backend, payload, [])] * (islands + 1)
    return build_pte(values=values, instructions=instructions, operators=[operator], delegates=delegates, inputs=(0,), outputs=(calls,))
