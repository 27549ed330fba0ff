"""Decoder for the Ethos-U NPU command stream (the ``cmd_data`` block of a Vela payload).

Layout facts used (Arm's public Ethos-U55/U65/U85 command definitions, as shipped in
Vela's ``ethos_u55_regs`` module and the Linux ``accel/ethosu`` driver, and Vela's own
``--verbose-register-command-stream`` listing for the codes only the Ethos-U85 has):

* The stream is a sequence of little-endian 32-bit words. A command's first word holds a
  16-bit code in its low half and a 16-bit parameter in its high half.
* Bit 14 of the code (``0x4000``) marks a *cmd1*: one more 32-bit payload word follows
  (an address, a length or a scale). Other commands (*cmd0*) are one word.
* Bits 0-9 are the opcode; bits 10-13 and 15 are zero in every defined command.
* ``NPU_OP_*`` codes (below ``0x100``) start work: convolution, depthwise, pooling (the
  parameter is the pooling mode), elementwise (the parameter is the elementwise mode),
  resize (U85), DMA, waits, stop. ``NPU_SET_*`` codes load registers the next operation
  reads: feature-map sizes minus one, precision, kernel size and stride, DMA addresses.

The code numbering is per architecture: Ethos-U55 and U65 share one table, the Ethos-U85
moves or adds some registers (resize, DMA index, extra weight streams). Unknown codes are
kept as ``unknown(0x....)`` commands; a stream that cannot be walked (length not a
multiple of four, a payload word missing, no ``NPU_OP_STOP``) raises
:class:`~edgeinspect.errors.FormatError`.

Examples
--------
>>> import struct
>>> words = [0x000F_010B, 0x000F_010A, 0x0002_0104, 0x0001_0005, 0xFFFF_0000]
>>> cs = decode_command_stream(struct.pack("<5I", *words), "ethos-u55-128")
>>> [op.kind for op in cs.operations]
['pooling.average', 'stop']
>>> cs.operations[0].ifm
(16, 16, 3)
"""

from __future__ import annotations

import struct
from typing import Any

from edgeinspect.errors import FormatError, UsageError
from edgeinspect.model.ethosu import CommandStream, NpuCommand, NpuOperation

__all__ = [
    "CommandStream",
    "NpuCommand",
    "NpuOperation",
    "architecture",
    "decode_command_stream",
    "opcode_names",
]

_PAYLOAD = 0x4000  # code bit: one 32-bit payload word follows
_FIRST_SET = 0x100  # codes below are operations (NPU_OP_*), from here on registers (NPU_SET_*)
_COP1 = int.from_bytes(b"COP1", "little")  # driver payload fourccs
_COP2 = int.from_bytes(b"COP2", "little")
_DA_CONFIG, _DA_CMDSTREAM = 0x01, 0x02  # driver actions (tag low byte)
_DA_SINGLE = (0x03, 0x04, 0x05)  # read APB registers, dump SHRAM, NOP: no words follow

# --- code tables: {code: name without the NPU_ prefix}; cmd1 codes include 0x4000 -------

_OPS_COMMON = {
    0x000: "OP_STOP",
    0x002: "OP_CONV",
    0x003: "OP_DEPTHWISE",
    0x005: "OP_POOL",
    0x006: "OP_ELEMENTWISE",
    0x010: "OP_DMA_START",
    0x011: "OP_DMA_WAIT",
    0x012: "OP_KERNEL_WAIT",
}

