"""Small helpers shared by the estimate modules."""

from __future__ import annotations

__all__ = ["shown"]


def shown(text: str, limit: int = 80) -> str:
    """``text`` safe to print to a terminal or CI log: control and non-ASCII characters
    escaped, cut to at most ``limit`` characters.

    Examples
    --------
    >>> shown("bad\\x1b[31mname")
    'bad\\\\x1b[31mname'
    """
    escaped = text.encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped)
    return escaped if len(escaped) <= limit else escaped[: limit - 3] + "..."
