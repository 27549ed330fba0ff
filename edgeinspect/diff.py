"""What changed between two programs: targets, delegates, coverage, operators, bytes and measured time.

It compares :func:`edgeinspect.analysis.figures.method_figures` of each method: the one
summary of a method that the lint, its baseline and the diff all compare, so the three can
never disagree about a number (``method_figures`` and ``method_coverage`` are importable
from here too). Given two profiles of one method (an ETDump of each program, through
:func:`edgeinspect.gather`), it also compares their measured time (:func:`diff_profiles`).

Examples
--------
>>> import edgeinspect
>>> from edgeinspect.diff import diff_programs
>>> d = diff_programs(edgeinspect.load("tests/data/u55_upsample.pte", tosa="auto"),
...                   edgeinspect.load("tests/data/u85_upsample.pte", tosa="auto"))
>>> for line in d.to_text().splitlines()[3:7]:
...     print(line)
method forward:
  target EthosUBackend: ethos-u55-128 -> ethos-u85-256
  delegates EthosUBackend: 2 -> 1 (-1)
  transitions: 4 -> 2 (-2)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgeinspect.analysis.figures import method_coverage, method_figures
from edgeinspect.analysis.fragmentation import format_score
from edgeinspect.analysis.fragmentation import known_delegate_ops as _known
from edgeinspect.analysis.partitions import partitions
from edgeinspect.analysis.profile import CATEGORIES
from edgeinspect.errors import UsageError
from edgeinspect.model import Method, Program
from edgeinspect.textsafe import TEXT_LIMIT, abbreviate, safe

if TYPE_CHECKING:
    from edgeinspect.analysis.evidence import Evidence
    from edgeinspect.analysis.profile import MethodProfile

__all__ = ["ProgramDiff", "diff_profiles", "diff_programs", "method_coverage", "method_figures"]


def _pairs(before: dict[str, int], after: dict[str, int]) -> dict[str, list[int]]:
    """{key: [before, after]} for every key whose count differs, keys in first-seen order."""
    keys = dict.fromkeys([*before, *after])
    return {k: [before.get(k, 0), after.get(k, 0)] for k in keys if before.get(k, 0) != after.get(k, 0)}


def _island_key(isl: dict[str, Any]) -> str:
    # Built from abbreviated names: a new string per island, so it must not copy long names whole.
    names = isl["causes"] if isl["causes"] else isl["ops"]
    return ("" if isl["causes"] else "glue: ") + ", ".join(abbreviate(n) for n in names)


@dataclass(frozen=True, slots=True)
class ProgramDiff:
    """The changes between a base and a head program.

    Attributes
    ----------
    base, head : str
        The two files.
    file_size : tuple of int
        (base, head) sizes in bytes.
    methods : tuple of dict
        One entry per method present in either, in base order then new head methods:
        ``name``, ``status`` (``same``, ``changed``, ``added``, ``removed``) and, for the
        figures that changed, ``[before, after]`` pairs (``targets`` per backend,
        ``delegated_subgraphs``, ``transitions``, ``fragmentation_score``, ``boundary_bytes``,
        ``coverage``, ``payload_bytes``, ``operators`` on the CPU, ``delegated_ops`` per backend
        and operator, the operators inside its delegates) and the islands ``islands_added`` /
        ``islands_removed`` (by their causes); with two profiles of the method, ``profile``
        (:func:`diff_profiles`).
    """

    base: str
    head: str
    file_size: tuple[int, int]
    methods: tuple[dict[str, Any], ...]

    @property
    def changed(self) -> bool:
        """Whether any method's figures changed (file size and measured time alone do not count)."""
        return any(m["status"] != "same" for m in self.methods)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``edgeinspect diff --format json``)."""
        return {
            "schema_version": 1,
            "base": self.base,
            "head": self.head,
            "changed": self.changed,
            "file_size": list(self.file_size),
            "methods": list(self.methods),
        }

    def to_text(self) -> str:
        """Human-readable form (``edgeinspect diff``): names from the files abbreviated, their
        control characters escaped."""
        lines = [f"--- {safe(self.base, TEXT_LIMIT)}", f"+++ {safe(self.head, TEXT_LIMIT)}"]
        b, h = self.file_size
        lines.append(f"file size: {b:,} -> {h:,} bytes ({h - b:+,})")
        for m in self.methods:
            if m["status"] in ("added", "removed"):
                lines.append(f"method {safe(m['name'])}: {m['status']}")
                continue
            if m["status"] == "same":
                lines.append(f"method {safe(m['name'])}: no change in targets, delegates, islands, operators, coverage or bytes")
                if "profile" in m:
                    lines.extend(_profile_lines(m["profile"]))
                continue
            lines.append(f"method {safe(m['name'])}:")
            for backend, (x, y) in m.get("targets", {}).items():
                lines.append(f"  target {safe(backend)}: {_targets(x)} -> {_targets(y)}")
            for backend, (x, y) in m.get("delegated_subgraphs", {}).items():
                lines.append(f"  delegates {safe(backend)}: {x} -> {y} ({y - x:+})")
            for key, label in (("transitions", "transitions"), ("boundary_bytes", "boundary bytes")):
                if key in m:
                    x, y = m[key]
                    lines.append(f"  {label}: {x:,} -> {y:,} ({y - x:+,})")
            if "fragmentation_score" in m:
                x, y = m["fragmentation_score"]
                lines.append(f"  fragmentation score: {format_score(x)} -> {format_score(y)} ({y - x:+.4f})")
            if "coverage" in m:
                x, y = m["coverage"]
                change = f" ({(y - x) * 100:+.1f} points)" if x is not None and y is not None else ""
                lines.append(f"  coverage: {_ratio(x)} -> {_ratio(y)}{change}")
            for backend, (x, y) in m.get("payload_bytes", {}).items():
                lines.append(f"  payload bytes {safe(backend)}: {x:,} -> {y:,} ({y - x:+,})")
            for isl in m.get("islands_added", []):
                lines.append(f"  + CPU island: {safe(isl, TEXT_LIMIT)}")
            for isl in m.get("islands_removed", []):
                lines.append(f"  - CPU island: {safe(isl, TEXT_LIMIT)}")
            for op, (x, y) in m.get("operators", {}).items():
                lines.append(f"  operator {safe(op)}: {x} -> {y} ({y - x:+})")
            for backend, change in m.get("delegated_ops", {}).items():
                if isinstance(change, dict):
                    for op, (x, y) in change.items():
                        lines.append(f"  inside {safe(backend)}: {safe(op)} {x} -> {y} ({y - x:+})")
                else:
                    x, y = change
                    lines.append(f"  inside {safe(backend)}: {_inside(x)} -> {_inside(y)}")
            if "profile" in m:
                lines.extend(_profile_lines(m["profile"]))
        return "\n".join(lines)


def _targets(targets: list[str]) -> str:
    return ", ".join(safe(t) for t in targets) or "none named"


def _ratio(x: float | None) -> str:
    return "unknown" if x is None else f"{x:.1%}"


def _inside(ops: dict[str, int] | None) -> str:
    if ops is None:
        return "unknown"
    return f"{sum(ops.values())} operator(s)" if ops else "none"


def _ticks(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.1f}" if isinstance(x, float) and not x.is_integer() else f"{int(x):,}"


def _delta(x: float | None, y: float | None) -> str:
    if x is None or y is None:
        return ""
    d = round(y - x, 1)
    pct = f", {d / x:+.1%}" if x else ""
    return f" ({_ticks(d) if d < 0 else '+' + _ticks(d)}{pct})"


def _profile_lines(p: dict[str, Any]) -> list[str]:
    base, head = p["base"], p["head"]
    lines = [
        f"  measured time (ticks as the ETDumps hold them; base {safe(base['etdump'] or '-')}: {base['runs']} run(s), "
        f"head {safe(head['etdump'] or '-')}: {head['runs']} run(s); medians and means leave the warm-up out):"
    ]
    x, y = p["execute"]["median_ticks"]
    lines.append(f"    execute: median {_ticks(x)} -> {_ticks(y)} ticks{_delta(x, y)}")
    for cat in CATEGORIES:
        (sx, sy), (tx, ty) = p["shares"][cat], p["ticks"][cat]
        if not tx and not ty:
            continue
        share = f"{_ratio(sx)} -> {_ratio(sy)} of execute time"
        lines.append(f"    {cat.replace('_', ' ')}: {share}; {_ticks(tx)} -> {_ticks(ty)} ticks per run{_delta(tx, ty)}")
    for part in p["partitions"]:
        x, y = part["ticks"]
        lines.append(f"    partition {safe(part['partition'])}: {_ticks(x)} -> {_ticks(y)} ticks per run{_delta(x, y)}")
    for ins in p["instructions"]:
        x, y = ins["ticks"]
        where = "/".join("-" if i is None else str(i) for i in ins["index"])
        lines.append(f"    {safe(ins['key'], TEXT_LIMIT)} (instruction {where}): {_ticks(x)} -> {_ticks(y)} ticks per run{_delta(x, y)}")
    return lines


def _delegated_ops_change(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    """{backend: {operator: [before, after]}} where both sides know the operators inside;
    {backend: [before, after]} (histograms, or None when unknown) where one side does not."""
    out: dict[str, Any] = {}
    for backend in dict.fromkeys([*base, *head]):
        x, y = base.get(backend, {}), head.get(backend, {})
        if x is None or y is None:
            if x != y:
                out[backend] = [x, y]
            continue
        pairs = _pairs(x, y)
        if pairs:
            out[backend] = pairs
    return out


def diff_methods(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    """The changed figures between two :func:`method_figures` results."""
    out: dict[str, Any] = {}
    targets = {
        b: [base["targets"].get(b, []), head["targets"].get(b, [])]
        for b in dict.fromkeys([*base["targets"], *head["targets"]])
        if base["targets"].get(b, []) != head["targets"].get(b, [])
    }
    if targets:
        out["targets"] = targets
    for key in ("delegated_subgraphs", "payload_bytes", "operators"):
        pairs = _pairs(base[key], head[key])
        if pairs:
            out[key] = pairs
    for key in ("transitions", "fragmentation_score", "boundary_bytes", "coverage"):
        if base[key] != head[key]:
            out[key] = [base[key], head[key]]
    inside = _delegated_ops_change(base["delegated_ops"], head["delegated_ops"])
    if inside:
        out["delegated_ops"] = inside
    before = Counter(_island_key(i) for i in base["islands"])
    after = Counter(_island_key(i) for i in head["islands"])
    added, removed = list((after - before).elements()), list((before - after).elements())
    if added:
        out["islands_added"] = added
    if removed:
        out["islands_removed"] = removed
    return out


def _steady_runs(profile: MethodProfile) -> int:
    return max(1, profile.runs - profile.warmup_runs)


def _per_run(profile: MethodProfile, indices: list[int] | tuple[int, ...]) -> float | None:
    """Mean ticks per run outside the warm-up of a group of instructions (None if none ran)."""
    ran = [profile.instruction(i) for i in indices]
    ran = [p for p in ran if p is not None]
    if not ran:
        return None
    steady = sum(p.timing.total_ticks - (p.timing.warmup_ticks or 0) for p in ran)
    return round(steady / _steady_runs(profile), 1)


def _instruction_keys(method: Method) -> list[tuple[str, int]]:
    """``("<name> #<k>", index)`` of every call: the k-th call of that name, counted from 1."""
    seen: Counter[str] = Counter()
    out = []
    for ins in method.calls:
        seen[ins.name] += 1
        out.append((f"{ins.name} #{seen[ins.name]}", ins.index))
    return out


def diff_profiles(base: Method, base_profile: MethodProfile, head: Method, head_profile: MethodProfile) -> dict[str, Any]:
    """Compare the measured time of one method in two programs (an ETDump of each).

    Execute time is compared as its median over the runs outside the warm-up (as ``inspect``
    shows it); the parts are means per run outside the warm-up, so the parts of one side add
    up: ``ticks`` and ``shares`` per category of :data:`~edgeinspect.analysis.profile.CATEGORIES`,
    ``partitions`` (:func:`~edgeinspect.analysis.partitions.partitions`, matched by name, such
    as ``XnnpackBackend_0`` or ``CPU_island_1``) and ``instructions`` (each call matched by its
    name and how many calls of that name came before it: ``aten::cumsum.out #1``). A part on one
    side only has None on the other. Every time is in the ETDumps' ticks: compare profiles
    recorded the same way (same host or device, same clock).

    Returns
    -------
    dict
        ``unit``, ``base`` / ``head`` (``etdump``, ``runs``, ``warmup_runs``), ``execute``
        (``median_ticks`` and ``mean_ticks``, each ``[base, head]``), ``ticks`` and ``shares``
        ({category: [base, head]}), ``partitions`` ([{partition, device, instructions,
        ticks}]) and ``instructions`` ([{key, kind, index, ticks}]), ``index`` and ``ticks``
        as ``[base, head]`` pairs.
    """

    def side(p: MethodProfile) -> dict[str, Any]:
        return {"etdump": p.source, "runs": p.runs, "warmup_runs": p.warmup_runs}

    def mean_execute(p: MethodProfile) -> float:
        return round((p.execute.total_ticks - (p.execute.warmup_ticks or 0)) / _steady_runs(p), 1)

    parts: dict[str, dict[str, Any]] = {}
    for which, (m, p) in enumerate(((base, base_profile), (head, head_profile))):
        for part in partitions(m):
            entry = parts.setdefault(
                part.namespace,
                {"partition": part.namespace, "device": part.device, "instructions": [None, None], "ticks": [None, None]},
            )
            entry["instructions"][which] = list(part.instructions)
            entry["ticks"][which] = _per_run(p, part.instructions)
    calls: dict[str, dict[str, Any]] = {}
    for which, (m, p) in enumerate(((base, base_profile), (head, head_profile))):
        for key, index in _instruction_keys(m):
            entry = calls.setdefault(key, {"key": key, "kind": m.instructions[index].kind, "index": [None, None], "ticks": [None, None]})
            entry["index"][which] = index
            entry["ticks"][which] = _per_run(p, (index,))
    return {
        "unit": "ticks",
        "base": side(base_profile),
        "head": side(head_profile),
        "execute": {
            "median_ticks": [base_profile.execute.median_ticks, head_profile.execute.median_ticks],
            "mean_ticks": [mean_execute(base_profile), mean_execute(head_profile)],
        },
        "ticks": {c: [round(p.category_ticks[c] / _steady_runs(p), 1) for p in (base_profile, head_profile)] for c in CATEGORIES},
        "shares": {c: [base_profile.shares[c], head_profile.shares[c]] for c in CATEGORIES},
        "partitions": list(parts.values()),
        "instructions": list(calls.values()),
    }


def diff_programs(base: Program | Evidence, head: Program | Evidence) -> ProgramDiff:
    """Compare two programs method by method.

    Parameters
    ----------
    base, head : Program or Evidence
        The programs before and after (e.g. main and a pull request), loaded with their dumps
        (``edgeinspect.load(path, tosa="auto")``, so the operators inside Arm delegates are
        known), or :func:`edgeinspect.gather` results: a method both profiled (an ETDump of
        each) also gets its measured time compared (:func:`diff_profiles`).

    Returns
    -------
    ProgramDiff

    Raises
    ------
    UsageError
        When one side profiled a method the other did not profile.
    """
    from edgeinspect.analysis.evidence import Evidence

    base_ev = base if isinstance(base, Evidence) else None
    head_ev = head if isinstance(head, Evidence) else None
    base = base.program if isinstance(base, Evidence) else base
    head = head.program if isinstance(head, Evidence) else head
    base_profiles = dict(base_ev.profiles) if base_ev is not None else {}
    head_profiles = dict(head_ev.profiles) if head_ev is not None else {}
    lonely = sorted(set(base_profiles) ^ set(head_profiles))
    if lonely:
        which = "base" if lonely[0] in base_profiles else "head"
        raise UsageError(
            f"method {lonely[0]!r} is profiled in the {which} only: compare profiles of the same method, one ETDump per program"
        )
    methods: list[dict[str, Any]] = []
    head_names = head.method_names
    for m in base.methods:
        if m.name not in head_names:
            methods.append({"name": m.name, "status": "removed"})
            continue
        other = head.method(m.name)
        base_ops = base_ev.delegate_ops(m.name, _known) if base_ev is not None else None
        head_ops = head_ev.delegate_ops(m.name, _known) if head_ev is not None else None
        changes = diff_methods(method_figures(m, base_ops), method_figures(other, head_ops))
        entry = {"name": m.name, "status": "changed" if changes else "same", **changes}
        if m.name in base_profiles:  # measured time differs run to run: it is shown, not a change of the program
            entry["profile"] = diff_profiles(m, base_profiles[m.name], other, head_profiles[m.name])
        methods.append(entry)
    for m in head.methods:
        if m.name not in base.method_names:
            methods.append({"name": m.name, "status": "added"})
    profiled = [m for m in base_profiles if m not in head_names]
    if profiled:
        raise UsageError(f"method {profiled[0]!r} is profiled but the head program has no such method")
    return ProgramDiff(
        base=base.path or "base",
        head=head.path or "head",
        file_size=(base.file_size, head.file_size),
        methods=tuple(methods),
    )