# Registers with the same code on U55/U65 and U85.
_SET_COMMON = {
    0x100: "IFM_PAD_TOP", 0x101: "IFM_PAD_LEFT", 0x102: "IFM_PAD_RIGHT", 0x103: "IFM_PAD_BOTTOM",
    0x104: "IFM_DEPTH_M1", 0x105: "IFM_PRECISION", 0x107: "IFM_UPSCALE", 0x109: "IFM_ZERO_POINT",
    0x10A: "IFM_WIDTH0_M1", 0x10B: "IFM_HEIGHT0_M1", 0x10C: "IFM_HEIGHT1_M1", 0x10F: "IFM_REGION",
    0x111: "OFM_WIDTH_M1", 0x112: "OFM_HEIGHT_M1", 0x113: "OFM_DEPTH_M1", 0x114: "OFM_PRECISION",
    0x115: "OFM_BLK_WIDTH_M1", 0x116: "OFM_BLK_HEIGHT_M1", 0x117: "OFM_BLK_DEPTH_M1", 0x118: "OFM_ZERO_POINT",
    0x11A: "OFM_WIDTH0_M1", 0x11B: "OFM_HEIGHT0_M1", 0x11C: "OFM_HEIGHT1_M1", 0x11F: "OFM_REGION",
    0x120: "KERNEL_WIDTH_M1", 0x121: "KERNEL_HEIGHT_M1", 0x122: "KERNEL_STRIDE", 0x124: "ACC_FORMAT",
    0x125: "ACTIVATION", 0x126: "ACTIVATION_MIN", 0x127: "ACTIVATION_MAX", 0x128: "WEIGHT_REGION",
    0x129: "SCALE_REGION", 0x12F: "BLOCKDEP", 0x130: "DMA0_SRC_REGION", 0x131: "DMA0_DST_REGION",
    0x132: "DMA0_SIZE0", 0x133: "DMA0_SIZE1", 0x180: "IFM2_BROADCAST", 0x185: "IFM2_PRECISION",
    0x189: "IFM2_ZERO_POINT", 0x18A: "IFM2_WIDTH0_M1", 0x18B: "IFM2_HEIGHT0_M1", 0x18C: "IFM2_HEIGHT1_M1",
    0x18F: "IFM2_REGION",
    0x4000: "IFM_BASE0", 0x4001: "IFM_BASE1", 0x4002: "IFM_BASE2", 0x4003: "IFM_BASE3",
    0x4004: "IFM_STRIDE_X", 0x4005: "IFM_STRIDE_Y", 0x4006: "IFM_STRIDE_C",
    0x4010: "OFM_BASE0", 0x4011: "OFM_BASE1", 0x4012: "OFM_BASE2", 0x4013: "OFM_BASE3",
    0x4014: "OFM_STRIDE_X", 0x4015: "OFM_STRIDE_Y", 0x4016: "OFM_STRIDE_C",
    0x4020: "WEIGHT_BASE", 0x4021: "WEIGHT_LENGTH", 0x4022: "SCALE_BASE", 0x4023: "SCALE_LENGTH",
    0x4024: "OFM_SCALE", 0x4030: "DMA0_SRC", 0x4031: "DMA0_DST", 0x4032: "DMA0_LEN",
    0x4080: "IFM2_BASE0", 0x4081: "IFM2_BASE1", 0x4082: "IFM2_BASE2", 0x4083: "IFM2_BASE3",
    0x4084: "IFM2_STRIDE_X", 0x4085: "IFM2_STRIDE_Y", 0x4086: "IFM2_STRIDE_C",
    0x4090: "WEIGHT1_BASE", 0x4091: "WEIGHT1_LENGTH",
}  # fmt: skip

_U55_ONLY = {
    0x001: "OP_IRQ", 0x013: "OP_PMU_MASK", 0x10D: "IFM_IB_END", 0x123: "PARALLEL_MODE", 0x12D: "AB_START",
    0x181: "IFM2_SCALAR", 0x18D: "IFM2_IB_START", 0x4025: "OPA_SCALE", 0x4026: "OPB_SCALE",
    0x4033: "DMA0_SKIP0", 0x4034: "DMA0_SKIP1", 0x4092: "SCALE1_BASE", 0x4093: "SCALE1_LENGTH",
}  # fmt: skip

_U85_ONLY = {
    0x007: "OP_RESIZE", 0x108: "IFM_BROADCAST", 0x12A: "RESIZE_X_SCALE_N_M1", 0x12B: "RESIZE_Y_SCALE_N_M1",
    0x12C: "RESIZE_X_OFFSET", 0x12D: "RESIZE_Y_OFFSET", 0x12E: "WEIGHT_FORMAT", 0x134: "DMA0_IDX_REGION",
    0x4025: "IFM_SCALE", 0x4026: "IFM2_SCALE", 0x4027: "OP_SCALAR",
    0x4033: "DMA0_SRC_STRIDE0", 0x4034: "DMA0_SRC_STRIDE1", 0x4035: "DMA0_DST_STRIDE0", 0x4036: "DMA0_DST_STRIDE1",
    0x4037: "DMA0_IDX", 0x4038: "DMA0_IDX_MAX", 0x4092: "WEIGHT2_BASE", 0x4093: "WEIGHT2_LENGTH",
    0x4094: "WEIGHT3_BASE", 0x4095: "WEIGHT3_LENGTH", 0x4096: "RESIZE_X_STEP", 0x4097: "RESIZE_Y_STEP",
}  # fmt: skip


def _full_names(*tables: dict[int, str]) -> dict[int, str]:
    merged = {k: v for t in tables for k, v in t.items()}
    return {code: ("NPU_" if code < _FIRST_SET else "NPU_SET_") + name for code, name in sorted(merged.items())}


