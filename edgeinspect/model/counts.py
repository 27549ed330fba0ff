"""Counting operator names: the histogram every payload and graph record reports, and the
TOSA operators that are data, not work (left out of every count of work)."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["CONST_OPS", "histogram"]

#: Operators that only materialise data (weights, zero points, shapes), not compute.
CONST_OPS = ("CONST", "CONST_SHAPE")


def histogram(ops: Iterator[str] | tuple[str, ...] | list[str]) -> dict[str, int]:
    """Count operator names, most frequent first, ties by name (deterministic).

    Examples
    --------
    >>> histogram(["CONST", "CONV2D", "CONST", "RESCALE"])
    {'CONST': 2, 'CONV2D': 1, 'RESCALE': 1}
    """
    counts: dict[str, int] = {}
    for op in ops:
        counts[op] = counts.get(op, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
