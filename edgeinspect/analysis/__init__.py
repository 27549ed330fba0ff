"""Fragmentation metrics and measured time: free functions over a :class:`~edgeinspect.model.Method`.

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

# After the fragmentation names: profile builds on them (cpu_islands, is_glue).
from edgeinspect.analysis.profile import (  # noqa: E402
    GlueChain,
    InstructionProfile,
    IslandProfile,
    MethodProfile,
    Timing,
    glue_chains,
    profile_method,
)

__all__ = [
    "Coverage",
    "CpuIsland",
    "GlueChain",
    "InstructionProfile",
    "IslandProfile",
    "MethodProfile",
    "RoundTrip",
    "Timing",
    "base_operator",
    "boundary_bytes",
    "coverage",
    "cpu_islands",
    "delegated_subgraphs",
    "device_sequence",
    "fragmentation_score",
    "glue_chains",
    "is_glue",
    "is_trivial",
    "method_metrics",
    "profile_method",
    "round_trips",
    "transitions",
]
