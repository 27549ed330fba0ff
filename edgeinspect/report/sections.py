"""The sections of one method in the HTML report, and the list that orders them.

Each section is a :class:`Section`: a key (its HTML class and anchor), a title and a
function from a :class:`MethodView` (everything known about one method, each figure
computed once, on first use) to HTML, or None to leave the section out. A new section is a
function and one entry in :data:`METHOD_SECTIONS`.

Every string that comes from a file goes through the escaping helpers of
:mod:`edgeinspect.report._html` (``_name`` abbreviates, ``_e`` escapes), and every list
that grows with the program is either compressed (the timeline, islands grouped by cause,
identical delegates in one row) or cut at a stated number of rows, so the report stays
proportional to its input and quick to open at 20,000 instructions.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from edgeinspect.analysis.budget import BASES, BudgetLine, LatencyBudget, latency_budget
from edgeinspect.analysis.evidence import Evidence
from edgeinspect.analysis.fragmentation import (
    base_operator,
    boundary_bytes,
    coverage,
    cpu_islands,
    delegated_subgraphs,
    fragmentation_score,
    is_glue,
    round_trips,
    transitions,
)
from edgeinspect.analysis.partitions import Partition, partitions
from edgeinspect.analysis.profile import MethodProfile
from edgeinspect.formats.payloads import PayloadDecoder, unknown_ops_reason
from edgeinspect.graph import producers_and_consumers
from edgeinspect.model import Method, Program
from edgeinspect.model.source import MethodSources, Source, merge_sources, module_label
from edgeinspect.report._html import _b, _e, _field, _name, _names, _num, _short, _wrap, device_color
from edgeinspect.report.drawing import graph_svg, partition_boundaries, partition_traffic
from edgeinspect.report.estimate import format_seconds
from edgeinspect.report.inspect import delegate_dict, has_dynamic_shapes
from edgeinspect.report.overlays import explorer_graph
from edgeinspect.report.profile import ticks_text
from edgeinspect.report.timeline import (
    compress,
    overview_html,
    partition_key,
    partition_weights,
    sequence_html,
)
from edgeinspect.textsafe import TEXT_LIMIT

__all__ = ["GRAPH_NODES", "METHOD_SECTIONS", "MethodView", "ROWS", "Section"]

#: The dataflow graph is drawn up to this many nodes (beyond, it would be a poster, not a
#: figure: ``edgeinspect view`` shows it in Model Explorer, collapsible by partition).
GRAPH_NODES = 400
#: Rows of a table that grows with the program before the rest is counted, not listed.
ROWS = 200
#: The unit of measured time wherever it is shown.
TICKS = "ticks"
TICKS_NOTE = "ticks as the ETDump recorded them: nanoseconds on a host run, cycles or timer ticks on a device"


class MethodView:
    """Everything the sections of one method draw from, each computed once on first use.

    Parameters
    ----------
    program : Program
    method : Method
    evidence : Evidence
        What the side files say (measured time, Vela estimates, sources).
    recommendations : iterable, optional
        Recommendations to show instead of :func:`edgeinspect.recommend.recommend_method`'s
        (``Recommendation`` objects or ``explain --format json`` entries).
    """

    def __init__(self, program: Program, method: Method, evidence: Evidence, recommendations: Iterable[Any] | None = None) -> None:
        self.program = program
        self.method = method
        self.evidence = evidence
        self._given_recommendations = None if recommendations is None else list(recommendations)
        self.decode = PayloadDecoder()
        self.profile: MethodProfile | None = evidence.profile(method.name)
        self.estimates = evidence.method_estimates(method.name)
        self.sources: MethodSources | None = evidence.method_sources(method.name)

    @functools.cached_property
    def parts(self) -> list[Partition]:
        return partitions(self.method)

    @functools.cached_property
    def plain_graph(self) -> nx.MultiDiGraph:
        return self.method.to_networkx()

    @functools.cached_property
    def boundaries(self) -> list[Any]:
        return partition_boundaries(self.method, self.parts, self.plain_graph)

    @functools.cached_property
    def traffic(self) -> tuple[dict[int, int], dict[int, int]]:
        """Bytes into and out of each partition (by position)."""
        return partition_traffic(self.method, self.parts, self.plain_graph)

    @functools.cached_property
    def host_in(self) -> int | None:
        b = self.boundaries
        return b[0].bytes if b and b[0].before == "host" else None

    @functools.cached_property
    def host_out(self) -> int | None:
        b = self.boundaries
        return b[-1].bytes if b and b[-1].after == "host" else None

    @functools.cached_property
    def bytes_into(self) -> dict[int, int]:
        """Bytes crossing into each partition at the boundary before it (see ``partition_boundaries``)."""
        offset = 1 if self.host_in is not None else 0
        out = {k + 1: b.bytes for k, b in enumerate(self.boundaries[offset : offset + len(self.parts) - 1])}
        if self.host_in is not None:
            out[0] = self.host_in
        return out

    @functools.cached_property
    def lookup(self) -> Callable[[Any], Mapping[str, int] | None]:
        return self.evidence.delegate_ops(self.method.name, self.decode.ops)

    @functools.cached_property
    def dataflow(self) -> Any:
        """Producers and consumers of every value, computed once for the islands and round trips."""
        calls = sum(1 for ins in self.method.instructions if ins.kind == "delegate")
        return producers_and_consumers(self.method) if calls >= 2 else None  # both need two delegate calls

    @functools.cached_property
    def metrics(self) -> dict[str, Any]:
        """The ``metrics`` of ``inspect --format json`` (as :func:`edgeinspect.analysis.method_metrics` computes them)."""
        m = self.method
        return {
            "delegated_subgraphs": delegated_subgraphs(m),
            "transitions": transitions(m),
            "boundary_bytes": boundary_bytes(m),
            "coverage": coverage(m, self.lookup).to_dict(),
            "round_trips": round_trips(m, dataflow=self.dataflow),
            "fragmentation_score": fragmentation_score(m),
        }

    @functools.cached_property
    def islands(self) -> list[Any]:
        return cpu_islands(self.method, dataflow=self.dataflow)

    @functools.cached_property
    def keys(self) -> list[tuple[str, ...]]:
        return [partition_key(self.method, p) for p in self.parts]

    @functools.cached_property
    def steps(self) -> list[Any]:
        return compress(self.keys)

    @functools.cached_property
    def recommendations(self) -> list[Any]:
        if self._given_recommendations is not None:
            return self._given_recommendations
        from edgeinspect.recommend import recommend_method

        recs = recommend_method(self.method)
        if self.evidence.sources is not None:
            from edgeinspect.recommend.sources import with_sources

            recs = with_sources(self.program, recs, self.evidence.sources)
        return recs

    @functools.cached_property
    def budget(self) -> LatencyBudget:
        """The method's latency budget (:func:`edgeinspect.analysis.latency_budget`), computed once."""
        return latency_budget(self.method, self.evidence, dataflow=self.dataflow)

    def ticks(self, indices: Iterable[int]) -> int | float | None:
        """The sum of the median ticks of ``indices`` (None without a profile)."""
        if self.profile is None:
            return None
        total: int | float = 0
        for i in indices:
            p = self.profile.instruction(i)
            if p is not None and p.timing.median_ticks is not None:
                total += p.timing.median_ticks
        return total

    def partition_ticks(self, k: int) -> int | float | None:
        """The measured time of partition ``k`` (None without a profile or when none of it ran)."""
        if self.profile is None:
            return None
        ran = [self.profile.instruction(i) for i in self.parts[k].instructions]
        if not any(p is not None for p in ran):
            return None
        return self.ticks(self.parts[k].instructions)

    def source_of(self, indices: Iterable[int], delegate: int | None = None) -> Source | None:
        """One source for instructions (the deepest module and file they share), or for the
        operators inside ``delegate`` when the ETRecord names them."""
        if self.sources is None:
            return None
        if delegate is not None and self.sources.delegates.get(delegate):
            return merge_sources(op.source for op in self.sources.delegates[delegate])
        found = [s for s in (self.sources.instruction(i) for i in indices) if s is not None]
        return merge_sources(found)

    def kernels(self, indices: Iterable[int]) -> list[int]:
        return [i for i in indices if self.method.instructions[i].kind == "kernel"]


