"""Build Model Explorer graphs from what edgeinspect reads and measures, as JSON-ready dicts.

.pte: one graph per method. Every node sits in a layer (:mod:`edgeinspect_explorer.layers`):
its partition (``CPU_input``, ``EthosUBackend_0``, ``CPU_island_0``, ...; see
:func:`edgeinspect.analysis.partitions.partitions`), inside a folded repetition and nested
blocks when the program is long -- or, with ``group_by="modules"``, the module of the user's
model it came from. Nodes are coloured by device and carry their instruction index, device
and (for a delegate call) backend, target, payload size and compile specs. Delegate layers
hold the operators inside the delegate when its payload says what they are
(:mod:`edgeinspect.stitch`); otherwise the delegate is one node and its layer says why. Edges
whose ends run on different devices are boundaries: their tensor metadata says how many bytes
cross, and two edge overlays label them (between layers on the collapsed timeline, and between
nodes). Each layer's attributes carry the metrics of what it holds (measured time and predicted
cycles summed when given); the root carries the method's.

.tosa: one graph per basic block, CONST operators folded into the attributes of the operators
that read them, long blocks nested the same way.

The graphs are plain dicts in Model Explorer's graph format (what its ``graph_builder``
dataclasses serialise to), so the server sends them without Model Explorer's Python package
and without a conversion pass; only what the page shows is included.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from edgeinspect.analysis import boundary_bytes, cpu_islands, delegated_subgraphs, transitions
from edgeinspect.analysis.fragmentation import is_glue
from edgeinspect.analysis.partitions import partitions
from edgeinspect.formats.payloads import PayloadDecoder, unknown_ops_reason
from edgeinspect.report.overlays import delegate_times, device_color, explorer_graph, node_cycles, node_id, node_namespaces, node_times
from edgeinspect.textsafe import NAME_LIMIT, TEXT_LIMIT, abbreviate, short_key
from edgeinspect_explorer.layers import LAYER_LIMIT, Layer, component, module_layers, nest, partition_layers, short_op

__all__ = [
    "BOUNDARY_LAYERS_OVERLAY",
    "BOUNDARY_OVERLAY",
    "EDGE_LABELS_UP_TO",
    "GROUP_BY",
    "convert_json",
    "convert_model",
    "file_label",
    "graph_id",
    "group_id",
    "initial_selection",
    "pte_graphs",
    "shade",
    "tint",
    "tosa_graphs",
]

#: Name of the edge overlay that labels boundary edges between nodes with their bytes.
BOUNDARY_OVERLAY = "boundary bytes"
#: Name of the edge overlay that labels the bytes crossing between the top-level layers.
BOUNDARY_LAYERS_OVERLAY = "boundary bytes between layers"
#: What the layers of a .pte graph can be.
GROUP_BY = ("partitions", "modules")
#: Nodes up to which edges are labelled with their tensor's shape (past it, the side panel says it).
EDGE_LABELS_UP_TO = 2000
#: Node-level boundary edges past which the overlay shows only those of the selected node.
_ALL_BOUNDARIES_UP_TO = 200


def tint(color: str, amount: float = 0.8) -> str:
    """Mix a ``#rrggbb`` colour with white (``amount`` of white), for readable node fills."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(c + (255 - c) * amount) for c in (r, g, b)]
    return "#" + "".join(f"{c:02x}" for c in mix)


def shade(color: str, amount: float = 0.3) -> str:
    """Mix a ``#rrggbb`` colour with black; node borders use it so the overlay colours stay unique."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * (1 - amount)):02x}" for c in (r, g, b))


def group_id(namespace: str) -> str:
    """Model Explorer's id of the layer with this namespace (how its web app names group nodes)."""
    return f"{namespace}___group___"


def _style(device: Any) -> dict[str, str]:
    color = device_color(device)
    return {"backgroundColor": tint(color), "borderColor": shade(color)}


def _fmt_bytes(n: int | None) -> str:
    return "unknown" if n is None else f"{n:,} B"


def _fmt_num(n: float) -> str:
    return f"{n:,.0f}" if float(n).is_integer() or abs(n) >= 100 else f"{n:,.2f}"


def _tensor_text(data: Mapping[str, Any]) -> str:
    shape = data.get("shape")
    dims = ",".join(str(d) for d in shape) if shape is not None else "?"
    return f"{data.get('dtype', '?')}[{dims}]"


