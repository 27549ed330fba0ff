"""Measured time: an ETDump joined to the method that ran, as pure functions.

:func:`profile_method` puts the ticks an ExecuTorch runtime recorded on every instruction,
delegate call, CPU island and glue chain of a :class:`~edgeinspect.model.Method`, and splits
the method's execute time into where it went. Nothing here reads bytes or prints; ticks are
what the file holds (nanoseconds on a host run, cycles or timer ticks on a device).

Definitions (docs/concepts.md, "Measured time"):

run
    one execution of the method: an ``Execute`` block of the ETDump (when the runner opened
    none, each ``Method::execute`` event closes one run).
instruction ticks
    ``end - start`` of the instruction's own call event: ``OPERATOR_CALL`` for a kernel,
    ``DELEGATE_CALL`` for a delegate call (``JF_CALL``, ``MOVE_CALL``, ``FREE_CALL`` for jumps,
    moves and frees). ``runs`` and ``total_ticks`` count and sum them over every run.
internal events
    what a backend logged inside one delegate call (XNNPACK: one per operator), grouped under
    that call by name.
CPU island / glue chain
    the sum of the instruction ticks of its kernels, per run.
execute time
    the ``Method::execute`` event of a run.
warm-up
    the first run(s) (``warmup_runs``, default 1): kept apart, out of min / median / max and
    of the shares; the totals cover every run.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from edgeinspect.analysis.fragmentation import CpuIsland, cpu_islands, is_glue
from edgeinspect.errors import UsageError
from edgeinspect.model import Instruction, Method
from edgeinspect.model.etdump import ETDump, ProfileEvent, tick_span

__all__ = [
    "CATEGORIES",
    "EventTiming",
    "GlueChain",
    "GlueChainProfile",
    "InstructionProfile",
    "IslandProfile",
    "MethodProfile",
    "Timing",
    "glue_chains",
    "profile_method",
]

#: Where execute time goes, in the order reports list it; the shares of a method add up to 1.
CATEGORIES = ("delegates", "cpu_islands", "glue", "cpu_other", "control", "runtime")

#: The instruction kind each call event times.
_CALL_KIND = {"operator_call": "kernel", "delegate_call": "delegate", "jump": "jump_false", "move": "move", "free": "free"}
_METHOD_LEVEL = frozenset(("execute", "init", "load"))
_U32_RANGE = 1 << 32


def _index(p: InstructionProfile) -> int:
    return p.index


def _median(values: Sequence[int]) -> int | float:
    """The median; the mean of the two middle values for an even count (an int when whole)."""
    s = sorted(values)
    n = len(s)
    if n % 2:
        return s[n // 2]
    pair = s[n // 2 - 1] + s[n // 2]
    return pair // 2 if pair % 2 == 0 else pair / 2


@dataclass(frozen=True, slots=True)
class Timing:
    """Ticks of one thing over the runs.

    Attributes
    ----------
    runs : int
        How many samples: events for an instruction, runs for a group.
    total_ticks : int
        Their sum over every run, warm-up included.
    min_ticks, median_ticks, max_ticks : int or float or None
        Over the samples outside the warm-up (over all of them when every sample is warm-up).
    warmup_ticks : int or None
        The sum of the samples in the warm-up runs (None when no run is treated as warm-up).
    """

    runs: int
    total_ticks: int
    min_ticks: int | None
    median_ticks: int | float | None
    max_ticks: int | None
    warmup_ticks: int | None = None

    @staticmethod
    def of(samples: Iterable[tuple[int, int]], warmup_runs: int) -> Timing:
        """From ``(run, ticks)`` samples; runs below ``warmup_runs`` are the warm-up."""
        all_ticks = []
        steady = []
        warm = 0
        for run, ticks in samples:
            all_ticks.append(ticks)
            if run < warmup_runs:
                warm += ticks
            else:
                steady.append(ticks)
        stats = steady or all_ticks
        if not stats:
            return Timing(0, 0, None, None, None, warm if warmup_runs else None)
        return Timing(len(all_ticks), sum(all_ticks), min(stats), _median(stats), max(stats), warm if warmup_runs else None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the keys of ``inspect --etdump --format json``)."""
        return {
            "runs": self.runs,
            "total_ticks": self.total_ticks,
            "min_ticks": self.min_ticks,
            "median_ticks": self.median_ticks,
            "max_ticks": self.max_ticks,
            "warmup_ticks": self.warmup_ticks,
        }


