"""Writing output files: never over an input, never half-written.

Every command that writes a file (``report -o``, ``lint -o``, ``lint --write-baseline``) goes
through :func:`write_output`:

- an output that is one of the command's inputs (the same file under any spelling: a relative
  path, ``./x``, a symbolic or hard link) is refused before anything is read or written, as a
  :class:`~edgeinspect.errors.UsageError` (a model mapped in memory and truncated under the
  reader would otherwise crash it with SIGBUS, and the model would be lost);
- a regular file is written atomically: the bytes go to a uniquely named temporary file in
  the same directory, are flushed to disk, then renamed over the target, so a failed write
  (disk full, interrupted) leaves the old file or nothing, and parallel writers (pre-commit
  runs hooks in parallel) each leave a whole file;
- an existing output that is not a regular file (``/dev/stdout``, a pipe) is written in place.

This module imports nothing from edgeinspect but its errors, so every layer can use it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable

from edgeinspect.errors import UsageError

__all__ = ["check_not_input", "same_file", "write_output"]


def _identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(device, inode) of the file ``path`` names (symbolic links followed), or None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name the same existing file (any spelling, links followed).

    Examples
    --------
    >>> same_file(".", "./")
    True
    >>> same_file("no-such-file", "no-such-file")
    False
    """
    ia = _identity(a)
    return ia is not None and ia == _identity(b)


def check_not_input(output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]], *, what: str = "output") -> None:
    """Refuse an output path that is one of ``inputs``.

    Raises
    ------
    UsageError
        When ``output`` names the same file as an input.
    """
    target = _identity(output)
    if target is None:
        return  # not there yet: it cannot be an input
    for path in inputs:
        if _identity(path) == target:
            same = "" if os.fspath(path) == os.fspath(output) else f" ({os.fspath(path)!r})"
            raise UsageError(f"refusing to write the {what} {os.fspath(output)!r} over an input of this command{same}; choose another path")


def _mode_for_new_file() -> int:
    """The permissions ``open()`` would give a new file (0666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_output(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    what: str = "output",
) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` atomically, after checking it is no input.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    data : str or bytes
        The whole content.
    inputs : iterable of paths
        The files the command read; ``path`` may not be one of them.
    what : str
        What the file is, for messages (``report``, ``baseline``...).

    Raises
    ------
    UsageError
        When ``path`` is an input, a directory, or cannot be written (the message says why).
    """
    check_not_input(path, inputs, what=what)
    # A lone surrogate (a non-UTF-8 file name) cannot be UTF-8: write it as an escape, never fail.
    payload = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    target = os.fspath(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise UsageError(f"cannot write {target}: {err.strerror or err}") from err
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"cannot write {target}: it is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        # A terminal, pipe or device (-o /dev/stdout): nothing to replace, write straight to it.
        try:
            with open(target, "wb") as f:
                f.write(payload)
        except OSError as err:
            raise UsageError(f"cannot write {target}: {err.strerror or err}") from err
        return
    directory = os.path.dirname(os.path.abspath(target))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else _mode_for_new_file())
        os.replace(tmp, target)
        tmp = None
    except OSError as err:
        raise UsageError(f"cannot write {target}: {err.strerror or err}") from err
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    try:  # make the rename itself durable; not every file system lets a directory be opened
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