def _kv(key: str, value: object) -> dict[str, str]:
    # Keys and values quote names from the file: bounded, so a long name on every node cannot
    # blow the served graph up (the page escapes what it shows).
    return {"key": short_key(key), "value": abbreviate(str(value), TEXT_LIMIT)}


def _name(value: object) -> str:
    """A name from the file shown on a node (operator, backend, tensor): abbreviated."""
    return abbreviate(str(value))


def graph_id(method_name: str) -> str:
    """The graph id of a method: its name (shortened when long; the overlays use the same id)."""
    return short_key(method_name)


def file_label(path: str) -> str:
    """Collection label: the file's base name."""
    return os.path.basename(path)


def pte_graphs(program: Any, *, evidence: Any = None, group_by: str = "partitions", serialize: bool = False) -> list[dict[str, Any]]:
    """One Model Explorer graph per method of a loaded .pte (graph id = method name).

    ``evidence`` (:func:`edgeinspect.gather`) adds measured time and predicted cycles to the
    nodes and layers, and the module hierarchy that ``group_by="modules"`` draws as layers.
    ``serialize``: each node is turned into its JSON text as soon as it is built (the server's
    way: a big graph never holds all its node dicts at once; see :func:`convert_json`).
    """
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {GROUP_BY}, not {group_by!r}")
    return [_method_graph(program, m, evidence=evidence, group_by=group_by, serialize=serialize) for m in program.methods]


def convert_model(model: Any, path: str, *, evidence: Any = None, group_by: str = "partitions") -> dict[str, Any]:
    """The whole ``convert`` answer for a loaded .pte or .tosa: ``{"graphCollections": [...]}``."""
    from edgeinspect.model import Program

    graphs = pte_graphs(model, evidence=evidence, group_by=group_by) if isinstance(model, Program) else tosa_graphs(model)
    return {"graphCollections": [{"label": file_label(path), "graphs": graphs}]}


def _dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def convert_json(model: Any, path: str, *, evidence: Any = None, group_by: str = "partitions") -> tuple[bytes, list[dict[str, Any]]]:
    """:func:`convert_model` as the JSON bytes the server sends, built node by node (the node
    dicts of a big graph are never all alive at once). Also returns the graphs without their
    nodes (for :func:`initial_selection`)."""
    from edgeinspect.model import Program

    graphs = pte_graphs(model, evidence=evidence, group_by=group_by, serialize=True) if isinstance(model, Program) else tosa_graphs(model)
    parts = []
    for g in graphs:
        nodes = g.pop("nodes")
        head = _dumps(g)
        texts = nodes if all(isinstance(n, str) for n in nodes) else [_dumps(n) for n in nodes]
        parts.append(head[:-1] + (',"nodes":[' if len(head) > 2 else '"nodes":[') + ",".join(texts) + "]}")
    body = '{"graphCollections":[{"label":' + _dumps(file_label(path)) + ',"graphs":[' + ",".join(parts) + "]}]}"
    return body.encode("utf-8", "backslashreplace"), graphs


def initial_selection(graph: Mapping[str, Any]) -> str | None:
    """The layer to select when the page opens: the first one with a boundary, so the edge
    overlay of the bytes between layers is drawn at once (Model Explorer draws an edge overlay
    around the selected node only)."""
    for data in graph.get("tasksData", {}).get("edgeOverlaysDataListLeftPane", []):
        for overlay in data["overlays"]:
            if overlay["name"] == BOUNDARY_LAYERS_OVERLAY and overlay["edges"]:
                return str(overlay["edges"][0]["sourceNodeId"])
    return None


# -- a method ---------------------------------------------------------------------------------
def _info(graph: Any) -> dict[object, tuple[int | None, str]]:
    """Node key -> (instruction index, operator name), for layer names and signatures."""
    out: dict[object, tuple[int | None, str]] = {}
    for key, data in graph.nodes(data=True):
        kind = data.get("kind")
        if kind in ("input", "output"):
            out[key] = (None, str(kind))
        elif data.get("partition") is not None:
            out[key] = (data.get("instruction"), str(data.get("name", "")))
        else:
            out[key] = (data.get("index"), str(data.get("name", "")))
    return out