@dataclass(frozen=True, slots=True)
class Section:
    """One section of a method: ``render(view)`` returns its HTML body, or None to leave it out."""

    key: str
    title: str
    render: Callable[[MethodView], str | None]


# -- helpers ----------------------------------------------------------------------------------
def _t(text: object) -> str:
    """Free text for a table cell (a reason, a message that may quote a name from the file):
    escaped, bounded, and able to wrap inside its cell however long its words."""
    return _wrap(text, limit=TEXT_LIMIT)


def _device(device: str | None) -> str:
    """A device chip whose label wraps (a long backend name from the file stays in its cell)."""
    return f'<span class="chip" style="background:{device_color(device)}">{_wrap(_short(device or "-", 40))}</span>'


def source_html(src: Source | None) -> str:
    """A source as one cell's content: module path, module type label, ``file:line``."""
    if src is None:
        return '<span class="muted">-</span>'
    said = []
    if src.module_path is not None:
        said.append(f"<code>{_wrap(src.module_path or '(root)')}</code>")
    if src.module_type:
        said.append(_wrap(module_label(src.module_type)))
    if src.location:
        said.append(f'<span class="loc">{_wrap(src.location)}</span>')
    return " ".join(said) or '<span class="muted">-</span>'


def _ranges(indices: Sequence[int], shown: int = 12) -> str:
    """``0\u20132, 5, 7\u20139`` (at most ``shown`` ranges, then how many more indices)."""
    spans: list[tuple[int, int]] = []
    for i in indices:
        if spans and i == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], i)
        else:
            spans.append((i, i))
    text = ", ".join(f"{a}" if a == b else f"{a}\u2013{b}" for a, b in spans[:shown])
    if len(spans) > shown:
        text += f", +{sum(b - a + 1 for a, b in spans[shown:]):,} more"
    return text


def _histogram(counts: Mapping[str, int] | None, limit: int = 6) -> str:
    if not counts:
        return ""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{_wrap(_short(k, 40))} {v:,}" for k, v in items[:limit])
    return shown + (f", +{len(items) - limit} more" if len(items) > limit else "")


def _table(cls: str, headers: Sequence[str], rows: Sequence[str], *, total: int | None = None, what: str = "rows") -> str:
    more = ""
    if total is not None and total > len(rows):
        more = f'<tr><td colspan="{len(headers)}" class="muted">+{total - len(rows):,} more {_t(what)} not listed</td></tr>'
    head = "".join(f"<th>{h}</th>" for h in headers)
    return f'<table class="{cls}"><tr>{head}</tr>{"".join(rows)}{more}</table>'


def score_text(score: float) -> str:
    """The fragmentation score with two decimals, or four when two would round it up to 1,
    which it never reaches.

    Examples
    --------
    >>> score_text(0.6667), score_text(0.9953), score_text(0.0)
    ('0.67', '0.9953', '0.00')
    """
    shown = f"{score:.2f}"
    return f"{score:.4f}" if shown == "1.00" and score < 1 else shown


def _ticks(t: int | float | None) -> str:
    return "-" if t is None else ticks_text(t)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _stacked_bar(segments: Sequence[tuple[str, float, str, str]], *, hatched: Sequence[bool] = ()) -> str:
    """A one-row bar of ``(key, weight, colour, tooltip)`` segments, widths proportional to
    their weights, scaled to the page's width. Tiny neighbours of one colour are merged."""
    total = sum(w for _, w, _, _ in segments) or 1.0
    rects = []
    x = 0.0
    merged: list[list[Any]] = []
    for k, (key, w, color, title) in enumerate(segments):
        x0, x1 = x / total * 1000, (x + w) / total * 1000
        x += w
        hatch = bool(hatched[k]) if k < len(hatched) else False
        if merged and merged[-1][3] == color and (x1 - x0 < 0.5 or merged[-1][2] - merged[-1][1] < 0.5) and not hatch:
            merged[-1][2] = x1
            merged[-1][5] += 1
            continue
        merged.append([key, x0, x1, color, title, 1, hatch])
    for key, x0, x1, color, title, n, hatch in merged:
        width = max(x1 - x0, 0.8)
        fill = "url(#hatch)" if hatch else color
        label = title if n == 1 else f"{n} segments"
        rects.append(
            f'<rect class="segment" data-key="{_name(key)}" x="{min(x0, 1000 - width):.2f}" y="1" width="{width:.2f}" height="20" '
            f'fill="{fill}" stroke="#fff" stroke-width="0.3"><title>{_e(label)}</title></rect>'
        )
    pattern = (
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#eaeef2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#8c959f" stroke-width="2"/></pattern></defs>'
    )
    return f'<svg class="bar stacked" viewBox="0 0 1000 22" preserveAspectRatio="none">{pattern}{"".join(rects)}</svg>'