# The codes the decoder reads by name (the same on every architecture).
_OP = {name: code for code, name in _OPS_COMMON.items()}
_REG = {name: code for code, name in _SET_COMMON.items()}
_STOP = _OP["OP_STOP"]
_DMA_LEN = _REG["DMA0_LEN"]
_IFM_H, _IFM_W, _IFM_C = _REG["IFM_HEIGHT0_M1"], _REG["IFM_WIDTH0_M1"], _REG["IFM_DEPTH_M1"]  # tile 0
_IFM2_H, _IFM2_W = _REG["IFM2_HEIGHT0_M1"], _REG["IFM2_WIDTH0_M1"]  # IFM2 has no depth register: the IFM's
_OFM_H, _OFM_W, _OFM_C = _REG["OFM_HEIGHT_M1"], _REG["OFM_WIDTH_M1"], _REG["OFM_DEPTH_M1"]
_IFM_PRECISION, _IFM2_PRECISION, _OFM_PRECISION = _REG["IFM_PRECISION"], _REG["IFM2_PRECISION"], _REG["OFM_PRECISION"]
_KERNEL_WIDTH, _KERNEL_HEIGHT, _KERNEL_STRIDE = _REG["KERNEL_WIDTH_M1"], _REG["KERNEL_HEIGHT_M1"], _REG["KERNEL_STRIDE"]

_TABLES = {
    "ethos-u55": _full_names(_OPS_COMMON, _SET_COMMON, _U55_ONLY),
    "ethos-u85": _full_names(_OPS_COMMON, _SET_COMMON, _U85_ONLY),
}

# Operation modes (the parameter of NPU_OP_POOL / NPU_OP_ELEMENTWISE / NPU_OP_RESIZE).
_POOL_U55 = {0: "max", 1: "average", 2: "reduce_sum"}
_POOL_U85 = {**_POOL_U55, 3: "sum", 4: "none"}
_ELEMENTWISE_U55 = {0: "mul", 1: "add", 2: "sub", 3: "min", 4: "max", 5: "lrelu", 6: "abs", 7: "clz", 8: "shr", 9: "shl"}
_ELEMENTWISE_U85 = {
    **_ELEMENTWISE_U55,
    0x10: "cmp_eq",
    0x11: "cmp_ne",
    0x12: "cmp_ge",
    0x13: "cmp_gt",
    0x21: "and",
    0x22: "or",
    0x24: "not",
    0x2A: "and_not",
}
_RESIZE_U85 = {0: "bilinear", 1: "replicate", 2: "nearest"}
_MODES = {
    "ethos-u55": {"pooling": _POOL_U55, "elementwise": _ELEMENTWISE_U55},
    "ethos-u85": {"pooling": _POOL_U85, "elementwise": _ELEMENTWISE_U85, "resize": _RESIZE_U85},
}

_COMPUTE = {
    "NPU_OP_CONV": "conv2d",
    "NPU_OP_DEPTHWISE": "depthwise",
    "NPU_OP_POOL": "pooling",
    "NPU_OP_ELEMENTWISE": "elementwise",
    "NPU_OP_RESIZE": "resize",
}
_OTHER_OPS = {
    "NPU_OP_STOP": "stop", "NPU_OP_IRQ": "irq", "NPU_OP_DMA_START": "dma", "NPU_OP_DMA_WAIT": "dma_wait",
    "NPU_OP_KERNEL_WAIT": "kernel_wait", "NPU_OP_PMU_MASK": "pmu_mask",
}  # fmt: skip
_PRECISION_BITS = {0: 8, 1: 16, 2: 32, 3: 64}


def architecture(target: str | None) -> str | None:
    """The command-set family of a Vela accelerator config or delegate target, or None.

    Ethos-U65 uses the Ethos-U55 command set. (A delegate's accelerator comes from its compile
    specs: :attr:`edgeinspect.model.Delegate.accelerator`.)

    Examples
    --------
    >>> architecture("ethos-u55-128"), architecture("ethos-u65-512"), architecture("ethos-u85-256")
    ('ethos-u55', 'ethos-u55', 'ethos-u85')
    >>> architecture("TOSA-1.0+INT") is None
    True
    """
    if not target:
        return None
    text = target.lower()
    if text.startswith(("ethos-u55", "ethos-u65")):
        return "ethos-u55"
    if text.startswith("ethos-u85"):
        return "ethos-u85"
    return None


def opcode_names(arch: str) -> dict[int, str]:
    """``{code: "NPU_..."}`` of every command the decoder knows for ``arch`` (cmd1 codes carry 0x4000)."""
    return dict(_TABLES[_family(arch)])


