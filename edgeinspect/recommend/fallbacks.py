"""Every operator a method leaves on the CPU, why, where it sits and what it costs.

The recommender ranks the operators that *split* the delegated graph. This module accounts
for *every* kernel call on the CPU (docs/concepts.md, "Fallbacks, splitters and glue"):

fallback
    a non-glue operator that runs on the CPU: one :class:`Fallback` per operator and method,
    with its calls, where they sit (``position``: ``leading`` before the first delegate call,
    ``between`` two delegate calls, ``trailing`` after the last, ``whole-program`` in a method
    with no delegate call at all; ``mixed`` when its calls differ, ``positions`` counts them),
    why the partitioner left it (``reason``, never empty), whether it splits the delegated
    graph (``splits``: the islands it causes, when a recommendation names it), a fix, and what
    delegating it would give (``cf``: the counterfactual, for an operator next to a delegate;
    ``runs_on``: the targets of the support table that accept it);
splitter
    a fallback whose delegation would merge delegate calls: the operators the recommender
    names (:func:`~edgeinspect.recommend.recommend`), with the operators they require;
glue
    kernels that only convert or move data at a boundary: quantize/dequantize
    (``quantize``), views, permutes, clones and dim-order copies (``layout``), and the
    write-back copy of a mutated buffer that ExecuTorch adds after partitioning
    (``write-back``). Counted apart (:class:`Glue`), with the bytes they write and their time;
    a layout operator that splits the graph is a splitter, not glue.

Reasons come from executorch's own checks when given (``reasons``, from
:func:`edgeinspect.export.partitioner.etrecord_analysis`), else from the committed support
table for the delegates' target, else they start with ``unknown:`` and say what would tell. A
call inside a branch of a ``torch.cond`` (or a loop body) says so first: partitioners do not
partition inside control flow. With a profile (an ETDump), every fallback and glue entry
carries its measured time (:mod:`edgeinspect.recommend.cost`).

The account is linear in the method: one pass over the calls and the islands, one support
lookup per operator, and one counterfactual per operator that sits next to a delegate and does
not split (the recommender's own counterfactuals are reused for the splitters); each
counterfactual re-partitions only the region its operator touches.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edgeinspect.analysis.fragmentation import TRIVIAL_OPERATORS, base_operator, cpu_islands, is_glue, tensor_bytes
from edgeinspect.graph import producers_and_consumers
from edgeinspect.model import Method, Program
from edgeinspect.recommend.cost import MeasuredCost, measured_cost
from edgeinspect.recommend.counterfactual import Counterfactual, counterfactual, region_size
from edgeinspect.recommend.fixes import CATALOG, fixes_for
from edgeinspect.recommend.recommender import Recommendation, _derived_fixes, _why_yes, recommend_method
from edgeinspect.recommend.support import lookup, support_table, target_key
from edgeinspect.textsafe import abbreviate

if TYPE_CHECKING:
    from edgeinspect.analysis.evidence import Evidence
    from edgeinspect.analysis.profile import MethodProfile

__all__ = [
    "COUNTERFACTUAL_BUDGET",
    "GLUE_KINDS",
    "POSITIONS",
    "WRITE_BACK_OPERATORS",
    "CpuAccount",
    "Fallback",
    "Glue",
    "account",
    "fallbacks",
    "glue_kind",
    "program_target",
]

#: Where a CPU call sits, in the order they are listed.
POSITIONS = ("leading", "between", "trailing", "whole-program")
#: The kinds of glue.
GLUE_KINDS = ("quantize", "layout", "write-back")
#: Kernels ExecuTorch adds after partitioning to write a mutated buffer back: no partitioner
#: ever sees them.
WRITE_BACK_OPERATORS = ("aten::copy_",)
#: The counterfactuals of the fallbacks that do not split re-partition at most this many nodes
#: per instruction of the method, in all; past it, an operator gets the joint figure of every
#: fallback at its place (``cost.operators`` says which).
COUNTERFACTUAL_BUDGET = 16
#: The largest region (nodes with their edges, :func:`~edgeinspect.recommend.counterfactual.region_size`)
#: one such counterfactual may re-partition: its sweep can cost the square of it.
REGION_LIMIT = 2048
#: Operators named in a ``cost`` (a joint figure can take many).
COST_OPERATORS_SHOWN = 8

_CONTROL_FLOW = (
    "inside a branch of a torch.cond or a loop body (between the jump at instruction {jump} and instruction {to}): "
    "ExecuTorch's partitioners do not partition inside control flow"
)


def glue_kind(kernel_name: str) -> str | None:
    """The kind of glue a kernel is (``quantize``, ``layout``, ``write-back``), or None.

    Examples
    --------
    >>> glue_kind("quantized_decomposed::dequantize_per_tensor.out"), glue_kind("aten::view_copy.out")
    ('quantize', 'layout')
    >>> glue_kind("aten::copy_"), glue_kind("aten::where.self_out")
    ('write-back', None)
    """
    if is_glue(kernel_name):
        return "quantize"
    base = base_operator(kernel_name)
    if base in TRIVIAL_OPERATORS:
        return "layout"
    if base in WRITE_BACK_OPERATORS:
        return "write-back"
    return None


@dataclass(frozen=True, slots=True)
class Glue:
    """Glue kernels of one operator in one method: counted apart from the fallbacks.

    Attributes
    ----------
    method, operator : str
        The method, and the base operator name (``quantized_decomposed::quantize_per_tensor``).
    kind : str
        One of :data:`GLUE_KINDS`.
    kernels : tuple of str
        The .pte kernel names of its calls.
    count : int
        Kernel calls.
    instructions : tuple of int
        Their instruction indices.
    bytes_written : int
        Tensor bytes its calls write (each call writes a converted or re-laid-out copy).
    positions : tuple of (str, int)
        Calls per position (:data:`POSITIONS`).
    time : MeasuredCost or None
        Measured time of its calls (``kernel_ticks``), with an ETDump.
    """

    method: str
    operator: str
    kind: str
    kernels: tuple[str, ...]
    count: int
    instructions: tuple[int, ...]
    bytes_written: int
    positions: tuple[tuple[str, int], ...]
    time: MeasuredCost | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (an entry of explain's ``"glue"``)."""
        out: dict[str, Any] = {
            "method": self.method,
            "operator": self.operator,
            "kind": self.kind,
            "count": self.count,
            "instructions": list(self.instructions),
            "bytes_written": self.bytes_written,
            "positions": dict(self.positions),
            "kernels": list(self.kernels),
        }
        if self.time is not None:
            c = self.time.clock
            out["time"] = {
                "unit": "ticks",
                "ticks": c.per_run(self.time.kernel_ticks),
                "share": c.share(self.time.kernel_ticks),
                **({"ms": c.ms(self.time.kernel_ticks)} if c.ns_per_tick is not None else {}),
            }
        return out