def _warmup_sentence(profile: MethodProfile) -> str:
    if profile.warmup_runs:
        first = "run 1 is" if profile.warmup_runs == 1 else f"runs 1\u2013{profile.warmup_runs} are"
        warm = f"{first} warm-up: shown apart ({ticks_text(profile.execute.warmup_ticks)} {TICKS} of execute), left out of medians"
    elif profile.runs == 1:
        warm = "one run only: its figures include the warm-up"
    else:
        warm = "no run left out as warm-up"
    return f"{profile.runs} run(s); {warm}"


# -- the sections -----------------------------------------------------------------------------
def summary_section(v: MethodView) -> str:
    """What ``inspect`` says about the method: targets, coverage, score and the metrics."""
    m, metrics = v.method, v.metrics
    targets: dict[str, dict[str, None]] = {}
    for d in m.delegates:
        targets.setdefault(d.backend_id, {})[d.target or "not named in its compile specs"] = None
    cov = metrics["coverage"]
    ratio = cov["ratio"]
    if isinstance(ratio, str):
        unknown = cov.get("unknown_delegates") or []
        coverage = f"unknown: the operators inside delegate(s) {_ranges(unknown)} are not known (pass their .tosa dumps or --etrecord)"
    else:
        coverage = f"{ratio:.0%} ({cov['delegated_ops']:,} operators delegated, {cov['cpu_ops']:,} on the CPU, {cov['glue_ops']:,} glue)"
    kinds = Counter(ins.kind for ins in m.instructions)
    rows = [
        ("instructions", f"{len(m.instructions):,} ({kinds.get('kernel', 0):,} kernel calls, {kinds.get('delegate', 0):,} delegate calls)"),
        (
            "target",
            "; ".join(f"{_wrap(b)}: {', '.join(_wrap(t) for t in ts)}" for b, ts in targets.items()) or "none: nothing is delegated",
        ),
        ("delegated subgraphs", ", ".join(f"{_wrap(k)}: {n:,}" for k, n in metrics["delegated_subgraphs"].items()) or "none"),
        ("coverage", _t(coverage)),
        ("fragmentation score", f"{score_text(metrics['fragmentation_score'])} (0 = one clean delegate; towards 1 = split into many)"),
        ("transitions (CPU \u2194 delegate)", f"{metrics['transitions']:,}"),
        ("boundary bytes", f"{metrics['boundary_bytes']:,} (every tensor argument of every delegate call)"),
        ("bytes crossing partitions", f"{sum(b.bytes for b in v.boundaries):,} over {len(v.boundaries):,} boundaries"),
        ("CPU islands", f"{len(v.islands):,} ({len({_cause_key(i) for i in v.islands}):,} distinct cause(s))"),
        ("round trips", f"{len(metrics['round_trips']):,}"),
        ("partitions", f"{len(v.parts):,} in {len(v.steps):,} steps once repeats are compressed"),
    ]
    if has_dynamic_shapes(m):
        rows.append(("dynamic shapes", "sizes are upper bounds, so byte figures are maxima"))
    if v.profile is not None:
        ex = v.profile.execute
        rows.append(
            (
                "execute time (measured)",
                _t(
                    f"median {ticks_text(ex.median_ticks)} {TICKS} (min {ticks_text(ex.min_ticks)}, max {ticks_text(ex.max_ticks)}); "
                    f"{_warmup_sentence(v.profile)}"
                ),
            )
        )
    if v.estimates is not None:
        found = [e.estimate for e in v.estimates.values() if e.estimate is not None]
        if found:
            rows.append(
                (
                    "NPU time (predicted)",
                    _t(
                        f"{format_seconds(sum(e.inference_time_s for e in found))} in {len(found)} delegate(s), "
                        f"{sum(e.cycles_total for e in found):,} cycles (Vela)"
                    ),
                )
            )
    return '<table class="summary">' + "".join(f"<tr><th>{_t(k)}</th><td>{val}</td></tr>" for k, val in rows) + "</table>"


def timeline_section(v: MethodView) -> str:
    """The overview bar (to instruction count, or to measured time) and the compressed sequence."""
    profile = v.profile
    weights = partition_weights(v.method, v.parts, profile)
    if profile is not None and sum(weights) > 0:
        unit = f"{TICKS} (sum of medians)"
        how = (
            f"Drawn to measured time: each partition's width is the sum of its instructions' median {TICKS} "
            f"({_t(TICKS_NOTE)}); {_t(_warmup_sentence(profile))}."
        )
    else:
        weights = partition_weights(v.method, v.parts)
        unit = "instructions"
        how = "Drawn to instruction count: each partition's width is the number of its instructions."

    def describe(k: int) -> str:
        p = v.parts[k]
        t = v.partition_ticks(k)
        a, b = p.instructions[0], p.instructions[-1]
        said = f"{p.namespace}: #{a}" + (f"\u2013#{b} ({len(p.instructions):,})" if b != a else "") + f", {v.bytes_into.get(k, 0):,} B in"
        return said + (f", {ticks_text(t)} {TICKS}" if t is not None else "")

    overview = overview_html(v.parts, weights, unit=unit, describe=describe)
    headers = ("source",) if v.sources is not None else ()

    def cells(k: int) -> list[str]:
        if v.sources is None:
            return []
        p = v.parts[k]
        return [f"<td>{source_html(v.source_of(v.kernels(p.instructions), p.delegate))}</td>"]

    sequence = sequence_html(
        v.method,
        v.parts,
        v.steps,
        bytes_into=v.bytes_into,
        host_in=v.host_in,
        host_out=v.host_out,
        time_of=v.partition_ticks if profile is not None else None,
        time_unit=TICKS,
        member_cells=cells,
        member_headers=headers,
    )
    return (
        f'<p class="muted">{how} Partitions too narrow to tell apart are merged into one mark (hover for how many); '
        f"a delegate is at least one pixel wide.</p>{overview}"
        '<h4>Sequence</h4><p class="muted">Partitions in execution order, a repeated pattern shown once with its count '
        "(open a step to list its members); arrows carry the bytes crossing into the next step.</p>"
        f"{sequence}"
    )


