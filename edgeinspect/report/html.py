"""``edgeinspect report``: one self-contained HTML file (inline CSS and SVG, no script, no network).

For a .pte, per method: the metrics, the partition timeline (every call in instruction order,
in the lane of the device it runs on, with the bytes that cross at each change of device),
the CPU islands, the recommendations (when the recommender is available) and the dataflow
graph as a static SVG drawn with a simple layered layout (columns by longest path from the
inputs, lanes per device). For a .tosa: the operator histogram and the graph, CONST folded.

Made for CI artifacts and for people who do not run Model Explorer: it opens from disk in
any browser and fetches nothing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx

from edgeinspect.analysis.fragmentation import boundary_bytes, cpu_islands, delegated_subgraphs, is_glue, transitions
from edgeinspect.formats.payloads import PayloadDecoder, unknown_ops_reason
from edgeinspect.graph import block_graph, fold_constants, instruction_key
from edgeinspect.model import Program, TosaGraph
from edgeinspect.report._html import _b, _chip, _e, _field, _name, _names, _num, _shape, _short
from edgeinspect.report.overlays import device_color, explorer_graph, load_recommendations, partitions

if TYPE_CHECKING:
    from edgeinspect.model import Method
    from edgeinspect.report.overlays import Partition

__all__ = ["Boundary", "graph_svg", "partition_boundaries", "report_html", "timeline_svg", "write_report"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2328;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.muted{color:#656d76}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto;border:1px solid #d0d7de;border-radius:6px;padding:6px;background:#fff}
.chip{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-size:12px}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
code{background:#f6f8fa;padding:0 3px;border-radius:3px}
"""


@dataclass(frozen=True, slots=True)
class Boundary:
    """A change of device between two consecutive partitions, and the bytes that cross into the second.

    ``bytes`` counts each tensor once: the tensors the second partition reads that a partition
    on another device produced (method inputs are on the CPU already).
    """

    before: str
    after: str
    bytes: int
    tensors: tuple[int, ...]


def partition_boundaries(method: Method, parts: list[Partition] | None = None, graph: nx.MultiDiGraph | None = None) -> list[Boundary]:
    """The boundaries of ``method`` in execution order: between consecutive partitions, and with
    the host (``"host"``, the CPU that hands inputs in and takes outputs back) before a first
    partition or after a last partition that is not on the CPU.
    """
    parts = partitions(method) if parts is None else parts
    graph = method.to_networkx() if graph is None else graph
    part_of = {i: p for p in parts for i in p.instructions}

    def device_of(node: object) -> str:
        data = graph.nodes[node]
        if data.get("kind") in ("input", "output"):
            return "CPU"
        part = part_of.get(data.get("index"))
        return part.device if part is not None else "CPU"

    def entering(nodes: list[object], device: str) -> tuple[int, tuple[int, ...]]:
        crossing: dict[int, int] = {}
        for n in nodes:
            n = instruction_key(n) if isinstance(n, int) else n
            if n not in graph:
                continue
            for src, _, key, data in graph.in_edges(n, keys=True, data=True):
                if device_of(src) != device:
                    crossing[data.get("value", key)] = data.get("bytes") or 0
        return sum(crossing.values()), tuple(crossing)

    out = []
    if parts and parts[0].device != "CPU":
        out.append(Boundary("host", parts[0].namespace, *entering(list(parts[0].instructions), parts[0].device)))
    for prev, part in zip(parts, parts[1:], strict=False):
        out.append(Boundary(prev.namespace, part.namespace, *entering(list(part.instructions), part.device)))
    if parts and parts[-1].device != "CPU":
        outputs = [n for n, d in graph.nodes(data=True) if d.get("kind") == "output"]
        last = set(parts[-1].instructions)
        nbytes, values = entering([n for n in outputs if any(graph.nodes[s].get("index") in last for s in graph.predecessors(n))], "CPU")
        out.append(Boundary(parts[-1].namespace, "host", nbytes, values))
    return out


