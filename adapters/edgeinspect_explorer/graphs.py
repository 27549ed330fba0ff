"""Build Model Explorer graphs from what edgeinspect reads and measures.

.pte: one graph per method. Every node sits in the layer of its partition (``CPU_input``,
``EthosUBackend_0``, ``CPU_island_0``, ...; see :func:`edgeinspect.analysis.partitions`),
is coloured by its device, and carries its instruction index, device and (for a delegate call)
backend, target, payload size and compile specs. The delegate layers hold the operators inside
the delegate when its payload says what they are (:mod:`edgeinspect.stitch`); otherwise the
delegate is one node and its layer says why its operators are unknown. Edges whose ends run
on different devices are boundaries: their tensor metadata says how many bytes cross, and an
edge overlay labels them on the canvas. Each layer's attributes carry the metrics of its
partition; the root carries the method's.

.tosa: one graph per basic block, CONST operators folded into the attributes of the operators
that read them, so the graph shows the operators that compute.
"""

from __future__ import annotations

import os
import re
from typing import Any

from model_explorer import graph_builder as gb

from edgeinspect.analysis import boundary_bytes, cpu_islands, delegated_subgraphs, transitions
from edgeinspect.analysis.fragmentation import is_glue
from edgeinspect.analysis.partitions import partitions
from edgeinspect.formats.payloads import PayloadDecoder, unknown_ops_reason
from edgeinspect.report.overlays import device_color, explorer_graph, node_id, node_namespaces
from edgeinspect.textsafe import NAME_LIMIT, TEXT_LIMIT, abbreviate, short_key

__all__ = ["BOUNDARY_OVERLAY", "file_label", "graph_id", "pte_graphs", "shade", "tint", "tosa_graphs"]

#: Name of the edge overlay that labels boundary edges with their bytes.
BOUNDARY_OVERLAY = "boundary bytes"


def tint(color: str, amount: float = 0.8) -> str:
    """Mix a ``#rrggbb`` colour with white (``amount`` of white), for readable node fills."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(c + (255 - c) * amount) for c in (r, g, b)]
    return "#" + "".join(f"{c:02x}" for c in mix)


def shade(color: str, amount: float = 0.3) -> str:
    """Mix a ``#rrggbb`` colour with black; node borders use it so the overlay colours stay unique."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * (1 - amount)):02x}" for c in (r, g, b))


def _fmt_bytes(n: int | None) -> str:
    return "unknown" if n is None else f"{n:,} B"


def _tensor_text(data: dict[str, Any]) -> str:
    shape = data.get("shape")
    dims = ",".join(str(d) for d in shape) if shape is not None else "?"
    return f"{data.get('dtype', '?')}[{dims}]"


def _kv(key: str, value: object) -> gb.KeyValue:
    # Keys and values quote names from the file: bounded, so a long name on every node cannot
    # blow the served graph up (the page escapes what it shows).
    return gb.KeyValue(key=short_key(key), value=abbreviate(str(value), TEXT_LIMIT))


def _name(value: object) -> str:
    """A name from the file shown on a node (operator, backend, tensor): abbreviated."""
    return abbreviate(str(value))


def pte_graphs(program: Any) -> list[gb.Graph]:
    """One Model Explorer graph per method of a loaded .pte (graph id = method name)."""
    return [_method_graph(program, m) for m in program.methods]


def graph_id(method_name: str) -> str:
    """The graph id of a method: its name (shortened when long; the overlays use the same id)."""
    return short_key(method_name)


