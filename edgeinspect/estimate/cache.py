"""A cache of Vela estimates, so a second run over the same dumps does not compile again.

Entries live in ``$XDG_CACHE_HOME/edgeinspect/vela`` (``~/.cache/edgeinspect/vela`` when
the variable is unset), one JSON file per estimate, named by a key that is the SHA-256 of
the dump's bytes, the normalized Vela flags, the bytes of the config files they name and
the Vela version: change any of them and the entry is not found.

The cache is a directory other programs can write to, so an entry is never trusted as it is.
It is read without following symbolic links or blocking on special files, up to a size
bound; it must name the very inputs of its key, carry the SHA-256 of its estimate, and read
back through :meth:`VelaEstimate.from_dict` (every key and type checked, and the layers'
cycles and MACs adding up to the totals). Anything else is ignored: the estimate is made
again and the entry replaced. Entries are written to a temporary file in the same directory
and renamed into place, so a reader never sees half an entry. A cache directory owned by
another user is not used at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgeinspect.estimate.records import VelaEstimate

__all__ = ["EstimateCache", "cache_key", "default_cache_dir"]

_SCHEMA = 1
_MAX_ENTRY_BYTES = 64 * 1024 * 1024


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/edgeinspect/vela``, or ``~/.cache/edgeinspect/vela``."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):  # the XDG spec: a relative value is invalid
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "edgeinspect" / "vela"


def cache_key(dump_sha256: str, flags: Sequence[str], config_sha256: str, vela_version: str) -> tuple[str, dict[str, Any]]:
    """The entry name and the inputs it stands for (stored in the entry and checked on read)."""
    inputs = {
        "schema": _SCHEMA,
        "dump_sha256": dump_sha256,
        "flags": list(flags),
        "config_sha256": config_sha256,
        "vela": vela_version,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return digest, inputs


def _estimate_digest(estimate: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(estimate, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class EstimateCache:
    """The estimate cache in ``directory`` (default :func:`default_cache_dir`)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def _usable(self) -> bool:
        """Whether the directory exists, is a real directory and is ours (POSIX)."""
        try:
            st = os.lstat(self.directory)
        except OSError:
            return False
        if not stat.S_ISDIR(st.st_mode):
            return False
        return not hasattr(os, "getuid") or st.st_uid == os.getuid()

    def get(self, key: str, inputs: dict[str, Any]) -> VelaEstimate | None:
        """The cached estimate for ``key``, or None when there is none or it does not check out."""
        if not self._usable():
            return None
        path = self.directory / f"{key}.json"
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(path, flags)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_ENTRY_BYTES:
                return None
            with os.fdopen(fd, "rb") as f:
                fd = -1
                raw = f.read(_MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        finally:
            if fd >= 0:
                os.close(fd)
        try:
            entry = json.loads(raw)
            if (
                type(entry) is not dict
                or sorted(entry) != ["estimate", "estimate_sha256", "inputs"]
                or entry["inputs"] != inputs
                or entry["estimate_sha256"] != _estimate_digest(entry["estimate"])
            ):
                return None
            return VelaEstimate.from_dict(entry["estimate"])
        except (ValueError, TypeError, KeyError, RecursionError):
            return None

    def put(self, key: str, inputs: dict[str, Any], estimate: VelaEstimate) -> bool:
        """Store ``estimate`` under ``key`` atomically; False when the cache cannot be written
        (a read-only or foreign directory is not an error: the estimate is still returned)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            return False
        if not self._usable():
            return False
        doc = estimate.to_dict()
        text = json.dumps({"inputs": inputs, "estimate": doc, "estimate_sha256": _estimate_digest(doc)}, separators=(",", ":"))
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.directory)
        except OSError:
            return False
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            # os.replace renames over a symbolic link itself, never through it.
            os.replace(tmp, self.directory / f"{key}.json")
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return False
        return True
