"""What the HTML report draws with: the bytes crossing between partitions, and the dataflow
graph as static SVG laid out top to bottom so it fits the page's width.

The graph grows downwards (one row per step of the longest path from the inputs) and
sideways only by the lanes of the devices and the operators that run side by side; wider
than the page, it is scaled down (``max-width: 100%``), never scrolled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from edgeinspect.analysis.partitions import Partition, partitions
from edgeinspect.graph import instruction_key
from edgeinspect.model import Method
from edgeinspect.report._html import _b, _e, _name, _shape, _short, device_color

__all__ = ["Boundary", "graph_svg", "partition_boundaries", "partition_traffic"]


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


def _device_of(graph: nx.MultiDiGraph, part_of: Mapping[int, Partition]):  # noqa: ANN202 (a local closure's type says nothing)
    def device_of(node: object) -> str:
        data = graph.nodes[node]
        if data.get("kind") in ("input", "output"):
            return "CPU"
        part = part_of.get(data.get("index"))
        return part.device if part is not None else "CPU"

    return device_of


def partition_boundaries(method: Method, parts: list[Partition] | None = None, graph: nx.MultiDiGraph | None = None) -> list[Boundary]:
    """The boundaries of ``method`` in execution order: between consecutive partitions, and with
    the host (``"host"``, the CPU that hands inputs in and takes outputs back) before a first
    partition or after a last partition that is not on the CPU.
    """
    parts = partitions(method) if parts is None else parts
    graph = method.to_networkx() if graph is None else graph
    part_of = {i: p for p in parts for i in p.instructions}
    device_of = _device_of(graph, part_of)

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


def partition_traffic(
    method: Method, parts: Sequence[Partition], graph: nx.MultiDiGraph | None = None
) -> tuple[dict[int, int], dict[int, int]]:
    """Bytes entering and leaving each partition (by position) across a change of device, each
    tensor counted once per partition; the host (method inputs and outputs) is the CPU.

    What enters a partition is what :func:`partition_boundaries` counts at the boundary before it.
    """
    graph = method.to_networkx() if graph is None else graph
    position = {i: k for k, p in enumerate(parts) for i in p.instructions}
    into: dict[int, dict[object, int]] = {}
    out_of: dict[int, dict[object, int]] = {}

    def where(node: object) -> tuple[int | None, str]:
        data = graph.nodes[node]
        if data.get("kind") in ("input", "output"):
            return None, "CPU"
        k = position.get(data.get("index"))
        return k, parts[k].device if k is not None else "CPU"

    for src, dst, key, data in graph.edges(keys=True, data=True):
        (ks, ds), (kd, dd) = where(src), where(dst)
        if ds == dd:
            continue
        value, nbytes = data.get("value", key), data.get("bytes") or 0
        if kd is not None:
            into.setdefault(kd, {})[value] = nbytes
        if ks is not None:
            out_of.setdefault(ks, {})[value] = nbytes
    return {k: sum(v.values()) for k, v in into.items()}, {k: sum(v.values()) for k, v in out_of.items()}


def _layers(graph: nx.MultiDiGraph) -> dict[object, int]:
    """Row of each node: longest path from a source, visiting in topological order by index."""

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
    row: dict[object, int] = {}
    for n in order:
        row[n] = max((row[p] + 1 for p in graph.predecessors(n) if p in row), default=0)
    return row


_BOX_W, _BOX_H, _COL_W, _ROW_H, _TOP = 150, 30, 164, 52, 30


def graph_svg(
    graph: nx.MultiDiGraph,
    *,
    lane_of: Mapping[object, str] | None = None,
    label_of: Mapping[object, str] | None = None,
    note_of: Mapping[object, str] | None = None,
    title_of: Mapping[object, str] | None = None,
) -> str:
    """Draw a dataflow graph as static SVG, top to bottom: rows by longest path from the
    inputs, one column band per device (lane), side by side.

    Nodes that share a row and a lane sit next to each other in the lane. Edges between
    devices are drawn red and labelled with their bytes. Node groups carry ``class="node"``.
    ``note_of`` adds a second, smaller line to a node (its measured time, its cycles) and
    ``title_of`` text to its tooltip; both plain text, escaped here.
    """
    lane_of = lane_of if lane_of is not None else {n: str(d.get("device") or "CPU") for n, d in graph.nodes(data=True)}
    label_of = label_of if label_of is not None else {n: _short(str(d.get("name", n)), 22) for n, d in graph.nodes(data=True)}
    note_of = note_of or {}
    title_of = title_of or {}
    row = _layers(graph)
    lanes = list(dict.fromkeys(["CPU", *(lane_of[n] for n in sorted(graph.nodes, key=lambda n: row[n]))]))
    slots: dict[tuple[int, str], list[object]] = {}
    for n in sorted(graph.nodes, key=lambda n: (row[n], str(n))):
        slots.setdefault((row[n], lane_of[n]), []).append(n)
    breadth = {lane: max((len(v) for (_, ln), v in slots.items() if ln == lane), default=1) for lane in lanes}
    lane_x: dict[str, int] = {}
    x = 0
    for lane in lanes:
        lane_x[lane] = x
        x += breadth[lane] * _COL_W + 12
    width = max(x, 200)
    height = _TOP + (max(row.values(), default=0) + 1) * _ROW_H + 8
    pos: dict[object, tuple[float, float]] = {}
    for (r, lane), members in slots.items():
        for k, n in enumerate(members):
            pos[n] = (lane_x[lane] + 8 + k * _COL_W, _TOP + r * _ROW_H)
    out = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">'
        '<path d="M0,0 L8,4 L0,8 z" fill="#6e7781"/></marker><marker id="arrow-red" viewBox="0 0 8 8" refX="8" refY="4" '
        'markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#d62728"/></marker></defs>',
    ]
    for lane in lanes:
        w = breadth[lane] * _COL_W + 4
        color = device_color(lane)
        out.append(f'<rect x="{lane_x[lane]}" y="0" width="{w}" height="{height}" fill="{color}" fill-opacity="0.07"/>')
        out.append(f'<text x="{lane_x[lane] + 8}" y="18" font-size="13" font-weight="600" fill="{color}">{_name(_short(lane, 24))}</text>')
    drawn: set[tuple[object, object, object]] = set()
    for src, dst, key, data in graph.edges(keys=True, data=True):
        if (src, dst, data.get("value", key)) in drawn:
            continue
        drawn.add((src, dst, data.get("value", key)))
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        x1, y1, x2, y2 = x1 + _BOX_W / 2, y1 + _BOX_H, x2 + _BOX_W / 2, y2
        cross = lane_of[src] != lane_of[dst]
        mid = (y1 + y2) / 2
        color = "#d62728" if cross else "#6e7781"
        out.append(
            f'<path d="M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}" fill="none" stroke="{color}" stroke-width="{1.8 if cross else 1}" '
            f'marker-end="url(#{"arrow-red" if cross else "arrow"})"><title>{_name(data.get("dtype", ""))}{_shape(data.get("shape"))} '
            f"{_e(_b(data.get('bytes')))}</title></path>"
        )
        if cross:
            out.append(f'<text x="{(x1 + x2) / 2 + 4}" y="{mid - 2}" font-size="10" fill="#d62728">{_e(_b(data.get("bytes")))}</text>')
    for n, data in graph.nodes(data=True):
        x, y = pos[n]
        color = device_color(lane_of[n])
        io = data.get("kind") in ("input", "output")
        note = note_of.get(n)
        label_y = y + (12 if note else 19)
        extra = f" \u2014 {title_of[n]}" if n in title_of else ""
        out.append(
            f'<g class="node" data-node="{_name(n)}"><rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="{14 if io else 5}" '
            f'fill="{color}" fill-opacity="{0.25 if io else 0.85}" stroke="{color}"/>'
            f'<text x="{x + _BOX_W / 2}" y="{label_y}" font-size="11" text-anchor="middle" fill="#1f2328">{_name(label_of[n])}</text>'
            + (
                f'<text x="{x + _BOX_W / 2}" y="{y + 25}" font-size="9" text-anchor="middle" fill="#1f2328">{_e(note)}</text>'
                if note
                else ""
            )
            + f"<title>{_name(data.get('name', n))} ({_name(lane_of[n])}){_e(extra)}</title></g>"
        )
    out.append("</svg>")
    return "".join(out)