def delegates_section(v: MethodView) -> str | None:
    """One row per delegate (identical delegates share a row): payload, operators inside,
    joined dump, memory; measured and predicted time; where its operators came from."""
    m = v.method
    if not m.delegates:
        return None
    calls: dict[int, list[int]] = {}
    for ins in m.instructions:
        if ins.kind == "delegate" and ins.delegate is not None:
            calls.setdefault(ins.delegate, []).append(ins.index)
    headers = ["delegate", "backend", "target", "payload", "operators inside", "joined dump"]
    ethos = any(d.backend_id == "EthosUBackend" for d in m.delegates)
    if ethos:
        headers += ["NPU ops", "memory (payload)"]
    if v.profile is not None:
        headers.append(f"measured ({TICKS}, median)")
    if v.estimates is not None:
        headers.append("predicted (Vela)")
    if v.sources is not None:
        headers.append("source")
    groups: dict[str, list[int]] = {}
    for d in m.delegates:
        doc = delegate_dict(d, decode=v.decode)
        ops = doc["ops"]
        ops_from = ""
        if ops is None and v.evidence.etrecord_ops.get(m.name, {}).get(d.index):
            ops, ops_from = v.evidence.etrecord_ops[m.name][d.index], "the ETRecord"
        elif ops and doc["tosa_file"]:
            ops_from = "the joined dump"
        elif ops:
            ops_from = "the payload"
        if doc.get("payload_error"):
            inside = f'<span class="muted">payload not decoded: {_t(doc["payload_error"])}</span>'
        elif ops:
            inside = _histogram(ops) + f' <span class="muted">(from {ops_from})</span>'
        else:
            inside = f'<span class="muted">{_t(unknown_ops_reason(d, v.decode) or "unknown")}</span>'
        if doc["tosa_file"]:
            dump = f"<code>{_wrap(doc['tosa_file'])}</code>"
        elif doc["tosa_join"] in ("ambiguous", "missing"):
            cands = ", ".join(_wrap(c) for c in doc["tosa_candidates"][:5]) or "none"
            dump = f'{_t(doc["tosa_join"])} <span class="muted">(candidates: {cands})</span>'
        else:
            dump = '<span class="muted">-</span>'
        cells = [
            _device(d.backend_id),
            _wrap(d.target or "-"),
            f"{d.payload_size:,} B ({_t(d.location)})",
            inside,
            dump,
        ]
        if ethos:
            mem = doc.get("memory")
            cells.append(_histogram(doc["npu_ops"]) or "-")
            cells.append(
                f"scratch {_t(_b(mem['scratch_bytes']))}, weights {_t(_b(mem['weight_bytes']))}" if mem else '<span class="muted">-</span>'
            )
        if v.profile is not None:
            timed = [v.profile.instruction(i) for i in calls.get(d.index, [])]
            ran = [p for p in timed if p is not None]
            if ran:
                said = ", ".join(_ticks(p.timing.median_ticks) for p in ran[:4]) + (f", +{len(ran) - 4}" if len(ran) > 4 else "")
                cells.append(f'<span class="measured">{said}</span>')
            else:
                cells.append('<span class="muted">not run</span>')
        if v.estimates is not None:
            found = v.estimates.get(d.index)
            est = found.estimate if found is not None else None
            if est is not None:
                cells.append(
                    f'<span class="predicted">{est.cycles_total:,} cycles = {_t(format_seconds(est.inference_time_s))} '
                    f"at {est.core_clock_hz / 1e6:g} MHz</span>"
                )
            else:
                why = (found.error or found.skipped) if found is not None else "not estimated"
                cells.append(f'<span class="muted">none: {_t(why or "not estimated")}</span>')
        if v.sources is not None:
            cells.append(source_html(v.source_of(calls.get(d.index, []), d.index)))
        groups.setdefault("".join(f"<td>{c}</td>" for c in cells), []).append(d.index)
    rows = []
    for cells_html, indices in list(groups.items())[:ROWS]:
        label = f"{indices[0]}" if len(indices) == 1 else f"{_ranges(indices)} <span class='muted'>({len(indices):,} alike)</span>"
        rows.append(f'<tr data-delegates="{len(indices)}"><td>{label}</td>{cells_html}</tr>')
    note = '<p class="muted">Delegates alike in every column share one row.</p>' if len(groups) < len(m.delegates) else ""
    return note + _table("delegates", headers, rows, total=len(groups), what="kinds of delegate")


def _cause_key(isl: Any) -> tuple[str, ...]:
    if isl.control_flow:
        return ("control flow",)
    return tuple(dict.fromkeys(base_operator(c) for c in isl.causes)) or ("glue only",)


def islands_section(v: MethodView) -> str:
    """CPU islands grouped by what causes them: one row per cause, its islands inside."""
    if not v.islands:
        return '<p class="muted">No CPU islands: nothing runs on the CPU between two delegate calls.</p>'
    timed = {p.island.between: p for p in v.profile.islands} if v.profile is not None else {}
    groups: dict[tuple[str, ...], list[Any]] = {}
    for isl in v.islands:
        groups.setdefault(_cause_key(isl), []).append(isl)
    headers = ["causes", "islands", "between", "kernels", "glue kernels", "bytes in", "bytes out"]
    if v.profile is not None:
        headers += [f"measured ({TICKS}, medians summed)", "share of execute"]
    if v.sources is not None:
        headers.append("source of the causes")
    rows = []
    for key, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0].between[0]))[:ROWS]:
        if key == ("control flow",):
            causes = "control flow (a torch.cond's branches or a loop body)"
        elif key == ("glue only",):
            causes = "glue only (quantize/dequantize)"
        else:
            causes = f"<code>{_wrap(_names(key), limit=TEXT_LIMIT)}</code>"
        between = ", ".join(f"{_wrap(a)} \u2192 {_wrap(b)}" for a, b in dict.fromkeys(tuple(i.backends) for i in members))
        cells = [
            causes,
            f"{len(members):,}",
            between,
            f"{sum(len(i.instructions) for i in members):,}",
            f"{sum(len(i.glue) for i in members):,}",
            f"{sum(i.bytes_in for i in members):,}",
            f"{sum(i.bytes_out for i in members):,}",
        ]
        if v.profile is not None:
            ps = [timed.get(i.between) for i in members]
            ts = [p.timing.median_ticks for p in ps if p is not None and p.timing.median_ticks is not None]
            shares = [p.share for p in ps if p is not None and p.share is not None]
            cells.append(f'<span class="measured">{ticks_text(sum(ts))}</span>' if ts else "-")
            cells.append(_pct(sum(shares)) if shares else "-")
        if v.sources is not None:
            causes_at = [i for isl in members for i in isl.instructions if not is_glue(v.method.instructions[i].name)]
            cells.append(source_html(v.source_of(causes_at)))
        listed = "".join(
            f"<li>between #{i.between[0]} and #{i.between[1]}: {len(i.instructions):,} kernel(s), "
            f"{i.bytes_in:,} B in, {i.bytes_out:,} B out</li>"
            for i in members[:ROWS]
        ) + (f"<li>+{len(members) - ROWS:,} more</li>" if len(members) > ROWS else "")
        cells[1] = f"<details><summary>{cells[1]}</summary><ul>{listed}</ul></details>"
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (
        f'<p class="muted">{len(v.islands):,} island(s) by cause; quantize/dequantize kernels are glue, not causes. '
        "Open a count to list the islands.</p>" + _table("islands", headers, rows, total=len(groups), what="causes")
    )


