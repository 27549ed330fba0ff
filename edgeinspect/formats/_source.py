"""Where bytes come from: a memory-mapped file (read lazily) or an in-memory buffer."""

from __future__ import annotations

import mmap
import os
import stat
from typing import Any

from edgeinspect.errors import EdgeInspectError, FormatError

__all__ = ["Source"]


class Source:
    """Read-only bytes of one file, memory-mapped so that untouched parts (weights) are never read.

    Parameters
    ----------
    path_or_data : str, os.PathLike, bytes, bytearray or memoryview
        A file to map, or bytes already in memory.
    name : str or None
        Name used in error messages for in-memory data.
    """

    __slots__ = ("path", "data", "_mmap", "_file")

    def __init__(self, path_or_data: Any, name: str | None = None) -> None:
        self._mmap: mmap.mmap | None = None
        self._file = None
        if isinstance(path_or_data, (bytes, bytearray, memoryview)):
            self.path = name
            self.data: Any = memoryview(path_or_data).cast("B") if not isinstance(path_or_data, bytes) else path_or_data
            return
        self.path = os.fspath(path_or_data)
        try:
            st = os.stat(self.path)
        except OSError as err:
            raise EdgeInspectError(f"{self.path}: cannot read: {err.strerror or err}") from err
        if stat.S_ISDIR(st.st_mode):
            raise EdgeInspectError(f"{self.path}: is a directory, not a model file")
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device: open() would block or never end
            raise EdgeInspectError(f"{self.path}: not a regular file")
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - kept open for the mapping's life
            size = os.fstat(self._file.fileno()).st_size
            if size == 0:
                self.data = b""
            else:
                self._mmap = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
                self.data = self._mmap
        except IsADirectoryError as err:
            raise EdgeInspectError(f"{self.path}: is a directory, not a model file") from err
        except OSError as err:
            raise EdgeInspectError(f"{self.path}: cannot read: {err.strerror or err}") from err

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def read(self, offset: int, size: int) -> bytes:
        """Copy ``size`` bytes at ``offset`` (checked against the size)."""
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise FormatError(
                f"{size} bytes at {offset:#x} run past the end of the file ({len(self.data)} bytes)",
                path=self.path,
                offset=offset,
            )
        return bytes(self.data[offset : offset + size])

    def view(self, offset: int, size: int) -> memoryview:
        """``size`` bytes at ``offset`` without copying them (checked against the size)."""
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise FormatError(
                f"{size} bytes at {offset:#x} run past the end of the file ({len(self.data)} bytes)",
                path=self.path,
                offset=offset,
            )
        return memoryview(self.data)[offset : offset + size]

    def close(self) -> None:
        """Unmap and close."""
        if self._mmap is not None:
            try:
                self._mmap.close()
            except BufferError:  # a view still points into the map; the GC will close it
                pass
            self._mmap = None
        if self._file is not None:
            self._file.close()
            self._file = None
