"""The lint baseline: today's figures per file and method, committed, so CI fails only on regressions.

The file is JSON, with paths relative to the baseline's own folder (so it is the same
on every machine) and keys in a fixed order (so it diffs cleanly)::

    {"schema_version": 1,
     "files": {"models/net.pte": {"methods": {"forward": {
         "delegated_subgraphs": {"EthosUBackend": 2}, "transitions": 4,
         "boundary_bytes": 3072, "cpu_islands": ["aten::upsample_bilinear2d.vec_out"],
         "coverage": null}}}}}

``cpu_islands`` lists each island by its causes (``glue: ...`` for glue-only islands).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from edgeinspect.errors import UsageError
from edgeinspect.textsafe import abbreviate

__all__ = ["Baseline", "baseline_key", "method_entry", "regressions"]

SCHEMA_VERSION = 1


def _island_key(isl: dict[str, Any]) -> str:
    # Built from abbreviated names: a new string per island, so it must not copy long names whole.
    names = isl["causes"] if isl["causes"] else isl["ops"]
    return ("" if isl["causes"] else "glue: ") + ", ".join(abbreviate(n) for n in names)


def method_entry(figures: dict[str, Any]) -> dict[str, Any]:
    """The baseline record of one method, from :func:`edgeinspect.diff.method_figures`."""
    return {
        "delegated_subgraphs": dict(figures["delegated_subgraphs"]),
        "transitions": figures["transitions"],
        "boundary_bytes": figures["boundary_bytes"],
        "cpu_islands": [_island_key(i) for i in figures["islands"]],
        "coverage": figures["coverage"],
    }


def baseline_key(path: str | os.PathLike[str], baseline_file: str | os.PathLike[str]) -> str:
    """The key of ``path`` in a baseline stored at ``baseline_file``: relative, POSIX separators."""
    folder = os.path.dirname(os.path.abspath(baseline_file))
    return Path(os.path.relpath(os.path.abspath(path), folder)).as_posix()


_ENTRY_TYPES = {"delegated_subgraphs": dict, "transitions": int, "boundary_bytes": int, "cpu_islands": list}


def entry_problem(entry: Any) -> str | None:
    """What is wrong with one method's baseline record, or None when it can be compared."""
    if not isinstance(entry, dict):
        return f"a method record must be an object, not {type(entry).__name__}"
    for key, kind in _ENTRY_TYPES.items():
        if key not in entry:
            return f"{key!r} is missing"
        if not isinstance(entry[key], kind) or isinstance(entry[key], bool):
            return f"{key!r} must be {kind.__name__}, not {type(entry[key]).__name__}"
    if not all(isinstance(k, str) and isinstance(v, int) for k, v in entry["delegated_subgraphs"].items()):
        return "'delegated_subgraphs' must map backend ids to counts"
    cov = entry.get("coverage")
    if cov is not None and not isinstance(cov, (int, float, str)):
        return f"'coverage' must be a number, \"unknown\" or null, not {type(cov).__name__}"
    return None


def regressions(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What got worse from the baseline record ``old`` to ``new``, in words (empty when nothing).

    Examples
    --------
    >>> old = {"delegated_subgraphs": {"EthosUBackend": 1}, "transitions": 2, "boundary_bytes": 100,
    ...        "cpu_islands": [], "coverage": None}
    >>> new = {"delegated_subgraphs": {"EthosUBackend": 2}, "transitions": 4, "boundary_bytes": 100,
    ...        "cpu_islands": ["aten::cumsum.out"], "coverage": None}
    >>> regressions(old, new)
    ['EthosUBackend delegates 1 -> 2', 'transitions 2 -> 4', 'new CPU island: aten::cumsum.out']
    """
    out = []
    before, after = old.get("delegated_subgraphs", {}), new["delegated_subgraphs"]
    for backend in dict.fromkeys([*before, *after]):
        if after.get(backend, 0) > before.get(backend, 0):
            out.append(f"{backend} delegates {before.get(backend, 0)} -> {after.get(backend, 0)}")
    for key, label in (("transitions", "transitions"), ("boundary_bytes", "boundary bytes")):
        if key in old and new[key] > old[key]:
            out.append(f"{label} {old[key]:,} -> {new[key]:,}")
    added = Counter(new["cpu_islands"]) - Counter(old.get("cpu_islands", []))
    out.extend(f"new CPU island: {key}" for key in added.elements())
    if old.get("coverage") is not None and new["coverage"] is not None and new["coverage"] < old["coverage"]:
        out.append(f"coverage {old['coverage']:.1%} -> {new['coverage']:.1%}")
    return out


class Baseline:
    """A baseline file, read or being written.

    Parameters
    ----------
    path : str or os.PathLike
        Where the baseline lives; file keys are relative to its folder.
    files : dict
        ``{key: {"methods": {name: record}}}``.
    """

    def __init__(self, path: str | os.PathLike[str], files: dict[str, Any] | None = None) -> None:
        self.path = os.fspath(path)
        self.files: dict[str, Any] = files if files is not None else {}

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Baseline:
        """Read a baseline; raises UsageError when it is missing, too large, nested too deep, not
        a baseline, or has a field of the wrong type (the message names the file and the field)."""
        from edgeinspect.lint.schema import BASELINE_SCHEMA, check, load_json

        name = os.fspath(path)
        if not os.path.lexists(name):
            raise UsageError(f"baseline {name} does not exist (create it with --write-baseline)")
        doc = load_json(name, "baseline")
        if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION or not isinstance(doc.get("files"), dict):
            raise UsageError(f"{name} is not an edgeinspect baseline (schema_version {SCHEMA_VERSION}); rewrite it with --write-baseline")
        check(doc, BASELINE_SCHEMA, name, "baseline", "rewrite it with --write-baseline")
        return cls(path, doc["files"])

    def record(self, path: str | os.PathLike[str]) -> dict[str, Any] | None:
        """The record of one file, or None when the baseline does not know it."""
        return self.files.get(baseline_key(path, self.path))

    def add(self, path: str | os.PathLike[str], methods: dict[str, dict[str, Any]]) -> None:
        """Record a file's methods (``{name: method_entry(...)}``)."""
        self.files[baseline_key(path, self.path)] = {"methods": methods}

    def to_json(self) -> str:
        """The file's text: sorted file keys, methods in file order, trailing newline."""
        doc = {
            "schema_version": SCHEMA_VERSION,
            "generated_by": "edgeinspect lint --write-baseline",
            "files": {k: self.files[k] for k in sorted(self.files)},
        }
        return json.dumps(doc, indent=2) + "\n"

    def write(self, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
        """Write the baseline file atomically (a half-written baseline never exists), refusing
        to write it over one of ``inputs`` (the linted files)."""
        from edgeinspect.outputs import write_output

        write_output(self.path, self.to_json(), inputs=inputs, what="baseline")