def _method_graph(program: Any, method: Any) -> gb.Graph:
    decode = PayloadDecoder()
    graph = explorer_graph(method, decode=decode)
    parts = partitions(method)
    namespaces = node_namespaces(method, graph, parts)
    islands = cpu_islands(method)
    island_of = {i: p.island for p in parts if p.island is not None for i in p.instructions}
    delegates = {d.index: d for d in method.delegates}
    devices = dict(graph.nodes(data="device"))

    nodes: list[gb.GraphNode] = []
    boundary_edges: list[gb.Edge] = []
    for key, data in graph.nodes(data=True):
        nid = node_id(key)
        device = data.get("device")
        attrs = [_kv("kind", data.get("kind")), _kv("device", device or "-")]
        if data.get("kind") not in ("input", "output"):
            attrs.append(_kv("instruction", data.get("index")))
        if data.get("name"):
            attrs.append(_kv("name", _name(data.get("name"))))
        if data.get("partition") is not None:
            attrs.append(_kv("delegate", data.get("partition")))
        delegate = delegates.get(data.get("delegate")) if data.get("kind") == "delegate" else None
        if delegate is not None:
            attrs += [
                _kv("delegate", delegate.index),
                _kv("backend", _name(delegate.backend_id)),
                _kv("target", delegate.target or "-"),
                _kv("payload", f"{_fmt_bytes(delegate.payload_size)} ({delegate.location})"),
            ]
            attrs += [_kv(f"compile_spec.{k}", v) for k, v in delegate.specs.items()]
        for c in data.get("consts", ()):
            shape = ",".join(str(d) for d in c.get("shape") or ())
            attrs.append(_kv(f"const.{c['tensor']}", f"{c.get('op')} {c.get('dtype')}[{shape}], {_fmt_bytes(c.get('bytes'))}"))
        k = island_of.get(data.get("index")) if data.get("kind") == "kernel" and data.get("partition") is None else None
        if k is not None:
            attrs.append(_kv("island", f"{k} ({'glue' if is_glue(str(data.get('name', ''))) else 'cause'})"))

        incoming = []
        inputs_meta = []
        for src, _, ekey, edata in graph.in_edges(key, keys=True, data=True):
            value = short_key(str(edata.get("value", ekey)))
            incoming.append(gb.IncomingEdge(sourceNodeId=node_id(src), sourceNodeOutputId=value, targetNodeInputId=value))
            meta = [
                _kv("__tensor_tag", f"v{value}"),
                _kv("tensor_shape", _tensor_text(edata)),
                _kv("bytes", _fmt_bytes(edata.get("bytes"))),
            ]
            if devices.get(src) != device:
                meta.append(_kv("boundary", f"{devices.get(src)} -> {device}: {_fmt_bytes(edata.get('bytes'))}"))
                boundary_edges.append(gb.Edge(sourceNodeId=node_id(src), targetNodeId=nid, label=_fmt_bytes(edata.get("bytes"))))
            inputs_meta.append(gb.MetadataItem(id=value, attrs=meta))

        outputs_meta: dict[str, gb.MetadataItem] = {}
        for _, dst, ekey, edata in graph.out_edges(key, keys=True, data=True):
            value = short_key(str(edata.get("value", ekey)))
            item = outputs_meta.get(value)
            if item is None:
                item = gb.MetadataItem(
                    id=value,
                    attrs=[
                        _kv("__tensor_tag", f"v{value}"),
                        _kv("tensor_shape", _tensor_text(edata)),
                        _kv("bytes", _fmt_bytes(edata.get("bytes"))),
                    ],
                )
                outputs_meta[value] = item
            if devices.get(dst) != device:
                item.attrs.append(_kv("boundary", f"{device} -> {devices.get(dst)}: {_fmt_bytes(edata.get('bytes'))}"))

        color = device_color(device)
        nodes.append(
            gb.GraphNode(
                id=nid,
                label=_name(_label(data)),
                namespace=short_key(namespaces.get(key, "")),
                attrs=attrs,
                incomingEdges=incoming,
                inputsMetadata=inputs_meta,
                outputsMetadata=list(outputs_meta.values()),
                style=gb.GraphNodeStyle(backgroundColor=tint(color), borderColor=shade(color), hoveredBorderColor=color),
            )
        )

    group_attrs = _group_attributes(method, graph, parts, namespaces, islands, decode)
    configs = [
        gb.GroupNodeConfig(
            namespaceRegex=f"^{re.escape(short_key(p.namespace))}$",
            backgroundColor=tint(device_color(p.device), 0.9),
            borderColor=shade(device_color(p.device)),
            textColor="#202020",
        )
        for p in parts
    ]
    tasks = None
    if boundary_edges:
        tasks = gb.TasksData(
            edgeOverlaysDataListLeftPane=[
                gb.EdgeOverlaysData(
                    name="edgeinspect",
                    overlays=[
                        gb.EdgeOverlay(name=BOUNDARY_OVERLAY, edgeColor="#d62728", edges=boundary_edges, edgeWidth=3, edgeLabelFontSize=9)
                    ],
                )
            ]
        )
    return gb.Graph(
        id=graph_id(method.name),
        nodes=nodes,
        groupNodeAttributes=group_attrs,
        groupNodeConfigs=configs,
        tasksData=tasks,
    )


def _label(data: dict[str, Any]) -> str:
    """Short node label: the operator without its ``aten::`` namespace and ``.out`` overload;
    a delegate call is its backend and delegate index (``EthosUBackend #1``)."""
    name = str(data.get("name", ""))
    if len(name) > NAME_LIMIT:
        return abbreviate(name)  # a long (hostile) name is shown abbreviated, never split whole
    if data.get("kind") == "delegate" and data.get("delegate") is not None:
        return f"{name} #{data['delegate']}"
    if data.get("kind") == "kernel":
        name = name.split("::", 1)[-1]
        if "." in name:
            name = name.rsplit(".", 1)[0]
    return name or str(data.get("kind", "node"))


