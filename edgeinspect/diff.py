"""What changed between two programs: delegates, CPU islands, operators and bytes.

It compares :func:`edgeinspect.analysis.figures.method_figures` of each method: the one
summary of a method that the lint, its baseline and the diff all compare, so the three can
never disagree about a number (``method_figures`` and ``method_coverage`` are importable
from here too).

Examples
--------
>>> import edgeinspect
>>> from edgeinspect.diff import diff_programs
>>> d = diff_programs(edgeinspect.load("base.pte"), edgeinspect.load("head.pte"))  # doctest: +SKIP
>>> print(d.to_text())                                                               # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from edgeinspect.analysis.figures import method_coverage, method_figures
from edgeinspect.model import Program
from edgeinspect.textsafe import TEXT_LIMIT, abbreviate, safe

__all__ = ["ProgramDiff", "diff_programs", "method_coverage", "method_figures"]


def _pairs(before: dict[str, int], after: dict[str, int]) -> dict[str, list[int]]:
    """{key: [before, after]} for every key whose count differs, keys in first-seen order."""
    keys = dict.fromkeys([*before, *after])
    return {k: [before.get(k, 0), after.get(k, 0)] for k in keys if before.get(k, 0) != after.get(k, 0)}


def _island_key(isl: dict[str, Any]) -> str:
    # Built from abbreviated names: a new string per island, so it must not copy long names whole.
    names = isl["causes"] if isl["causes"] else isl["ops"]
    return ("" if isl["causes"] else "glue: ") + ", ".join(abbreviate(n) for n in names)


@dataclass(frozen=True, slots=True)
class ProgramDiff:
    """The changes between a base and a head program.

    Attributes
    ----------
    base, head : str
        The two files.
    file_size : tuple of int
        (base, head) sizes in bytes.
    methods : tuple of dict
        One entry per method present in either, in base order then new head methods:
        ``name``, ``status`` (``same``, ``changed``, ``added``, ``removed``) and, for the
        figures that changed, ``[before, after]`` pairs (``delegated_subgraphs``,
        ``transitions``, ``fragmentation_score``, ``boundary_bytes``, ``payload_bytes``, ``operators``) and the
        islands ``islands_added`` / ``islands_removed`` (by their causes).
    """

    base: str
    head: str
    file_size: tuple[int, int]
    methods: tuple[dict[str, Any], ...]

    @property
    def changed(self) -> bool:
        """Whether any method's figures changed (file size alone does not count)."""
        return any(m["status"] != "same" for m in self.methods)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``edgeinspect diff --format json``)."""
        return {
            "schema_version": 1,
            "base": self.base,
            "head": self.head,
            "changed": self.changed,
            "file_size": list(self.file_size),
            "methods": list(self.methods),
        }

    def to_text(self) -> str:
        """Human-readable form (``edgeinspect diff``): names from the files abbreviated, their
        control characters escaped."""
        lines = [f"--- {safe(self.base, TEXT_LIMIT)}", f"+++ {safe(self.head, TEXT_LIMIT)}"]
        b, h = self.file_size
        lines.append(f"file size: {b:,} -> {h:,} bytes ({h - b:+,})")
        for m in self.methods:
            if m["status"] in ("added", "removed"):
                lines.append(f"method {safe(m['name'])}: {m['status']}")
                continue
            if m["status"] == "same":
                lines.append(f"method {safe(m['name'])}: no change in delegates, islands, operators or bytes")
                continue
            lines.append(f"method {safe(m['name'])}:")
            for backend, (x, y) in m.get("delegated_subgraphs", {}).items():
                lines.append(f"  delegates {safe(backend)}: {x} -> {y} ({y - x:+})")
            for key, label in (("transitions", "transitions"), ("boundary_bytes", "boundary bytes")):
                if key in m:
                    x, y = m[key]
                    lines.append(f"  {label}: {x:,} -> {y:,} ({y - x:+,})")
            if "fragmentation_score" in m:
                x, y = m["fragmentation_score"]
                lines.append(f"  fragmentation score: {x:.2f} -> {y:.2f} ({y - x:+.2f})")
            for backend, (x, y) in m.get("payload_bytes", {}).items():
                lines.append(f"  payload bytes {safe(backend)}: {x:,} -> {y:,} ({y - x:+,})")
            for isl in m.get("islands_added", []):
                lines.append(f"  + CPU island: {safe(isl, TEXT_LIMIT)}")
            for isl in m.get("islands_removed", []):
                lines.append(f"  - CPU island: {safe(isl, TEXT_LIMIT)}")
            for op, (x, y) in m.get("operators", {}).items():
                lines.append(f"  operator {safe(op)}: {x} -> {y} ({y - x:+})")
        return "\n".join(lines)


def diff_methods(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    """The changed figures between two :func:`method_figures` results."""
    out: dict[str, Any] = {}
    for key in ("delegated_subgraphs", "payload_bytes", "operators"):
        pairs = _pairs(base[key], head[key])
        if pairs:
            out[key] = pairs
    for key in ("transitions", "fragmentation_score", "boundary_bytes"):
        if base[key] != head[key]:
            out[key] = [base[key], head[key]]
    before = Counter(_island_key(i) for i in base["islands"])
    after = Counter(_island_key(i) for i in head["islands"])
    added, removed = list((after - before).elements()), list((before - after).elements())
    if added:
        out["islands_added"] = added
    if removed:
        out["islands_removed"] = removed
    return out


def diff_programs(base: Program, head: Program) -> ProgramDiff:
    """Compare two programs method by method.

    Parameters
    ----------
    base, head : Program
        The programs before and after (e.g. main and a pull request).

    Returns
    -------
    ProgramDiff
    """
    methods: list[dict[str, Any]] = []
    head_names = head.method_names
    for m in base.methods:
        if m.name not in head_names:
            methods.append({"name": m.name, "status": "removed"})
            continue
        changes = diff_methods(method_figures(m), method_figures(head.method(m.name)))
        methods.append({"name": m.name, "status": "changed" if changes else "same", **changes})
    for m in head.methods:
        if m.name not in base.method_names:
            methods.append({"name": m.name, "status": "added"})
    return ProgramDiff(
        base=base.path or "base",
        head=head.path or "head",
        file_size=(base.file_size, head.file_size),
        methods=tuple(methods),
    )