@dataclass(frozen=True, slots=True)
class Fallback:
    """One operator of one method that runs on the CPU and is not glue.

    Attributes
    ----------
    method, operator : str
        The method, and the base operator name (``aten::index_select``).
    kernels : tuple of str
        The .pte kernel names of its calls (with overloads).
    count : int
        Kernel calls.
    instructions : tuple of int
        Their instruction indices.
    position : str
        One of :data:`POSITIONS`, or ``mixed`` when its calls sit in different places.
    positions : tuple of (str, int)
        Calls per position.
    splits : int
        CPU islands it causes when a recommendation names it (it splits the delegated graph);
        0 otherwise.
    splitter : str or None
        The operator of the recommendation that names it (itself, or the operator that
        requires it), or None.
    backend, target : str or None
        Backend id of the delegate calls next to it and their support-table target (the
        program's, or the one given, for a method with no delegate call); None when unknown.
    support : str
        The support table's verdict for ``target`` (``yes``, ``conditional``, ``no``,
        ``unknown``).
    reason : str
        Why the partitioner left it on the CPU; never empty (``unknown: ...`` says what would tell).
    reasons : tuple of str
        Every reason known (executorch's checks give one per check), the first being ``reason``.
    reason_source : str
        ``executorch``, ``support-table``, ``control-flow`` or ``unknown``.
    runs_on : tuple of str
        Support-table targets that accept it (``yes`` or ``conditional``).
    fixes : tuple of dict
        Fixes, best first (``id``, ``kind``, ``text``).
    control_flow : bool
        Some of its calls lie inside a ``torch.cond`` branch or a loop body.
    cf : Counterfactual or None
        What delegating it to ``backend`` would give (the recommendation's, for a splitter);
        None when no delegate is next to it or it lies in control flow.
    time : MeasuredCost or None
        Its measured time, with an ETDump.
    cost_note : str or None
        Why ``cf`` is None.
    """

    method: str
    operator: str
    kernels: tuple[str, ...]
    count: int
    instructions: tuple[int, ...]
    position: str
    positions: tuple[tuple[str, int], ...]
    splits: int
    splitter: str | None
    backend: str | None
    target: str | None
    support: str
    reason: str
    reasons: tuple[str, ...]
    reason_source: str
    runs_on: tuple[str, ...] = ()
    fixes: tuple[dict[str, Any], ...] = ()
    control_flow: bool = False
    cf: Counterfactual | None = field(default=None, compare=False)
    time: MeasuredCost | None = None
    cost_note: str | None = None

    @property
    def fix(self) -> str | None:
        """The best fix, in words (None when none is known)."""
        return self.fixes[0]["text"] if self.fixes else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (an entry of explain's ``"fallbacks"``). ``cost`` is what its staying
        on the CPU adds against delegating it (the counterfactual's savings), None when no
        delegate is next to it."""
        fix = self.fixes[0] if self.fixes else None
        cf = self.cf
        out: dict[str, Any] = {
            "operator": self.operator,
            "count": self.count,
            "instructions": list(self.instructions),
            "reason": self.reason,
            "splits": self.splits,
            "position": self.position,
            "fix": fix["text"] if fix else None,
            "fix_id": fix["id"] if fix else None,
            "fix_kind": fix["kind"] if fix else None,
            "alternatives": [dict(f) for f in self.fixes[1:]],
            "method": self.method,
            "kernels": list(self.kernels),
            "positions": dict(self.positions),
            "splitter": self.splitter,
            "backend": self.backend,
            "target": self.target,
            "support": self.support,
            "reasons": list(self.reasons),
            "reason_source": self.reason_source,
            "runs_on": list(self.runs_on),
            "control_flow": self.control_flow,
            "cost": None
            if cf is None
            else {
                "backend": cf.backend,
                "operators": list(cf.operators[:COST_OPERATORS_SHOWN]),
                "operators_total": len(cf.operators),
                "delegates": cf.delegates_saved,
                "transitions": cf.transitions_saved,
                "boundary_bytes": cf.bytes_saved,
                "delegates_if_supported": cf.delegates_after,
            },
            "cost_note": self.cost_note,
        }
        if self.time is not None:
            out["time"] = self.time.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class CpuAccount:
    """Everything a program runs on the CPU: the fallbacks and the glue, method by method.

    Attributes
    ----------
    fallbacks : tuple of Fallback
        Per method in program order: splitters first (most islands), then by measured time
        (with an ETDump), position, calls and name.
    glue : tuple of Glue
        Per method in program order, by kind, then calls.
    undelegated : tuple of str
        Methods with no delegate call at all.
    """

    fallbacks: tuple[Fallback, ...]
    glue: tuple[Glue, ...]
    undelegated: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """``{"fallbacks": [...], "glue": [...], "undelegated": [...]}``."""
        return {
            "fallbacks": [f.to_dict() for f in self.fallbacks],
            "glue": [g.to_dict() for g in self.glue],
            "undelegated": list(self.undelegated),
        }


def _control_flow_spans(method: Method) -> list[tuple[int, int, int]]:
    """``(first, last, jump)`` instruction ranges of branch bodies and loop bodies: a forward
    jump skips ``jump + 1 .. target - 1``, a backward jump repeats ``target .. jump - 1``."""
    n = len(method.instructions)
    spans = []
    for ins in method.instructions:
        to = ins.destination
        if to is None or not 0 <= to <= n:
            continue
        if to > ins.index + 1:
            spans.append((ins.index + 1, to - 1, ins.index))
        elif to <= ins.index:
            spans.append((to, ins.index - 1, ins.index))
    return spans


def _in_control_flow(method: Method) -> dict[int, tuple[int, int]]:
    """Kernel call index -> ``(jump, target)`` of a branch or loop body it lies in: one sweep
    over the instructions with the open spans in a heap by their end (n log n at worst)."""
    spans = _control_flow_spans(method)
    if not spans:
        return {}
    starts: dict[int, list[tuple[int, int, int]]] = {}
    for first, last, jump in spans:
        starts.setdefault(first, []).append((last, jump, method.instructions[jump].destination or 0))
    out: dict[int, tuple[int, int]] = {}
    open_spans: list[tuple[int, int, int]] = []
    for ins in method.instructions:
        for span in starts.get(ins.index, ()):
            heapq.heappush(open_spans, span)
        while open_spans and open_spans[0][0] < ins.index:
            heapq.heappop(open_spans)
        if open_spans and ins.kind == "kernel":
            _, jump, target = open_spans[0]
            out[ins.index] = (jump, target)
    return out


def _support_summary(kernel: str) -> tuple[tuple[str, ...], str]:
    """The targets of the support table that accept the operator, and one short sentence on
    all of them (their reasons are one ``--target`` away).

    Examples
    --------
    >>> _support_summary("aten::sort.values")[1]
    'the support table: refused by TOSA-1.0+INT, TOSA-1.0+FP, ethos-u55, ethos-u85, xnnpack'
    """
    runs_on, conditional, refused = [], [], []
    for key in support_table()["targets"]:
        verdict = lookup(key, kernel).supported
        if verdict in ("yes", "conditional"):
            runs_on.append(key)
            if verdict == "conditional":
                conditional.append(key)
        else:
            refused.append(key)
    parts = []
    if runs_on:
        parts.append("accepted by " + ", ".join(k + (" (a per-node check decides)" if k in conditional else "") for k in runs_on))
    if refused:
        parts.append("refused by " + ", ".join(refused))
    return tuple(runs_on), "the support table: " + "; ".join(parts)


def _whole_program_fixes(op: str, kernel: str, runs_on: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """Fixes for an operator of a method with no delegate call and no known target: delegate it
    to a target that runs it, or the catalogued rewrites of it for any target."""
    out: list[dict[str, Any]] = []
    if runs_on:
        out.append(
            {
                "id": f"target-{runs_on[0]}",
                "kind": "change-target",
                "text": f"Nothing in this method is delegated: lower it with the partitioner of a target that accepts {abbreviate(op)} "
                f"({', '.join(runs_on)}; support table, not proven on a fixture), and check that the partitioner ran.",
            }
        )
    seen = {f["id"] for f in out}
    for fix in CATALOG:
        if op in fix.operators and fix.id not in seen and fix.kind != "change-target":
            seen.add(fix.id)
            out.append({**fix.to_dict(), "targets": list(fix.targets)})
    return tuple(out)


def program_target(program: Program) -> str | None:
    """The one support-table target of every delegate of the program, or None (none, or several).

    Examples
    --------
    >>> import edgeinspect
    >>> program_target(edgeinspect.load("tests/data/u55_where_edge.pte"))
    'ethos-u55'
    """
    keys = {target_key(d) for m in program.methods for d in m.delegates}
    return next(iter(keys)) if len(keys) == 1 else None


def _gain(cf: Counterfactual) -> tuple[int, int, int]:
    return (cf.delegates_saved, cf.transitions_saved, cf.bytes_saved)


def _saves_nothing(cf: Counterfactual) -> bool:
    return max(_gain(cf)) <= 0


def _best_counterfactual(method: Method, backends: Sequence[str], op: str) -> Counterfactual | None:
    best = None
    for backend in backends:
        cf = counterfactual(method, backend, [op])
        if best is None or _gain(cf) > _gain(best):
            best = cf
    return best


def _method_account(
    method: Method,
    recommendations: Sequence[Recommendation],
    reasons: Mapping[str, Sequence[str]] | None,
    default_target: str | None,
    profile: MethodProfile | None,
    ns_per_tick: float | None,
) -> tuple[list[Fallback], list[Glue]]:
    calls = [ins for ins in method.instructions if ins.is_call]
    delegate_calls = [ins for ins in calls if ins.kind == "delegate"]
    first_d = delegate_calls[0].index if delegate_calls else None
    last_d = delegate_calls[-1].index if delegate_calls else None
    targets: dict[str, str | None] = {}
    for d in method.delegates:
        if targets.get(d.backend_id) is None:
            targets[d.backend_id] = target_key(d)
    flow = producers_and_consumers(method)
    islands = cpu_islands(method, dataflow=flow) if len(delegate_calls) >= 2 else []
    island_of = {i: isl for isl in islands for i in isl.instructions}
    branches = _in_control_flow(method)

    splitter_of: dict[str, Recommendation] = {}
    for rec in recommendations:
        for op in (rec.operator, *rec.requires):
            splitter_of.setdefault(op, rec)
    caused: dict[str, list[Any]] = {}  # base op -> islands it causes (not control flow)
    for isl in islands:
        if isl.control_flow:
            continue
        for b in dict.fromkeys(base_operator(c) for c in isl.causes):
            caused.setdefault(b, []).append(isl)

    def position(ins_index: int) -> str:
        if first_d is None:
            return "whole-program"
        if ins_index < first_d:
            return "leading"
        if ins_index > (last_d if last_d is not None else -1):
            return "trailing"
        return "between"

    groups: dict[tuple[str, str | None], list[Any]] = {}  # (base op, glue kind or None) -> calls
    for ins in calls:
        if ins.kind != "kernel":
            continue
        base = base_operator(ins.name)
        kind = None if base in splitter_of else glue_kind(ins.name)
        groups.setdefault((base, kind), []).append(ins)

    producer = flow[0]
    written: dict[int, int] = {}  # glue instruction -> bytes it writes
    glue_members = {ins.index for (_, kind), members in groups.items() if kind is not None for ins in members}
    if glue_members:
        for value, src in producer.items():
            if isinstance(src, int) and src in glue_members:
                written[src] = written.get(src, 0) + tensor_bytes(method, [value])

    # Operators next to a delegate that help only together (a trailing ``where`` fed by ``gt``):
    # one joint counterfactual per position and backend, shared by all of them.
    together: dict[str, list[str]] = {}
    for (op, kind), members in groups.items():
        if kind is None and op not in splitter_of:
            for ins in members:
                if ins.index not in branches and first_d is not None:
                    together.setdefault(position(ins.index), []).append(op)
    together = {p: list(dict.fromkeys(ops)) for p, ops in together.items()}

    # The counterfactuals of operators that do not split are budgeted, so the account stays
    # linear in the method whatever its shape: each re-partitions a bounded region, and all of
    # them together at most COUNTERFACTUAL_BUDGET units of work per instruction.
    budget = [COUNTERFACTUAL_BUDGET * len(method.instructions) + REGION_LIMIT]

    def afford(backend: str, ops: Sequence[str]) -> bool:
        need = region_size(method, backend, ops)
        if need > REGION_LIMIT or need > budget[0]:
            return False
        budget[0] -= need
        return True

    joint: dict[tuple[str, str], Counterfactual | None] = {}

    def joint_counterfactual(where: str, backend: str) -> Counterfactual | None:
        key = (where, backend)
        if key not in joint:
            ops = together[where]
            joint[key] = counterfactual(method, backend, ops) if afford(backend, ops) else None
        return joint[key]

    fallbacks_out: list[Fallback] = []
    glue_out: list[Glue] = []
    for (op, kind), members in groups.items():
        indices = tuple(i.index for i in members)
        where: dict[str, int] = {}
        for i in indices:
            p = position(i)
            where[p] = where.get(p, 0) + 1
        positions = tuple((p, where[p]) for p in POSITIONS if p in where)
        kernels = tuple(dict.fromkeys(i.name for i in members))
        if kind is not None:
            time = measured_cost(profile, indices, ns_per_tick=ns_per_tick) if profile is not None else None
            glue_out.append(
                Glue(method.name, op, kind, kernels, len(indices), indices, sum(written.get(i, 0) for i in indices), positions, time)
            )
            continue
        backends: dict[str, None] = {}
        for i in indices:
            isl = island_of.get(i)
            if isl is not None:
                backends[isl.backends[0]] = None
                backends[isl.backends[1]] = None
            elif first_d is not None:
                edge = delegate_calls[0] if i < first_d else delegate_calls[-1]
                backends[edge.name] = None
        backend = next(iter(backends), None)
        target = targets.get(backend) if backend is not None else default_target
        in_flow = [branches[i] for i in indices if i in branches]
        rec = splitter_of.get(op)
        # Why it is on the CPU.
        entry = lookup(target, kernels[0]) if target is not None else None
        runs_on, summary = _support_summary(kernels[0])
        if reasons and reasons.get(op):
            all_reasons, source = tuple(reasons[op]), "executorch"
        elif entry is not None and entry.supported != "unknown":
            all_reasons, source = (entry.reason or _why_yes(entry.supported, target),), "support-table"
        elif first_d is None:
            all_reasons = (
                f"unknown: nothing in method {abbreviate(method.name)!r} is delegated, and a program without delegates does not record "
                "the target it was lowered for (pass --target, and --etrecord for executorch's own checks); " + summary,
            )
            source = "unknown"
        else:
            all_reasons = (
                f"unknown: the support table has no entry for the target of the {abbreviate(str(backend))} delegates next to it "
                "(pass --etrecord for executorch's own checks); " + summary,
            )
            source = "unknown"
        if first_d is None and target is not None and source != "unknown":
            all_reasons += (f"nothing in method {abbreviate(method.name)!r} is delegated; {summary}",)
        if in_flow:
            jump, to = in_flow[0]
            all_reasons = (_CONTROL_FLOW.format(jump=jump, to=to), *all_reasons)
            source = "control-flow"
        # What to do about it, and what delegating it would give.
        cost_note: str | None = None
        if rec is not None:
            fixes = rec.fixes if rec.operator == op else _fixes(op, kernels, target, runs_on, first_d is None)
            cf: Counterfactual | None = rec.cf
        else:
            fixes = _fixes(op, kernels, target, runs_on, first_d is None)
            cf = None
            place = positions[0][0] if len(positions) == 1 and positions[0][0] in together else None
            if first_d is None:
                cost_note = "no delegate call in the method to delegate it with (see runs_on)"
            elif len(in_flow) == len(indices):
                cost_note = "inside control flow: no partitioner takes it"
            else:
                cf = _best_counterfactual(method, [b for b in backends if afford(b, [op])], op)
                if cf is None and place is not None:
                    # Too big a region to re-partition for it alone (many operators around one
                    # big group of delegate calls and glue): the joint figure of its place.
                    cf = joint_counterfactual(place, backend or "")
                if cf is None:
                    cost_note = (
                        "not computed: it sits next to a group of delegate calls and glue too large to re-partition for each "
                        "operator (explain stays linear in the program)"
                    )
            if cf is not None and _saves_nothing(cf) and place is not None and len(together[place]) > 1:
                # Alone it saves nothing (or makes a delegate of its own): take it with the other
                # fallbacks at the same place, when together they do better.
                other = joint_counterfactual(place, cf.backend)
                if other is not None and not _saves_nothing(other) and _gain(other) > _gain(cf):
                    cf = other
        splits = len(caused.get(op, ())) if rec is not None else 0
        time = None
        if profile is not None:
            own_islands = [isl.instructions for isl in caused.get(op, ())] if rec is not None else None
            absorbed = [i for part in (cf.changed_partitions if cf is not None else ()) for i in part if i in glue_members]
            glue_near = [g for isl in caused.get(op, ()) for g in isl.glue] if rec is not None else absorbed
            time = measured_cost(profile, indices, islands=own_islands, glue=glue_near, absorbed=absorbed, ns_per_tick=ns_per_tick)
        fallbacks_out.append(
            Fallback(
                method=method.name,
                operator=op,
                kernels=kernels,
                count=len(indices),
                instructions=indices,
                position=positions[0][0] if len(positions) == 1 else "mixed",
                positions=positions,
                splits=splits,
                splitter=rec.operator if rec is not None else None,
                backend=backend,
                target=target,
                support=entry.supported if entry is not None else "unknown",
                reason=all_reasons[0],
                reasons=all_reasons,
                reason_source=source,
                runs_on=runs_on,
                fixes=fixes,
                control_flow=bool(in_flow),
                cf=cf,
                time=time,
                cost_note=cost_note,
            )
        )
    order = {p: k for k, p in enumerate((*POSITIONS, "mixed"))}
    fallbacks_out.sort(key=lambda f: (-f.splits, -(f.time.kernel_ticks if f.time else 0), order[f.position], -f.count, f.instructions[0]))
    kinds = {k: n for n, k in enumerate(GLUE_KINDS)}
    glue_out.sort(key=lambda g: (kinds[g.kind], -g.count, g.instructions[0]))
    return fallbacks_out, glue_out


def _fixes(op: str, kernels: tuple[str, ...], target: str | None, runs_on: Sequence[str], undelegated: bool) -> tuple[dict[str, Any], ...]:
    if target is None:
        return _whole_program_fixes(op, kernels[0], runs_on) if undelegated else ()
    return tuple(f.to_dict() for f in fixes_for(op, target)) or _derived_fixes(op, kernels, target)


def account(
    program_or_method: Program | Method,
    evidence: Evidence | None = None,
    *,
    reasons: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    recommendations: Iterable[Recommendation] | None = None,
    target: str | None = None,
    ns_per_tick: float | None = None,
) -> CpuAccount:
    """The complete account of what a program (or one method) runs on the CPU.

    Parameters
    ----------
    program_or_method : Program or Method
    evidence : Evidence, optional
        What :func:`edgeinspect.gather` found; its ETDump profile gives measured times.
    reasons : mapping, optional
        Method -> base operator -> executorch's reasons (``explain --etrecord``).
    recommendations : iterable of Recommendation, optional
        The splitters, when the caller has them already (with reasons, sources, what-if);
        computed with :func:`~edgeinspect.recommend.recommend_method` otherwise.
    target : str, optional
        Support-table target for methods with no delegate call (a .pte without delegates
        does not record what it was lowered for). Default: the target of the program's
        delegates when they all have one.
    ns_per_tick : float, optional
        How long one ETDump tick is, in nanoseconds (1 on a host run), for milliseconds.

    Returns
    -------
    CpuAccount

    Examples
    --------
    >>> import edgeinspect
    >>> program = edgeinspect.load("tests/data/u55_where_edge.pte")
    >>> [(f.operator, f.position, f.splits) for f in account(program).fallbacks]
    [('aten::gt', 'trailing', 0), ('aten::where', 'trailing', 0)]
    """
    if isinstance(program_or_method, Program):
        methods = list(program_or_method.methods)
        default = target if target is not None else program_target(program_or_method)
    else:
        methods = [program_or_method]
        default = target
    given = None if recommendations is None else list(recommendations)
    out_f: list[Fallback] = []
    out_g: list[Glue] = []
    undelegated = []
    for m in methods:
        method_reasons = (reasons or {}).get(m.name)
        recs = [r for r in given if r.method == m.name] if given is not None else recommend_method(m, method_reasons)
        profile = evidence.profile(m.name) if evidence is not None else None
        f, g = _method_account(m, recs, method_reasons, default, profile, ns_per_tick)
        out_f.extend(f)
        out_g.extend(g)
        if not any(ins.kind == "delegate" for ins in m.instructions):
            undelegated.append(m.name)
    return CpuAccount(tuple(out_f), tuple(out_g), tuple(undelegated))


def fallbacks(program_or_method: Program | Method, evidence: Evidence | None = None, **kwargs: Any) -> list[Fallback]:
    """Every non-glue operator the program (or method) runs on the CPU, with its reason,
    position, splits, fix and cost: :attr:`account(...).fallbacks <CpuAccount.fallbacks>`.

    Examples
    --------
    >>> import edgeinspect
    >>> (f,) = fallbacks(edgeinspect.load("tests/data/u55_sort_only.pte"))
    >>> f.operator, f.position, f.reason.startswith("unknown: nothing in method 'forward' is delegated")
    ('aten::sort', 'whole-program', True)
    """
    return list(account(program_or_method, evidence, **kwargs).fallbacks)
