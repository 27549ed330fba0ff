"""One summary per delegate call: where it runs, what crosses it, what it runs, what it costs.

:func:`per_delegate` answers, for every delegate call of a method in execution order, the
questions a table of delegates needs: backend and target, the bytes its tensor arguments
carry in and out (its terms of :func:`~edgeinspect.analysis.boundary_bytes`), the operators
inside it and its part of the method's coverage, its measured time when an ETDump was joined
and Vela's predicted cycles when an estimate was made (both from an
:class:`~edgeinspect.analysis.evidence.Evidence`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgeinspect.analysis.fragmentation import Dataflow, coverage, crossings, known_delegate_ops
from edgeinspect.model import Delegate, Method
from edgeinspect.model.counts import CONST_OPS

if TYPE_CHECKING:
    from edgeinspect.analysis.evidence import Evidence
    from edgeinspect.analysis.profile import MethodProfile, Timing
    from edgeinspect.estimate.records import DelegateEstimate

__all__ = ["DelegateCall", "per_delegate"]


@dataclass(frozen=True, slots=True)
class DelegateCall:
    """One delegate call of a method, summed up (:func:`per_delegate`).

    Attributes
    ----------
    instruction : int
        The call's instruction index.
    delegate : int or None
        The delegate index it runs.
    backend : str
        Backend id (``EthosUBackend``, ``XnnpackBackend``, ...).
    target : str or None
        The chip or spec the delegate was compiled for (:attr:`Delegate.target
        <edgeinspect.model.Delegate.target>`); None when its compile specs name none (XNNPACK).
    bytes_in, bytes_out : int
        Bytes of the tensor arguments it reads and writes: its :func:`crossings
        <edgeinspect.analysis.crossings>`. Over every call, ``bytes_in + bytes_out`` add up to
        the method's ``boundary_bytes``.
    direct_bytes_in, direct_bytes_out : int
        The part of those bytes handed straight from or to another delegate call.
    ops : dict or None
        The operators inside the delegate (XNNPACK nodes, TOSA operators of the payload or the
        joined dump, the ETRecord's operators), None when unknown.
    operators : int or None
        How many of them do work (TOSA ``CONST``/``CONST_SHAPE`` are data): what coverage counts.
    coverage_share : float or None
        ``operators / (delegated + CPU operators of the method)``: this call's part of the
        method's coverage ratio (the parts of every call add up to it, up to rounding); None when
        the method's coverage is unknown.
    time : Timing or None
        Measured: the call's ``DELEGATE_CALL`` ticks over the runs (ETDump), None without one
        or when it never ran.
    time_share : float or None
        Measured: its ticks outside the warm-up over the method's execute time outside the
        warm-up.
    cycles, predicted_s, clock_hz : int, float, float or None
        Predicted: Vela's ``cycles_total`` for the delegate, that at the configured NPU clock in
        seconds, and the clock; None without an estimate.
    estimate_note : str or None
        Why there is no estimate when one was asked for (not an Ethos-U delegate, no dump
        joined, Vela refused it).
    """

    instruction: int
    delegate: int | None
    backend: str
    target: str | None
    bytes_in: int
    bytes_out: int
    direct_bytes_in: int
    direct_bytes_out: int
    ops: Mapping[str, int] | None
    operators: int | None
    coverage_share: float | None
    time: Timing | None = None
    time_share: float | None = None
    cycles: int | None = None
    predicted_s: float | None = None
    clock_hz: float | None = None
    estimate_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the attributes by name; ``time`` as ticks (``median_ticks``, ...)
        with its unit, and ``predicted_s``/``cycles`` labelled ``predicted``."""
        return {
            "instruction": self.instruction,
            "delegate": self.delegate,
            "backend": self.backend,
            "target": self.target,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "direct_bytes_in": self.direct_bytes_in,
            "direct_bytes_out": self.direct_bytes_out,
            "ops": dict(self.ops) if self.ops is not None else None,
            "operators": self.operators,
            "coverage_share": self.coverage_share,
            "measured": None if self.time is None else {"unit": "ticks", **self.time.to_dict(), "share": self.time_share},
            "predicted": None
            if self.cycles is None
            else {"cycles": self.cycles, "seconds": self.predicted_s, "clock_hz": self.clock_hz, "unit": "s"},
            "estimate_note": self.estimate_note,
        }


def per_delegate(
    method: Method,
    evidence: Evidence | None = None,
    *,
    delegate_ops: Callable[[Delegate], Mapping[str, int] | None] | None = None,
    profile: MethodProfile | None = None,
    estimates: Mapping[int, DelegateEstimate] | None = None,
    dataflow: Dataflow | None = None,
) -> list[DelegateCall]:
    """One :class:`DelegateCall` per delegate call of ``method``, in execution order.

    Parameters
    ----------
    method : Method
    evidence : Evidence, optional
        What the side files say (:func:`edgeinspect.gather`): the method's measured time
        (``etdump=``), Vela's estimates (``estimate=True``) and the ETRecord's operators.
    delegate_ops : callable, optional
        ``delegate -> {operator: count}`` or None; default: the payload decoders and joined
        dumps (:func:`~edgeinspect.analysis.known_delegate_ops`), then the ETRecord's.
    profile, estimates : optional
        The method's measured time and Vela estimates when the caller has them without an
        Evidence (they take precedence over ``evidence``'s).
    dataflow : Dataflow, optional
        The method's dataflow when the caller has it already.

    Examples
    --------
    >>> import edgeinspect
    >>> m = edgeinspect.load("tests/data/u85_lrn.pte", tosa="auto").method()
    >>> for c in per_delegate(m):
    ...     print(c.instruction, c.backend, c.target, c.bytes_in, c.bytes_out, c.direct_bytes_out, c.operators, c.coverage_share)
    1 EthosUBackend ethos-u85-256 768 4608 2048 9 0.3103
    5 EthosUBackend ethos-u85-256 4096 2048 0 19 0.6552
    >>> sum(c.bytes_in + c.bytes_out for c in per_delegate(m)) == edgeinspect.analysis.boundary_bytes(m)
    True
    """
    lookup = delegate_ops or known_delegate_ops
    if delegate_ops is None and evidence is not None:
        lookup = evidence.delegate_ops(method.name, known_delegate_ops)
    by_index = {d.index: d for d in method.delegates}
    ops_of: dict[int, Mapping[str, int] | None] = {}
    for d in method.delegates:
        ops_of[d.index] = lookup(d)
    cov = coverage(method, lambda d: ops_of.get(d.index))
    denominator = None if cov.delegated_ops is None else cov.delegated_ops + cov.cpu_ops
    totals: dict[int, list[int]] = {}
    for c in crossings(method, dataflow=dataflow):
        t = totals.setdefault(c.instruction, [0, 0, 0, 0])
        slot = 0 if c.direction == "in" else 1
        t[slot] += c.bytes
        if c.kind == "direct":
            t[slot + 2] += c.bytes
    if profile is None and evidence is not None:
        profile = evidence.profile(method.name)
    if estimates is None and evidence is not None:
        estimates = evidence.method_estimates(method.name)
    steady_execute = None
    if profile is not None:
        steady_execute = profile.execute.total_ticks - (profile.execute.warmup_ticks or 0)
    out = []
    for ins in method.instructions:
        if ins.kind != "delegate":
            continue
        d = by_index.get(ins.delegate) if ins.delegate is not None else None
        ops = ops_of.get(ins.delegate) if ins.delegate is not None else None
        work = None if ops is None else sum(n for op, n in ops.items() if op not in CONST_OPS)
        share = round(work / denominator, 4) if work is not None and denominator else None
        t_in, t_out, d_in, d_out = totals.get(ins.index, [0, 0, 0, 0])
        fields: dict[str, Any] = {}
        if profile is not None:
            p = profile.instruction(ins.index)
            if p is not None:
                steady = p.timing.total_ticks - (p.timing.warmup_ticks or 0)
                fields["time"] = p.timing
                fields["time_share"] = round(steady / steady_execute, 4) if steady_execute else None
        if estimates is not None:
            found = estimates.get(ins.delegate) if ins.delegate is not None else None
            est = found.estimate if found is not None else None
            if est is not None:
                fields.update(cycles=est.cycles_total, predicted_s=est.inference_time_s, clock_hz=est.core_clock_hz)
            else:
                fields["estimate_note"] = (found.skipped or found.error) if found is not None else "not estimated"
        out.append(
            DelegateCall(
                instruction=ins.index,
                delegate=ins.delegate,
                backend=ins.name,
                target=d.target if d is not None else None,
                bytes_in=t_in,
                bytes_out=t_out,
                direct_bytes_in=d_in,
                direct_bytes_out=d_out,
                ops=ops,
                operators=work,
                coverage_share=share,
                **fields,
            )
        )
    return out
