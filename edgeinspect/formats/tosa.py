"""Reader for TOSA flatbuffers (.tosa), written from the layout of ``tosa_1.0.fbs`` / ``tosa_1.1.fbs``.

Layout facts used (namespace ``tosa``, identifier ``TOSA``): root ``TosaGraph`` (version,
regions, software_version [1.1]); ``TosaRegion`` (name, blocks); ``TosaBasicBlock``
(name, operators, tensors, inputs, outputs, shapes); ``TosaOperator`` (op, attribute
union = 2 slots, inputs, outputs, location); ``TosaTensor`` (name, shape, type, data,
variable, is_unranked, variable_name, offset, size); ``TosaShape`` (name, rank, data).
TOSA 1.1 only appends: enum values (``DType``, ``Op``), union members (``Attribute``)
and the ``software_version`` field, so one table of names read up to 1.1 serves both
versions; a value beyond what we know is kept as ``UNKNOWN(n)``, never fatal.

Constant data is located (offset, size), never read.
"""

from __future__ import annotations

from typing import Any

from edgeinspect.errors import FormatError
from edgeinspect.formats._fb import BOOL, I32, U8, U32, U64, Buffer, Table
from edgeinspect.formats._source import Source
from edgeinspect.model.tosa import TosaBlock, TosaGraph, TosaOperator, TosaRegion, TosaShape, TosaTensor

__all__ = ["FILE_IDENTIFIER", "OP_NAMES", "parse_tosa", "read_tosa"]

FILE_IDENTIFIER = b"TOSA"
#: Tensor names the operators may name beyond one per 4 bytes of file (see ``parse_tosa``).
_REFERENCE_SLACK = 1 << 16

_DTYPES = [
    "UNKNOWN",
    "BOOL",
    "INT4",
    "INT8",
    "INT16",
    "INT32",
    "INT48",
    "FP32",
    "FP16",
    "BF16",
    "SHAPE",
    "FP8E4M3",
    "FP8E5M2",
    "FP6E2M3",
    "FP6E3M2",
    "FP4E2M1",
    "FP8UE8M0",
    "INT64",
    "MXINT8",
]

#: Op enum, in schema order (value = position). Entries after CONST_SHAPE are TOSA 1.1; the
#: last two come from the newer schema tosa-tools 2026.5 ships (appended the same way).
OP_NAMES = [
    "UNKNOWN",
    "ARGMAX",
    "AVG_POOL2D",
    "CONV2D",
    "CONV3D",
    "DEPTHWISE_CONV2D",
    "FFT2D",
    "MATMUL",
    "MAX_POOL2D",
    "RFFT2D",
    "TRANSPOSE_CONV2D",
    "CLAMP",
    "ERF",
    "SIGMOID",
    "TANH",
    "ADD",
    "ARITHMETIC_RIGHT_SHIFT",
    "BITWISE_AND",
    "BITWISE_OR",
    "BITWISE_XOR",
    "INTDIV",
    "LOGICAL_AND",
    "LOGICAL_LEFT_SHIFT",
    "LOGICAL_RIGHT_SHIFT",
    "LOGICAL_OR",
    "LOGICAL_XOR",
    "MAXIMUM",
    "MINIMUM",
    "MUL",
    "POW",
    "SUB",
    "TABLE",
    "ABS",
    "BITWISE_NOT",
    "CEIL",
    "CLZ",
    "COS",
    "EXP",
    "FLOOR",
    "LOG",
    "LOGICAL_NOT",
    "NEGATE",
    "RECIPROCAL",
    "RSQRT",
    "SIN",
    "SELECT",
    "EQUAL",
    "GREATER",
    "GREATER_EQUAL",
    "REDUCE_ALL",
    "REDUCE_ANY",
    "REDUCE_MAX",
    "REDUCE_MIN",
    "REDUCE_PRODUCT",
    "REDUCE_SUM",
    "CONCAT",
    "PAD",
    "RESHAPE",
    "REVERSE",
    "SLICE",
    "TILE",
    "TRANSPOSE",
    "GATHER",
    "SCATTER",
    "RESIZE",
    "CAST",
    "RESCALE",
    "CONST",
    "IDENTITY",
    "CUSTOM",
    "COND_IF",
    "WHILE_LOOP",
    "VARIABLE",
    "VARIABLE_WRITE",
    "VARIABLE_READ",
    "CONST_SHAPE",
    "MATMUL_T_BLOCK_SCALED",
    "CAST_FROM_BLOCK_SCALED",
    "CAST_TO_BLOCK_SCALED",
    "DIM",
    "CONCAT_SHAPE",
    "ADD_SHAPE",
    "SUB_SHAPE",
    "MUL_SHAPE",
    "SLICE_SHAPE",
    "EXP2_SHAPE",
    "LOG2_CEIL_SHAPE",
    "LOG2_FLOOR_SHAPE",
    "MAX_SHAPE",
    "MIN_SHAPE",
    "MOD_SHAPE",
    "DIV_CEIL_SHAPE",
    "DIV_FLOOR_SHAPE",
    "ASSERT_EQUAL_SHAPE",
    "CONV2D_BLOCK_SCALED",
    "MAX_POOL2D_ADAPTIVE",
    "AVG_POOL2D_ADAPTIVE",
    "RESHAPE_BLOCK_SCALED",
    "ROW_GATHER_BLOCK_SCALED",
]