@dataclass(frozen=True, slots=True)
class EventTiming:
    """One internal event of a delegate call (e.g. an XNNPACK operator), over the runs."""

    name: str
    timing: Timing

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, **self.timing.to_dict()}


@dataclass(frozen=True, slots=True)
class InstructionProfile:
    """The measured ticks of one instruction (its own call events) and, for a delegate call,
    the backend's internal events grouped under it by name, in order of first appearance.

    ``kind`` and ``name`` are the instruction's (``delegate`` and the backend id for a
    delegate call, whose ``delegate`` is the delegate index).
    """

    index: int
    kind: str
    name: str
    timing: Timing
    events: tuple[EventTiming, ...] = ()
    delegate: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the instruction ``profile`` object."""
        out = self.timing.to_dict()
        if self.events:
            out["events"] = [e.to_dict() for e in self.events]
        return out


@dataclass(frozen=True, slots=True)
class GlueChain:
    """A maximal run of consecutive quantize/dequantize kernel calls (in call order).

    ``island`` is the position of the CPU island it lies in (in :func:`cpu_islands` order), or
    None when it lies before the first or after the last delegate call.
    """

    instructions: tuple[int, ...]
    ops: tuple[str, ...]
    island: int | None = None


def glue_chains(method: Method) -> list[GlueChain]:
    """The glue chains of a method: maximal runs of consecutive glue kernels among its calls.

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction
    >>> names = ["quantized_decomposed::quantize_per_tensor.out", "EthosUBackend",
    ...          "quantized_decomposed::dequantize_per_tensor.out", "aten::cumsum.out",
    ...          "quantized_decomposed::quantize_per_tensor.out", "EthosUBackend"]
    >>> calls = tuple(Instruction(i, "delegate" if n.startswith("Ethos") else "kernel", 0, (), n,
    ...                           n if n.startswith("Ethos") else "CPU") for i, n in enumerate(names))
    >>> [(c.instructions, c.island) for c in glue_chains(Method("forward", (), (), (), calls, (), ()))]
    [((0,), None), ((2,), 0), ((4,), 0)]
    """
    island_of = {i: k for k, isl in enumerate(cpu_islands(method)) for i in isl.instructions}
    chains: list[GlueChain] = []
    run: list[Instruction] = []

    def close() -> None:
        if run:
            chains.append(GlueChain(tuple(i.index for i in run), tuple(i.name for i in run), island_of.get(run[0].index)))
            run.clear()

    for ins in method.calls:
        if ins.kind == "kernel" and is_glue(ins.name):
            run.append(ins)
        else:
            close()
    close()
    return chains


@dataclass(frozen=True, slots=True)
class IslandProfile:
    """A CPU island with its measured time: per-run sums of its kernels' ticks, and of its glue."""

    island: CpuIsland
    timing: Timing
    glue: Timing
    share: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "instructions": list(self.island.instructions),
            "between": list(self.island.between),
            "causes": list(self.island.causes),
            **self.timing.to_dict(),
            "glue_ticks": self.glue.total_ticks,
            "share": self.share,
        }


@dataclass(frozen=True, slots=True)
class GlueChainProfile:
    """A glue chain with its measured time (per-run sums of its kernels' ticks)."""

    chain: GlueChain
    timing: Timing
    share: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "instructions": list(self.chain.instructions),
            "ops": list(self.chain.ops),
            "island": self.chain.island,
            **self.timing.to_dict(),
            "share": self.share,
        }