def timeline_svg(method: Method, parts: list[Partition] | None = None, boundaries: list[Boundary] | None = None) -> str:
    """The partition timeline: one box per call in instruction order, one lane per device.

    Boxes carry ``class="call"`` and ``data-instruction``; each change of partition gets a
    ``class="boundary"`` marker labelled with the bytes crossing.
    """
    parts = partitions(method) if parts is None else parts
    boundaries = partition_boundaries(method, parts) if boundaries is None else boundaries
    by_index = {ins.index: ins for ins in method.instructions}
    lanes = list(dict.fromkeys(["CPU", *(p.device for p in parts)]))
    lane_h, box_w, box_h, gap, left, top = 46, 128, 32, 6, 130, 26
    calls = [(p, by_index[i]) for p in parts for i in p.instructions if by_index[i].is_call]
    n_bounds = len(boundaries)
    width = left + len(calls) * (box_w + gap) + n_bounds * 70 + 20
    height = top + len(lanes) * lane_h + 10
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    for k, lane in enumerate(lanes):
        y = top + k * lane_h
        out.append(f'<rect x="0" y="{y}" width="{width}" height="{lane_h}" fill="{"#f6f8fa" if k % 2 else "#ffffff"}"/>')
        out.append(
            f'<text x="8" y="{y + lane_h / 2 + 5}" font-size="13" font-weight="600" fill="{device_color(lane)}">{_name(lane)}</text>'
        )
    out.append(f'<text x="{left}" y="16" font-size="11" fill="#656d76">instruction order \u2192</text>')
    x = left
    bounds = iter(boundaries)
    if parts and parts[0].device != "CPU":
        out.append(_boundary_mark(next(bounds), x - 4, top, height))
        x += 70
    prev_part = None
    prev_center: tuple[float, float] | None = None
    for part, ins in calls:
        lane = lanes.index(part.device)
        y = top + lane * lane_h + (lane_h - box_h) / 2
        if prev_part is not None and part is not prev_part:
            out.append(_boundary_mark(next(bounds), x, top, height))
            x += 70
        color = device_color(part.device)
        label = _short(ins.name, 17) if ins.kind == "kernel" else f"{ins.name.replace('Backend', '')} #{ins.delegate}"
        cy = y + box_h / 2
        if prev_center is not None and prev_center[1] != cy:  # the hand-over between lanes
            out.append(f'<line x1="{prev_center[0]}" y1="{prev_center[1]}" x2="{x}" y2="{cy}" stroke="#8c959f" stroke-width="1"/>')
        prev_center = (x + box_w, cy)
        glue = ins.kind == "kernel" and is_glue(ins.name)
        out.append(
            f'<g class="call" data-instruction="{ins.index}" data-device="{_name(part.device)}" data-partition="{_name(part.namespace)}">'
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="5" fill="{color}" fill-opacity="{0.45 if glue else 0.9}" '
            f'stroke="{color}"/><text x="{x + 6}" y="{y + 13}" font-size="10" fill="#1f2328">#{ins.index}</text>'
            f'<text x="{x + 6}" y="{y + 26}" font-size="12" fill="#1f2328">{_e(label)}</text><title>#{ins.index} {_name(ins.name)} on '
            f"{_name(part.device)} ({_name(part.namespace)})</title></g>"
        )
        x += box_w + gap
        prev_part = part
    if parts and parts[-1].device != "CPU":
        out.append(_boundary_mark(next(bounds), x - 4, top, height))
    out.append("</svg>")
    return "".join(out)


def _boundary_mark(b: Boundary, x: float, top: float, height: float) -> str:
    color = "#d62728" if b.bytes else "#8c959f"
    return (
        f'<g class="boundary" data-bytes="{b.bytes}"><line x1="{x + 33}" y1="{top}" x2="{x + 33}" y2="{height - 10}" '
        f'stroke="{color}" stroke-dasharray="4 3"/><text x="{x + 33}" y="{height - 2}" font-size="11" text-anchor="middle" '
        f'fill="{color}">{_e(_b(b.bytes))}</text><title>{_name(b.before)} \u2192 {_name(b.after)}: {_e(_b(b.bytes))} cross</title></g>'
    )


def _layers(graph: nx.MultiDiGraph) -> dict[object, int]:
    """Column of each node: longest path from a source, visiting in topological order by index."""

    def key(n: object) -> tuple[int, int, str]:
        data = graph.nodes[n]
        kind = data.get("kind")
        if kind in ("input", "output"):
            return (-1 if kind == "input" else 10**9, 0, str(n))
        if data.get("instruction") is not None:  # inside a delegate: its call, then its own order
            return (int(data["instruction"]), int(data.get("index") or 0), str(n))
        return (int(data.get("index") or 0), 0, str(n))

    try:
        order = list(nx.lexicographical_topological_sort(graph, key=key))
    except nx.NetworkXUnfeasible:  # a cycle cannot come from a valid program, but draw it anyway
        order = sorted(graph.nodes, key=key)
    column: dict[object, int] = {}
    for n in order:
        column[n] = max((column[p] + 1 for p in graph.predecessors(n) if p in column), default=0)
    return column