def _modules_of(method: Any, evidence: Any, graph: Any) -> Any:
    """Node key -> its module hierarchy as ``(name, label, module path)`` (from provenance)."""
    from edgeinspect.model.source import module_label

    sources = evidence.method_sources(method.name) if evidence is not None else None
    if sources is None:
        return lambda key: ()
    payload = getattr(sources, "payload", {}) or {}
    cache: dict[int, tuple[tuple[str, str, str], ...]] = {}

    def hierarchy(source: Any) -> tuple[tuple[str, str, str], ...]:
        if source is None:
            return ()
        got = cache.get(id(source))
        if got is None:
            # The root module is a layer too, named by its type (the model's class).
            got = tuple(
                (m.path.rsplit(".", 1)[-1], module_label(m.type), m.path) if m.path else (module_label(m.type), "", "")
                for m in getattr(source, "modules", ())
            )
            cache[id(source)] = got
        return got

    def modules_of(key: object) -> tuple[tuple[str, str, str], ...]:
        data = graph.nodes[key]
        if data.get("kind") in ("input", "output"):
            return ()
        d = data.get("partition")
        if d is not None:
            inner = payload.get(d, {}).get(data.get("index"))
            if inner is not None:
                return hierarchy(inner)
            return hierarchy(sources.instructions.get(data.get("instruction")))
        return hierarchy(sources.instructions.get(data.get("index")))

    return modules_of


def _label(data: Mapping[str, Any]) -> str:
    """Short node label: the operator without its ``aten::`` namespace and ``.out`` overload;
    a delegate call is its backend and delegate index (``EthosUBackend #1``)."""
    name = str(data.get("name", ""))
    if len(name) > NAME_LIMIT:
        return abbreviate(name)  # a long (hostile) name is shown abbreviated, never split whole
    if data.get("kind") == "delegate" and data.get("delegate") is not None:
        return f"{name} #{data['delegate']}"
    if data.get("kind") == "kernel":
        return short_op(name)
    return name or str(data.get("kind", "node"))