@dataclass(frozen=True, slots=True)
class MethodProfile:
    """An ETDump joined to a method: measured time per instruction, delegate call, island and glue chain.

    Attributes
    ----------
    method : str
        The method's name.
    source : str or None
        Base name of the ETDump file.
    runs : int
        Executions found (``Execute`` blocks).
    warmup_runs : int
        How many of the first runs are treated as warm-up: out of min / median / max and of the
        shares (0 when there are too few runs to leave one out).
    execute : Timing
        ``Method::execute`` per run.
    init_ticks, load_ticks : int or None
        ``Method::init`` and ``Program::load_method`` (the method's loading), when recorded.
    instructions : tuple of InstructionProfile
        The instructions that ran, in instruction order (an instruction that never ran, such as
        an untaken branch of a ``torch.cond``, has none).
    category_ticks : dict
        Ticks outside the warm-up per :data:`CATEGORIES`: ``delegates`` (delegate calls),
        ``cpu_islands`` (non-glue kernels in CPU islands), ``glue`` (quantize/dequantize
        kernels), ``cpu_other`` (other kernels: before the first or after the last delegate
        call), ``control`` (jumps, moves, frees), ``runtime`` (the rest of execute time).
    shares : dict
        ``category_ticks`` as fractions of execute time outside the warm-up (None without one).
    islands, glue_chains : tuple
        :class:`IslandProfile` and :class:`GlueChainProfile`, in instruction order.
    unattached_events : int
        Events of an instruction that no call event of it followed in the same run (not
        counted anywhere else).
    """

    method: str
    source: str | None
    runs: int
    warmup_runs: int
    execute: Timing
    init_ticks: int | None
    load_ticks: int | None
    instructions: tuple[InstructionProfile, ...]
    category_ticks: dict[str, int]
    shares: dict[str, float | None]
    islands: tuple[IslandProfile, ...]
    glue_chains: tuple[GlueChainProfile, ...]
    unattached_events: int = 0
    unit: str = "ticks"

    def instruction(self, index: int) -> InstructionProfile | None:
        """The profile of instruction ``index``, or None when it never ran."""
        k = bisect.bisect_left(self.instructions, index, key=_index)
        if k < len(self.instructions) and self.instructions[k].index == index:
            return self.instructions[k]
        return None

    def by_instruction(self) -> dict[int, InstructionProfile]:
        """``{instruction index: profile}`` of the instructions that ran."""
        return {p.index: p for p in self.instructions}

    @property
    def delegate_calls(self) -> tuple[InstructionProfile, ...]:
        """The profiles of the delegate calls that ran, in instruction order."""
        return tuple(p for p in self.instructions if p.kind == "delegate")

    def to_dict(self) -> dict[str, Any]:
        """The method ``profile`` object of ``inspect --etdump --format json``."""
        calls = [{"instruction": p.index, "delegate": p.delegate, "backend": p.name, **p.to_dict()} for p in self.delegate_calls]
        for c in calls:
            c.setdefault("events", [])
        return {
            "etdump": self.source,
            "unit": self.unit,
            "runs": self.runs,
            "warmup_runs": self.warmup_runs,
            "execute": self.execute.to_dict(),
            "init_ticks": self.init_ticks,
            "load_ticks": self.load_ticks,
            "ticks": dict(self.category_ticks),
            "share": dict(self.shares),
            "delegate_calls": calls,
            "cpu_islands": [i.to_dict() for i in self.islands],
            "glue_chains": [g.to_dict() for g in self.glue_chains],
            "unattached_events": self.unattached_events,
        }


def _does_not_belong(source: str, method: Method, why: str) -> UsageError:
    return UsageError(
        f"{source} does not belong to method {method.name!r}: {why} "
        "(an ETDump holds the runs of one method of one program: join it to the method and program that ran)"
    )


