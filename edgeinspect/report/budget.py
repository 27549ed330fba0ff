"""The latency budget and the boundary crossings in text (``inspect --estimate/--etdump``)."""

from __future__ import annotations

from collections.abc import Sequence

from edgeinspect.analysis.budget import Figure, LatencyBudget
from edgeinspect.analysis.fragmentation import Crossing, RoundTrip
from edgeinspect.report.estimate import format_seconds
from edgeinspect.report.profile import ticks_text
from edgeinspect.textsafe import TEXT_LIMIT, safe

__all__ = ["budget_lines", "crossing_lines", "figure_text"]


def figure_text(f: Figure) -> str:
    """One figure with its basis and unit: ``predicted 48.4 us``, ``measured 30,412 ticks``, ``unknown``.

    Examples
    --------
    >>> figure_text(Figure("predicted", 4.8376e-05, "s", "vela")), figure_text(Figure("predicted", 24188, "cycles", "vela"))
    ('predicted 48.4 us', 'predicted 24,188 cycles')
    >>> figure_text(Figure("measured", 2361.5, "ticks", "run.etdp")), figure_text(Figure("unknown", None, None, "no ETDump"))
    ('measured 2,361.5 ticks', 'unknown (no ETDump)')
    """
    if f.value is None:
        return f"unknown ({safe(f.source, TEXT_LIMIT)})"
    if f.unit == "s":
        shown = format_seconds(f.value)
    elif f.unit == "ticks":
        shown = f"{ticks_text(f.value)} ticks"
    else:
        shown = f"{f.value:,} {f.unit}"
    return f"{f.basis} {shown}"


def budget_lines(budget: LatencyBudget) -> list[str]:
    """The ``latency budget`` section of ``inspect``: where each figure comes from, one line per
    part of the method's time, the boundary traffic and the totals per basis."""
    lines = ["  latency budget (each figure predicted by Vela, measured by an ETDump, exact from the program, or unknown):"]
    if budget.predicted:
        lines.append(f"    predicted: {safe(budget.predicted, TEXT_LIMIT)} (NPU time only: no CPU time, no driver overhead)")
    if budget.measured:
        lines.append(f"    measured: {safe(budget.measured, TEXT_LIMIT)} (nanoseconds on a host run, cycles or timer ticks on a device)")
    for line in budget.lines:
        figures = "; ".join(figure_text(f) for f in line.figures)
        if line.glue is not None:
            figures += f", of which glue (q/dq) {figure_text(line.glue)}"
        lines.append(f"    {safe(line.label, TEXT_LIMIT)}: {figures}")
    boundary, cpu, direct = budget.traffic
    lines.append(
        f"    boundary traffic: {boundary.value:,} B exact ({cpu.value:,} B between the CPU and delegates, "
        f"{direct.value:,} B straight from delegate to delegate)"
    )
    for total in budget.totals:
        lines.append(f"    total {figure_text(total)}: {safe(total.source, TEXT_LIMIT)}")
    return lines


def crossing_lines(crossings: Sequence[Crossing], trips: Sequence[RoundTrip], *, shown: int = 10) -> list[str]:
    """The boundary bytes as their crossings (a summary), then the round trips, the first ``shown``."""
    if not crossings:
        return []
    direct = sum(c.bytes for c in crossings if c.kind == "direct")
    total = sum(c.bytes for c in crossings)
    lines = [
        f"  boundary bytes {total:,} = {len(crossings)} crossing(s) of a delegate call's boundary: {total - direct:,} B between the "
        f"CPU and a delegate, {direct:,} B handed straight from one delegate call to another (counted out of one and into the next)"
    ]
    if trips:
        n_direct = sum(r.kind == "direct" for r in trips)
        lines.append(
            f"  round trips: {n_direct} direct (delegate -> delegate), "
            f"{len(trips) - n_direct} through the CPU (glue or trivial kernels only)"
        )
    for r in trips[:shown]:
        via = "directly" if r.kind == "direct" else "through " + ", ".join(f"{i} ({safe(op)})" for i, op in zip(r.path, r.ops, strict=True))
        lines.append(
            f"    value {r.value} leaves delegate call {r.source} and re-enters delegate call {r.sink} {via}: "
            f"{r.bytes:,} B cross for nothing"
        )
    if len(trips) > shown:
        lines.append(f"    +{len(trips) - shown} more round trip(s)")
    return lines
