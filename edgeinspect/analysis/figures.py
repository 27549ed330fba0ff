"""The figures of one method that the lint checks, its baseline records and the diff compares.

:func:`method_figures` is the one summary of a method that the lint, its baseline and
the diff all compare, so the three can never disagree about a number.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from edgeinspect.analysis.fragmentation import boundary_bytes, coverage, cpu_islands, delegated_subgraphs, fragmentation_score, transitions
from edgeinspect.model import Method

__all__ = ["method_coverage", "method_figures"]


def method_coverage(method: Method) -> float | None:
    """Delegated operators / all operators (:func:`~edgeinspect.analysis.coverage`), or None
    when unknown (never guessed)."""
    ratio = coverage(method).ratio
    return None if isinstance(ratio, str) else float(ratio)


def method_figures(method: Method) -> dict[str, Any]:
    """The figures of one method that the lint checks, the baseline records and the diff compares.

    Returns
    -------
    dict
        ``delegated_subgraphs`` ({backend: calls}), ``transitions``, ``fragmentation_score``, ``boundary_bytes``,
        ``boundary_bytes_by_backend``, ``islands`` (list of {instructions, between, backends,
        ops, causes}), ``kernel_calls``, ``operators`` ({CPU operator: calls}),
        ``payload_bytes`` ({backend: bytes}) and ``coverage`` (float or None).
    """
    by_backend: dict[str, int] = {}
    for ins in method.instructions:
        if ins.kind == "delegate":
            tensors = (method.tensor(v) for v in method.tensor_args(ins))
            n = sum(t.nbytes or 0 for t in tensors if t is not None)  # a tensor value can lack its table
            by_backend[ins.name] = by_backend.get(ins.name, 0) + n
    payload: dict[str, int] = {}
    for d in method.delegates:
        payload[d.backend_id] = payload.get(d.backend_id, 0) + d.payload_size
    ops = Counter(i.name for i in method.instructions if i.kind == "kernel")
    return {
        "delegated_subgraphs": delegated_subgraphs(method),
        "transitions": transitions(method),
        "fragmentation_score": round(fragmentation_score(method), 4),
        "boundary_bytes": boundary_bytes(method),
        "boundary_bytes_by_backend": by_backend,
        "islands": [
            {
                "instructions": list(isl.instructions),
                "between": list(isl.between),
                "backends": list(isl.backends),
                "ops": list(isl.ops),
                "causes": list(isl.causes),
            }
            for isl in cpu_islands(method)
        ],
        "kernel_calls": sum(ops.values()),
        "operators": dict(sorted(ops.items())),
        "payload_bytes": payload,
        "coverage": method_coverage(method),
    }
