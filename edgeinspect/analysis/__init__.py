"""Fragmentation metrics: free functions over a :class:`~edgeinspect.model.Method`.

The definitions are exact (see ``docs/concepts.md``); tests and reports use them as written.
"""

from __future__ import annotations

from edgeinspect.analysis.fragmentation import (
    CpuIsland,
    boundary_bytes,
    cpu_islands,
    delegated_subgraphs,
    device_sequence,
    method_metrics,
    transitions,
)

__all__ = [
    "CpuIsland",
    "boundary_bytes",
    "cpu_islands",
    "delegated_subgraphs",
    "device_sequence",
    "method_metrics",
    "transitions",
]