_FIX_KINDS = {"replace-operator": "rewrite", "replace-module": "replace the module", "change-target": "alternative target"}


def recommendations_section(v: MethodView) -> str:
    """The operators that split the delegated graph, most harmful first, with every fix
    (the alternative target too) and where the instances came from."""
    recs = v.recommendations
    if not recs:
        return '<p class="muted">No recommendations: no CPU operator splits the delegated graph.</p>'
    headers = ["#", "operator", "instances", "splits", "delegates if taken", "transitions saved", "bytes saved", "why", "fixes"]
    with_sources = any(getattr(r, "sources", None) for r in recs) or any(isinstance(r, Mapping) and r.get("sources") for r in recs)
    if with_sources:
        headers.append("where")
    rows = []
    for k, r in enumerate(recs[:ROWS], start=1):
        g = functools.partial(_field, r)
        fixes = []
        if g("fix"):
            kind = _FIX_KINDS.get(g("fix_kind") or "", g("fix_kind") or "fix")
            fixes.append(f"<li><b>{_t(kind)}</b> <code>{_wrap(g('fix_id') or '')}</code>: {_t(g('fix'))}</li>")
        for alt in g("alternatives") or ():
            kind = _FIX_KINDS.get(alt.get("kind", ""), alt.get("kind", "fix"))
            fixes.append(f"<li><b>{_t(kind)}</b> <code>{_wrap(alt.get('id', ''))}</code>: {_t(alt.get('text', ''))}</li>")
        before = g("delegates_before")
        after = g("delegates_if_supported")
        cells = [
            str(k),
            f"<code>{_wrap(g('operator'))}</code>"
            + (f" <span class='muted'>with {_wrap(_names(tuple(g('requires'))), limit=TEXT_LIMIT)}</span>" if g("requires") else ""),
            _t(_num(g("instances"))),
            _t(_num(g("splits"))),
            f"{_t(_num(before))} \u2192 {_t(_num(after))}" if before is not None else _t(_num(after)),
            _t(_num(g("transitions_saved"))),
            _t(_num(g("bytes_saved"))),
            _t(g("reason") or ""),
            f"<ul class='fixes'>{''.join(fixes)}</ul>" if fixes else '<span class="muted">none catalogued</span>',
        ]
        if with_sources:
            cells.append(_rec_sources(r))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return _table("recommendations", headers, rows, total=len(recs), what="recommendations (edgeinspect explain lists them all)")


def _rec_sources(rec: Any) -> str:
    if isinstance(rec, Mapping):
        return '<span class="muted">-</span>'
    from edgeinspect.recommend.sources import source_lines

    lines = source_lines(rec)
    if not lines:
        return '<span class="muted">-</span>'
    return "<br>".join(_t(s) for s in lines[:5]) + (f"<br>+{len(lines) - 5} more" if len(lines) > 5 else "")


_CATEGORY = {
    "delegates": ("delegates", "#1f77b4"),
    "cpu_islands": ("CPU islands", "#f28e2b"),
    "glue": ("glue (q/dq)", "#ffbe7d"),
    "cpu_other": ("other CPU", "#e15759"),
    "control": ("control flow", "#b07aa1"),
    "runtime": ("runtime", "#bab0ac"),
}


def time_section(v: MethodView) -> str | None:
    """Measured time (``--etdump``): where execute time goes, per delegate call with its
    internal events, the slowest instructions and the calls that never ran."""
    p = v.profile
    if p is None:
        return None
    ex = p.execute
    head = (
        f"<p>From <code>{_wrap(p.source or 'the ETDump')}</code>: {_t(_warmup_sentence(p))}. "
        f"Times are {_t(TICKS_NOTE)}. Execute: median <b>{_ticks(ex.median_ticks)}</b> {TICKS} "
        f"(min {_ticks(ex.min_ticks)}, max {_ticks(ex.max_ticks)})"
        + (f"; warm-up {_ticks(ex.warmup_ticks)} {TICKS}" if ex.warmup_ticks is not None else "")
        + (f"; loading the method {_ticks(p.load_ticks)} {TICKS}" if p.load_ticks is not None else "")
        + ".</p>"
    )
    segments = [
        (k, float(p.category_ticks[k]), _CATEGORY[k][1], f"{_CATEGORY[k][0]}: {ticks_text(p.category_ticks[k])} {TICKS}")
        for k in p.category_ticks
        if p.category_ticks[k]
    ]
    legend = " ".join(
        f'<span class="legend"><i style="background:{_CATEGORY[k][1]}"></i>{_t(_CATEGORY[k][0])} {_pct(p.shares[k])} '
        f"({ticks_text(p.category_ticks[k])})</span>"
        for k in p.category_ticks
    )
    where = f'<h4>Where execute time goes (measured)</h4>{_stacked_bar(segments)}<p class="legend-row">{legend}</p>'
    call_rows = []
    for call in p.delegate_calls[:ROWS]:
        events = sorted(call.events, key=lambda e: -(e.timing.median_ticks or 0))
        shown = ", ".join(f"{_wrap(_short(e.name, 40))} {_ticks(e.timing.median_ticks)}" for e in events[:8]) + (
            f", +{len(events) - 8} more" if len(events) > 8 else ""
        )
        call_rows.append(
            f"<tr><td>#{call.index}</td><td>{_device(v.method.instructions[call.index].device)} {call.delegate}</td>"
            f"<td class=num>{_ticks(call.timing.median_ticks)}</td><td class=num>{_ticks(call.timing.min_ticks)}</td>"
            f"<td class=num>{_ticks(call.timing.max_ticks)}</td><td class=num>{_ticks(call.timing.warmup_ticks)}</td>"
            f"<td>{shown or '<span class=muted>no internal events recorded</span>'}</td></tr>"
        )
    calls = (
        "<h4>Delegate calls</h4>"
        + _table(
            "delegate-calls",
            ["call", "delegate", f"median ({TICKS})", "min", "max", "warm-up", "internal events (median, slowest first)"],
            call_rows,
            total=len(p.delegate_calls),
            what="calls",
        )
        if call_rows
        else ""
    )
    slow = sorted(p.instructions, key=lambda x: -(x.timing.median_ticks or 0))[:20]
    part_of = {i: part.namespace for part in v.parts for i in part.instructions}
    slow_headers = ["instruction", "what", "partition", f"median ({TICKS})", "runs", "warm-up"]
    if v.sources is not None:
        slow_headers.append("source")
    slow_rows = []
    for x in slow:
        ins = v.method.instructions[x.index]
        what = f"{_device(ins.device)} " + (f"delegate {x.delegate}" if x.delegate is not None else _wrap(_short(ins.name, 40)))
        row = (
            f"<tr><td>#{x.index}</td><td>{what}</td><td><code>{_wrap(part_of.get(x.index, '-'))}</code></td>"
            f"<td class=num>{_ticks(x.timing.median_ticks)}</td><td class=num>{x.timing.runs:,}</td>"
            f"<td class=num>{_ticks(x.timing.warmup_ticks)}</td>"
        )
        if v.sources is not None:
            row += f"<td>{source_html(v.source_of([x.index], x.delegate))}</td>"
        slow_rows.append(row + "</tr>")
    slowest = "<h4>Slowest instructions (measured)</h4>" + _table("slowest", slow_headers, slow_rows)
    ran = p.by_instruction()
    never = [ins for ins in v.method.instructions if ins.kind in ("kernel", "delegate") and ins.index not in ran]
    never_html = ""
    if never:
        listed = ", ".join(f"#{i.index} {_wrap(_short(i.name, 30))}" for i in never[:20]) + (
            f", +{len(never) - 20:,} more" if len(never) > 20 else ""
        )
        never_html = f"<p>Calls that never ran (an untaken branch, or a run cut short): {listed}</p>"
    return head + where + calls + slowest + never_html


