"""The figures of one method that the lint checks, its baseline records and the diff compares.

:func:`method_figures` is the one summary of a method that the lint, its baseline and
the diff all compare, so the three can never disagree about a number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from edgeinspect.analysis.fragmentation import (
    boundary_bytes,
    coverage,
    cpu_islands,
    delegated_subgraphs,
    fragmentation_score,
    known_delegate_ops,
    transitions,
)
from edgeinspect.model import Delegate, Method
from edgeinspect.model.counts import CONST_OPS

__all__ = ["method_coverage", "method_figures"]

DelegateOps = Callable[[Delegate], Mapping[str, int] | None]


def method_coverage(method: Method, delegate_ops: DelegateOps | None = None) -> float | None:
    """Delegated operators / all operators (:func:`~edgeinspect.analysis.coverage`), or None
    when unknown (never guessed)."""
    ratio = coverage(method, delegate_ops).ratio
    return None if isinstance(ratio, str) else float(ratio)


def _delegated_ops(method: Method, lookup: DelegateOps) -> dict[str, dict[str, int] | None]:
    """{backend: {operator: count over its delegate calls}}, None for a backend any of whose
    delegates' operators are unknown; TOSA constants (data, not work) left out."""
    by_index = {d.index: d for d in method.delegates}
    known: dict[int, Mapping[str, int] | None] = {}
    out: dict[str, dict[str, int] | None] = {}
    for ins in method.calls:
        if ins.kind != "delegate":
            continue
        if ins.delegate not in known:
            d = by_index.get(ins.delegate) if ins.delegate is not None else None
            known[ins.delegate] = lookup(d) if d is not None else None
        ops = known[ins.delegate]
        current = out.setdefault(ins.name, {})
        if ops is None or current is None:
            out[ins.name] = None
            continue
        for op, n in ops.items():
            if op not in CONST_OPS:
                current[op] = current.get(op, 0) + n
    return {backend: dict(sorted(ops.items())) if ops is not None else None for backend, ops in out.items()}


def method_figures(method: Method, delegate_ops: DelegateOps | None = None) -> dict[str, Any]:
    """The figures of one method that the lint checks, the baseline records and the diff compares.

    ``delegate_ops`` looks up the operators inside each delegate (default: the payload
    decoders and joined dumps, :func:`~edgeinspect.analysis.known_delegate_ops`).

    Returns
    -------
    dict
        ``delegated_subgraphs`` ({backend: calls}), ``transitions``, ``fragmentation_score``, ``boundary_bytes``,
        ``boundary_bytes_by_backend``, ``islands`` (list of {instructions, between, backends,
        ops, causes}), ``kernel_calls``, ``operators`` ({CPU operator: calls}),
        ``payload_bytes`` ({backend: bytes}), ``coverage`` (float or None), ``targets``
        ({backend: [the targets its delegates were compiled for, without repeats]}) and
        ``delegated_ops`` ({backend: {operator inside its delegates: count over its calls}},
        None for a backend whose operators are not all known).
    """
    lookup = delegate_ops or known_delegate_ops
    by_backend: dict[str, int] = {}
    for ins in method.instructions:
        if ins.kind == "delegate":
            tensors = (method.tensor(v) for v in method.tensor_args(ins))
            n = sum(t.nbytes or 0 for t in tensors if t is not None)  # a tensor value can lack its table
            by_backend[ins.name] = by_backend.get(ins.name, 0) + n
    payload: dict[str, int] = {}
    targets: dict[str, list[str]] = {}
    for d in method.delegates:
        payload[d.backend_id] = payload.get(d.backend_id, 0) + d.payload_size
        shown = targets.setdefault(d.backend_id, [])
        if d.target is not None and d.target not in shown:
            shown.append(d.target)
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
        "coverage": method_coverage(method, lookup),
        "targets": targets,
        "delegated_ops": _delegated_ops(method, lookup),
    }