def _group_attributes(
    method: Any, graph: Any, parts: list[Any], namespaces: dict[object, str], islands: list[Any], decode: PayloadDecoder
) -> dict[str, dict[str, str]]:
    """Metrics on every layer (the partition's) and on the root (the method's)."""
    subgraphs = delegated_subgraphs(method)
    out: dict[str, dict[str, str]] = {
        "": {
            "method": method.name,
            "transitions": str(transitions(method)),
            "boundary_bytes": f"{boundary_bytes(method):,}",
            "delegated_subgraphs": ", ".join(f"{_name(k)}={v}" for k, v in subgraphs.items()) or "none",
            "cpu_islands": str(len(islands)),
            "partitions": " -> ".join(_name(p.namespace) for p in parts),
        }
    }
    members: dict[str, list[object]] = {}
    for key, ns in namespaces.items():
        members.setdefault(ns, []).append(key)
    devices = dict(graph.nodes(data="device"))
    for p in parts:
        keys = members.get(p.namespace, [])
        inside = set(keys)
        bytes_in: dict[str, int] = {}
        bytes_out: dict[str, int] = {}
        for key in keys:
            for src, _, ekey, edata in graph.in_edges(key, keys=True, data=True):
                if src not in inside and devices.get(src) != p.device:
                    bytes_in[str(edata.get("value", ekey))] = edata.get("bytes") or 0
            for _, dst, ekey, edata in graph.out_edges(key, keys=True, data=True):
                if dst not in inside and devices.get(dst) != p.device:
                    bytes_out[str(edata.get("value", ekey))] = edata.get("bytes") or 0
        attrs = {
            "device": p.device,
            "instructions": ", ".join(str(i) for i in p.instructions),
            "nodes": str(len(keys)),
            "bytes_in_from_other_devices": f"{sum(bytes_in.values()):,}",
            "bytes_out_to_other_devices": f"{sum(bytes_out.values()):,}",
        }
        if p.delegate is not None:
            d = next((d for d in method.delegates if d.index == p.delegate), None)
            if d is not None:
                attrs.update(
                    {
                        "delegate": str(d.index),
                        "backend": _name(d.backend_id),
                        "target": _name(d.target or "-"),
                        "payload_bytes": f"{d.payload_size:,}",
                    }
                )
            inner: dict[str, int] = {}
            for key in keys:
                data = graph.nodes[key]
                if data.get("partition") is not None:
                    inner[str(data.get("name"))] = inner.get(str(data.get("name")), 0) + 1
            if inner:
                attrs["operators_inside"] = ", ".join(f"{_name(k)} x{v}" for k, v in inner.items())
            else:
                reason = unknown_ops_reason(d, decode) if d is not None else "operators unknown: the delegate index is out of range"
                attrs["operators_inside"] = reason or "none"
        if p.island is not None and p.island < len(islands):
            isl = islands[p.island]
            attrs.update(
                {
                    "island": str(p.island),
                    "between_instructions": f"{isl.between[0]} and {isl.between[1]}",
                    "causes": ", ".join(_name(c) for c in isl.causes) or "glue only",
                    "island_bytes_in": f"{isl.bytes_in:,}",
                    "island_bytes_out": f"{isl.bytes_out:,}",
                }
            )
        out[short_key(p.namespace)] = {k: abbreviate(v, TEXT_LIMIT) for k, v in attrs.items()}
    out[""] = {k: abbreviate(v, TEXT_LIMIT) for k, v in out[""].items()}
    return out


def file_label(path: str) -> str:
    """Collection label: the file's base name."""
    return os.path.basename(path)


#: Colour of TOSA operators in a .tosa file (the TOSABackend colour).
TOSA_COLOR = device_color("TOSABackend")


def tosa_graphs(tosa: Any) -> list[gb.Graph]:
    """One Model Explorer graph per basic block of a loaded .tosa, CONST operators folded.

    A CONST (or CONST_SHAPE) operator becomes ``const.<tensor>`` attributes (shape, dtype,
    bytes) on each operator that reads it; the graph keeps the operators that compute.
    Graph ids are ``<region>/<block>``, or the block name for the single main block.
    """
    blocks = list(tosa.blocks)
    return [_block_graph(tosa, region, block, single=len(blocks) == 1) for region, block in blocks]


