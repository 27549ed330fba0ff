"""Decoder for Ethos-U delegate payloads: the Vela block stream ExecuTorch's Arm backend writes.

Layout facts used (``executorch/backends/arm/arm_vela.py``, ``VelaBinStream.cpp``): a
sequence of blocks, each a 32-byte header (16-byte NUL-padded name, u32 data length,
u8 external flag, 11 reserved bytes) and the data padded to 16 bytes. Blocks, in order:
``vela_bin_stream`` (empty), ``cmd_data`` (the NPU command stream), ``weight_data``,
``scratch_size`` (u32), ``inputs`` and ``outputs`` (i32 count, then per tensor 6 x i32
shape padded to 6-D with leading ones, i32 element size, i32 offset, i32 region) and
``vela_end_stream``. An external block holds, instead of its data, the 64-character
key under which the data lives in the program's named data store.
"""

from __future__ import annotations

import struct
from typing import Any

from edgeinspect.errors import FormatError
from edgeinspect.model.ethosu import VelaBlock, VelaStream, VelaTensor, depad

__all__ = ["VelaBlock", "VelaStream", "VelaTensor", "decode_ethosu", "depad"]

_BLOCK_HEADER = struct.Struct("<16sIB11s")
_ALIGN = 16
_START = "vela_bin_stream"
_END = "vela_end_stream"
_IO = struct.Struct("<9i")
_MAX_IO = 4096  # far above any real graph; bounds the work a corrupt count can cause


def decode_ethosu(data: Any, *, path: str | None = None, base: int = 0) -> VelaStream:
    """Decode an Ethos-U (Vela) payload.

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
        When the stream is truncated or corrupt.
    """
    size = len(data)
    pos = 0
    blocks: list[VelaBlock] = []
    contents: dict[str, tuple[int, int]] = {}
    external: dict[str, str] = {}
    while True:
        where = f"ethos_u.blocks[{len(blocks)}]"
        if pos + _BLOCK_HEADER.size > size:
            hint = "" if blocks else " (is this an Ethos-U payload? It must start with a 'vela_bin_stream' block)"
            raise FormatError(f"Vela stream ends at {pos} bytes without a '{_END}' block{hint}", path=path, offset=base + pos, field=where)
        raw_name, length, ext, _ = _BLOCK_HEADER.unpack_from(data, pos)
        name = raw_name.split(b"\0", 1)[0].decode("ascii", "replace")
        if not blocks and name != _START:
            raise FormatError(
                f"not a Vela stream: first block is {name!r}, expected {_START!r}", path=path, offset=base, field=where + ".name"
            )
        start = pos + _BLOCK_HEADER.size
        if start + length > size:
            raise FormatError(
                f"block {name!r} of {length} bytes runs past the end of the {size}-byte payload",
                path=path,
                offset=base + pos + 16,
                field=where + ".length",
            )
        blocks.append(VelaBlock(name, length, bool(ext), offset=base + start))
        contents.setdefault(name, (start, length))
        if ext:
            external[name] = bytes(data[start : start + min(length, 128)]).decode("ascii", "replace")
        pos = start + length + (-length % _ALIGN)
        if name == _END:
            break
    cmd = _block_size(blocks, "cmd_data")
    weights = _block_size(blocks, "weight_data")
    scratch = None
    if "scratch_size" in contents and "scratch_size" not in external:
        s, n = contents["scratch_size"]
        if n < 4:
            raise FormatError(f"scratch_size block holds {n} bytes, expected 4", path=path, offset=base + s, field="ethos_u.scratch_size")
        scratch = struct.unpack_from("<I", data, s)[0]
    inputs = _io(data, contents, external, "inputs", path, base)
    outputs = _io(data, contents, external, "outputs", path, base)
    cmd_offset = base + contents["cmd_data"][0] if "cmd_data" in contents and "cmd_data" not in external else -1
    cmd_bytes = None
    if cmd_offset >= 0:
        s, n = contents["cmd_data"]
        cmd_bytes = bytes(data[s : s + n])
    return VelaStream(tuple(blocks), cmd, weights, scratch, inputs, outputs, external, cmd_offset, cmd_bytes)


def _block_size(blocks: list[VelaBlock], name: str) -> int | None:
    for b in blocks:
        if b.name == name:
            return None if b.external else b.length
    return None


def _io(
    data: Any, contents: dict[str, tuple[int, int]], external: dict[str, str], name: str, path: str | None, base: int
) -> tuple[VelaTensor, ...]:
    if name not in contents or name in external:
        return ()
    start, length = contents[name]
    f = f"ethos_u.{name}"
    if length < 4:
        raise FormatError(f"{name} block of {length} bytes has no tensor count", path=path, offset=base + start, field=f)
    count = struct.unpack_from("<i", data, start)[0]
    if count < 0 or count > _MAX_IO or 4 + count * _IO.size > length:
        raise FormatError(
            f"{name} block says {count} tensors, which do not fit its {length} bytes", path=path, offset=base + start, field=f + ".count"
        )
    out = []
    for i in range(count):
        vals = _IO.unpack_from(data, start + 4 + i * _IO.size)
        if any(d < 0 for d in vals[:6]) or vals[6] <= 0:
            raise FormatError(
                f"{name}[{i}] has shape {list(vals[:6])} and element size {vals[6]}: not a valid tensor",
                path=path,
                offset=base + start + 4 + i * _IO.size,
                field=f"{f}[{i}]",
            )
        out.append(VelaTensor(tuple(vals[:6]), vals[6], vals[7], vals[8]))
    return tuple(out)
