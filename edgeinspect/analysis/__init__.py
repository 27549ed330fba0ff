"""Fragmentation metrics: free functions over a :class:`~edgeinspect.model.Method`.

The definitions are exact (see :mod:`edgeinspect.analysis.fragmentation` and design.md);
tests and reports use them as written.
"""

from __future__ import annotations

from edgeinspect.analysis.fragmentation import (
    Coverage,
    CpuIsland,
    RoundTrip,
    base_operator,
    boundary_bytes,
    coverage,
    cpu_islands,
    delegated_subgraphs,
    device_sequence,
    fragmentation_score,
    is_glue,
    is_trivial,
    method_metrics,
    round_trips,
    transitions,
)

__all__ = [
    "Coverage",
    "CpuIsland",
    "RoundTrip",
    "base_operator",
    "boundary_bytes",
    "coverage",
    "cpu_islands",
    "delegated_subgraphs",
    "device_sequence",
    "fragmentation_score",
    "is_glue",
    "is_trivial",
    "method_metrics",
    "round_trips",
    "transitions",
]