def _family(arch: str) -> str:
    fam = arch if arch in _TABLES else architecture(arch)
    if fam is None:
        raise UsageError(f"unknown Ethos-U architecture {arch!r}: pass an accelerator config such as 'ethos-u55-128' or 'ethos-u85-256'")
    return fam


def decode_command_stream(data: Any, arch: str, *, path: str | None = None, base: int = 0) -> CommandStream:
    """Decode ``cmd_data`` bytes for ``arch`` into commands and NPU operations.

    ``cmd_data`` as Vela writes it is a driver payload: the fourcc ``COP1``, driver
    actions (a config action carrying the NPU's CONFIG and ID register values, NOPs) and
    a command-stream action whose tag gives the length in words of the register command
    stream that follows. A bare register command stream (no ``COP1``) is decoded too.

    Parameters
    ----------
    data : bytes-like
        The command stream (the ``cmd_data`` block of an Ethos-U payload).
    arch : str
        ``ethos-u55``/``ethos-u65``/``ethos-u85`` or a Vela accelerator config such as
        ``ethos-u85-256`` (the delegate's ``target``).
    path : str, optional
        File name for error messages.
    base : int
        File offset of ``data``, so errors give file offsets.

    Raises
    ------
    FormatError
        When the stream cannot be walked: its length is not a multiple of 4, a driver
        action or a cmd1 runs past the end, it ends without ``NPU_OP_STOP``, or it is in
        the ``COP2`` driver format (not decoded).
    UsageError
        When ``arch`` names no Ethos-U architecture.
    """
    fam = _family(arch)
    size = len(data)
    where = "ethos_u.cmd_data"
    if size % 4:
        raise FormatError(
            f"Ethos-U command stream of {size} bytes is not a whole number of 32-bit words (is the cmd_data block truncated?)",
            path=path,
            offset=base,
            field=where,
        )
    words = struct.unpack_from(f"<{size // 4}I", data, 0)
    header: dict[str, int] = {}
    if words and words[0] == _COP2:
        raise FormatError(
            "cmd_data is in the COP2 driver format, which edgeinspect does not decode (Vela writes COP1 unless --cop-format=COP2)",
            path=path,
            offset=base,
            field=where,
        )
    sections = _driver_actions(words, header, path, base) if words and words[0] == _COP1 else [(0, len(words))]
    commands: list[NpuCommand] = []
    operations: list[NpuOperation] = []
    trailing = 0
    for start, end in sections:
        trailing += _walk(words, start, end, _TABLES[fam], _MODES[fam], fam, commands, operations, path, base)
    return CommandStream(
        fam,
        tuple(commands),
        tuple(operations),
        trailing,
        config=header.get("config"),
        npu_id=header.get("id"),
    )


def _driver_actions(words: tuple[int, ...], header: dict[str, int], path: str | None, base: int) -> list[tuple[int, int]]:
    """Walk the COP1 driver actions; return the (start, end) word ranges of register command streams."""
    sections = []
    i, n = 1, len(words)
    while i < n:
        tag = words[i]
        action = tag & 0xFF
        where = f"ethos_u.cmd_data.driver_actions[word {i}]"
        if action == _DA_CONFIG:
            if i + 3 > n:
                raise FormatError(
                    "config driver action runs past the end of cmd_data (truncated)", path=path, offset=base + 4 * i, field=where
                )
            header["config"], header["id"] = words[i + 1], words[i + 2]
            i += 3
        elif action == _DA_CMDSTREAM:
            length = ((tag >> 8) & 0xFF) << 16 | tag >> 16
            if i + 1 + length > n:
                raise FormatError(
                    f"command-stream driver action says {length} words but only {n - i - 1} follow (cmd_data is truncated)",
                    path=path,
                    offset=base + 4 * i,
                    field=where,
                )
            sections.append((i + 1, i + 1 + length))
            i += 1 + length
        elif action in _DA_SINGLE:
            i += 1
        else:
            raise FormatError(
                f"unknown driver action 0x{action:02x} in the COP1 header of cmd_data", path=path, offset=base + 4 * i, field=where
            )
    if not sections:
        raise FormatError(
            "COP1 cmd_data holds no command-stream driver action (truncated?)", path=path, offset=base + 4 * n, field="ethos_u.cmd_data"
        )
    return sections


