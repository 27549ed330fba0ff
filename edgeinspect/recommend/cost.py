"""What an operator left on the CPU costs in measured time, and what delegating it would save.

An ETDump (:func:`edgeinspect.analysis.profile_method`) measures every instruction; the
counterfactual (:mod:`edgeinspect.recommend.counterfactual`) says which instructions a merged
partition would take in. Together they give, per operator (docs/concepts.md, "What delegating
saves, in time"):

kernel ticks
    the measured time of the operator's own kernel calls. Delegating the operator **moves**
    them to the backend, whose time for them the ETDump cannot say: not saved, not lost.
island ticks
    for a splitter, the measured time of every kernel of the CPU islands it causes (its own
    kernels, the other operators there, and the quantize/dequantize glue).
saved ticks
    the measured time of the glue kernels that the counterfactual's changed partitions take
    in: quantize/dequantize calls between two nodes the backend would then run, which the
    merged partition absorbs. This is the part of the measured time that delegating removes.
    It is a lower bound: the fixed cost of each delegate call that a merge removes and the
    interpreter's time between instructions shrink too, but the ETDump does not separate them
    from the calls' work, so they are not counted.

Every figure is per run: the sum over the runs outside the warm-up divided by their number,
in the ETDump's ticks; shares are of execute time over the same runs (as
:attr:`~edgeinspect.analysis.profile.MethodProfile.shares`). Milliseconds only when the caller
says how long a tick is (``ns_per_tick``: 1 for a host run's nanoseconds): the file does not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from edgeinspect.analysis.fragmentation import base_operator, cpu_islands, is_glue

if TYPE_CHECKING:
    from edgeinspect.analysis.profile import MethodProfile
    from edgeinspect.model import Method

__all__ = ["MeasuredCost", "Ticks", "format_ticks", "measured_cost", "rank_by_time", "steady_ticks", "with_measured_time"]


@dataclass(frozen=True, slots=True)
class Ticks:
    """Steady-run ticks of a group of instructions, from one method profile.

    Attributes
    ----------
    runs : int
        Runs outside the warm-up the sums cover.
    execute_ticks : int
        ``Method::execute`` summed over those runs.
    ns_per_tick : float or None
        How long one tick is, when the caller said (None: ticks only).
    """

    runs: int
    execute_ticks: int
    ns_per_tick: float | None

    @staticmethod
    def of(profile: MethodProfile, ns_per_tick: float | None = None) -> Ticks:
        """The runs and execute time of ``profile`` outside its warm-up."""
        runs = max(profile.runs - profile.warmup_runs, 1)
        execute = profile.execute.total_ticks - (profile.execute.warmup_ticks or 0)
        return Ticks(runs, execute, ns_per_tick)

    def per_run(self, ticks: int) -> float:
        """Steady ticks summed over the runs, as ticks per run (one decimal)."""
        return round(ticks / self.runs, 1)

    def share(self, ticks: int) -> float | None:
        """Steady ticks as a share of execute time (4 places), None without execute time."""
        return round(ticks / self.execute_ticks, 4) if self.execute_ticks else None

    def ms(self, ticks: int) -> float | None:
        """Steady ticks as milliseconds per run, when the tick length is known."""
        return None if self.ns_per_tick is None else round(ticks / self.runs * self.ns_per_tick / 1e6, 6)


def steady_ticks(profile: MethodProfile, instructions: Iterable[int]) -> int:
    """The ticks of the given instructions summed over the runs outside the warm-up (an
    instruction that never ran adds nothing)."""
    total = 0
    for i in instructions:
        p = profile.instruction(i)
        if p is not None:
            total += p.timing.total_ticks - (p.timing.warmup_ticks or 0)
    return total


def format_ticks(value: float) -> str:
    """Ticks per run for people: thousands separated, a decimal only when there is one.

    Examples
    --------
    >>> format_ticks(30586.0), format_ticks(4925.5)
    ('30,586', '4,925.5')
    """
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


@dataclass(frozen=True, slots=True)
class MeasuredCost:
    """Measured time around one CPU operator, per run (see the module docstring).

    Attributes
    ----------
    clock : Ticks
        Runs, execute time and tick length the figures refer to.
    kernel_ticks : int
        Its own kernel calls (steady runs summed): would move to the backend if delegated.
    island_ticks : int or None
        A splitter's CPU islands, every kernel in them (None for an operator that splits nothing).
    glue_ticks : int
        Glue in those islands (a splitter), or glue next to its calls (an operator at an edge).
    saved_ticks : int
        Glue the changed partitions would absorb: predicted to disappear.
    """

    clock: Ticks
    kernel_ticks: int
    island_ticks: int | None
    glue_ticks: int
    saved_ticks: int

    @property
    def rank_ticks(self) -> int:
        """What ranks splitters: the time of the islands they cause (else their own kernels)."""
        return self.island_ticks if self.island_ticks is not None else self.kernel_ticks

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every time per run, in ticks, with its share of execute time (and
        milliseconds when the tick length is known)."""
        c = self.clock
        out: dict[str, Any] = {
            "unit": "ticks",
            "runs": c.runs,
            "execute_ticks": c.per_run(c.execute_ticks),
            "kernel_ticks": c.per_run(self.kernel_ticks),
            "kernel_share": c.share(self.kernel_ticks),
            "island_ticks": None if self.island_ticks is None else c.per_run(self.island_ticks),
            "island_share": None if self.island_ticks is None else c.share(self.island_ticks),
            "glue_ticks": c.per_run(self.glue_ticks),
            "saved_ticks": c.per_run(self.saved_ticks),
            "saved_share": c.share(self.saved_ticks),
            "ns_per_tick": c.ns_per_tick,
        }
        if c.ns_per_tick is not None:
            out["kernel_ms"] = c.ms(self.kernel_ticks)
            out["island_ms"] = None if self.island_ticks is None else c.ms(self.island_ticks)
            out["saved_ms"] = c.ms(self.saved_ticks)
        return out

    def sentence(self) -> str:
        """One line for explain's text output."""
        c = self.clock

        def t(ticks: int) -> str:
            ms = c.ms(ticks)
            share = c.share(ticks)
            text = f"{format_ticks(c.per_run(ticks))} ticks"
            if ms is not None:
                text += f" ({ms:.4g} ms)"
            return text + (f", {share:.1%} of execute time" if share is not None else "")

        head = f"its islands take {t(self.island_ticks)}; " if self.island_ticks is not None else ""
        return (
            f"{head}delegating it saves {t(self.saved_ticks)} (the glue its partition would absorb; the per-call overhead of "
            f"merged delegate calls is not counted); its own kernels, {t(self.kernel_ticks)}, would move to the backend, "
            "whose time for them is not measured"
        )


