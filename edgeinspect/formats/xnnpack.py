"""Decoder for XNNPACK delegate payloads, written from the layout of ``schema.fbs`` (``fb_xnnpack``).

Layout facts used: a payload starts with a header (``XH00`` at bytes 4..8, then u16
header length, u32 flatbuffer offset, u32 flatbuffer size, u32 constant-data offset,
u64 constant-data size); older payloads have no header and are the flatbuffer itself.
The flatbuffer (identifier ``XN01``, older ``XN00``) has root ``XNNGraph`` (version,
xnodes, xvalues, num_externs, input_ids, output_ids, two deprecated slots,
constant_data). ``XNode`` = (xnode_union type, xnode_union, debug_handle,
output_min_max); ``XValue`` = (xvalue_union type, value) with members
``XNNTensorValue`` and ``XNNQuantizedTensorValue`` (tensor_value, quant_params).
Value ids in nodes refer to ``XNNTensorValue.id_out``; ``0xFFFFFFFF`` means "none".
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from edgeinspect.errors import FormatError
from edgeinspect.formats._fb import F32, U8, U32, Buffer, Table
from edgeinspect.model.xnnpack import INVALID_ID, XnnGraph, XnnNode, XnnValue

if TYPE_CHECKING:
    pass

__all__ = ["XnnGraph", "XnnNode", "XnnValue", "decode_xnnpack"]

_HEADER_MAGIC = b"XH00"
_HEADER = struct.Struct("<HIIIQ")  # at byte 8: length, fb offset, fb size, const offset, const size
_IDENTIFIERS = (b"XN01", b"XN00")
_I16 = struct.Struct("<h")

#: XNNDatatype -> (name, bits per element; None when packed/unknown).
DATATYPES: dict[int, tuple[str, int | None]] = {
    0: ("invalid", None),
    1: ("fp32", 32),
    2: ("fp16", 16),
    3: ("qint8", 8),
    4: ("quint8", 8),
    5: ("qint32", 32),
    6: ("qcint8", 8),
    7: ("qcint32", 32),
    8: ("qcint4", 4),
    9: ("qdint8", 8),
    10: ("qbint4", 4),
    11: ("qpint8", None),
    12: ("int32", 32),
    13: ("pfp32", None),
    14: ("bf16", 16),
}

_QUANT = (None, "per_channel", "per_tensor", "per_token_dynamic", "per_channel_group")

# Field ids of each table (schema.fbs), in schema order; a union field takes two ids (its
# type, then its value). XValueUnion members, tag = position.


class _GRAPH:  # XNNGraph
    VERSION, XNODES, XVALUES, NUM_EXTERNS, INPUT_IDS, OUTPUT_IDS, CONSTANT_BUFFER, MEM_BUFFER_SIZES, CONSTANT_DATA = range(9)


class _NODE:  # XNode
    XNODE_UNION_TYPE, XNODE_UNION, DEBUG_HANDLE, OUTPUT_MIN_MAX = range(4)


class _VALUE:  # XValue
    XVALUE_UNION_TYPE, XVALUE_UNION = range(2)


class _TENSOR_VALUE:  # XNNTensorValue
    DATATYPE, NUM_DIMS, DIMS, CONSTANT_BUFFER_IDX, EXTERNAL_ID, FLAGS, ID_OUT = range(7)


class _QUANTIZED_TENSOR_VALUE:  # XNNQuantizedTensorValue
    TENSOR_VALUE, QUANT_PARAMS_TYPE, QUANT_PARAMS = range(3)


class _CONSTANT_DATA:  # ConstantDataOffset
    OFFSET, SIZE, NAMED_KEY = range(3)


_VALUE_UNION = (None, "XNNTensorValue", "XNNQuantizedTensorValue")
_TENSOR_VALUE_TAG, _QUANTIZED_TENSOR_VALUE_TAG = _VALUE_UNION.index("XNNTensorValue"), _VALUE_UNION.index("XNNQuantizedTensorValue")

# Node tables: fields in slot order as "name:type" (u32, f32, [u32]). Fields ending in
# "_id" are value ids: outputs when they start with "output", inputs otherwise.
_N2X1 = "input1_id:u32 input2_id:u32 output_id:u32 flags:u32"
_N1X1 = "input_id:u32 output_id:u32 flags:u32"
_CAT = "axis:u32 input1_id:u32 input2_id:u32 input3_id:u32 input4_id:u32 output_id:u32 flags:u32 input5_id:u32"
_CONV = (
    "padding_top:u32 padding_right:u32 padding_bottom:u32 padding_left:u32 kernel_height:u32 kernel_width:u32 "
    "subsampling_height:u32 subsampling_width:u32 dilation_height:u32 dilation_width:u32 group_input_channels:u32 "
    "group_output_channels:u32 groups:u32 adjustment_height:u32 adjustment_width:u32 "
    "input1_id:u32 filter_id:u32 bias_id:u32 output_id:u32 flags:u32"
)
_POOL = (
    "padding_top:u32 padding_right:u32 padding_bottom:u32 padding_left:u32 pooling_height:u32 pooling_width:u32 "
    "stride_height:u32 stride_width:u32 dilation_height:u32 dilation_width:u32 input_id:u32 output_id:u32 flags:u32"
)
_NODES: tuple[tuple[str, str], ...] = (
    ("XNNAdd", _N2X1),
    ("XNNFullyConnected", "input1_id:u32 filter_id:u32 bias_id:u32 output_id:u32 flags:u32"),
    ("XNNSoftmax", _N1X1),
    ("XNNSigmoid", _N1X1),
    ("XNNStaticTranspose", "num_dims:u32 perm:[u32] input_id:u32 output_id:u32 flags:u32"),
    ("XNNClamp", _N1X1),
    ("XNNConv2d", _CONV),
    ("XNNDiv", _N2X1),
    ("XNNStaticResizeBilinear2D", "new_height:u32 new_width:u32 input_id:u32 output_id:u32 flags:u32"),
    ("XNNStaticConstantPad", "pre_paddings:[u32] post_paddings:[u32] padding_value:f32 input_id:u32 output_id:u32 flags:u32"),
    ("XNNAvgPooling2d", _POOL),
    ("XNNMinimum", _N2X1),
    ("XNNDepthwiseConv2d", _CONV),
    ("XNNMaxPooling2d", _POOL),
    ("XNNMultiply", _N2X1),
    ("XNNSubtract", _N2X1),
    ("XNNFloor", _N1X1),
    ("XNNConvert", _N1X1),
    ("XNNGlobalAvgPooling2d", _N1X1),
    ("XNNStaticReshape", "num_dims:u32 new_shape:[u32] input_id:u32 output_id:u32 flags:u32"),
    (
        "XNNArgMaxPooling2d",
        "padding_top:u32 padding_right:u32 padding_bottom:u32 padding_left:u32 pooling_height:u32 pooling_width:u32 "
        "input_id:u32 output_value_id:u32 output_index_id:u32 flags:u32",
    ),
    ("XNNSquareRoot", _N1X1),
    ("XNNCeiling", _N1X1),
    ("XNNHardswish", _N1X1),
    ("XNNLeakyReLU", "negative_slope:f32 input_id:u32 output_id:u32 flags:u32"),
    ("XNNMaximum", _N2X1),
    ("XNNNegate", _N1X1),
    ("XNNSquare", _N1X1),
    ("XNNELU", "alpha:f32 input_id:u32 output_id:u32 flags:u32"),
    ("XNNAbs", _N1X1),
    ("XNNPReLU", _N2X1),
    ("XNNConcatenate2", _CAT),
    ("XNNConcatenate3", _CAT),
    ("XNNConcatenate4", _CAT),
    ("XNNStaticSlice", "num_dims:u32 offsets:[u32] sizes:[u32] input_id:u32 output_id:u32 flags:u32"),
    ("XNNScaledDotProductAttention", "query_id:u32 key_id:u32 value_id:u32 scale_id:u32 mask_id:u32 output_id:u32 flags:u32"),
    ("XNNBatchMatrixMultiply", _N2X1),
    ("XNNConcatenate5", _CAT),
    ("XNNConvTranspose2d", _CONV),
    ("XNNReciprocalSquareRoot", _N1X1),
    ("XNNLog", _N1X1),
    ("XNNGelu", _N1X1),
    ("XNNTanh", _N1X1),
    ("XNNExp", _N1X1),
    ("XNNSin", _N1X1),
    ("XNNCopy", _N1X1),
    ("XNNCos", _N1X1),
)
_NODE_FIELDS = tuple((name, tuple(tuple(f.split(":")) for f in spec.split())) for name, spec in _NODES)


def decode_xnnpack(data: Any, *, path: str | None = None, base: int = 0) -> XnnGraph:
    """Decode an XNNPACK payload (with or without the ``XH00`` header).

    Parameters
    ----------
    data : bytes-like
        The payload.
    path : str, optional
        File name for error messages.
    base : int
        File offset of the payload, so errors give file offsets.

    Raises
    ------
    FormatError
        When the payload is truncated or corrupt.
    """
    size = len(data)
    has_header = size >= 8 and bytes(data[4:8]) == _HEADER_MAGIC
    constant_bytes = 0
    if has_header:
        if size < 8 + _HEADER.size:
            raise FormatError(f"payload of {size} bytes ends inside the XNNPACK header", path=path, offset=base, field="xnnpack.header")
        length, fb_off, fb_size, const_off, const_size = _HEADER.unpack_from(data, 8)
        if length < 8 + _HEADER.size:
            raise FormatError(
                f"XNNPACK header length {length} is below {8 + _HEADER.size}", path=path, offset=base + 8, field="xnnpack.header.length"
            )
        if fb_off + fb_size > size or fb_size < 8:
            raise FormatError(
                f"XNNPACK flatbuffer ({fb_size} bytes at {fb_off}) does not fit the {size}-byte payload",
                path=path,
                offset=base + 10,
                field="xnnpack.header.flatbuffer",
            )
        if const_off + const_size > size:
            raise FormatError(
                f"XNNPACK constant data ({const_size} bytes at {const_off}) does not fit the {size}-byte payload",
                path=path,
                offset=base + 18,
                field="xnnpack.header.constant_data",
            )
        constant_bytes = const_size
        fb = data[fb_off : fb_off + fb_size]
        fb_base = base + fb_off
    else:
        fb = data
        fb_base = base
    buf = Buffer(fb, path, fb_base)
    ident = bytes(fb[4:8]) if len(fb) >= 8 else b""
    if ident not in _IDENTIFIERS:
        raise buf.error(4 if len(fb) >= 8 else 0, "xnnpack.file_identifier", f"expected an XNNPACK graph (XN01 or XN00), found {ident!r}")
    try:
        return _graph(buf, ident.decode(), has_header, len(fb), constant_bytes)
    except FormatError as err:
        raise err.within("xnnpack") from None


def _graph(buf: Buffer, ident: str, has_header: bool, fb_size: int, constant_bytes: int) -> XnnGraph:
    root = buf.root(None, "XNNGraph")
    values = tuple(v for i, t in enumerate(root.tables(_GRAPH.XVALUES, "xvalues")) if (v := _value(t, f"xvalues[{i}]")) is not None)
    nodes = tuple(_node(t, i) for i, t in enumerate(root.tables(_GRAPH.XNODES, "xnodes")))
    constants = root.tables(_GRAPH.CONSTANT_DATA, "constant_data")
    named = sum(1 for i, c in enumerate(constants) if c.string(_CONSTANT_DATA.NAMED_KEY, f"constant_data[{i}].named_key"))
    return XnnGraph(
        version=root.string(_GRAPH.VERSION, "version") or "",
        identifier=ident,
        has_header=has_header,
        nodes=nodes,
        values=values,
        num_externs=root.scalar(_GRAPH.NUM_EXTERNS, U32, 0, "num_externs"),
        input_ids=root.scalars(_GRAPH.INPUT_IDS, "I", 4, "input_ids"),
        output_ids=root.scalars(_GRAPH.OUTPUT_IDS, "I", 4, "output_ids"),
        flatbuffer_bytes=fb_size,
        constant_data_bytes=constant_bytes,
        constants=len(constants),
        named_constants=named,
    )


def _value(t: Table, f: str) -> XnnValue | None:
    kind = t.scalar(_VALUE.XVALUE_UNION_TYPE, U8, 0, f + ".xvalue_union_type")
    body = t.table(_VALUE.XVALUE_UNION, f + ".xvalue_union")
    if body is None or kind not in (_TENSOR_VALUE_TAG, _QUANTIZED_TENSOR_VALUE_TAG):
        return None
    quant = None
    if kind == _QUANTIZED_TENSOR_VALUE_TAG:
        q = body.scalar(_QUANTIZED_TENSOR_VALUE.QUANT_PARAMS_TYPE, U8, 0, f + ".quant_params_type")
        quant = _QUANT[q] if q < len(_QUANT) else f"unknown({q})"
        body = body.table(_QUANTIZED_TENSOR_VALUE.TENSOR_VALUE, f + ".tensor_value")
        if body is None:
            return None
    dt = body.scalar(_TENSOR_VALUE.DATATYPE, _I16, 0, f + ".datatype")
    name, bits = DATATYPES.get(dt, (f"unknown({dt})", None))
    return XnnValue(
        id=body.scalar(_TENSOR_VALUE.ID_OUT, U32, 0, f + ".id_out"),
        datatype=name,
        dims=body.scalars(_TENSOR_VALUE.DIMS, "I", 4, f + ".dims"),
        constant_buffer_idx=body.scalar(_TENSOR_VALUE.CONSTANT_BUFFER_IDX, U32, 0, f + ".constant_buffer_idx"),
        external_id=body.scalar(_TENSOR_VALUE.EXTERNAL_ID, U32, INVALID_ID, f + ".external_id"),
        flags=body.scalar(_TENSOR_VALUE.FLAGS, U32, 0, f + ".flags"),
        quantization=quant,
        element_bits=bits,
        offset=body.offset,
    )


def _node(t: Table, index: int) -> XnnNode:
    f = f"xnodes[{index}]"
    kind = t.scalar(_NODE.XNODE_UNION_TYPE, U8, 0, f + ".xnode_union_type")
    debug = t.scalar(_NODE.DEBUG_HANDLE, U32, 0, f + ".debug_handle")
    if not 1 <= kind <= len(_NODE_FIELDS):
        return XnnNode(index, f"UNKNOWN({kind})", (), (), debug_handle=debug, offset=t.offset)
    name, fields = _NODE_FIELDS[kind - 1]
    body = t.table(_NODE.XNODE_UNION, f + ".xnode_union")
    inputs: list[int] = []
    outputs: list[int] = []
    attrs: dict[str, Any] = {}
    if body is not None:
        n_cat = int(name[-1]) if name.startswith("XNNConcatenate") else None
        for slot, (fname, ftype) in enumerate(fields):
            ff = f"{f}.{fname}"
            if ftype == "u32":
                v = body.scalar(slot, U32, 0, ff)
            elif ftype == "f32":
                v = body.scalar(slot, F32, 0.0, ff)
            else:
                v = body.scalars(slot, "I", 4, ff)
            if fname.endswith("_id"):
                if fname.startswith("output"):
                    if v != INVALID_ID:
                        outputs.append(v)
                elif v != INVALID_ID and not (n_cat and fname.startswith("input") and int(fname[5]) > n_cat):
                    inputs.append(v)
            else:
                attrs[fname] = v
    return XnnNode(index, name, tuple(inputs), tuple(outputs), attrs, debug, offset=t.offset)