_ENUMS: dict[str, tuple[str, ...] | dict[int, str]] = {
    "DType": tuple(_DTYPES),
    "NanPropagationMode": ("UNKNOWN", "PROPAGATE", "IGNORE"),
    "ResizeMode": ("UNKNOWN", "NEAREST", "BILINEAR"),
    "RoundingMode": ("UNKNOWN", "SINGLE_ROUND", "INEXACT_ROUND", "DOUBLE_ROUND"),
    "BlockSize": {0: "UNKNOWN", 1: "BLOCK_SIZE_1", 32: "BLOCK_SIZE_32"},
}

# Attribute union members in schema order (union type n = position + 1), each with its
# fields in slot order: "name:type" where type is i32, bool, str, [i32], [u8] or an enum name.
_POOL = "kernel:[i32] stride:[i32] pad:[i32]"
_CONV = "pad:[i32] stride:[i32] dilation:[i32] local_bound:bool acc_type:DType"
_NAN = "nan_mode:NanPropagationMode"
_BLOCK = "block_size:BlockSize"
_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("ArgMaxAttribute", "axis:i32 " + _NAN),
    ("AvgPool2dAttribute", _POOL + " acc_type:DType"),
    ("Conv2dAttribute", _CONV),
    ("Conv3dAttribute", _CONV),
    ("DepthwiseConv2dAttribute", _CONV),
    ("FFT2dAttribute", "inverse:bool local_bound:bool"),
    ("MatMulAttribute", ""),
    ("MaxPool2dAttribute", _POOL + " " + _NAN),
    ("RFFT2dAttribute", "local_bound:bool"),
    ("TransposeConv2dAttribute", "out_pad:[i32] stride:[i32] local_bound:bool acc_type:DType"),
    ("ClampAttribute", "min_val:[u8] max_val:[u8] " + _NAN),
    ("ErfAttribute", ""),
    ("SigmoidAttribute", ""),
    ("TanhAttribute", ""),
    ("AddAttribute", ""),
    ("ArithmeticRightShiftAttribute", "round:bool"),
    ("BitwiseAndAttribute", ""),
    ("BitwiseOrAttribute", ""),
    ("BitwiseXorAttribute", ""),
    ("IntDivAttribute", ""),
    ("LogicalAndAttribute", ""),
    ("LogicalLeftShiftAttribute", ""),
    ("LogicalRightShiftAttribute", ""),
    ("LogicalOrAttribute", ""),
    ("LogicalXorAttribute", ""),
    ("MaximumAttribute", _NAN),
    ("MinimumAttribute", _NAN),
    ("MulAttribute", ""),
    ("PowAttribute", ""),
    ("SubAttribute", ""),
    ("TableAttribute", ""),
    ("AbsAttribute", ""),
    ("BitwiseNotAttribute", ""),
    ("CeilAttribute", ""),
    ("ClzAttribute", ""),
    ("CosAttribute", ""),
    ("ExpAttribute", ""),
    ("FloorAttribute", ""),
    ("LogAttribute", ""),
    ("LogicalNotAttribute", ""),
    ("NegateAttribute", ""),
    ("ReciprocalAttribute", ""),
    ("RsqrtAttribute", ""),
    ("SinAttribute", ""),
    ("SelectAttribute", ""),
    ("EqualAttribute", ""),
    ("GreaterAttribute", ""),
    ("GreaterEqualAttribute", ""),
    ("ReduceAllAttribute", "axis:i32"),
    ("ReduceAnyAttribute", "axis:i32"),
    ("ReduceMaxAttribute", "axis:i32 " + _NAN),
    ("ReduceMinAttribute", "axis:i32 " + _NAN),
    ("ReduceProductAttribute", "axis:i32"),
    ("ReduceSumAttribute", "axis:i32"),
    ("ConcatAttribute", "axis:i32"),
    ("PadAttribute", ""),
    ("ReshapeAttribute", ""),
    ("ReverseAttribute", "axis:i32"),
    ("SliceAttribute", ""),
    ("TileAttribute", ""),
    ("TransposeAttribute", "perms:[i32]"),
    ("GatherAttribute", ""),
    ("ScatterAttribute", ""),
    ("ResizeAttribute", "mode:ResizeMode"),
    ("CastAttribute", ""),
    ("RescaleAttribute", "scale32:bool rounding_mode:RoundingMode per_channel:bool input_unsigned:bool output_unsigned:bool"),
    ("ConstAttribute", ""),
    ("IdentityAttribute", ""),
    ("CustomAttribute", "operator_name:str domain_name:str implementation_attrs:[u8]"),
    ("CondIfAttribute", "then_graph:str else_graph:str"),
    ("WhileLoopAttribute", "cond_graph:str body_graph:str"),
    ("VariableAttribute", ""),
    ("VariableWriteAttribute", ""),
    ("VariableReadAttribute", ""),
    ("ConstShapeAttribute", ""),
    # TOSA 1.1 from here on
    ("MatMulTBlockScaledAttribute", _BLOCK),
    ("CastFromBlockScaledAttribute", _BLOCK),
    ("CastToBlockScaledAttribute", _BLOCK),
    ("DimAttribute", "axis:i32"),
    ("ConcatShapeAttribute", ""),
    ("AddShapeAttribute", ""),
    ("SubShapeAttribute", ""),
    ("MulShapeAttribute", ""),
    ("SliceShapeAttribute", ""),
    ("Exp2ShapeAttribute", ""),
    ("Log2CeilShapeAttribute", ""),
    ("Log2FloorShapeAttribute", ""),
    ("MaxShapeAttribute", ""),
    ("MinShapeAttribute", ""),
    ("ModShapeAttribute", ""),
    ("DivCeilShapeAttribute", ""),
    ("DivFloorShapeAttribute", ""),
    ("AssertEqualShapeAttribute", "allow_broadcast:bool"),
    ("Conv2dBlockScaledAttribute", _BLOCK),
    ("MaxPool2dAdaptiveAttribute", _NAN),
    ("AvgPool2dAdaptiveAttribute", "acc_type:DType"),
    ("ReshapeBlockScaledAttribute", _BLOCK),
    ("RowGatherBlockScaledAttribute", _BLOCK),
)
_ATTRIBUTE_FIELDS = tuple((name, tuple(tuple(f.split(":")) for f in spec.split())) for name, spec in _ATTRIBUTES)
# Attribute fields that name regions (control flow).
_REGION_FIELDS = ("then_graph", "else_graph", "cond_graph", "body_graph")


