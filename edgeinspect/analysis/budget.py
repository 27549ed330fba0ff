"""The latency budget of a method: every part of one inference, each figure labelled by where it comes from.

A method's time goes to its delegate calls, its CPU islands and glue, the other CPU work, and
the runtime; its boundary traffic is the bytes that cross between the CPU and the delegates.
What edgeinspect knows about each differs: Vela **predicts** an Ethos-U delegate's time at its
configured NPU clock (``--estimate``), an ETDump **measures** what ran (``--etdump``), the
program itself says the bytes **exactly**, and the rest is **unknown** (never guessed: Vela
estimates the NPU only, not CPU time or driver overhead). :func:`latency_budget` puts them
side by side; every :class:`Figure` carries its basis and unit.

Units are never mixed: predicted time is in seconds (and NPU cycles), measured time in the
ETDump's ticks (nanoseconds on a host run, cycles or timer ticks on a device: the file does
not say which), traffic in bytes. Totals are given per basis and unit, never summed across.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from edgeinspect.analysis.fragmentation import Dataflow, cpu_islands, crossings, is_glue
from edgeinspect.analysis.profile import glue_chains
from edgeinspect.graph import producers_and_consumers
from edgeinspect.model import Method

if TYPE_CHECKING:
    from edgeinspect.analysis.evidence import Evidence
    from edgeinspect.analysis.profile import MethodProfile, Timing
    from edgeinspect.estimate.records import DelegateEstimate

__all__ = ["BASES", "PARTS", "BudgetLine", "Figure", "LatencyBudget", "latency_budget"]

#: Where a figure comes from: Vela's estimate, an ETDump, the program's own bytes, or nothing.
Basis = Literal["predicted", "measured", "exact", "unknown"]
BASES: tuple[Basis, ...] = ("predicted", "measured", "exact", "unknown")
#: The parts of a method's time, in the order the budget lists them (then by instruction).
Part = Literal["delegate", "cpu_island", "glue", "cpu_other", "control", "runtime"]
PARTS: tuple[Part, ...] = ("delegate", "cpu_island", "glue", "cpu_other", "control", "runtime")


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure of the budget, with what it is worth.

    Attributes
    ----------
    basis : {"predicted", "measured", "exact", "unknown"}
        ``predicted``: Vela's estimate; ``measured``: an ETDump; ``exact``: read from the
        program itself; ``unknown``: nothing says (``value`` is None and ``source`` says why).
    value : int, float or None
    unit : str
        ``"s"`` (seconds), ``"cycles"`` (NPU clock cycles), ``"ticks"`` (as the ETDump holds
        them), ``"bytes"``; None for an unknown figure.
    source : str
        Where it comes from (``"vela 5.1.0, ethos-u55-128 at 500 MHz"``, ``"run.etdp: median
        of runs 2-5"``), or why it is unknown.
    """

    basis: Basis
    value: int | float | None
    unit: str | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"basis": self.basis, "value": self.value, "unit": self.unit, "source": self.source}


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One part of a method's time: a delegate call, a CPU island, a glue chain outside the
    islands, the other CPU work, control flow or the runtime between instructions.

    ``label`` names it in words; ``instructions`` are its instruction indices (empty for the
    runtime); ``figures`` what is known about its time, one per basis and unit (an unknown
    figure when nothing is); ``glue``, for a CPU island with quantize/dequantize kernels and a
    measured time, the part of it they take.
    """

    part: Part
    label: str
    instructions: tuple[int, ...]
    figures: tuple[Figure, ...]
    glue: Figure | None = None

    def figure(self, basis: Basis, unit: str | None = None) -> Figure | None:
        """The first figure of ``basis`` (and ``unit``), or None."""
        return next((f for f in self.figures if f.basis == basis and (unit is None or f.unit == unit)), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "part": self.part,
            "label": self.label,
            "instructions": list(self.instructions),
            "figures": [f.to_dict() for f in self.figures],
            "glue": None if self.glue is None else self.glue.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class LatencyBudget:
    """The latency budget of one method (:func:`latency_budget`).

    Attributes
    ----------
    method : str
    lines : tuple of BudgetLine
        Delegate calls, CPU islands, glue chains outside islands in instruction order, then
        the other CPU work, control flow and the runtime (the last three only when measured).
    traffic : tuple of Figure
        Boundary traffic, exact bytes: every crossing (the method's ``boundary_bytes``), those
        between the CPU and a delegate, and those handed straight from one delegate to another.
    totals : tuple of Figure
        Per basis and unit: the predicted delegate time (seconds, cycles) over the delegates
        Vela estimated, the measured execute time (ticks, median of a run); never a sum across
        bases or units.
    predicted, measured : str or None
        Where the predicted and the measured figures come from (None when nothing is).
    """

    method: str
    lines: tuple[BudgetLine, ...]
    traffic: tuple[Figure, ...]
    totals: tuple[Figure, ...]
    predicted: str | None
    measured: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``"budget"`` of a method in ``inspect --format json``."""
        return {
            "method": self.method,
            "predicted": self.predicted,
            "measured": self.measured,
            "lines": [line.to_dict() for line in self.lines],
            "traffic": {name: f.to_dict() for name, f in zip(("boundary", "cpu", "direct"), self.traffic, strict=True)},
            "totals": [f.to_dict() for f in self.totals],
        }


def _steady_runs(profile: MethodProfile) -> str:
    if profile.warmup_runs and profile.runs > profile.warmup_runs + 1:
        return f"runs {profile.warmup_runs + 1}-{profile.runs}"
    if profile.warmup_runs:
        return f"run {profile.runs}"
    return f"runs 1-{profile.runs}" if profile.runs > 1 else "run 1 (warm-up included)"


def latency_budget(
    method: Method,
    evidence: Evidence | None = None,
    *,
    profile: MethodProfile | None = None,
    estimates: Mapping[int, DelegateEstimate] | None = None,
    dataflow: Dataflow | None = None,
) -> LatencyBudget:
    """The latency budget of ``method``: predicted NPU time per delegate, measured CPU islands and
    glue, and the boundary traffic, each figure labelled predicted / measured / exact / unknown.

    Parameters
    ----------
    method : Method
    evidence : Evidence, optional
        From :func:`edgeinspect.gather`: its Vela estimates (``estimate=True``) give each
        Ethos-U delegate's predicted time at the NPU clock its compile flags configure; its
        ETDump (``etdump=``) the measured median ticks of each delegate call, island, glue chain
        and of the rest of execute time. Without one, every time is unknown.
    profile, estimates : optional
        The method's :class:`~edgeinspect.analysis.profile.MethodProfile` and its estimates
        (delegate index -> :class:`~edgeinspect.estimate.DelegateEstimate`), when the caller
        has them without an Evidence (they take precedence over ``evidence``'s).
    dataflow : Dataflow, optional
        The method's dataflow when the caller has it already.

    Returns
    -------
    LatencyBudget

    Examples
    --------
    >>> import edgeinspect
    >>> ev = edgeinspect.gather("tests/data/xnn_cumsum.pte", etdump="tests/data/etdump/xnn_cumsum.etdp")
    >>> budget = latency_budget(ev.program.method(), ev)
    >>> [(line.part, line.instructions, [f.basis for f in line.figures]) for line in budget.lines][:3]
    [('delegate', (0,), ['unknown', 'measured']), ('cpu_island', (1,), ['measured']), ('delegate', (2,), ['unknown', 'measured'])]
    >>> budget.traffic[0].value, budget.traffic[0].basis, budget.traffic[0].unit
    (27648, 'exact', 'bytes')
    """
    if profile is None and evidence is not None:
        profile = evidence.profile(method.name)
    if estimates is None and evidence is not None:
        estimates = evidence.method_estimates(method.name)
    flow = dataflow or producers_and_consumers(method)
    delegates = {d.index: d for d in method.delegates}
    measured_from = None
    steady = ""
    if profile is not None:
        steady = _steady_runs(profile)
        measured_from = f"{profile.source or 'the ETDump'}: median of {steady}, in ticks"
    sources = []

    def measured(timing: Timing | None) -> Figure:
        if timing is None or timing.median_ticks is None:
            return Figure("unknown", None, None, "never ran in the ETDump's runs")
        return Figure("measured", timing.median_ticks, "ticks", f"{profile.source or 'the ETDump'}: median of {steady}")

    no_etdump = Figure("unknown", None, None, "not measured: no ETDump (--etdump)")
    lines: list[BudgetLine] = []
    for ins in method.instructions:
        if ins.kind != "delegate":
            continue
        figures: list[Figure] = []
        d = delegates.get(ins.delegate) if ins.delegate is not None else None
        found = estimates.get(ins.delegate) if estimates is not None and ins.delegate is not None else None
        est = found.estimate if found is not None else None
        if est is not None:
            where = f"{est.source}, {est.accelerator} at {est.core_clock_hz / 1e6:g} MHz"
            sources.append(where)
            figures.append(Figure("predicted", est.inference_time_s, "s", where))
            figures.append(Figure("predicted", est.cycles_total, "cycles", where))
        elif ins.name != "EthosUBackend":
            figures.append(Figure("unknown", None, None, f"not predicted: Vela predicts Ethos-U delegates only, not {ins.name}"))
        elif estimates is None:
            figures.append(Figure("unknown", None, None, "not predicted: no Vela estimate (--estimate)"))
        else:
            why = (found.skipped or found.error) if found is not None else "not estimated"
            figures.append(Figure("unknown", None, None, f"not predicted: {why}"))
        if profile is not None:
            p = profile.instruction(ins.index)
            figures.append(measured(p.timing if p is not None else None))
        elif est is None:
            figures.append(no_etdump)
        target = f", {d.target}" if d is not None and d.target else ""
        lines.append(
            BudgetLine("delegate", f"delegate {ins.delegate} ({ins.name}{target}) at instruction {ins.index}", (ins.index,), tuple(figures))
        )
    islands = cpu_islands(method, dataflow=flow)
    island_time = {p.island.instructions: p for p in profile.islands} if profile is not None else {}
    for isl in islands:
        causes = ", ".join(isl.causes) or "glue only"
        figures = []
        glue = None
        if profile is None:
            figures.append(no_etdump)
        else:
            found_island = island_time.get(isl.instructions)
            figures.append(measured(found_island.timing if found_island is not None else None))
            if isl.glue and found_island is not None and found_island.glue.median_ticks is not None:
                glue = measured(found_island.glue)
        label = f"CPU island between instructions {isl.between[0]} and {isl.between[1]} ({causes})"
        lines.append(BudgetLine("cpu_island", label, isl.instructions, tuple(figures), glue))
    if profile is not None:
        for chain in profile.glue_chains:
            if chain.chain.island is None:
                label = f"glue (q/dq) at instruction(s) {', '.join(map(str, chain.chain.instructions))}, outside the islands"
                lines.append(BudgetLine("glue", label, chain.chain.instructions, (measured(chain.timing),)))
    else:
        for chain in glue_chains(method):
            if chain.island is None:
                label = f"glue (q/dq) at instruction(s) {', '.join(map(str, chain.instructions))}, outside the islands"
                lines.append(BudgetLine("glue", label, chain.instructions, (no_etdump,)))
    lines.sort(key=lambda line: line.instructions[0] if line.instructions else 1 << 62)
    members = {i for isl in islands for i in isl.instructions}
    other = tuple(i.index for i in method.calls if i.kind == "kernel" and not is_glue(i.name) and i.index not in members)
    if profile is not None:
        runs = max(1, profile.runs - profile.warmup_runs)
        mean = f"{profile.source or 'the ETDump'}: mean per run of {steady}"
        if other:
            ticks = round(profile.category_ticks["cpu_other"] / runs, 1)
            lines.append(
                BudgetLine(
                    "cpu_other",
                    "other CPU kernels (before the first or after the last delegate call)",
                    other,
                    (Figure("measured", ticks, "ticks", mean),),
                )
            )
        control = tuple(i.index for i in method.instructions if i.kind in ("jump_false", "move", "free"))
        if control:
            lines.append(
                BudgetLine(
                    "control",
                    "jumps, moves and frees",
                    control,
                    (Figure("measured", round(profile.category_ticks["control"] / runs, 1), "ticks", mean),),
                )
            )
        lines.append(
            BudgetLine(
                "runtime",
                "the runtime between instructions (execute time no instruction accounts for)",
                (),
                (Figure("measured", round(profile.category_ticks["runtime"] / runs, 1), "ticks", mean),),
            )
        )
    elif other:
        lines.append(BudgetLine("cpu_other", "other CPU kernels (before the first or after the last delegate call)", other, (no_etdump,)))
    by_kind = {"cpu": 0, "direct": 0}
    for c in crossings(method, dataflow=flow):
        by_kind[c.kind] += c.bytes
    traffic = (
        Figure("exact", by_kind["cpu"] + by_kind["direct"], "bytes", "boundary bytes: every tensor argument of every delegate call"),
        Figure("exact", by_kind["cpu"], "bytes", "between the CPU (kernels, method inputs and outputs, constants) and a delegate"),
        Figure("exact", by_kind["direct"], "bytes", "handed straight from one delegate call to another (out of one, into the next)"),
    )
    totals: list[Figure] = []
    predicted = [line.figure("predicted", "s") for line in lines if line.part == "delegate"]
    known = [f for f in predicted if f is not None]
    if known:
        calls = sum(1 for line in lines if line.part == "delegate")
        note = f"delegate calls Vela estimated ({len(known)} of {calls}); CPU time is not predicted"
        totals.append(Figure("predicted", sum(f.value for f in known), "s", note))
        cycles = [line.figure("predicted", "cycles") for line in lines if line.part == "delegate"]
        totals.append(Figure("predicted", sum(f.value for f in cycles if f is not None), "cycles", note))
    if profile is not None and profile.execute.median_ticks is not None:
        totals.append(
            Figure(
                "measured", profile.execute.median_ticks, "ticks", f"execute time ({profile.source or 'the ETDump'}: median of {steady})"
            )
        )
    return LatencyBudget(
        method=method.name,
        lines=tuple(lines),
        traffic=traffic,
        totals=tuple(totals),
        predicted="; ".join(dict.fromkeys(sources)) or None,
        measured=measured_from,
    )