def _bases(line: BudgetLine) -> str:
    """The bases of a budget line's figures, in the order of :data:`BASES`: ``predicted+measured``, ``unknown``."""
    said = {f.basis for f in line.figures} | ({line.glue.basis} if line.glue is not None else set())
    return "+".join(b for b in BASES if b in said)


def _predicted_cell(line: BudgetLine) -> str:
    """Vela's seconds and cycles of a line, at the clock they imply (``cycles / seconds``: Vela's
    ``inference_time_s`` is exactly ``cycles_total / core_clock_hz``), or ``-``."""
    s, cycles = line.figure("predicted", "s"), line.figure("predicted", "cycles")
    if s is None or s.value is None:
        return "-"
    said = format_seconds(s.value)
    if cycles is not None and cycles.value is not None:
        clock = f" at {cycles.value / s.value / 1e6:g} MHz" if s.value > 0 else ""
        said += f" ({cycles.value:,} cycles{clock})"
    return f'<span class="predicted" title="{_e(s.source)}">{_t(said)}</span>'


def _measured_cell(line: BudgetLine) -> str:
    """The measured ticks of a line (and of the glue inside an island), or ``-``."""
    f = line.figure("measured", TICKS)
    if f is None or f.value is None:
        return "-"
    said = f'<span class="measured" title="{_e(f.source)}">{ticks_text(f.value)}</span>'
    if line.glue is not None and line.glue.value is not None:
        said += f' <span class="muted">(glue {ticks_text(line.glue.value)})</span>'
    return said


def budget_section(v: MethodView) -> str | None:
    """The latency budget (:func:`edgeinspect.analysis.latency_budget`): predicted NPU time per
    delegate beside the measured (or unknown) CPU islands, glue and the rest, in execution order,
    and the bytes crossing; every figure labelled with its basis."""
    if v.estimates is None and v.profile is None:
        return None
    budget = v.budget
    lines = budget.lines
    out = []
    said = []
    if budget.predicted:
        said.append(f"predicted by {_t(budget.predicted)} (NPU time only: no CPU time, no driver overhead)")
    if budget.measured:
        said.append(f"measured from {_t(budget.measured)} ({_t(TICKS_NOTE)})")
    if said:
        out.append(f"<p>Figures {'; '.join(said)}. Seconds and {TICKS} are never added together.</p>")
    predicted = [(line, f) for line in lines if line.part == "delegate" and (f := line.figure("predicted", "s")) is not None]
    if v.estimates is not None:
        segs, hatch = [], []
        total_pred = sum(f.value or 0 for _, f in predicted)
        # The other lines between delegates take a fifth of the bar together, whatever their number.
        gap = (total_pred or 1.0) * 0.25 / max(1, len(lines) - len(predicted))
        for line in lines:
            key = _budget_key(line)
            f = line.figure("predicted", "s") if line.part == "delegate" else None
            if f is not None:
                segs.append((key, float(f.value or 0), "#2ca02c", f"{line.label}: {format_seconds(f.value or 0)} predicted"))
                hatch.append(False)
            elif len(lines) <= 200:
                m = line.figure("measured", TICKS)
                shown = f"measured {ticks_text(m.value)} {TICKS}" if m is not None and m.value is not None else "unknown"
                segs.append((key, gap, "#eaeef2", f"{line.label}: {shown}; not to scale"))
                hatch.append(True)
        out.append(
            f"<h4>Predicted (Vela, seconds at each delegate's clock)</h4>{_stacked_bar(segs, hatched=hatch)}"
            f'<p class="muted">Green: predicted NPU time of each delegate Vela estimated, to scale '
            f"({_t(format_seconds(total_pred))} in all). Hatched: the other lines (CPU islands, glue, the rest), "
            f"{'measured in ETDump ticks (below)' if v.profile is not None else 'unknown: no --etdump'}, not to scale.</p>"
        )
    if v.profile is not None:
        colour = {
            "delegate": _CATEGORY["delegates"][1],
            "cpu_island": _CATEGORY["cpu_islands"][1],
            "glue": _CATEGORY["glue"][1],
            "cpu_other": _CATEGORY["cpu_other"][1],
            "control": _CATEGORY["control"][1],
            "runtime": _CATEGORY["runtime"][1],
        }
        segs = [
            (_budget_key(line), float(m.value), colour[line.part], f"{line.label}: {ticks_text(m.value)} {TICKS} measured")
            for line in lines
            if (m := line.figure("measured", TICKS)) is not None and m.value is not None
        ]
        out.append(
            f"<h4>Measured ({TICKS}, medians)</h4>{_stacked_bar(segs)}"
            '<p class="muted">Blue: delegate calls; orange: CPU islands; light orange: glue outside the islands; red: other CPU '
            "kernels; purple: control flow; grey: the runtime (the last three as means per run). To scale.</p>"
        )
    rows = []
    for line in lines[:ROWS]:
        ins = line.instructions
        span = (f"#{ins[0]}" + (f"\u2013#{ins[-1]}" if len(ins) > 1 else "") + f" ({len(ins):,})") if ins else "-"
        why = "; ".join(f.source for f in line.figures if f.basis == "unknown")
        rows.append(
            f"<tr><td>{_t(line.label)}</td><td>{_t(line.part)}</td><td>{span}</td><td>{_predicted_cell(line)}</td>"
            f"<td class=num>{_measured_cell(line)}</td><td>{_t(_bases(line))}</td><td class=muted>{_t(why)}</td></tr>"
        )
    boundary, cpu, direct = budget.traffic
    out.append(
        f"<p>Boundary traffic ({_t(boundary.basis)}, from the program): <b>{boundary.value:,} B</b> cross a delegate call's boundary: "
        f"{cpu.value:,} B between the CPU and a delegate, {direct.value:,} B handed straight from one delegate call to another.</p>"
    )
    out.append(
        _table(
            "budget",
            ["line", "part", "instructions", "predicted", f"measured ({TICKS})", "basis", "why unknown"],
            rows,
            total=len(lines),
            what="lines",
        )
    )
    return "".join(out)