# Field ids of each table (tosa_1.1.fbs, which only appends to 1.0), in schema order; a union
# field takes two ids (its type, then its value).


class _GRAPH:  # TosaGraph
    VERSION, REGIONS, SOFTWARE_VERSION = range(3)


class _VERSION:  # Version (and SoftwareVersion: _major, _minor, _micro, _modifier)
    MAJOR, MINOR, PATCH, DRAFT = range(4)
    MODIFIER = 3


class _REGION:  # TosaRegion
    NAME, BLOCKS = range(2)


class _BLOCK:  # TosaBasicBlock
    NAME, OPERATORS, TENSORS, INPUTS, OUTPUTS, SHAPES = range(6)


class _OPERATOR:  # TosaOperator
    OP, ATTRIBUTE_TYPE, ATTRIBUTE, INPUTS, OUTPUTS, LOCATION = range(6)


class _TENSOR:  # TosaTensor
    NAME, SHAPE, TYPE, DATA, VARIABLE, IS_UNRANKED, VARIABLE_NAME, OFFSET, SIZE = range(9)


class _SHAPE:  # TosaShape
    NAME, RANK, DATA = range(3)


class _LOCATION:  # OpLocation
    TEXT = 0


def enum_name(table: tuple[str, ...] | dict[int, str], value: int) -> str:
    """The name of an enum value, ``UNKNOWN(n)`` when this reader does not know it.

    Examples
    --------
    >>> enum_name(("UNKNOWN", "BOOL"), 1), enum_name(("UNKNOWN", "BOOL"), 7)
    ('BOOL', 'UNKNOWN(7)')
    """
    if isinstance(table, dict):
        name = table.get(value)
    else:
        name = table[value] if 0 <= value < len(table) else None
    return name if name is not None else f"UNKNOWN({value})"