def _method_graph(program: Any, method: Any, *, evidence: Any, group_by: str, serialize: bool = False) -> dict[str, Any]:
    decode = PayloadDecoder()
    graph = explorer_graph(method, decode=decode)
    parts = partitions(method)
    part_of = node_namespaces(method, graph, parts)
    islands = cpu_islands(method)
    island_of = {i: p.island for p in parts if p.island is not None for i in p.instructions}
    delegates = {d.index: d for d in method.delegates}
    devices = dict(graph.nodes(data="device"))
    info = _info(graph).__getitem__
    profile = evidence.profile(method.name) if evidence is not None else None
    estimates = evidence.method_estimates(method.name) if evidence is not None else None
    times = node_times(graph, profile)
    cycles = node_cycles(graph, estimates)
    call_times = delegate_times(method, profile)

    # -- the layers ----------------------------------------------------------------------
    keys = list(graph.nodes)
    if group_by == "modules":
        top_nodes, layers = module_layers(keys, _modules_of(method, evidence, graph), info)
    else:
        members: dict[str, list[object]] = {}
        top_nodes = []
        for key in keys:
            ns = part_of.get(key, "")
            if ns:
                members.setdefault(ns, []).append(key)
            else:
                top_nodes.append(key)
        layers = partition_layers(parts, members, info)
    if len(top_nodes) + len(layers) > LAYER_LIMIT:  # many method inputs/outputs: a layer of their own
        io = [k for k in top_nodes if info(k)[1] in ("input", "output")]
        rest = [k for k in top_nodes if k not in set(io)]
        io_layer = Layer("inputs and outputs", "block", nodes=io)
        io_layer.nodes, io_layer.children = nest(
            io, name=lambda part: f"{len(part)} inputs/outputs", make_leaf=lambda part: (list(part), [])
        )
        top_nodes, layers = rest, [io_layer, *layers]
    namespace: dict[object, str] = dict.fromkeys(top_nodes, "")
    layer_of_ns: dict[str, Layer] = {}
    top_of_ns: dict[str, str] = {}
    for top in layers:
        for path, layer in top.walk():
            layer_of_ns[path] = layer
            top_of_ns[path] = top.name
            for key in layer.nodes:
                namespace[key] = path

    # -- the nodes -------------------------------------------------------------------------
    nodes: list[Any] = []
    boundary_edges: list[dict[str, str]] = []
    layer_bytes: dict[tuple[str, str], int] = {}
    styles: dict[Any, dict[str, str]] = {}
    shapes: dict[tuple[Any, ...], str] = {}
    # Model Explorer labels every edge with its tensor's "tensor_shape": past a few thousand
    # nodes the labels cannot be read and cost most of the layout (20,000 nodes: expand-all in
    # about half the time without them), so there the shape is kept for the side panel only.
    shape_key = "tensor_shape" if graph.number_of_nodes() <= EDGE_LABELS_UP_TO else "shape"

    def tensor_text(edata: Mapping[str, Any]) -> str:
        shape = edata.get("shape")
        k = (edata.get("dtype"), None if shape is None else tuple(shape))
        text = shapes.get(k)
        if text is None:
            text = shapes[k] = _tensor_text(edata)
        return text

    for key, data in graph.nodes(data=True):
        nid = node_id(key)
        device = data.get("device")
        kind = data.get("kind")
        attrs = [_kv("device", device or "-")]
        if kind not in ("input", "output"):
            if data.get("partition") is not None:
                attrs.append(_kv("instruction", data.get("instruction")))
                attrs.append(_kv("operator_index", data.get("index")))
            else:
                attrs.append(_kv("instruction", data.get("index")))
        if data.get("name") and kind != "input" and kind != "output":
            attrs.append(_kv("name", _name(data.get("name"))))
        if data.get("partition") is not None:
            attrs.append(_kv("delegate", data.get("partition")))
        delegate = delegates.get(data.get("delegate")) if kind == "delegate" else None
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
        k = island_of.get(data.get("index")) if kind == "kernel" else None
        if k is not None:
            attrs.append(_kv("island", f"{k} ({'glue' if is_glue(str(data.get('name', ''))) else 'cause'})"))
        if key in times:
            attrs.append(_kv("time", f"{_fmt_num(times[key])} {getattr(profile, 'unit', 'ticks')} (median per run)"))
        if key in cycles:
            attrs.append(_kv("cycles", f"{cycles[key]:,} (Vela, predicted)"))
        node: dict[str, Any] = {"id": nid, "label": _name(_label(data)), "namespace": namespace.get(key, ""), "attrs": attrs}

        incoming = []
        crossing_in = []
        for src, _, ekey, edata in graph.in_edges(key, keys=True, data=True):
            value = short_key(str(edata.get("value", ekey)))
            incoming.append({"sourceNodeId": node_id(src), "sourceNodeOutputId": value, "targetNodeInputId": value})
            if devices.get(src) != device:
                crossing = f"{devices.get(src)} -> {device}: {_fmt_bytes(edata.get('bytes'))}"
                crossing_in.append({"id": value, "attrs": [_kv("boundary", crossing)]})
                boundary_edges.append({"sourceNodeId": node_id(src), "targetNodeId": nid, "label": _fmt_bytes(edata.get("bytes"))})
                a, b = top_of_ns.get(namespace.get(src, ""), ""), top_of_ns.get(namespace.get(key, ""), "")
                if a and b and a != b:
                    layer_bytes[(a, b)] = layer_bytes.get((a, b), 0) + (edata.get("bytes") or 0)
        if incoming:
            node["incomingEdges"] = incoming
        if crossing_in:
            node["inputsMetadata"] = crossing_in

        outputs: dict[str, dict[str, Any]] = {}
        for _, dst, ekey, edata in graph.out_edges(key, keys=True, data=True):
            value = short_key(str(edata.get("value", ekey)))
            item = outputs.get(value)
            if item is None:
                item = {
                    "id": value,
                    "attrs": [
                        _kv("__tensor_tag", f"v{value}"),
                        _kv(shape_key, tensor_text(edata)),
                        _kv("bytes", _fmt_bytes(edata.get("bytes"))),
                    ],
                }
                outputs[value] = item
            if devices.get(dst) != device:
                item["attrs"].append(_kv("boundary", f"{device} -> {devices.get(dst)}: {_fmt_bytes(edata.get('bytes'))}"))
        if outputs:
            node["outputsMetadata"] = list(outputs.values())
        if device != "CPU":  # CPU nodes keep Model Explorer's own look; accelerators stand out
            node["style"] = styles.get(device) or styles.setdefault(device, _style(device))
        nodes.append(_dumps(node) if serialize else node)

    out: dict[str, Any] = {
        "id": graph_id(method.name),
        "nodes": nodes,
        "groupNodeAttributes": _group_attributes(
            method,
            graph,
            parts,
            layers,
            namespace,
            islands,
            decode,
            profile=profile,
            times=times,
            cycles=cycles,
            call_times=call_times,
            estimates=estimates,
        ),
        "groupNodeConfigs": _group_configs(parts),
    }
    overlays = []
    order = {top.name: i for i, top in enumerate(layers)}  # execution order of the top-level layers
    if layer_bytes:
        overlays.append(
            {
                "name": BOUNDARY_LAYERS_OVERLAY,
                "edgeColor": "#d62728",
                "edgeWidth": 3,
                "edgeLabelFontSize": 9,
                "edges": [
                    {"sourceNodeId": group_id(a), "targetNodeId": group_id(b), "label": _fmt_bytes(n)}
                    for (a, b), n in sorted(layer_bytes.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]]))
                ],
                "showEdgesConnectedToSelectedNodeOnly": len(layer_bytes) > LAYER_LIMIT,
            }
        )
    if boundary_edges:
        overlays.append(
            {
                "name": BOUNDARY_OVERLAY,
                "edgeColor": "#d62728",
                "edgeWidth": 3,
                "edgeLabelFontSize": 9,
                "edges": boundary_edges,
                # Past a few hundred, only the selected node's (drawing all expands every layer).
                "showEdgesConnectedToSelectedNodeOnly": len(boundary_edges) > _ALL_BOUNDARIES_UP_TO,
            }
        )
    if overlays:
        out["tasksData"] = {"edgeOverlaysDataListLeftPane": [{"name": "edgeinspect", "overlays": overlays}]}
    return out


