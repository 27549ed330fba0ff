"""The records of a sweep (one model exported for many targets) and which target is best.

A :class:`SweepRow` is what the sweep learned about one model x target pair: the figures
of the exported program (delegates per backend, transitions, boundary bytes, coverage, the
top splitting operator and its fix, Vela's cycles when estimated) or why the export failed.
Rows are plain, torch-free and JSON round-trippable: the exporter (``edgeinspect.export.sweep``)
makes them, the report (``edgeinspect.report.sweep``) draws them.

The best target of a model (:func:`mark_best`) is decided among the pairs that exported,
by these criteria in order (the first that tells two targets apart decides):

0. some delegation: a program that runs wholly on the CPU (the ``portable`` baseline, or a
   backend that took nothing) is never better than one that uses its accelerator;
1. fewest CPU <-> backend transitions (2 means the model runs in one piece);
2. highest coverage (delegated operators / all operators; unknown counts as lowest);
3. fewest boundary bytes (bytes crossing delegate boundaries);
4. fewest Vela cycles, when both targets have an estimate (``--estimate``, Ethos-U only).

Targets equal on every criterion are all best. Each best row says why, against the runner-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["CRITERIA", "SweepRow", "TopSplitter", "mark_best"]

SCHEMA_VERSION = 1

#: The criteria of :func:`mark_best`, in order: (row attribute, what it is called, smaller is better).
CRITERIA: tuple[tuple[str, str, bool], ...] = (
    ("delegated", "delegates at all", False),
    ("transitions", "fewest transitions", True),
    ("coverage", "highest coverage", False),
    ("boundary_bytes", "fewest boundary bytes", True),
    ("cycles", "fewest Vela cycles", True),
)


@dataclass(frozen=True, slots=True)
class TopSplitter:
    """The operator whose delegation would save the most (the recommender's first answer)."""

    operator: str
    requires: tuple[str, ...]
    splits: int
    delegates_if_supported: int
    transitions_saved: int
    bytes_saved: int
    reason: str
    fix: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "requires": list(self.requires),
            "splits": self.splits,
            "delegates_if_supported": self.delegates_if_supported,
            "transitions_saved": self.transitions_saved,
            "bytes_saved": self.bytes_saved,
            "reason": self.reason,
            "fix": self.fix,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TopSplitter:
        return cls(
            str(d["operator"]),
            tuple(str(r) for r in d.get("requires", ())),
            int(d["splits"]),
            int(d["delegates_if_supported"]),
            int(d["transitions_saved"]),
            int(d["bytes_saved"]),
            str(d["reason"]),
            None if d.get("fix") is None else str(d["fix"]),
        )


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One model x target pair of a sweep.

    ``status`` is ``ok`` (exported and analysed) or ``failed`` (``error_stage`` says where:
    ``build``, ``export``, ``quantize``, ``lower``, ``serialize``, ``worker`` or ``analysis``;
    ``error`` says what). Figures are None for a failed pair. Paths are relative to the sweep's
    output directory. ``seconds``, ``peak_rss_bytes`` and ``resumed`` describe the run (how
    long the export took, the exporting process's peak memory, whether a previous run's export
    was reused); :meth:`result_dict` leaves them out, so two runs of the same sweep compare equal.
    """

    model: str
    target: str
    status: str
    error_stage: str | None = None
    error: str | None = None
    delegates: tuple[tuple[str, int], ...] = ()
    transitions: int | None = None
    boundary_bytes: int | None = None
    coverage: float | None = None
    cpu_islands: int | None = None
    cpu_ops: tuple[tuple[str, int], ...] = ()
    top_splitter: TopSplitter | None = None
    cycles: int | None = None
    inference_time_s: float | None = None
    estimate_note: str | None = None
    pte: str | None = None
    pte_bytes: int | None = None
    tosa_dumps: tuple[str, ...] = ()
    etrecord: str | None = None
    best: bool = False
    best_reason: str | None = None
    seconds: float | None = None
    peak_rss_bytes: int | None = None
    resumed: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def delegated(self) -> bool | None:
        """Whether any delegate runs part of the program (None for a failed pair)."""
        return bool(self.delegates) if self.ok else None

    @property
    def delegate_calls(self) -> int | None:
        """Delegate calls over all backends (None for a failed pair)."""
        return sum(n for _, n in self.delegates) if self.ok else None

    def result_dict(self) -> dict[str, Any]:
        """The JSON form without the run's own figures (time, memory, resumed)."""
        return {
            "model": self.model,
            "target": self.target,
            "status": self.status,
            "error": None if self.ok else {"stage": self.error_stage, "message": self.error},
            "delegates": dict(self.delegates),
            "delegate_calls": self.delegate_calls,
            "transitions": self.transitions,
            "boundary_bytes": self.boundary_bytes,
            "coverage": self.coverage,
            "cpu_islands": self.cpu_islands,
            "cpu_ops": dict(self.cpu_ops),
            "top_splitter": self.top_splitter.to_dict() if self.top_splitter else None,
            "cycles": self.cycles,
            "inference_time_s": self.inference_time_s,
            "estimate_note": self.estimate_note,
            "pte": self.pte,
            "pte_bytes": self.pte_bytes,
            "tosa_dumps": list(self.tosa_dumps),
            "etrecord": self.etrecord,
            "best": self.best,
            "best_reason": self.best_reason,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: :meth:`result_dict` plus ``run`` (seconds, peak_rss_bytes, resumed)."""
        return {**self.result_dict(), "run": {"seconds": self.seconds, "peak_rss_bytes": self.peak_rss_bytes, "resumed": self.resumed}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepRow:
        """Read :meth:`to_dict` (or :meth:`result_dict`) back."""
        error = d.get("error") or {}
        run = d.get("run") or {}
        top = d.get("top_splitter")
        return cls(
            model=str(d["model"]),
            target=str(d["target"]),
            status=str(d["status"]),
            error_stage=error.get("stage"),
            error=error.get("message"),
            delegates=tuple((str(k), int(v)) for k, v in (d.get("delegates") or {}).items()),
            transitions=d.get("transitions"),
            boundary_bytes=d.get("boundary_bytes"),
            coverage=d.get("coverage"),
            cpu_islands=d.get("cpu_islands"),
            cpu_ops=tuple((str(k), int(v)) for k, v in (d.get("cpu_ops") or {}).items()),
            top_splitter=TopSplitter.from_dict(top) if top else None,
            cycles=d.get("cycles"),
            inference_time_s=d.get("inference_time_s"),
            estimate_note=d.get("estimate_note"),
            pte=d.get("pte"),
            pte_bytes=d.get("pte_bytes"),
            tosa_dumps=tuple(d.get("tosa_dumps") or ()),
            etrecord=d.get("etrecord"),
            best=bool(d.get("best", False)),
            best_reason=d.get("best_reason"),
            seconds=run.get("seconds"),
            peak_rss_bytes=run.get("peak_rss_bytes"),
            resumed=bool(run.get("resumed", False)),
        )


def _key(row: SweepRow) -> tuple[float, float, float, float]:
    """The criteria before cycles as one sort key (unknown coverage is the lowest)."""
    coverage = -row.coverage if row.coverage is not None else 1.0
    return (0.0 if row.delegated else 1.0, float(row.transitions or 0), coverage, float(row.boundary_bytes or 0))


def _decider(best: SweepRow, other: SweepRow) -> str | None:
    """The first criterion on which ``best`` and ``other`` differ (cycles only when both have them)."""
    for attr, _, _ in CRITERIA:
        x, y = getattr(best, attr), getattr(other, attr)
        if attr == "cycles" and (x is None or y is None):
            continue
        if x != y:
            return attr
    return None


def _shown(row: SweepRow, attr: str) -> str:
    value = getattr(row, attr)
    if value is None:
        return "unknown"
    if attr == "delegated":
        return "yes" if value else "no, all on the CPU"
    if attr == "coverage":
        return f"{value:.1%}"
    return f"{value:,}"


def mark_best(rows: Iterable[SweepRow]) -> list[SweepRow]:
    """The rows with ``best`` and ``best_reason`` set: per model, the best of the targets that
    exported (see the module's docstring for the criteria), in the order given.

    The targets first on delegation, transitions, coverage and boundary bytes are the candidates; among
    those with a Vela estimate, only the fewest cycles stay (a candidate without an estimate,
    such as XNNPACK, is not beaten by a cycle count it cannot have).

    Examples
    --------
    >>> rows = [SweepRow("m", "ethos-u55-128", "ok", transitions=4, coverage=0.9, boundary_bytes=100),
    ...         SweepRow("m", "ethos-u85-256", "ok", transitions=2, coverage=1.0, boundary_bytes=50),
    ...         SweepRow("m", "xnnpack", "failed", error_stage="lower", error="boom")]
    >>> [(r.target, r.best) for r in mark_best(rows)]
    [('ethos-u55-128', False), ('ethos-u85-256', True), ('xnnpack', False)]
    >>> mark_best(rows)[1].best_reason
    'fewest transitions: 2 (ethos-u55-128: 4)'
    """
    rows = [replace(r, best=False, best_reason=None) for r in rows]
    by_model: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_model.setdefault(r.model, []).append(i)
    for indices in by_model.values():
        ok = [i for i in indices if rows[i].ok]
        if not ok:
            continue
        first = min(_key(rows[i]) for i in ok)
        leaders = [i for i in ok if _key(rows[i]) == first]
        cycles = [rows[i].cycles for i in leaders if rows[i].cycles is not None]
        if cycles:
            leaders = [i for i in leaders if rows[i].cycles is None or rows[i].cycles == min(cycles)]
        others = sorted((i for i in ok if i not in leaders), key=lambda i: (_key(rows[i]), rows[i].cycles is None, rows[i].cycles or 0))
        runner_up = others[0] if others else None
        for i in leaders:
            rows[i] = replace(rows[i], best=True, best_reason=_reason(rows, i, leaders, runner_up))
    return rows


def _reason(rows: Sequence[SweepRow], best: int, leaders: list[int], runner_up: int | None) -> str:
    tied = [rows[i].target for i in leaders if i != best]
    also = f"; tied with {', '.join(tied)}" if tied else ""
    if runner_up is None:
        return ("tied with " + ", ".join(tied) + " on every criterion") if tied else "the only target that exported"
    b, u = rows[best], rows[runner_up]
    attr = _decider(b, u)
    if attr is None:  # u lost on cycles to another leader; b has no estimate to compare
        return f"as good as {u.target} on transitions, coverage and boundary bytes (no Vela estimate to compare){also}"
    label = next(text for a, text, _ in CRITERIA if a == attr)
    return f"{label}: {_shown(b, attr)} ({u.target}: {_shown(u, attr)}){also}"