def graph_svg(graph: nx.MultiDiGraph, *, lane_of: Mapping[object, str] | None = None, label_of: Mapping[object, str] | None = None) -> str:
    """Draw a dataflow graph as static SVG: columns by longest path, one lane per device.

    Nodes that share a column and a lane stack inside the lane. Edges between devices are
    drawn red and labelled with their bytes. Node groups carry ``class="node"``.
    """
    lane_of = lane_of if lane_of is not None else {n: str(d.get("device") or "CPU") for n, d in graph.nodes(data=True)}
    label_of = label_of if label_of is not None else {n: _short(str(d.get("name", n)), 20) for n, d in graph.nodes(data=True)}
    column = _layers(graph)
    lanes = list(dict.fromkeys(["CPU", *(lane_of[n] for n in sorted(graph.nodes, key=lambda n: column[n]))]))
    slots: dict[tuple[int, str], list[object]] = {}
    for n in sorted(graph.nodes, key=lambda n: (column[n], str(n))):
        slots.setdefault((column[n], lane_of[n]), []).append(n)
    depth = {lane: max((len(v) for (c, ln), v in slots.items() if ln == lane), default=1) for lane in lanes}
    box_w, box_h, col_w, row_h, left, top = 136, 28, 176, 38, 120, 10
    lane_y: dict[str, int] = {}
    y = top
    for lane in lanes:
        lane_y[lane] = y
        y += depth[lane] * row_h + 16
    width = left + (max(column.values(), default=0) + 1) * col_w + 20
    height = y + 4
    pos: dict[object, tuple[float, float]] = {}
    for (col, lane), members in slots.items():
        for k, n in enumerate(members):
            pos[n] = (left + col * col_w, lane_y[lane] + 8 + k * row_h)
    out = [f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    out.append(
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">'
        '<path d="M0,0 L8,4 L0,8 z" fill="#6e7781"/></marker><marker id="arrow-red" viewBox="0 0 8 8" refX="8" refY="4" '
        'markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#d62728"/></marker></defs>'
    )
    for lane in lanes:
        h = depth[lane] * row_h + 16
        out.append(f'<rect x="0" y="{lane_y[lane] - 4}" width="{width}" height="{h}" fill="{device_color(lane)}" fill-opacity="0.07"/>')
        out.append(f'<text x="8" y="{lane_y[lane] + 24}" font-size="13" font-weight="600" fill="{device_color(lane)}">{_name(lane)}</text>')
    drawn: set[tuple[object, object, object]] = set()
    for src, dst, key, data in graph.edges(keys=True, data=True):
        if (src, dst, data.get("value", key)) in drawn:
            continue
        drawn.add((src, dst, data.get("value", key)))
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        x1, y1, x2, y2 = x1 + box_w, y1 + box_h / 2, x2, y2 + box_h / 2
        cross = lane_of[src] != lane_of[dst]
        mid = (x1 + x2) / 2
        color = "#d62728" if cross else "#6e7781"
        out.append(
            f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" stroke="{color}" stroke-width="{1.8 if cross else 1}" '
            f'marker-end="url(#{"arrow-red" if cross else "arrow"})"><title>{_name(data.get("dtype", ""))}{_shape(data.get("shape"))} '
            f"{_e(_b(data.get('bytes')))}</title></path>"
        )
        if cross:
            out.append(
                f'<text x="{mid}" y="{(y1 + y2) / 2 - 3}" font-size="10" text-anchor="middle" fill="#d62728">'
                f"{_e(_b(data.get('bytes')))}</text>"
            )
    for n, data in graph.nodes(data=True):
        x, yy = pos[n]
        color = device_color(lane_of[n])
        io = data.get("kind") in ("input", "output")
        out.append(
            f'<g class="node" data-node="{_name(n)}"><rect x="{x}" y="{yy}" width="{box_w}" height="{box_h}" rx="{14 if io else 5}" '
            f'fill="{color}" fill-opacity="{0.25 if io else 0.85}" stroke="{color}"/>'
            f'<text x="{x + box_w / 2}" y="{yy + 18}" font-size="11" '
            f'text-anchor="middle" fill="#1f2328">{_name(label_of[n])}</text>'
            f"<title>{_name(data.get('name', n))} ({_name(lane_of[n])})</title></g>"
        )
    out.append("</svg>")
    return "".join(out)


def _labels(graph: nx.MultiDiGraph) -> dict[object, str]:
    """Node labels for the graph drawing; a delegate call reads ``EthosUBackend #1``."""
    out = {}
    for n, d in graph.nodes(data=True):
        if d.get("kind") == "delegate" and d.get("delegate") is not None:
            out[n] = _short(f"{d.get('name')} #{d['delegate']}", 20)
        else:
            out[n] = _short(str(d.get("name", n)), 20)
    return out


def _metrics_table(method: Method) -> str:
    sub = delegated_subgraphs(method)
    rows = [
        ("instructions", f"{len(method.instructions):,}"),
        ("delegated subgraphs", ", ".join(f"{k}: {v}" for k, v in sub.items()) or "none"),
        ("transitions (CPU \u2194 delegate)", str(transitions(method))),
        ("boundary bytes", f"{boundary_bytes(method):,}"),
        ("CPU islands", str(len(cpu_islands(method)))),
    ]
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def _islands_table(method: Method) -> str:
    islands = cpu_islands(method)
    if not islands:
        return '<p class="muted">No CPU islands: nothing runs on the CPU between two delegate calls.</p>'
    rows = []
    for k, isl in enumerate(islands):
        rows.append(
            f"<tr><td>{k}</td><td>{isl.between[0]} \u2192 {isl.between[1]}</td><td>{_e(_names(isl.causes) or 'glue only')}</td>"
            f"<td>{len(isl.instructions)}</td><td class=num>{isl.bytes_in:,}</td><td class=num>{isl.bytes_out:,}</td></tr>"
        )
    return (
        '<table class="islands"><tr><th>island</th><th>between delegate calls</th><th>causes</th><th>kernels</th>'
        "<th>bytes in</th><th>bytes out</th></tr>" + "".join(rows) + "</table>"
    )


def _recommendations_table(recs: list[Any]) -> str:
    if not recs:
        return '<p class="muted">No recommendations: no CPU operator splits the delegated graph.</p>'
    rows = []
    for k, r in enumerate(recs, start=1):
        g = functools.partial(_field, r)
        rows.append(
            f"<tr><td>{k}</td><td><code>{_name(g('operator'))}</code></td><td class=num>{_e(g('instances'))}</td>"
            f"<td class=num>{_e(g('splits'))}</td><td class=num>{_e(g('transitions_saved'))}</td>"
            f"<td class=num>{_e(_num(g('bytes_saved')))}</td><td>{_e(g('reason') or '')}</td>"
            f"<td>{_e(g('fix') or '')}</td></tr>"
        )
    return (
        '<table class="recommendations"><tr><th>#</th><th>operator</th><th>instances</th><th>splits</th><th>transitions saved</th>'
        "<th>bytes saved</th><th>reason</th><th>fix</th></tr>" + "".join(rows) + "</table>"
    )


def _fallbacks_section(program: Program, method: Method) -> str:
    """Every operator the method runs on the CPU, glue apart (issue 17): the fallback table and
    one line for the glue (:mod:`edgeinspect.recommend.fallbacks`)."""
    from edgeinspect.recommend.fallbacks import account, program_target

    cpu = account(method, target=program_target(program))
    if not cpu.fallbacks:
        table = '<p class="muted">No CPU fallbacks: nothing but glue runs on the CPU.</p>'
    else:
        rows = []
        for f in cpu.fallbacks:
            where = ", ".join(f"{n} {p}" for p, n in f.positions) if f.position == "mixed" else f.position
            splits = f"{f.splits}" if f.splits else "no"
            rows.append(
                f'<tr data-operator="{_name(f.operator)}" data-position="{_e(f.position)}"><td><code>{_name(f.operator)}</code></td>'
                f"<td class=num>{f.count}</td><td>{_e(where)}</td><td class=num>{_e(splits)}</td>"
                f"<td>{_e(f.reason_source)}: {_e(f.reason)}</td><td>{_e(f.fix or '')}</td></tr>"
            )
        table = (
            '<table class="fallbacks"><tr><th>operator</th><th>calls</th><th>position</th><th>splits</th><th>why</th>'
            "<th>fix</th></tr>" + "".join(rows) + "</table>"
        )
    glue = cpu.glue
    if glue:
        kinds: dict[str, int] = {}
        for g in glue:
            kinds[g.kind] = kinds.get(g.kind, 0) + g.count
        table += (
            f'<p class="glue">Glue on the CPU, counted apart: {sum(g.count for g in glue)} call(s) '
            f"({_e(', '.join(f'{k} {n}' for k, n in kinds.items()))}), writing {sum(g.bytes_written for g in glue):,} bytes.</p>"
        )
    return table


def _method_section(program: Program, method: Method, recommendations: Iterable[Any] | None) -> str:
    parts = partitions(method)
    plain = method.to_networkx()
    bounds = partition_boundaries(method, parts, plain)
    decode = PayloadDecoder()
    graph = explorer_graph(method, decode=decode)
    recs = load_recommendations(program, method) if recommendations is None else list(recommendations)
    seq = " \u2192 ".join(_chip(p.device) for p in parts) or "empty"
    inner = sum(1 for _, d in graph.nodes(data=True) if d.get("partition") is not None)
    graph_note = f"{graph.number_of_nodes()} nodes, {inner} of them inside delegates." if inner else f"{graph.number_of_nodes()} nodes."
    graph_note += "".join(
        f" {d.backend_id} #{d.index} is one node: {unknown_ops_reason(d, decode)}."
        for d in method.delegates
        if any(data.get("kind") == "delegate" and data.get("delegate") == d.index for _, data in graph.nodes(data=True))
    )
    return (
        f'<section class="method" data-method="{_name(method.name)}"><h2>method <code>{_name(method.name)}</code></h2>'
        f"{_metrics_table(method)}<h3>Partition timeline</h3><p>{seq}</p>"
        f'<p class="muted">Each box is a call, in instruction order, in the lane of the device that runs it; dashed lines mark a change '
        f"of partition, labelled with the bytes that cross into the next one.</p>"
        f'<div class="scroll">{timeline_svg(method, parts, bounds)}</div>'
        f"<h3>CPU islands</h3>{_islands_table(method)}<h3>Recommendations</h3>{_recommendations_table(recs)}"
        f"<h3>CPU fallbacks</h3>{_fallbacks_section(program, method)}"
        f'<h3>Graph</h3><p class="muted">{_e(graph_note)} Red edges cross devices.</p>'
        f'<div class="scroll">{graph_svg(graph, label_of=_labels(graph))}</div></section>'
    )


def _tosa_body(tosa: Any) -> str:
    parts = []
    for region, block in tosa.blocks:
        g = fold_constants(block_graph(region.name, block))
        lanes = {n: ("CPU" if d["kind"] in ("input", "output") else "TOSABackend") for n, d in g.nodes(data=True)}
        hist: dict[str, int] = {}
        for op in block.operators:
            if not op.is_const:
                hist[op.op] = hist.get(op.op, 0) + 1
        consts = sum(1 for op in block.operators if op.is_const)
        rows = "".join(
            f"<tr><td><code>{_name(k)}</code></td><td class=num>{v}</td></tr>"
            for k, v in sorted(hist.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        parts.append(
            f'<section class="block"><h2>region <code>{_name(region.name)}</code>, block <code>{_name(block.name)}</code></h2>'
            f"<p>{sum(hist.values())} operators ({consts} CONST operators folded into their consumers).</p>"
            f'<table class="histogram"><tr><th>operator</th><th>count</th></tr>{rows}</table>'
            f'<h3>Graph</h3><div class="scroll">{graph_svg(g, lane_of=lanes)}</div></section>'
        )
    return "".join(parts)


def report_html(model: Program | TosaGraph, *, recommendations: Mapping[str, Iterable[Any]] | None = None) -> str:
    """The whole report as one HTML string (see the module docstring).

    Parameters
    ----------
    model : Program or TosaGraph
        What :func:`edgeinspect.load` returned.
    recommendations : mapping, optional
        ``{method name: recommendations}``; by default from :mod:`edgeinspect.recommend`.
    """
    from edgeinspect._version import __version__

    name = os.path.basename(model.path) if model.path else "<bytes>"
    if isinstance(model, Program):
        kind = f"ExecuTorch program, {model.file_size:,} bytes, {len(model.methods)} method(s)"
        body = "".join(
            _method_section(model, m, None if recommendations is None else recommendations.get(m.name, [])) for m in model.methods
        )
    else:
        kind = f"TOSA {model.version_string} flatbuffer, {model.file_size:,} bytes"
        body = _tosa_body(model)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>edgeinspect report: {_name(name)}</title><style>{_CSS}</style></head><body>"
        f"<h1>edgeinspect report: <code>{_name(name)}</code></h1>"
        f'<p class="muted">{_e(kind)}. Generated by edgeinspect {_e(__version__)}.</p>'
        f"{body}</body></html>\n"
    )


def write_report(model: Any, path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = (), **kwargs: Any) -> None:
    """Write :func:`report_html` to ``path`` (UTF-8), atomically, never over the model or one of
    ``inputs`` (see :func:`edgeinspect.outputs.write_output`)."""
    from edgeinspect.outputs import write_output

    own = [model.path] if getattr(model, "path", None) else []
    write_output(path, report_html(model, **kwargs), inputs=[*own, *inputs], what="report")