def _walk(
    words: tuple[int, ...],
    start: int,
    end: int,
    table: dict[int, str],
    modes: dict[str, dict[int, str]],
    fam: str,
    commands: list[NpuCommand],
    operations: list[NpuOperation],
    path: str | None,
    base: int,
) -> int:
    """Decode one register command stream (words[start:end]); return the bytes left after its STOP."""
    regs: dict[int, tuple[int, int]] = {}  # code -> (param, payload or 0): the register state
    i = start
    while i < end:
        word = words[i]
        code, param = word & 0xFFFF, word >> 16
        payload = None
        if code & _PAYLOAD:
            if i + 1 >= end:
                raise FormatError(
                    f"command 0x{code:04x} at the end of the command stream lacks its 32-bit payload word (truncated)",
                    path=path,
                    offset=base + 4 * i,
                    field=f"ethos_u.cmd_data.commands[{len(commands)}]",
                )
            payload = words[i + 1]
        name = table.get(code)
        offset = 4 * i
        commands.append(NpuCommand(offset, code, param, payload, name or f"unknown(0x{code:04x})"))
        i += 2 if payload is not None else 1
        if name is None:
            continue
        if code < _FIRST_SET:  # NPU_OP_*: start work with the registers set so far
            operations.append(_operation(name, param, offset, regs, modes, fam))
            if code == _STOP:
                return 4 * (end - i)
        else:
            regs[code] = (param, payload or 0)
    raise FormatError(
        f"register command stream of {4 * (end - start)} bytes ends without NPU_OP_STOP (cmd_data is truncated or not a command stream)",
        path=path,
        offset=base + 4 * end,
        field="ethos_u.cmd_data",
    )


def _operation(
    name: str, param: int, offset: int, regs: dict[int, tuple[int, int]], modes: dict[str, dict[int, str]], fam: str
) -> NpuOperation:
    if name in _OTHER_OPS:
        kind = _OTHER_OPS[name]
        dma = regs.get(_DMA_LEN, (0, None))[1] if kind == "dma" else None
        return NpuOperation(kind, offset, param, dma_bytes=dma)
    kind = _COMPUTE[name]
    if kind in modes:
        kind += "." + modes[kind].get(param, f"mode_0x{param:02x}")
    elif kind == "conv2d" and fam == "ethos-u85" and param & 1:
        kind = "matmul"  # weights_ifm2: the second operand is a feature map, not weights
    two_inputs = kind.startswith(("elementwise", "matmul"))
    windowed = kind.startswith(("conv2d", "matmul", "depthwise", "pooling"))
    return NpuOperation(
        kind,
        offset,
        param,
        ifm=_shape(regs, _IFM_H, _IFM_W, _IFM_C),
        ifm2=_shape(regs, _IFM2_H, _IFM2_W, _IFM_C) if two_inputs else None,
        ofm=_shape(regs, _OFM_H, _OFM_W, _OFM_C),
        kernel=_kernel(regs) if windowed else None,
        stride=_stride(regs) if windowed else None,
        ifm_precision=_precision(regs, _IFM_PRECISION),
        ifm2_precision=_precision(regs, _IFM2_PRECISION) if two_inputs else None,
        ofm_precision=_precision(regs, _OFM_PRECISION),
    )


def _shape(regs: dict[int, tuple[int, int]], h: int, w: int, c: int) -> tuple[int, int, int] | None:
    if h not in regs or w not in regs or c not in regs:
        return None
    return (regs[h][0] + 1, regs[w][0] + 1, regs[c][0] + 1)


def _stride_bits(regs: dict[int, tuple[int, int]]) -> tuple[int, int, int, int]:
    p = regs[_KERNEL_STRIDE][0]
    sx = (p & 1) | ((p >> 6) & 0x7) << 1
    sy = ((p >> 1) & 1) | ((p >> 9) & 0x7) << 1
    return sy + 1, sx + 1, ((p >> 4) & 1) + 1, ((p >> 3) & 1) + 1


def _kernel(regs: dict[int, tuple[int, int]]) -> tuple[int, int] | None:
    if _KERNEL_HEIGHT not in regs or _KERNEL_WIDTH not in regs or _KERNEL_STRIDE not in regs:
        return None
    _, _, dy, dx = _stride_bits(regs)
    # the registers hold dilation x (size - 1)
    return (regs[_KERNEL_HEIGHT][0] // dy + 1, regs[_KERNEL_WIDTH][0] // dx + 1)


def _stride(regs: dict[int, tuple[int, int]]) -> tuple[int, int] | None:
    if _KERNEL_STRIDE not in regs:
        return None
    sy, sx, _, _ = _stride_bits(regs)
    return (sy, sx)


def _precision(regs: dict[int, tuple[int, int]], code: int) -> str | None:
    if code not in regs:
        return None
    p = regs[code][0]
    bits = _PRECISION_BITS[(p >> 2) & 3]
    return ("int" if p & 1 else "uint") + str(bits)