def measured_cost(
    profile: MethodProfile,
    kernels: Iterable[int],
    *,
    islands: Iterable[Iterable[int]] | None = None,
    glue: Iterable[int] = (),
    absorbed: Iterable[int] = (),
    ns_per_tick: float | None = None,
) -> MeasuredCost:
    """The :class:`MeasuredCost` of an operator.

    Parameters
    ----------
    profile : MethodProfile
        The method's measured time.
    kernels : iterable of int
        Instruction indices of the operator's kernel calls.
    islands : iterable of iterables of int, optional
        For a splitter: the instructions of each CPU island it causes.
    glue : iterable of int
        Glue instructions that go with it (those in its islands, or next to its calls).
    absorbed : iterable of int
        Glue instructions the counterfactual's changed partitions take in.
    ns_per_tick : float, optional
        Nanoseconds per tick (1 for a host run), for milliseconds.
    """
    island_ticks = None
    if islands is not None:
        island_ticks = steady_ticks(profile, dict.fromkeys(i for isl in islands for i in isl))
    return MeasuredCost(
        clock=Ticks.of(profile, ns_per_tick),
        kernel_ticks=steady_ticks(profile, dict.fromkeys(kernels)),
        island_ticks=island_ticks,
        glue_ticks=steady_ticks(profile, dict.fromkeys(glue)),
        saved_ticks=steady_ticks(profile, dict.fromkeys(absorbed)),
    )


def with_measured_time(
    recommendations: Iterable[Any],
    method_of: Callable[[str], Method],
    profile_of: Callable[[str], MethodProfile | None],
    *,
    ns_per_tick: float | None = None,
) -> list[Any]:
    """The recommendations with their measured time (``time``) where their method was profiled.

    For each, the CPU islands it causes (those where its operator is a cause; islands that hold
    control flow are no one's), their kernels and glue, and the glue that its counterfactual's
    changed partitions take in (saved). ``method_of(name)`` and ``profile_of(name)`` give each
    method and its profile (None: not profiled, the recommendation is kept as it is).
    """
    by_method: dict[str, tuple[dict[str, list[Any]], dict[int, str]]] = {}
    out = []
    for rec in recommendations:
        profile = profile_of(rec.method)
        if profile is None:
            out.append(rec)
            continue
        method = method_of(rec.method)
        if rec.method not in by_method:  # once per method: the islands each operator causes
            caused: dict[str, list[Any]] = {}
            for isl in cpu_islands(method):
                if not isl.control_flow:
                    for b in dict.fromkeys(base_operator(c) for c in isl.causes):
                        caused.setdefault(b, []).append(isl)
            by_method[rec.method] = (caused, {ins.index: ins.name for ins in method.instructions})
        caused, names = by_method[rec.method]
        ops = {rec.operator, *rec.requires}
        mine = caused.get(rec.operator, [])
        kernels = [i for isl in mine for i in isl.instructions if base_operator(names[i]) in ops]
        glue = [g for isl in mine for g in isl.glue]
        absorbed = [i for part in rec.cf.changed_partitions for i in part if i in names and is_glue(names[i])]
        cost = measured_cost(
            profile, kernels, islands=[isl.instructions for isl in mine], glue=glue, absorbed=absorbed, ns_per_tick=ns_per_tick
        )
        out.append(replace(rec, time=cost))
    return out


def rank_by_time(recommendations: Sequence[Any]) -> list[Any]:
    """Splitters ranked by the measured time of the islands they cause (most first), then as
    the recommender ranks them; those of methods not profiled come last."""
    return sorted(recommendations, key=lambda r: (r.time is None, -(r.time.rank_ticks if r.time else 0), r.sort_key()))