class _Join:
    """Collects the samples of one method's runs, one run at a time (a block's events are
    dropped once its runs are collected, so memory follows one block, not the file)."""

    def __init__(self, method: Method, source: str) -> None:
        self.method = method
        self.source = source
        self.kinds = [ins.kind for ins in method.instructions]
        #: instruction -> [(run, ticks)] of its own call events
        self.samples: dict[int, list[tuple[int, int]]] = {}
        #: delegate call -> internal event name -> [(run, ticks)]
        self.nested: dict[int, dict[str, list[tuple[int, int]]]] = {}
        self.execute: list[tuple[int, int]] = []
        self.unattached = 0
        self.runs = 0

    def refuse(self, event: ProfileEvent) -> UsageError:
        """The UsageError for an instruction event that cannot come from the method."""
        method, n = self.method, len(self.kinds)
        if event.chain_index != 0:
            if method.num_chains > 1:
                return UsageError(
                    f"{self.source}: method {method.name!r} has {method.num_chains} chains; "
                    "joining profiles of multi-chain methods is not supported"
                )
            return _does_not_belong(self.source, method, f"chain index {event.chain_index} >= 1 chain")
        if not 0 <= event.instruction_id < n:
            return _does_not_belong(self.source, method, f"instruction id {event.instruction_id} >= {n} instructions")
        i = event.instruction_id
        return _does_not_belong(
            self.source, method, f"the ETDump times instruction {i} with {event.name}, but it is a {self.kinds[i]} instruction"
        )

    def run(self, events: Sequence[ProfileEvent]) -> None:
        """Collect one execution. Events an instruction logs inside its call (a delegate's own
        events, a kernel's ``native_call_<op>``) come before the call event, which ends last."""
        r = self.runs
        self.runs += 1
        kinds, n = self.kinds, len(self.kinds)
        samples, call_kind = self.samples, _CALL_KIND
        pending: dict[int, list[ProfileEvent]] = {}
        called: set[int] = set()
        run_execute = None
        for e in events:
            kind = e.kind
            if kind in _METHOD_LEVEL:
                if kind == "execute" and run_execute is None:
                    run_execute = e.ticks
                continue
            chain = e.chain_index
            if chain < 0:
                continue  # a runner's own scope outside any instruction
            i = e.instruction_id
            if chain != 0 or not 0 <= i < n:
                raise self.refuse(e)
            expected = call_kind.get(kind)
            if expected is None:
                pending.setdefault(i, []).append(e)
                continue
            if kinds[i] != expected:
                raise self.refuse(e)
            start, end = e.start, e.end
            ticks = end - start if end >= start else end + _U32_RANGE - start  # the reader checked the span
            if i in samples:
                samples[i].append((r, ticks))
            else:
                samples[i] = [(r, ticks)]
            called.add(i)
            inside = pending.pop(i, None)
            if inside and expected == "delegate":
                self._attach(i, r, inside)
        for i, inside in pending.items():
            if i in called:  # logged after its call ended: still that call's
                if kinds[i] == "delegate":
                    self._attach(i, r, inside)
            else:
                self.unattached += len(inside)
        if run_execute is None:
            spans = [(e.start, e.end) for e in events if e.chain_index >= 0]
            run_execute = (tick_span(min(s for s, _ in spans), max(t for _, t in spans)) or 0) if spans else 0
        self.execute.append((r, run_execute))

    def _attach(self, i: int, r: int, events: list[ProfileEvent]) -> None:
        grouped = self.nested.setdefault(i, {})
        for e in events:
            grouped.setdefault(e.label, []).append((r, e.ticks))


def _collect(join: _Join, etdump: ETDump) -> tuple[int | None, int | None]:
    """Feed every run of the ETDump to ``join``, block by block; return the init / load ticks.

    Runs are the ``Execute`` blocks, each split after every ``Method::execute`` event (a
    runner that never opens a block leaves several executions in one); without ``Execute``
    blocks, every block. A piece with no instruction event and no execute event is no run.
    """
    timed = {b.index for b in etdump.execute_blocks or etdump.run_blocks}
    init = load = None
    for block in etdump.run_blocks:
        events = block.profile_events()
        for e in events:
            if e.kind == "init" and init is None:
                init = e.ticks
            elif e.kind == "load" and load is None:
                load = e.ticks
        if block.index not in timed:
            continue
        first = 0
        for k, e in enumerate(events):
            if e.kind == "execute":
                join.run(events[first : k + 1])
                first = k + 1
        rest = events[first:]
        if any(e.chain_index >= 0 and e.kind not in _METHOD_LEVEL for e in rest):
            join.run(rest)
    return init, load


