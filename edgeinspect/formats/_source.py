"""Where bytes come from: a memory-mapped file (read lazily) or an in-memory buffer.

A mapped file that shrinks under the mapping kills the process with SIGBUS when a page past
its new end is touched. So the file's size and modification time are recorded when it is
opened, and every later read (a delegate payload, TOSA constant data) first checks them,
raising :class:`~edgeinspect.errors.FormatError` ("changed since load") instead of touching
the mapping; :meth:`Source.read` copies with ``pread``, never through the mapping.
"""

from __future__ import annotations

import mmap
import os
import stat
from typing import Any

from edgeinspect.errors import FormatError, UsageError

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

    __slots__ = ("path", "data", "_mmap", "_file", "_stamp", "_closed")

    def __init__(self, path_or_data: Any, name: str | None = None) -> None:
        self._mmap: mmap.mmap | None = None
        self._file = None
        self._stamp: tuple[int, int] | None = None
        self._closed = False
        if isinstance(path_or_data, (bytes, bytearray, memoryview)):
            self.path = name
            self.data: Any = memoryview(path_or_data).cast("B") if not isinstance(path_or_data, bytes) else path_or_data
            return
        self.path = os.fspath(path_or_data)
        try:
            st = os.stat(self.path)
        except FileNotFoundError as err:
            raise UsageError(f"{self.path}: no such file") from err
        except OSError as err:
            raise UsageError(f"{self.path}: cannot read: {err.strerror or err}") from err
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{self.path}: is a directory, not a model file")
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device: open() would block or never end
            raise UsageError(f"{self.path}: not a regular file")
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - kept open for the mapping's life
            st = os.fstat(self._file.fileno())
            size = st.st_size
            self._stamp = (size, st.st_mtime_ns)
            if size == 0:
                self.data = b""
            else:
                self._mmap = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
                self.data = self._mmap
        except IsADirectoryError as err:
            raise UsageError(f"{self.path}: is a directory, not a model file") from err
        except OSError as err:
            raise UsageError(f"{self.path}: cannot read: {err.strerror or err}") from err

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def check(self) -> None:
        """Raise FormatError when the file was truncated, extended or rewritten since it was opened.

        Called before the mapping is touched after load: a page past a shrunken file's end
        would kill the process with SIGBUS.
        """
        if self._file is None or self._stamp is None:
            return
        try:
            st = os.fstat(self._file.fileno())
        except OSError as err:
            raise FormatError(f"changed since load: cannot check the file ({err.strerror or err})", path=self.path) from err
        if (st.st_size, st.st_mtime_ns) != self._stamp:
            was = self._stamp[0]
            now = f"now {st.st_size:,} bytes" if st.st_size != was else "rewritten in place"
            raise FormatError(f"changed since load (was {was:,} bytes, {now}): load it again", path=self.path)

    def _bounds(self, offset: int, size: int) -> None:
        if self._closed:
            raise UsageError(f"{self.path or 'the data'} was closed: load it again to read its payloads")
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise FormatError(
                f"{size} bytes at {offset:#x} run past the end of the file ({len(self.data)} bytes)",
                path=self.path,
                offset=offset,
            )

    def read(self, offset: int, size: int) -> bytes:
        """Copy ``size`` bytes at ``offset`` (checked against the size, and against the file
        having changed since it was opened)."""
        self._bounds(offset, size)
        if self._file is None:
            return bytes(self.data[offset : offset + size])
        self.check()
        # pread, not the mapping: a file truncated after the check gives a short read, not SIGBUS.
        data = os.pread(self._file.fileno(), size, offset)
        if len(data) != size:
            raise FormatError(f"changed since load: {size} bytes at {offset:#x} are no longer there", path=self.path, offset=offset)
        return data

    def view(self, offset: int, size: int) -> memoryview:
        """``size`` bytes at ``offset`` without copying them (checked against the size, and
        against the file having changed since it was opened)."""
        self._bounds(offset, size)
        self.check()
        return memoryview(self.data)[offset : offset + size]

    def close(self) -> None:
        """Unmap and close."""
        self._closed = True
        if self._mmap is not None:
            try:
                self._mmap.close()
            except BufferError:  # a view still points into the map; the GC will close it
                pass
            self._mmap = None
        if self._file is not None:
            self._file.close()
            self._file = None