def _budget_key(line: BudgetLine) -> str:
    """A short key for a budget line's bar segment: its part and first instruction."""
    return f"{line.part}@{line.instructions[0]}" if line.instructions else line.part


def estimate_section(v: MethodView) -> str | None:
    """Vela's estimate (``--estimate``): cycles per delegate, per TOSA operator of each joined
    dump (the TOSA block view) and the heaviest layers of the method."""
    if v.estimates is None:
        return None
    rows, blocks, layers = [], [], []
    for d in v.method.delegates:
        found = v.estimates.get(d.index)
        est = found.estimate if found is not None else None
        if est is None:
            if d.backend_id == "EthosUBackend" or found is not None:
                why = (found.error or found.skipped) if found is not None else "not estimated"
                rows.append(f"<tr><td>{d.index}</td><td colspan=8 class=muted>no estimate: {_t(why or 'not estimated')}</td></tr>")
            continue
        rows.append(
            f"<tr><td>{d.index}</td><td><code>{_wrap(found.tosa_file or '-')}</code></td>"
            f"<td>{_wrap(est.accelerator)}, {_wrap(est.system_config)}, {_wrap(est.memory_mode)}, {est.core_clock_hz / 1e6:g} MHz</td>"
            f"<td class=num>{est.cycles_total:,}</td><td class=num>{est.cycles_npu:,}</td><td class=num>{est.nn_macs:,}</td>"
            f'<td class=num><span class="predicted">{_t(format_seconds(est.inference_time_s))}</span></td>'
            f"<td class=num>{est.sram_bytes:,}</td><td class=num>{est.off_chip_flash_bytes:,}</td></tr>"
        )
        layer_rows = []
        for x in est.layers[:ROWS]:
            util = "-" if x.utilisation_percent is None else f"{x.utilisation_percent:.1f}%"
            op = _layer_op(x)
            layer_rows.append(
                f"<tr><td>{op}</td><td>{_wrap(x.original_operator)} \u2192 {_wrap(x.operator)}</td><td>{_wrap(_short(x.name, 40))}</td>"
                f"<td class=num>{x.cycles:,}</td><td class=num>{_pct(None if x.cycles_percent is None else x.cycles_percent / 100)}</td>"
                f"<td class=num>{x.macs:,}</td><td class=num>{util}</td></tr>"
            )
            layers.append((x.cycles, d.index, x))
        by_op: dict[str, int] = {}
        for x in est.layers:
            key = x.tosa_op or f"({x.operator}, inserted by Vela)"
            by_op[key] = by_op.get(key, 0) + x.cycles
        per_op = ", ".join(f"{_wrap(k)} {n:,}" for k, n in sorted(by_op.items(), key=lambda kv: -kv[1])[:8])
        blocks.append(
            f"<details class='tosa-block'><summary>delegate {d.index}: cycles per TOSA operator ({_t(per_op)})</summary>"
            + _table(
                "tosa-ops",
                ["TOSA operator", "Vela operator", "layer", "cycles", "of the delegate", "MACs", "utilisation"],
                layer_rows,
                total=len(est.layers),
                what="layers",
            )
            + "</details>"
        )
    if not rows:
        return '<p class="muted">No delegate of this method is estimated by Vela (only Ethos-U delegates with a joined dump are).</p>'
    top = sorted(layers, key=lambda t: (-t[0], t[1]))[:10]
    top_rows = [
        f"<tr><td>{di}</td><td>{_layer_op(x)}</td>"
        f"<td>{_wrap(_short(x.name, 40))}</td><td class=num>{x.cycles:,}</td><td class=num>{x.macs:,}</td></tr>"
        for _, di, x in top
    ]
    return (
        '<p class="muted">Predicted by Vela for the joined .tosa dump with the delegate\'s own compile flags; Vela does not '
        "count CPU time or driver overhead.</p>"
        + _table(
            "estimates",
            ["delegate", "dump", "configuration", "cycles", "NPU cycles", "MACs", "time (predicted)", "SRAM B", "off-chip flash B"],
            rows,
        )
        + "<h4>Cycles per TOSA operator</h4>"
        + "".join(blocks)
        + "<h4>Heaviest layers by cycles</h4>"
        + _table("top-layers", ["delegate", "TOSA operator", "layer", "cycles", "MACs"], top_rows)
    )


def instructions_section(v: MethodView) -> str:
    """The instruction table ``inspect`` prints: kind, device, name; with ``--etdump`` each
    instruction's measured time, with provenance its source."""
    m = v.method
    headers = ["#", "kind", "device", "name"]
    if v.profile is not None:
        headers += [f"median ({TICKS})", "runs"]
    if v.sources is not None:
        headers.append("source")
    rows = []
    for ins in m.instructions[:ROWS]:
        name = _wrap(_short(ins.name, 60)) + (f" <span class='muted'>delegate {ins.delegate}</span>" if ins.kind == "delegate" else "")
        row = f"<tr><td>{ins.index}</td><td>{_t(ins.kind)}</td><td>{_device(ins.device) if ins.device else '-'}</td><td>{name}</td>"
        if v.profile is not None:
            p = v.profile.instruction(ins.index)
            row += f"<td class=num>{_ticks(p.timing.median_ticks) if p else '-'}</td><td class=num>{p.timing.runs if p else 0}</td>"
        if v.sources is not None:
            row += f"<td>{source_html(v.sources.instruction(ins.index))}</td>"
        rows.append(row + "</tr>")
    return _table("instructions", headers, rows, total=len(m.instructions), what="instructions (the timeline above covers them all)")


def _layer_op(x: Any) -> str:
    """The TOSA operator a Vela layer is (``#5 CONV2D``), or Vela's own operation."""
    if x.tosa_op_index is None:
        return f'{_wrap(x.operator)} <span class="muted">(inserted by Vela)</span>'
    return f"#{x.tosa_op_index} {_wrap(x.tosa_op)}"


