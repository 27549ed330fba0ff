"""Analysis: pure functions over the IR, measured time included (:mod:`edgeinspect.model`).

The fragmentation metrics of docs/concepts.md (:mod:`edgeinspect.analysis.fragmentation`:
exact definitions, tests and reports use them as written; the crossings that make up the
boundary bytes; the round trips), the partitions a method's instructions fall into
(:mod:`edgeinspect.analysis.partitions`, imported by the views that draw them), the
per-method figures the lint, its baseline and the diff compare
(:mod:`edgeinspect.analysis.figures`), measured time (:mod:`edgeinspect.analysis.profile`),
one summary per delegate call (:mod:`edgeinspect.analysis.delegates`) and the latency budget
(:mod:`edgeinspect.analysis.budget`). Nothing here reads bytes (the operators inside a
delegate come from the payload decoders of :mod:`edgeinspect.formats`, or from a lookup the
caller passes), prints, caches or imports torch.
"""

from __future__ import annotations

from edgeinspect.analysis.budget import BudgetLine, Figure, LatencyBudget, latency_budget
from edgeinspect.analysis.delegates import DelegateCall, per_delegate
from edgeinspect.analysis.figures import method_coverage, method_figures
from edgeinspect.analysis.fragmentation import (
    GLUE_OPERATORS,
    TRIVIAL_OPERATORS,
    Coverage,
    CpuIsland,
    Crossing,
    Dataflow,
    RoundTrip,
    base_operator,
    boundary_bytes,
    coverage,
    cpu_islands,
    crossings,
    delegated_subgraphs,
    device_sequence,
    format_score,
    fragmentation_score,
    is_glue,
    is_trivial,
    known_delegate_ops,
    method_metrics,
    round_trips,
    transitions,
)
from edgeinspect.analysis.profile import (
    GlueChain,
    InstructionProfile,
    IslandProfile,
    MethodProfile,
    Timing,
    glue_chains,
    profile_method,
)

__all__ = [
    "GLUE_OPERATORS",
    "TRIVIAL_OPERATORS",
    "BudgetLine",
    "Coverage",
    "CpuIsland",
    "Crossing",
    "Dataflow",
    "DelegateCall",
    "Figure",
    "GlueChain",
    "InstructionProfile",
    "IslandProfile",
    "LatencyBudget",
    "MethodProfile",
    "RoundTrip",
    "Timing",
    "base_operator",
    "boundary_bytes",
    "coverage",
    "cpu_islands",
    "crossings",
    "delegated_subgraphs",
    "device_sequence",
    "format_score",
    "fragmentation_score",
    "glue_chains",
    "is_glue",
    "is_trivial",
    "known_delegate_ops",
    "latency_budget",
    "method_coverage",
    "method_figures",
    "method_metrics",
    "per_delegate",
    "profile_method",
    "round_trips",
    "transitions",
]