def read_tosa(source: Source) -> TosaGraph:
    """Read a .tosa from a :class:`Source` into a :class:`~edgeinspect.model.tosa.TosaGraph`.

    Raises
    ------
    FormatError
        When the file is truncated, corrupt or not a TOSA flatbuffer.
    """
    graph = parse_tosa(source.data, path=source.path, reader=source.read)  # constant data through the checked reader
    object.__setattr__(graph, "_source", source)
    return graph


def parse_tosa(data: Any, *, path: str | None = None, base: int = 0, reader: Any = None) -> TosaGraph:
    """Parse TOSA flatbuffer bytes (a file, or a delegate payload inside a .pte).

    Parameters
    ----------
    data : bytes-like
        The flatbuffer.
    path : str, optional
        File name for error messages.
    base : int
        Offset of ``data`` in its file, so errors and tensor data offsets are file offsets.
    reader : callable, optional
        ``reader(file_offset, size) -> bytes`` used by :meth:`TosaGraph.constant_data`;
        by default a slice of ``data``.
    """
    buf = Buffer(data, path, base)
    if reader is None:

        def reader(offset: int, size: int) -> bytes:
            start = offset - base
            if start < 0 or start + size > len(data):
                raise FormatError(f"{size} bytes at {offset:#x} run past the end of the data", path=path, offset=offset)
            return bytes(data[start : start + size])

    root = buf.root(FILE_IDENTIFIER, "TosaGraph")
    vt = root.table(_GRAPH.VERSION, "version")
    if vt is None:
        raise buf.error(root.pos, "version", "TosaGraph has no version (a required field): not a TOSA 1.x file")
    version = tuple(
        vt.scalar(slot, I32, -1, f"version._{part}")
        for slot, part in ((_VERSION.MAJOR, "major"), (_VERSION.MINOR, "minor"), (_VERSION.PATCH, "patch"))
    )
    draft = bool(vt.scalar(_VERSION.DRAFT, BOOL, 1, "version._draft"))
    if version[0] != 1:
        raise buf.error(
            vt.pos,
            "version",
            f"TOSA version {'.'.join(map(str, version))} is not supported (this reader reads TOSA 1.0 and 1.1; "
            f"files of the 0.x drafts need an older tosa-tools)",
        )
    software = None
    sw = root.table(_GRAPH.SOFTWARE_VERSION, "software_version")
    if sw is not None:
        parts = [sw.scalar(slot, I32, -1, f"software_version[{slot}]") for slot in (_VERSION.MAJOR, _VERSION.MINOR, _VERSION.PATCH)]
        modifier = sw.string(_VERSION.MODIFIER, "software_version._modifier")
        software = ".".join(str(p) for p in parts) + (modifier or "")
    regions = []
    # Tensor names the operators may name in all (each is an edge of the graph): an honest
    # file spends at least 4 bytes on each, in the operator's own vector; operators that alias
    # one long vector would make a graph thousands of times the file's size.
    refs = [len(data) // 4 + _REFERENCE_SLACK]
    for ri, rt in enumerate(root.tables(_GRAPH.REGIONS, "regions")):
        field = f"regions[{ri}]"
        try:
            regions.append(_region(buf, rt, refs))
        except FormatError as err:
            raise err.within(field) from None
    return TosaGraph(
        path=path,
        version=version,
        regions=tuple(regions),
        file_size=len(data),
        draft=draft,
        software_version=software,
        _reader=reader,
    )


def _region(buf: Buffer, rt: Table, refs: list[int]) -> TosaRegion:
    name = rt.string(_REGION.NAME, "name") or ""
    blocks = []
    for bi, bt in enumerate(rt.tables(_REGION.BLOCKS, "blocks")):
        try:
            blocks.append(_block(buf, bt, refs))
        except FormatError as err:
            raise err.within(f"blocks[{bi}]") from None
    return TosaRegion(name, tuple(blocks), offset=rt.offset)


def _block(buf: Buffer, bt: Table, refs: list[int]) -> TosaBlock:
    name = bt.string(_BLOCK.NAME, "name") or ""
    operators = tuple(_operator(buf, t, i, refs) for i, t in enumerate(bt.tables(_BLOCK.OPERATORS, "operators")))
    tensors = tuple(_tensor(buf, t, f"tensors[{i}]") for i, t in enumerate(bt.tables(_BLOCK.TENSORS, "tensors")))
    inputs = tuple(bt.strings(_BLOCK.INPUTS, "inputs"))
    outputs = tuple(bt.strings(_BLOCK.OUTPUTS, "outputs"))
    shapes = []
    for i, st in enumerate(bt.tables(_BLOCK.SHAPES, "shapes")):
        f = f"shapes[{i}]"
        data = st.byte_range(_SHAPE.DATA, f + ".data")
        shapes.append(
            TosaShape(
                name=st.string(_SHAPE.NAME, f + ".name") or "",
                rank=st.scalar(_SHAPE.RANK, U32, 0, f + ".rank"),
                data_bytes=data[1] if data else 0,
                data_offset=buf.base + data[0] if data and data[1] else -1,
                offset=st.offset,
            )
        )
    return TosaBlock(name, operators, tensors, inputs, outputs, tuple(shapes), offset=bt.offset)


def _operator(buf: Buffer, t: Table, index: int, refs: list[int]) -> TosaOperator:
    f = f"operators[{index}]"
    inputs = tuple(t.strings(_OPERATOR.INPUTS, f + ".inputs"))
    outputs = tuple(t.strings(_OPERATOR.OUTPUTS, f + ".outputs"))
    refs[0] -= len(inputs) + len(outputs)
    if refs[0] < 0:
        raise buf.error(
            t.pos,
            f + ".inputs",
            f"the operators name more tensors than a {buf.size:,}-byte file holds without sharing name vectors "
            "(a hostile file multiplying the graph)",
        )
    op_value = t.scalar(_OPERATOR.OP, U32, 0, f + ".op")
    attr_type = t.scalar(_OPERATOR.ATTRIBUTE_TYPE, U8, 0, f + ".attribute_type")
    attribute = None
    attributes: dict[str, Any] = {}
    regions: tuple[str, ...] = ()
    if attr_type:
        if attr_type <= len(_ATTRIBUTE_FIELDS):
            attribute, fields = _ATTRIBUTE_FIELDS[attr_type - 1]
            at = t.table(_OPERATOR.ATTRIBUTE, f + ".attribute")
            if at is not None:
                attributes = _attribute_fields(at, fields, f"{f}.attribute")
                regions = tuple(attributes[k] for k in _REGION_FIELDS if attributes.get(k))
        else:
            attribute = f"UNKNOWN({attr_type})"
    loc = t.table(_OPERATOR.LOCATION, f + ".location")
    return TosaOperator(
        op=enum_name(OP_NAMES, op_value),
        inputs=inputs,
        outputs=outputs,
        attribute=attribute,
        attributes=attributes,
        location=(loc.string(_LOCATION.TEXT, f + ".location.text") or None) if loc is not None else None,
        index=index,
        regions=regions,
        offset=t.offset,
    )


def _attribute_fields(at: Table, fields: tuple[tuple[str, ...], ...], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for slot, (name, kind) in enumerate(fields):
        f = f"{where}.{name}"
        if kind == "i32":
            out[name] = at.scalar(slot, I32, 0, f)
        elif kind == "bool":
            out[name] = bool(at.scalar(slot, BOOL, 0, f))
        elif kind == "str":
            out[name] = at.string(slot, f) or ""
        elif kind == "[i32]":
            out[name] = at.scalars(slot, "i", 4, f)
        elif kind == "[u8]":
            rng = at.byte_range(slot, f)
            out[name + "_bytes"] = rng[1] if rng else 0
        else:
            out[name] = enum_name(_ENUMS[kind], at.scalar(slot, U32, 0, f))
    return out


def _tensor(buf: Buffer, t: Table, f: str) -> TosaTensor:
    data = t.byte_range(_TENSOR.DATA, f + ".data")
    external_offset = t.scalar(_TENSOR.OFFSET, U64, 0, f + ".offset")
    external = external_offset > 1
    if external:
        # Data of >2 GB models lies after the flatbuffer, offset relative to the file start.
        data_bytes = t.scalar(_TENSOR.SIZE, U64, 0, f + ".size")
        data_offset = buf.base + external_offset
    else:
        data_bytes = data[1] if data else 0
        data_offset = buf.base + data[0] if data_bytes else -1
    return TosaTensor(
        name=t.string(_TENSOR.NAME, f + ".name") or "",
        shape=t.scalars(_TENSOR.SHAPE, "i", 4, f + ".shape"),
        dtype=enum_name(_ENUMS["DType"], t.scalar(_TENSOR.TYPE, U32, 0, f + ".type")),
        data_bytes=data_bytes,
        variable=bool(t.scalar(_TENSOR.VARIABLE, BOOL, 0, f + ".variable")),
        is_unranked=bool(t.scalar(_TENSOR.IS_UNRANKED, BOOL, 0, f + ".is_unranked")),
        variable_name=t.string(_TENSOR.VARIABLE_NAME, f + ".variable_name"),
        external=external,
        data_offset=data_offset,
        offset=t.offset,
    )
