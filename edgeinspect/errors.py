"""The exception hierarchy of edgeinspect.

Every error the library raises on purpose derives from :class:`EdgeInspectError`.
Readers raise :class:`FormatError` for any input they cannot trust: it names the
file, the byte offset and the field path, so a finding can point at bytes.
"""

from __future__ import annotations

import os

__all__ = ["EdgeInspectError", "FormatError", "UsageError"]


class EdgeInspectError(Exception):
    """Base class of every error edgeinspect raises on purpose."""


class UsageError(EdgeInspectError):
    """The caller asked for something that cannot be done (bad option, missing method, ...)."""


class FormatError(EdgeInspectError):
    """A file is not what it claims to be: truncated, corrupt, hostile or of another format.

    Parameters
    ----------
    message : str
        What is wrong, in words that say how to fix it where possible.
    path : str or None
        The file being read (shown as its base name).
    offset : int or None
        Byte offset in the file where the problem was found.
    field : str
        Dotted field path inside the format, such as
        ``execution_plan[0].chains[0].instructions[3]``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        offset: int | None = None,
        field: str = "",
    ) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.offset = offset
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        prefix = ""
        if self.path is not None:
            prefix = (os.path.basename(self.path) or self.path) + ": "
        if self.offset is not None:
            prefix += f"offset {self.offset:#x}"
            prefix += f" ({self.field}): " if self.field else ": "
        elif self.field:
            prefix += f"({self.field}): "
        return prefix + self.message

    def within(self, field: str) -> FormatError:
        """Return this error with ``field`` prepended to its field path (used while unwinding)."""
        self.field = field + ("." + self.field if self.field and not self.field.startswith("[") else self.field)
        self.args = (self._render(),)
        return self

    def with_path(self, path: str | os.PathLike[str]) -> FormatError:
        """Return this error with the file path set (readers of in-memory buffers learn it late)."""
        if self.path is None:
            self.path = os.fspath(path)
            self.args = (self._render(),)
        return self

    def __str__(self) -> str:
        return self._render()