def _group_configs(parts: list[Any]) -> list[dict[str, str]]:
    """Layer colours: a partition's layer in its device colour (matched by name, at any depth);
    folds and blocks neutral."""
    configs = []
    by_device: dict[str, list[str]] = {}
    for p in parts:
        by_device.setdefault(p.device, []).append(re.escape(component(p.namespace, 160)))
    for device, names in by_device.items():
        # One rule per device: a few regexes, whatever the number of partitions.
        pattern = "|".join(sorted(set(names))) if len(names) <= 8 else _name_family(names)
        configs.append(
            {
                "namespaceRegex": f"(^|/)({pattern})$",
                "backgroundColor": tint(device_color(device), 0.9),
                "borderColor": shade(device_color(device)),
                "textColor": "#202020",
            }
        )
    return configs


def _name_family(names: list[str]) -> str:
    """A regex for many partition names of one device: their common prefixes with the index as digits."""
    families = sorted({re.sub(r"\d+", r"\\d+", n) for n in names})
    return "|".join(families)


def _group_attributes(
    method: Any,
    graph: Any,
    parts: list[Any],
    layers: list[Layer],
    namespace: dict[object, str],
    islands: list[Any],
    decode: PayloadDecoder,
    *,
    profile: Any,
    times: dict[object, float],
    cycles: dict[object, int],
    call_times: dict[int, float],
    estimates: Mapping[int, Any] | None,
) -> dict[str, dict[str, str]]:
    """Metrics on every layer (what it holds) and on the root (the method's)."""
    subgraphs = delegated_subgraphs(method)
    root = {
        "method": method.name,
        "transitions": str(transitions(method)),
        "boundary_bytes": f"{boundary_bytes(method):,}",
        "delegated_subgraphs": ", ".join(f"{_name(k)}={v}" for k, v in subgraphs.items()) or "none",
        "cpu_islands": str(len(islands)),
        "partitions": " -> ".join(_name(p.namespace) for p in parts),
    }
    unit = getattr(profile, "unit", "ticks")
    execute = profile.execute.median_ticks if profile is not None and profile.execute is not None else None
    if profile is not None:
        root["time"] = f"{_fmt_num(execute)} {unit} (median execute per run, {profile.runs} runs)" if execute else "unknown"
    devices = dict(graph.nodes(data="device"))
    out: dict[str, dict[str, str]] = {"": root}

    def time_of(layer: Layer) -> float | None:
        p = layer.partition
        if p is not None and p.delegate is not None:
            calls = [call_times[i] for i in p.instructions if i in call_times]
            return sum(calls) if calls else None
        values = [times[k] for k in layer.nodes if k in times] + [v for v in (time_of(c) for c in layer.children) if v is not None]
        return sum(values) if values else None

    def cycles_of(layer: Layer) -> int | None:
        p = layer.partition
        if p is not None and p.delegate is not None and estimates:
            vela = getattr(estimates.get(p.delegate), "estimate", None)
            if vela is not None:
                return int(vela.cycles_total)
        values = [cycles[k] for k in layer.nodes if k in cycles] + [v for v in (cycles_of(c) for c in layer.children) if v is not None]
        return sum(values) if values else None

    island_of = {i: k for k, isl in enumerate(islands) for i in isl.instructions}

    for top in layers:
        for path, layer in top.walk():
            keys = layer.all_nodes()
            attrs = dict(layer.attrs)
            attrs["nodes"] = str(len(keys))
            indices = sorted({i for i in (_instruction(graph.nodes[k]) for k in keys) if i is not None})
            if indices:
                attrs["instructions"] = _ranges(indices)
            if layer.partition is None:
                mix: dict[str, int] = {}
                for k in keys:
                    d = str(devices.get(k) or "-")
                    mix[d] = mix.get(d, 0) + 1
                attrs["devices"] = ", ".join(f"{_name(d)} x{n}" for d, n in mix.items())
                # what the island and recommendation overlays mark inside a fold or block, summed:
                # its CPU islands and the operators that cause them (the splitters)
                held = sorted({island_of[i] for i in indices if i in island_of})
                if held:
                    causes: dict[str, int] = {}
                    for k in held:
                        for c in islands[k].causes:
                            causes[c] = causes.get(c, 0) + 1
                    said = ", ".join(f"{_name(c)} x{n}" for c, n in list(causes.items())[:10]) or "glue only"
                    attrs["cpu_islands"] = f"{len(held)} (caused by {said})"
            else:
                attrs.update(_partition_attributes(method, graph, layer, keys, islands, decode, devices))
            t = time_of(layer)
            if t is not None:
                attrs["time"] = f"{_fmt_num(t)} {unit} (median per run" + (f", {t / execute:.1%} of execute)" if execute else ")")
            c = cycles_of(layer)
            if c is not None:
                attrs["cycles"] = f"{c:,} (Vela, predicted)"
            out[path] = {k: abbreviate(str(v), TEXT_LIMIT) for k, v in attrs.items()}
    out[""] = {k: abbreviate(v, TEXT_LIMIT) for k, v in root.items()}
    return out