def profile_method(method: Method, etdump: ETDump, *, warmup_runs: int = 1) -> MethodProfile:
    """Join an ETDump to the method that ran: ticks per instruction, delegate call, island, glue chain.

    Parameters
    ----------
    method : Method
        The profiled method (``program.method("forward")``).
    etdump : ETDump
        From :func:`edgeinspect.load_etdump`.
    warmup_runs : int
        How many first runs to treat as warm-up (default 1): shown apart, left out of min /
        median / max and of the shares. Ignored (0) when it would leave no run.

    Returns
    -------
    MethodProfile

    Raises
    ------
    UsageError
        When the ETDump's instruction ids or call events do not fit the method (it profiled
        another method or program).
    FormatError
        When an event of the ETDump is corrupt.
    """
    if warmup_runs < 0:
        raise UsageError(f"warmup_runs must be 0 or more, not {warmup_runs}")
    source = os.path.basename(etdump.path) if etdump.path else "the ETDump"
    join = _Join(method, source)
    init, load = _collect(join, etdump)
    warm = warmup_runs if join.runs > warmup_runs else 0
    samples = join.samples
    instructions = tuple(_instruction_profile(method.instructions[i], samples[i], join.nested.get(i, {}), warm) for i in sorted(samples))
    steady_execute = sum(t for r, t in join.execute if r >= warm)
    islands = cpu_islands(method)
    chains = glue_chains(method)
    island_members = {i for isl in islands for i in isl.instructions}

    def steady(indices: Iterable[int]) -> int:
        return sum(t for i in indices for r, t in samples.get(i, ()) if r >= warm)

    def share(ticks: int) -> float | None:
        return round(ticks / steady_execute, 4) if steady_execute else None

    kernels = [ins for ins in method.instructions if ins.kind == "kernel"]
    category = {
        "delegates": steady(ins.index for ins in method.instructions if ins.kind == "delegate"),
        "cpu_islands": steady(ins.index for ins in kernels if ins.index in island_members and not is_glue(ins.name)),
        "glue": steady(ins.index for ins in kernels if is_glue(ins.name)),
        "cpu_other": steady(ins.index for ins in kernels if ins.index not in island_members and not is_glue(ins.name)),
        "control": steady(ins.index for ins in method.instructions if ins.kind in ("jump_false", "move", "free")),
    }
    category["runtime"] = max(0, steady_execute - sum(category.values()))
    island_profiles = []
    for isl in islands:
        timing = _group_timing(isl.instructions, samples, warm)
        glue = _group_timing(isl.glue, samples, warm)
        island_profiles.append(IslandProfile(isl, timing, glue, share(steady(isl.instructions))))
    chain_profiles = [GlueChainProfile(c, _group_timing(c.instructions, samples, warm), share(steady(c.instructions))) for c in chains]
    return MethodProfile(
        method=method.name,
        source=os.path.basename(etdump.path) if etdump.path else None,
        runs=join.runs,
        warmup_runs=warm,
        execute=Timing.of(join.execute, warm),
        init_ticks=init,
        load_ticks=load,
        instructions=instructions,
        category_ticks=category,
        shares={k: share(v) for k, v in category.items()},
        islands=tuple(island_profiles),
        glue_chains=tuple(chain_profiles),
        unattached_events=join.unattached,
    )


def _instruction_profile(
    ins: Instruction, samples: list[tuple[int, int]], nested: dict[str, list[tuple[int, int]]], warm: int
) -> InstructionProfile:
    timing = Timing.of(samples, warm)
    if ins.kind != "delegate":
        return InstructionProfile(ins.index, ins.kind, ins.name, timing)
    events = tuple(EventTiming(name, Timing.of(s, warm)) for name, s in nested.items())
    return InstructionProfile(ins.index, ins.kind, ins.name, timing, events, ins.delegate)


def _group_timing(indices: Sequence[int], samples: dict[int, list[tuple[int, int]]], warm: int) -> Timing:
    """Per-run sums of the ticks of a group of instructions, over the runs where any of them ran."""
    per_run: dict[int, int] = {}
    for i in indices:
        for r, t in samples.get(i, ()):
            per_run[r] = per_run.get(r, 0) + t
    return Timing.of(sorted(per_run.items()), warm)