def _block_graph(tosa: Any, region: Any, block: Any, *, single: bool) -> gb.Graph:
    graph_id = short_key(block.name) if single else f"{short_key(region.name)}/{short_key(block.name)}"
    tensors = block.tensor_map
    shapes = {s.name: s for s in block.shapes}
    producer: dict[str, str] = {}
    folded: dict[str, Any] = {}
    nodes: list[gb.GraphNode] = []
    style = gb.GraphNodeStyle(backgroundColor=tint(TOSA_COLOR), borderColor=shade(TOSA_COLOR), hoveredBorderColor=TOSA_COLOR)
    io_style = gb.GraphNodeStyle(backgroundColor=tint(device_color("CPU")), borderColor=shade(device_color("CPU")))

    def tensor_meta(name: str) -> gb.MetadataItem:
        t = tensors.get(name)
        attrs = [_kv("__tensor_tag", short_key(name))]
        if t is not None:
            attrs += [_kv("tensor_shape", f"{t.dtype}[{','.join(str(d) for d in t.shape)}]"), _kv("bytes", _fmt_bytes(t.nbytes))]
        elif name in shapes:
            attrs.append(_kv("tensor_shape", f"SHAPE[{shapes[name].rank}]"))
        return gb.MetadataItem(id=short_key(name), attrs=attrs)

    for k, name in enumerate(block.inputs):
        nid = f"input:{k}"
        producer[name] = nid
        nodes.append(
            gb.GraphNode(
                id=nid, label=f"input {k}", attrs=[_kv("tensor", _name(name))], outputsMetadata=[tensor_meta(name)], style=io_style
            )
        )
    for op in block.operators:
        if op.is_const:
            for out in op.outputs:
                folded[out] = op
            continue
        nid = str(op.index)
        for out in op.outputs:
            producer[out] = nid
    for op in block.operators:
        if op.is_const:
            continue
        nid = str(op.index)
        attrs = [_kv("operator", op.op), _kv("index", op.index)]
        attrs += [_kv(f"attr.{k}", v) for k, v in op.attributes.items()]
        if op.location:
            attrs.append(_kv("location", op.location))
        incoming = []
        inputs_meta = []
        for name in op.inputs:
            if name in folded:
                t = tensors.get(name)
                desc = f"{folded[name].op}"
                if t is not None:
                    desc += f" {t.dtype}[{','.join(str(d) for d in t.shape)}], {_fmt_bytes(t.nbytes)}"
                elif name in shapes:
                    desc += f" SHAPE[{shapes[name].rank}]"
                attrs.append(_kv(f"const.{name}", desc))
                continue
            src = producer.get(name)
            if src is not None:
                edge_id = short_key(name)
                incoming.append(gb.IncomingEdge(sourceNodeId=src, sourceNodeOutputId=edge_id, targetNodeInputId=edge_id))
            inputs_meta.append(tensor_meta(name))
        nodes.append(
            gb.GraphNode(
                id=nid,
                label=op.op,
                attrs=attrs,
                incomingEdges=incoming,
                inputsMetadata=inputs_meta,
                outputsMetadata=[tensor_meta(o) for o in op.outputs],
                subgraphIds=[f"{short_key(r)}/{short_key(b.name)}" for r in op.regions for b in _region_blocks(tosa, r)],
                style=style,
            )
        )
    for k, name in enumerate(block.outputs):
        src = producer.get(name)
        edge_id = short_key(name)
        incoming = [gb.IncomingEdge(sourceNodeId=src, sourceNodeOutputId=edge_id, targetNodeInputId=edge_id)] if src else []
        nodes.append(
            gb.GraphNode(
                id=f"output:{k}",
                label=f"output {k}",
                attrs=[_kv("tensor", _name(name))],
                incomingEdges=incoming,
                inputsMetadata=[tensor_meta(name)],
                style=io_style,
            )
        )
    computed = [op.op for op in block.operators if not op.is_const]
    counts: dict[str, int] = {}
    for name in computed:
        counts[name] = counts.get(name, 0) + 1
    root = {
        "tosa_version": tosa.version_string,
        "region": _name(region.name),
        "block": _name(block.name),
        "operators": str(len(computed)),
        "const_operators_folded": str(len(block.operators) - len(computed)),
        "constant_bytes": f"{sum(t.nbytes or 0 for n, t in tensors.items() if n in folded):,}",
        "histogram": ", ".join(f"{k} x{v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    return gb.Graph(id=graph_id, nodes=nodes, groupNodeAttributes={"": root})


def _region_blocks(tosa: Any, region_name: str) -> tuple[Any, ...]:
    for r in tosa.regions:
        if r.name == region_name:
            return r.blocks
    return ()