def _instruction(data: Mapping[str, Any]) -> int | None:
    if data.get("kind") in ("input", "output"):
        return None
    return data.get("instruction") if data.get("partition") is not None else data.get("index")


def _ranges(indices: list[int], most: int = 20) -> str:
    """``0-49, 51, 60-61``: sorted instruction indices as ranges (the first ``most`` ranges)."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:most])
    return text + (f", ... ({len(runs) - most} more ranges)" if len(runs) > most else "")


def _partition_attributes(
    method: Any, graph: Any, layer: Layer, keys: list[object], islands: list[Any], decode: PayloadDecoder, devices: dict[object, Any]
) -> dict[str, str]:
    p = layer.partition
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
        "partition": _name(p.namespace),
        "device": _name(p.device),
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
    return attrs


# -- .tosa ----------------------------------------------------------------------------------
#: Colour of TOSA operators in a .tosa file (the TOSABackend colour).
TOSA_COLOR = device_color("TOSABackend")


def tosa_graphs(tosa: Any) -> list[dict[str, Any]]:
    """One Model Explorer graph per basic block of a loaded .tosa, CONST operators folded.

    A CONST (or CONST_SHAPE) operator becomes ``const.<tensor>`` attributes (shape, dtype,
    bytes) on each operator that reads it; the graph keeps the operators that compute, nested
    in blocks of consecutive operators when there are more than a layer holds.
    Graph ids are ``<region>/<block>``, or the block name for the single main block.
    """
    blocks = list(tosa.blocks)
    return [_block_graph(tosa, region, block, single=len(blocks) == 1) for region, block in blocks]


def _block_graph(tosa: Any, region: Any, block: Any, *, single: bool) -> dict[str, Any]:
    gid = short_key(block.name) if single else f"{short_key(region.name)}/{short_key(block.name)}"
    tensors = block.tensor_map
    shapes = {s.name: s for s in block.shapes}
    producer: dict[str, str] = {}
    folded: dict[str, Any] = {}
    nodes: list[dict[str, Any]] = []
    style = {"backgroundColor": tint(TOSA_COLOR), "borderColor": shade(TOSA_COLOR)}
    io_style = {"backgroundColor": tint(device_color("CPU")), "borderColor": shade(device_color("CPU"))}

    def tensor_meta(name: str) -> dict[str, Any]:
        t = tensors.get(name)
        attrs = [_kv("__tensor_tag", short_key(name))]
        if t is not None:
            attrs += [_kv("tensor_shape", f"{t.dtype}[{','.join(str(d) for d in t.shape)}]"), _kv("bytes", _fmt_bytes(t.nbytes))]
        elif name in shapes:
            attrs.append(_kv("tensor_shape", f"SHAPE[{shapes[name].rank}]"))
        return {"id": short_key(name), "attrs": attrs}

    computing = [op for op in block.operators if not op.is_const]
    namespace: dict[int, str] = {}
    if len(computing) > LAYER_LIMIT:
        _, layers = nest(
            computing,
            name=lambda part: component(f"#{part[0].index}-{part[-1].index} {_tosa_ops_text(part)}"),
            make_leaf=lambda part: (list(part), []),
        )
        for top in layers:
            for path, layer in top.walk():
                for op in layer.nodes:
                    namespace[op.index] = path
    for k, name in enumerate(block.inputs):
        nid = f"input:{k}"
        producer[name] = nid
        nodes.append(
            {
                "id": nid,
                "label": f"input {k}",
                "namespace": "",
                "attrs": [_kv("tensor", _name(name))],
                "outputsMetadata": [tensor_meta(name)],
                "style": io_style,
            }
        )
    for op in block.operators:
        if op.is_const:
            for out in op.outputs:
                folded[out] = op
            continue
        for out in op.outputs:
            producer[out] = str(op.index)
    for op in computing:
        attrs = [_kv("operator", op.op), _kv("index", op.index)]
        attrs += [_kv(f"attr.{k}", v) for k, v in op.attributes.items()]
        if op.location:
            attrs.append(_kv("location", op.location))
        incoming = []
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
                incoming.append({"sourceNodeId": src, "sourceNodeOutputId": edge_id, "targetNodeInputId": edge_id})
        node = {
            "id": str(op.index),
            "label": _name(op.op),
            "namespace": namespace.get(op.index, ""),
            "attrs": attrs,
            "incomingEdges": incoming,
            "outputsMetadata": [tensor_meta(o) for o in op.outputs],
            "style": style,
        }
        subgraphs = [f"{short_key(r)}/{short_key(b.name)}" for r in op.regions for b in _region_blocks(tosa, r)]
        if subgraphs:
            node["subgraphIds"] = subgraphs
        nodes.append(node)
    for k, name in enumerate(block.outputs):
        src = producer.get(name)
        edge_id = short_key(name)
        incoming = [{"sourceNodeId": src, "sourceNodeOutputId": edge_id, "targetNodeInputId": edge_id}] if src else []
        nodes.append(
            {
                "id": f"output:{k}",
                "label": f"output {k}",
                "namespace": "",
                "attrs": [_kv("tensor", _name(name))],
                "incomingEdges": incoming,
                "style": io_style,
            }
        )
    counts: dict[str, int] = {}
    for op in computing:
        counts[op.op] = counts.get(op.op, 0) + 1
    root = {
        "tosa_version": tosa.version_string,
        "region": _name(region.name),
        "block": _name(block.name),
        "operators": str(len(computing)),
        "const_operators_folded": str(len(block.operators) - len(computing)),
        "constant_bytes": f"{sum(t.nbytes or 0 for n, t in tensors.items() if n in folded):,}",
        "histogram": ", ".join(f"{k} x{v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    return {"id": gid, "nodes": nodes, "groupNodeAttributes": {"": {k: abbreviate(v, TEXT_LIMIT) for k, v in root.items()}}}


def _tosa_ops_text(ops: list[Any], most: int = 3) -> str:
    distinct = list(dict.fromkeys(str(op.op) for op in ops))
    return ", ".join(distinct[:most]) + (f", +{len(distinct) - most}" if len(distinct) > most else "")


def _region_blocks(tosa: Any, region_name: str) -> tuple[Any, ...]:
    for r in tosa.regions:
        if r.name == region_name:
            return r.blocks
    return ()
