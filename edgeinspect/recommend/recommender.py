"""Rank the CPU operators that split delegated work, from the .pte alone.

For each operator type that appears as a cause in a CPU island (glue never does), the
counterfactual of :mod:`edgeinspect.recommend.counterfactual` says how many delegate calls,
transitions and boundary bytes would remain if the backend took it. When an operator only
splits the graph together with others in the same islands (``where`` fed by ``gt``), taking
it alone changes nothing; the recommendation then names those operators in ``requires`` and
its figures are for taking them all. Reasons come from the committed support table, or
from executorch's own checks when :func:`edgeinspect.export.partitioner.rejection_reasons`
supplied them; fixes from :mod:`edgeinspect.recommend.fixes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edgeinspect.analysis.fragmentation import base_operator, cpu_islands, is_glue
from edgeinspect.model import Method, Program
from edgeinspect.model.source import Source
from edgeinspect.recommend.counterfactual import Counterfactual, counterfactual
from edgeinspect.recommend.fixes import fixes_for
from edgeinspect.recommend.support import lookup, support_table, target_key
from edgeinspect.textsafe import abbreviate

if TYPE_CHECKING:
    from edgeinspect.recommend.cost import MeasuredCost

__all__ = ["Recommendation", "explain_dict", "recommend", "recommend_method"]

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One splitting operator and what taking it off the CPU would do.

    The fields of the CLI contract (``operator``, ``instances``, ``splits``, ``delegates_if_supported``,
    ``transitions_saved``, ``bytes_saved``, ``reason``, ``fix``) come first in
    :meth:`to_dict`; the rest add context.

    Attributes
    ----------
    operator : str
        Base operator name (``aten::upsample_bilinear2d``).
    kernels : tuple of str
        The .pte kernel names (with overloads) of its instances.
    method, backend : str
    target : str or None
        Support-table target key of the backend's delegates (``ethos-u55``...).
    instances : int
        Kernel calls of the operator in the method.
    splits : int
        CPU islands in which it is a cause.
    requires : tuple of str
        Other operators that must be delegated with it for any gain (empty when it alone helps).
    cf : Counterfactual
    support, reason : str
        Verdict and reason (support table, or executorch's checks when given).
    reasons : tuple of str
        Every reason known, per rejected node, in node order (executorch's checks), else the
        table's reason.
    reason_source : str
        ``support-table`` or ``executorch``.
    fixes : tuple of dict
        Catalogued fixes, best first (``id``, ``kind``, ``text``).
    whatif : dict or None
        The real partitioner's answer when an ETRecord was given.
    last_instruction : int
        Index of the operator's last kernel call in the method.
    sources : tuple of (int, Source) or None
        Where each instance came from in the model, as (instruction index, source); None
        when no provenance was given (see :mod:`edgeinspect.recommend.sources`).
    time : MeasuredCost or None
        Measured time of the islands it causes and what delegating it saves, with an ETDump
        (:func:`edgeinspect.recommend.cost.with_measured_time`).
    merge : dict or None
        Vela's prediction for the merged partition (``explain --estimate``): the fields of
        :class:`~edgeinspect.export.merge_estimate.MergeEstimate`, or ``missing`` / ``reason``
        saying why there is none.
    """

    operator: str
    kernels: tuple[str, ...]
    method: str
    backend: str
    target: str | None
    instances: int
    splits: int
    requires: tuple[str, ...]
    cf: Counterfactual
    support: str
    reason: str
    reasons: tuple[str, ...]
    reason_source: str
    fixes: tuple[dict[str, Any], ...] = ()
    whatif: dict[str, Any] | None = field(default=None)
    last_instruction: int = -1
    sources: tuple[tuple[int, Source], ...] | None = None
    time: MeasuredCost | None = None
    merge: dict[str, Any] | None = None

    @property
    def delegates_if_supported(self) -> int:
        """Delegate calls of the method if the operator (and ``requires``) were delegated."""
        return self.cf.delegates_after

    def sort_key(self) -> tuple[Any, ...]:
        """Most harmful first: delegates saved, transitions saved, bytes saved, splits."""
        return (
            -self.cf.delegates_saved,
            -self.cf.transitions_saved,
            -self.cf.bytes_saved,
            -self.splits,
            bool(self.requires),
            self.method,
            self.operator,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``explain --format json``."""
        fix = self.fixes[0] if self.fixes else None
        out = {
            "operator": self.operator,
            "instances": self.instances,
            "splits": self.splits,
            "delegates_if_supported": self.delegates_if_supported,
            "transitions_saved": self.cf.transitions_saved,
            "bytes_saved": self.cf.bytes_saved,
            "reason": self.reason,
            "fix": fix["text"] if fix else None,
            "fix_id": fix["id"] if fix else None,
            "fix_kind": fix["kind"] if fix else None,
            "alternatives": [dict(f) for f in self.fixes[1:]],
            "method": self.method,
            "backend": self.backend,
            "target": self.target,
            "kernels": list(self.kernels),
            "requires": list(self.requires),
            "delegates_before": sum(self.cf.subgraphs_before.values()),
            "subgraphs_if_supported": dict(self.cf.subgraphs_after),
            "transitions_before": self.cf.transitions_before,
            "transitions_if_supported": self.cf.transitions_after,
            "bytes_before": self.cf.bytes_before,
            "bytes_if_supported": self.cf.bytes_after,
            "support": self.support,
            "reasons": list(self.reasons),
            "reason_source": self.reason_source,
            "whatif": self.whatif,
        }
        if self.sources is not None:
            # One per instance with a known source, with the kernel call it is.
            out["sources"] = [{**src.to_dict(), "instruction": i} for i, src in self.sources]
        if self.time is not None:
            out["time"] = self.time.to_dict()
        if self.merge is not None:
            out["merge_estimate"] = dict(self.merge)
        return out


def _backend_targets(method: Method) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for d in method.delegates:
        if d.backend_id not in out or out[d.backend_id] is None:
            out[d.backend_id] = target_key(d)
    return out


def recommend_method(method: Method, reasons: Mapping[str, Sequence[str]] | None = None) -> list[Recommendation]:
    """Recommendations for one method, most harmful first.

    Parameters
    ----------
    method : Method
    reasons : mapping, optional
        Base operator name -> every reason executorch's checks gave for its nodes (see
        :func:`edgeinspect.export.partitioner.rejection_reasons`). Without it the support
        table supplies the reason.
    """
    islands = cpu_islands(method)
    targets = _backend_targets(method)
    causes: dict[str, dict[str, None]] = {}  # base op -> backends of the islands it splits
    splits: dict[str, int] = {}
    together: dict[str, dict[str, None]] = {}
    for isl in islands:
        if isl.control_flow:
            # Branches of a torch.cond or a loop body: no partitioner merges a delegate across
            # the jumps, so no single operator is the cause (the island reports its control flow).
            continue
        bases = list(dict.fromkeys(base_operator(c) for c in isl.causes))
        for b in bases:
            causes.setdefault(b, {})
            causes[b][isl.backends[0]] = None
            causes[b][isl.backends[1]] = None
            splits[b] = splits.get(b, 0) + 1
            together.setdefault(b, {}).update({o: None for o in bases if o != b})
    kernels: dict[str, dict[str, None]] = {}
    instances: dict[str, int] = {}
    last: dict[str, int] = {}
    for ins in method.calls:
        if ins.kind == "kernel":
            base = base_operator(ins.name)
            instances[base] = instances.get(base, 0) + 1
            last[base] = ins.index
            if not is_glue(ins.name):
                kernels.setdefault(base, {})[ins.name] = None
    out: list[Recommendation] = []
    for op, backends in causes.items():
        best: Counterfactual | None = None
        requires: tuple[str, ...] = ()
        for backend in backends:
            cf = counterfactual(method, backend, [op])
            req: tuple[str, ...] = ()
            if cf.delegates_saved <= 0 and together.get(op):
                req = tuple(together[op])
                cf = counterfactual(method, backend, [op, *req])
            if best is None or (-cf.delegates_saved, -cf.transitions_saved) < (-best.delegates_saved, -best.transitions_saved):
                best, requires = cf, req
        assert best is not None
        if best.delegates_saved <= 0:
            continue  # delegating it would not merge anything: not a splitter
        target = targets.get(best.backend)
        names = tuple(kernels.get(op, {}))
        entry = lookup(target, names[0] if names else op)
        if reasons and reasons.get(op):
            all_reasons = tuple(reasons[op])
            reason, source = all_reasons[0], "executorch"
            # The operators it needs along: their reasons too, named.
            all_reasons += tuple(f"{req}: {r}" for req in requires for r in reasons.get(req, ()))
        else:
            reason = entry.reason or _why_yes(entry.supported, target)
            all_reasons, source = (reason,), "support-table"
            for req in requires:
                other = lookup(target, next(iter(kernels.get(req, {})), req))
                all_reasons += (f"{req}: {other.reason or _why_yes(other.supported, target)}",)
        fixes = tuple(f.to_dict() for f in fixes_for(op, target)) or _derived_fixes(op, names, target)
        out.append(
            Recommendation(
                operator=op,
                kernels=names,
                method=method.name,
                backend=best.backend,
                target=target,
                instances=instances[op],
                splits=splits[op],
                requires=requires,
                cf=best,
                support=entry.supported,
                reason=reason,
                reasons=all_reasons,
                reason_source=source,
                fixes=fixes,
                last_instruction=last[op],
            )
        )
    return _one_per_operator_set(out)


def _one_per_operator_set(recs: list[Recommendation]) -> list[Recommendation]:
    """Operators that only help together (``gt`` feeding ``where``) make one recommendation,
    named after the one that runs last (whose output re-enters the delegate)."""
    groups: dict[tuple[str, ...], Recommendation] = {}
    for r in recs:
        key = (r.method, *sorted((r.operator, *r.requires)))
        if key not in groups or r.last_instruction > groups[key].last_instruction:
            groups[key] = r
    return sorted(groups.values(), key=Recommendation.sort_key)


def _why_yes(supported: str, target: str | None) -> str:
    if supported == "yes":
        return (
            f"listed as supported for {target}, yet left on CPU: a per-node check (rank, dtype, quantization) "
            "rejected it; run with --etrecord for executorch's reasons"
        )
    return f"support for {target} is unknown"


def _derived_fixes(op: str, names: tuple[str, ...], target: str | None) -> tuple[dict[str, Any], ...]:
    """No catalogued fix: name the sibling targets whose support table accepts the operator."""
    if target is None:
        return ()
    family = "ethos-u" if target.startswith("ethos-u") else "TOSA" if target.startswith("TOSA") else target
    others = []
    for key in support_table()["targets"]:
        if key == target or not key.startswith(family):
            continue
        if lookup(key, names[0] if names else op).supported in ("yes", "conditional"):
            others.append(key)
    if not others:
        return ()
    return (
        {
            "id": f"target-{others[0]}",
            "kind": "change-target",
            "text": f"Compile for {others[0]}, whose partitioner accepts {abbreviate(op)} (support table; not proven on a fixture).",
        },
    )


def recommend(program: Program, reasons: Mapping[str, Mapping[str, Sequence[str]]] | None = None) -> list[Recommendation]:
    """Recommendations for every method of a program, most harmful first.

    Parameters
    ----------
    program : Program
    reasons : mapping, optional
        Method name -> base operator -> reasons (from executorch's checks).
    """
    out: list[Recommendation] = []
    for m in program.methods:
        out.extend(recommend_method(m, (reasons or {}).get(m.name)))
    out.sort(key=Recommendation.sort_key)
    return out


def explain_dict(
    recommendations: Sequence[Recommendation], *, file: str | None = None, partitioner: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``explain --format json`` document."""
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "file": file, "recommendations": [r.to_dict() for r in recommendations]}
    if partitioner is not None:
        doc["partitioner"] = dict(partitioner)
    return doc