def graph_section(v: MethodView) -> str:
    """The dataflow graph, delegates inlined and constants folded, when it is small enough to read."""
    calls = sum(1 for ins in v.method.instructions if ins.is_call)
    if calls > GRAPH_NODES:
        return (
            f'<p class="muted">The graph of {calls:,} calls is not drawn here (more than {GRAPH_NODES} nodes); '
            "<code>edgeinspect view FILE</code> shows it in Model Explorer, collapsible by partition.</p>"
        )
    graph = explorer_graph(v.method, decode=v.decode)
    if graph.number_of_nodes() > GRAPH_NODES:
        return (
            f'<p class="muted">The graph of {graph.number_of_nodes():,} nodes is not drawn here (more than {GRAPH_NODES}); '
            "<code>edgeinspect view FILE</code> shows it in Model Explorer, collapsible by partition.</p>"
        )
    labels, notes, titles = {}, {}, {}
    cycles: dict[tuple[int, int], int] = {}
    if v.estimates is not None:
        for d, found in v.estimates.items():
            if found.estimate is not None:
                for x in found.estimate.layers:
                    if x.tosa_op_index is not None:
                        cycles[(d, x.tosa_op_index)] = cycles.get((d, x.tosa_op_index), 0) + x.cycles
    for n, data in graph.nodes(data=True):
        if data.get("kind") == "delegate" and data.get("delegate") is not None:
            labels[n] = _short(f"{data.get('name')} #{data['delegate']}", 22)
        else:
            labels[n] = _short(str(data.get("name", n)), 22)
        if v.profile is not None and data.get("kind") in ("kernel", "delegate"):
            p = v.profile.instruction(data.get("index"))
            if p is not None:
                notes[n] = f"{ticks_text(p.timing.median_ticks)} {TICKS}"
                titles[n] = f"median {ticks_text(p.timing.median_ticks)} {TICKS} (measured)"
        elif v.profile is not None and data.get("instruction") is not None:  # inside a delegate: its call is timed whole
            p = v.profile.instruction(data["instruction"])
            if p is not None:
                titles[n] = (
                    f"in delegate call #{data['instruction']}: median {ticks_text(p.timing.median_ticks)} {TICKS} for the whole call"
                )
        if v.sources is not None and data.get("kind") in ("kernel", "delegate"):
            src = v.sources.instruction(data.get("index"))
            if src is not None and (src.module_path is not None or src.location):
                said = " ".join(x for x in (src.module_path, module_label(src.module_type) if src.module_type else None, src.location) if x)
                titles[n] = f"{titles[n]}; {said}" if n in titles else said
        key = (data.get("delegate"), data.get("index"))
        if data.get("instruction") is not None and key in cycles:
            notes[n] = f"{cycles[key]:,} cycles"
            titles[n] = f"{cycles[key]:,} cycles (predicted by Vela)"
    inner = sum(1 for _, d in graph.nodes(data=True) if d.get("partition") is not None)
    note = f"{graph.number_of_nodes()} nodes, {inner} of them inside delegates." if inner else f"{graph.number_of_nodes()} nodes."
    note += "".join(
        f" {d.backend_id} #{d.index} is one node: {unknown_ops_reason(d, v.decode)}."
        for d in v.method.delegates
        if any(data.get("kind") == "delegate" and data.get("delegate") == d.index for _, data in graph.nodes(data=True))
    )
    return f'<p class="muted">{_t(note)} Red edges cross devices.</p>' + graph_svg(graph, label_of=labels, note_of=notes, title_of=titles)


def fallbacks_section(v: MethodView) -> str:
    """Every operator the method runs on the CPU, glue apart (issue 17): the fallback table
    (position, whether it splits, why, the fix) and one line for the glue
    (:mod:`edgeinspect.recommend.fallbacks`)."""
    from edgeinspect.recommend.fallbacks import account, program_target

    cpu = account(v.method, target=program_target(v.program))
    if not cpu.fallbacks:
        table = '<p class="muted">No CPU fallbacks: nothing but glue runs on the CPU.</p>'
    else:
        rows = []
        for f in cpu.fallbacks[:ROWS]:
            where = ", ".join(f"{n} {p}" for p, n in f.positions) if f.position == "mixed" else f.position
            splits = f"{f.splits}" if f.splits else "no"
            rows.append(
                f'<tr data-operator="{_name(f.operator)}" data-position="{_e(f.position)}"><td><code>{_wrap(f.operator)}</code></td>'
                f"<td class=num>{f.count:,}</td><td>{_t(where)}</td><td class=num>{_t(splits)}</td>"
                f"<td>{_t(f.reason_source)}: {_t(f.reason)}</td><td>{_t(f.fix or '')}</td></tr>"
            )
        more = len(cpu.fallbacks) - ROWS
        table = (
            '<table class="fallbacks"><tr><th>operator</th><th>calls</th><th>position</th><th>splits</th><th>why</th>'
            "<th>fix</th></tr>" + "".join(rows) + "</table>"
        ) + (f'<p class="muted">... and {more:,} more operators (edgeinspect explain lists them all).</p>' if more > 0 else "")
    glue = cpu.glue
    if glue:
        kinds: dict[str, int] = {}
        for g in glue:
            kinds[g.kind] = kinds.get(g.kind, 0) + g.count
        table += (
            f'<p class="glue">Glue on the CPU, counted apart: {sum(g.count for g in glue):,} call(s) '
            f"({_t(', '.join(f'{k} {n:,}' for k, n in kinds.items()))}), writing {sum(g.bytes_written for g in glue):,} bytes.</p>"
        )
    return table


#: The sections of a method, in page order; add a :class:`Section` to add one.
METHOD_SECTIONS: list[Section] = [
    Section("summary", "Summary", summary_section),
    Section("timeline", "Partition timeline", timeline_section),
    Section("delegates", "Delegates", delegates_section),
    Section("islands", "CPU islands by cause", islands_section),
    Section("recommendations", "Recommendations", recommendations_section),
    Section("fallbacks", "CPU fallbacks", fallbacks_section),
    Section("time", "Measured time", time_section),
    Section("budget", "Latency budget", budget_section),
    Section("estimate", "Predicted NPU cost (Vela)", estimate_section),
    Section("instructions", "Instructions", instructions_section),
    Section("graph", "Graph", graph_section),
]


def method_html(view: MethodView, sections: Sequence[Section] | None = None) -> str:
    """One method's ``<section>``: each section that has something to say, in order."""
    body = []
    for s in METHOD_SECTIONS if sections is None else sections:
        html = s.render(view)
        if html is not None:
            body.append(f'<div class="part-{s.key}"><h3>{_t(s.title)}</h3>{html}</div>')
    name = view.method.name
    return f'<section class="method" data-method="{_name(name)}"><h2>method <code>{_wrap(name)}</code></h2>{"".join(body)}</section>'
