"""Bytes -> model. The only package that touches flatbuffers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgeinspect.errors import FormatError
from edgeinspect.formats._source import Source

if TYPE_CHECKING:
    from edgeinspect.model import Program, TosaGraph

__all__ = ["detect_format", "read"]


def detect_format(data: Any) -> str | None:
    """``"pte"`` or ``"tosa"`` from a file's first bytes (its flatbuffer identifier), else None."""
    ident = bytes(data[4:8]) if len(data) >= 8 else b""
    if ident == b"ET12":
        return "pte"
    if ident == b"TOSA":
        return "tosa"
    return None


def read(path_or_data: Any, name: str | None = None) -> Program | TosaGraph:
    """Read a .pte or .tosa file (or bytes) into its model object."""
    source = Source(path_or_data, name)
    try:
        kind = detect_format(source.data)
        if kind == "pte":
            from edgeinspect.formats.pte import read_pte

            return read_pte(source)
        if kind == "tosa":
            from edgeinspect.formats.tosa import read_tosa

            return read_tosa(source)
        from edgeinspect.formats.etdump import is_etdump

        if is_etdump(source.data):
            raise FormatError(
                "this is an ExecuTorch runtime profile (ETDump), not a program: pass it with --etdump "
                "next to its .pte, or read it with edgeinspect.load_etdump",
                path=source.path,
                offset=8,
                field="file_identifier",
            )
        head = bytes(source.data[4:8]) if len(source.data) >= 8 else bytes(source.data[:8])
        raise FormatError(
            f"not an ExecuTorch program (.pte) or TOSA flatbuffer (.tosa): identifier {head!r} (expected b'ET12' or b'TOSA' at bytes 4..8)",
            path=source.path,
            offset=4 if len(source.data) >= 8 else 0,
            field="file_identifier",
        )
    except BaseException:
        source.close()
        raise
