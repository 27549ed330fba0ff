"""The latency budget the HTML report draws: each partition's cost, labelled predicted,
measured or unknown, in execution order.

Per method, from an :class:`~edgeinspect.analysis.evidence.Evidence`:

- each delegate call: Vela's predicted time and cycles (``--estimate``, Ethos-U delegates
  with a joined dump), and its measured ticks (``--etdump``);
- each CPU partition, split into its quantize/dequantize glue and its other kernels: the
  measured ticks (``--etdump``), else unknown (nothing predicts CPU time);
- the bytes crossing into and out of each partition (exact: from the program).

Predicted figures are seconds at the delegate's configured clock; measured figures are the
ETDump's ticks (nanoseconds on a host run, cycles or timer ticks on a device), so the two are
never added together. Medians leave the warm-up runs out.

This is the report's own small computation; ``edgeinspect.analysis`` is to gain a
``latency_budget(method, evidence)`` with the same content, which replaces
:func:`budget_entries` when it lands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edgeinspect.analysis.evidence import Evidence
from edgeinspect.analysis.fragmentation import is_glue
from edgeinspect.analysis.partitions import Partition
from edgeinspect.model import Method

__all__ = ["BudgetEntry", "basis", "budget_entries"]


@dataclass(frozen=True, slots=True)
class BudgetEntry:
    """One line of a method's latency budget.

    Attributes
    ----------
    kind : str
        ``delegate``, ``cpu`` (kernels that are not glue) or ``glue`` (quantize/dequantize).
    partition : str
        The partition's name (``EthosUBackend_0``, ``CPU_island_2``, ...).
    device : str
    instructions : tuple of int
        The instructions counted.
    delegate : int or None
        The delegate index of a delegate call.
    predicted_s, cycles : float, int or None
        Vela's inference time (seconds at the configured clock) and total cycles.
    clock_hz : float or None
        The clock Vela used.
    measured_ticks : int, float or None
        The sum of the instructions' median ticks (warm-up left out); None when not measured.
    bytes_in, bytes_out : int
        Bytes entering the partition from another device, and leaving it for one.
    why_unknown : str
        Why there is no figure (no ETDump, no joined dump, Vela's error), when there is none.
    """

    kind: str
    partition: str
    device: str
    instructions: tuple[int, ...]
    delegate: int | None = None
    predicted_s: float | None = None
    cycles: int | None = None
    clock_hz: float | None = None
    measured_ticks: int | float | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    why_unknown: str = ""


def basis(entry: BudgetEntry) -> str:
    """``predicted``, ``measured``, ``predicted+measured`` or ``unknown``."""
    said = [b for b, v in (("predicted", entry.predicted_s), ("measured", entry.measured_ticks)) if v is not None]
    return "+".join(said) or "unknown"


def budget_entries(
    method: Method,
    evidence: Evidence,
    parts: Sequence[Partition],
    bytes_into: Mapping[int, int],
    bytes_out_of: Mapping[int, int],
) -> list[BudgetEntry]:
    """The budget of ``method`` in execution order (see the module docstring).

    ``bytes_into``/``bytes_out_of`` map a partition's position to the bytes crossing into it
    from another device and out of it to another (the report's partition boundaries).
    """
    profile = evidence.profile(method.name)
    estimates = evidence.method_estimates(method.name)

    def ticks(indices: Sequence[int]) -> int | float | None:
        if profile is None:
            return None
        total: int | float = 0
        for i in indices:
            p = profile.instruction(i)
            if p is not None and p.timing.median_ticks is not None:
                total += p.timing.median_ticks
        return total

    out: list[BudgetEntry] = []
    for k, part in enumerate(parts):
        common = {"partition": part.namespace, "device": part.device, "bytes_in": bytes_into.get(k, 0), "bytes_out": bytes_out_of.get(k, 0)}
        if part.is_delegate:
            found = estimates.get(part.delegate) if estimates is not None and part.delegate is not None else None
            est = found.estimate if found is not None else None
            why = []
            if est is None:
                why.append(
                    "no --estimate"
                    if estimates is None
                    else (found.error or found.skipped or "not estimated")
                    if found is not None
                    else "not estimated"
                )
            if profile is None:
                why.append("no --etdump")
            out.append(
                BudgetEntry(
                    "delegate",
                    instructions=part.instructions,
                    delegate=part.delegate,
                    predicted_s=est.inference_time_s if est else None,
                    cycles=est.cycles_total if est else None,
                    clock_hz=est.core_clock_hz if est else None,
                    measured_ticks=ticks(part.instructions),
                    why_unknown="; ".join(why),
                    **common,
                )
            )
            continue
        glue_set = {i for i in part.instructions if method.instructions[i].kind == "kernel" and is_glue(method.instructions[i].name)}
        glue = tuple(i for i in part.instructions if i in glue_set)
        work = tuple(i for i in part.instructions if i not in glue_set)
        why = "" if profile is not None else "no --etdump: CPU time is only measured"
        if any(method.instructions[i].kind == "kernel" for i in work):
            out.append(BudgetEntry("cpu", instructions=work, measured_ticks=ticks(work), why_unknown=why, **common))
            common.update(bytes_in=0, bytes_out=0)  # the partition's traffic is counted once
        if glue:
            out.append(BudgetEntry("glue", instructions=glue, measured_ticks=ticks(glue), why_unknown=why, **common))
    return out
