"""Model Explorer node-data overlays (device, island, recommendation) and the partition naming they share.

Model Explorer colours nodes from "node data" JSON documents::

    {graph_id: {"name": ..., "results": {node_id: {"value": ..., "bgColor": ...}}}}

This module builds those documents from edgeinspect's own analysis, as dicts (for a server
started in-process) or as files (``model-explorer --node_data_paths=...``). It does not import
``model_explorer``: the adapter in ``adapters/edgeinspect_explorer`` and these overlays agree on
node ids and namespaces through :func:`node_id`, :func:`partitions` and :func:`node_namespaces`.

A *partition* is a stretch of execution that stays on one device: each delegate call is one,
and each maximal run of kernel calls between them is one (``CPU_input`` before the first
delegate, ``CPU_island_<k>`` between two delegates -- the CPU islands of
:func:`edgeinspect.analysis.cpu_islands`, in the same order -- and ``CPU_output`` after the last).
"""

from __future__ import annotations

import importlib.util
import json
import os
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeinspect.analysis.fragmentation import is_glue
from edgeinspect.textsafe import abbreviate, short_key

if TYPE_CHECKING:
    import networkx as nx

    from edgeinspect.model import Method, Program

__all__ = [
    "DEVICE_COLORS",
    "OVERLAY_NAMES",
    "Partition",
    "device_color",
    "device_overlay",
    "explorer_graph",
    "island_overlay",
    "load_for_view",
    "load_recommendations",
    "method_overlays",
    "node_id",
    "node_namespaces",
    "overlays",
    "partitions",
    "recommendation_overlay",
    "tosa_beside",
    "write_overlays",
]

#: Background colour per device; other backends get a colour from :data:`_PALETTE` by name.
DEVICE_COLORS: dict[str, str] = {
    "CPU": "#f28e2b",
    "EthosUBackend": "#2ca02c",
    "XnnpackBackend": "#1f77b4",
    "TOSABackend": "#9467bd",
    "VgfBackend": "#17becf",
}
_PALETTE = ("#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f", "#393b79")
#: Island overlay colours: the operators that cause an island, and the quantize/dequantize glue.
ISLAND_CAUSE_COLOR = "#d62728"
ISLAND_GLUE_COLOR = "#ff9896"
#: Recommendation overlay colours, most harmful splitter first (the last repeats).
RECOMMENDATION_COLORS = ("#b10026", "#e31a1c", "#fc4e2a", "#fd8d3c", "#feb24c")
#: The overlays :func:`overlays` builds, in this order.
OVERLAY_NAMES = ("device", "island", "recommendation")


def device_color(device: str | None) -> str:
    """The colour edgeinspect draws a device in (stable across runs for unknown backends).

    Examples
    --------
    >>> device_color("EthosUBackend")
    '#2ca02c'
    >>> device_color("SomeNewBackend") == device_color("SomeNewBackend")
    True
    """
    if device is None:
        return "#c7c7c7"
    if device in DEVICE_COLORS:
        return DEVICE_COLORS[device]
    return _PALETTE[zlib.crc32(device.encode()) % len(_PALETTE)]


def node_id(key: object) -> str:
    """The Model Explorer node id of a networkx node key (``3`` -> ``"3"``, ``("d0", 2)`` -> ``"d0:2"``).

    Examples
    --------
    >>> node_id(3), node_id("input:0"), node_id(("d0", 2))
    ('3', 'input:0', 'd0:2')
    """
    if isinstance(key, tuple):
        return ":".join(str(k) for k in key)
    return str(key)


@dataclass(frozen=True, slots=True)
class Partition:
    """A stretch of execution on one device, in instruction order.

    Attributes
    ----------
    index : int
        Position among the method's partitions.
    namespace : str
        The Model Explorer layer name: ``EthosUBackend_0`` (backend and delegate index),
        ``CPU_input``, ``CPU_island_<k>``, ``CPU_output`` (or ``CPU`` when nothing is delegated).
    device : str
        ``"CPU"`` or the backend id.
    instructions : tuple of int
        Instruction indices in the partition (calls, and the moves/frees/jumps that follow them).
    delegate : int or None
        Delegate index of a delegate partition.
    island : int or None
        Index into :func:`~edgeinspect.analysis.cpu_islands` of an island partition.
    """

    index: int
    namespace: str
    device: str
    instructions: tuple[int, ...]
    delegate: int | None = None
    island: int | None = None

    @property
    def is_delegate(self) -> bool:
        """Whether the partition is a delegate call."""
        return self.delegate is not None


def partitions(method: Method) -> list[Partition]:
    """Split a method's instructions into partitions (see the module docstring).

    Instructions that are not calls (moves, frees, jumps) join the partition of the call
    before them (the first partition when they come first).

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction
    >>> seq = [("kernel", "aten::q", "CPU"), ("delegate", "EthosUBackend", "EthosUBackend"),
    ...        ("kernel", "aten::cumsum", "CPU"), ("delegate", "EthosUBackend", "EthosUBackend")]
    >>> calls = tuple(Instruction(i, k, i // 2, (), n, d) for i, (k, n, d) in enumerate(seq))
    >>> [p.namespace for p in partitions(Method("forward", (), (), (), calls, (), ()))]
    ['CPU_input', 'EthosUBackend_0', 'CPU_island_0', 'EthosUBackend_1']
    """
    runs: list[dict[str, Any]] = []
    leading: list[int] = []
    for ins in method.instructions:
        if ins.kind == "delegate":
            runs.append({"device": ins.device or ins.name, "delegate": ins.target, "instructions": [ins.index]})
        elif ins.kind == "kernel":
            if runs and runs[-1]["delegate"] is None:
                runs[-1]["instructions"].append(ins.index)
            else:
                runs.append({"device": "CPU", "delegate": None, "instructions": [ins.index]})
        elif runs:
            runs[-1]["instructions"].append(ins.index)
        else:
            leading.append(ins.index)
    if not runs:
        return [Partition(0, "CPU", "CPU", tuple(leading))] if leading else []
    runs[0]["instructions"][:0] = leading
    delegate_positions = [i for i, r in enumerate(runs) if r["delegate"] is not None]
    out: list[Partition] = []
    seen: dict[str, int] = {}
    island = 0
    for i, run in enumerate(runs):
        if run["delegate"] is not None:
            name = f"{run['device']}_{run['delegate']}"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:  # the same delegate called again: keep layer names unique
                name += f"_call{seen[name]}"
            out.append(Partition(i, name, run["device"], tuple(run["instructions"]), delegate=run["delegate"]))
            continue
        if not delegate_positions:
            name, isl = "CPU", None
        elif i < delegate_positions[0]:
            name, isl = "CPU_input", None
        elif i > delegate_positions[-1]:
            name, isl = "CPU_output", None
        else:
            name, isl = f"CPU_island_{island}", island
            island += 1
        out.append(Partition(i, name, "CPU", tuple(run["instructions"]), island=isl))
    return out


def explorer_graph(method: Method) -> nx.MultiDiGraph:
    """The graph the adapter, the overlays and the HTML report draw.

    The stitched graph (delegate internals inline, :mod:`edgeinspect.stitch`) when this build
    has it, else the instruction graph; TOSA ``CONST``/``CONST_SHAPE`` operators are folded:
    each is removed and described in the ``consts`` attribute (a list of dicts with ``tensor``,
    ``op``, ``shape``, ``dtype``, ``bytes``) of the operators that read it.
    """
    if importlib.util.find_spec("edgeinspect.stitch") is None:
        return method.to_networkx()
    g = method.to_networkx(stitched=True)
    for n in [n for n, d in g.nodes(data=True) if d.get("const")]:
        for _, dst, key, data in g.out_edges(n, keys=True, data=True):
            entry = {
                "tensor": str(key),
                "op": g.nodes[n].get("name"),
                "shape": data.get("shape"),
                "dtype": data.get("dtype"),
                "bytes": data.get("bytes"),
            }
            g.nodes[dst].setdefault("consts", []).append(entry)
        g.remove_node(n)
    return g


def tosa_beside(path: str | os.PathLike[str]) -> list[str] | None:
    """The ``<stem>.tosa.d`` directory of dumped .tosa files beside a .pte, when there is one.

    ``edgeinspect view``/``report`` and the Model Explorer adapter join it to the Arm delegates
    when no ``--tosa`` is given (the layout the fixture zoo and ``dump_intermediate_artifacts_to``
    produce), so Ethos-U delegates show their operators.
    """
    beside = Path(path).with_suffix(".tosa.d")
    if beside.is_dir() and any(beside.glob("*.tosa")):
        return [str(beside)]
    return None


def load_for_view(path: str | os.PathLike[str], tosa: list[str] | None = None) -> Any:
    """Load a file the way the viewers do: with ``tosa`` when given, else with :func:`tosa_beside`.

    A ``.tosa.d`` found beside the file that does not join (no join in this build, or dumps of
    another export) is ignored; explicit ``tosa`` files that do not join raise as usual.
    """
    import edgeinspect
    from edgeinspect.errors import EdgeInspectError

    if tosa:
        return edgeinspect.load(path, tosa=tosa)
    model = edgeinspect.load(path)  # reports missing, irregular and corrupt files first
    is_pte = getattr(model, "format", None) == "pte"
    found = tosa_beside(path) if is_pte and importlib.util.find_spec("edgeinspect.join") is not None else None
    if found:
        from edgeinspect.join import attach_tosa

        try:
            return attach_tosa(model, found)
        except EdgeInspectError:
            pass
    return model


def node_namespaces(method: Method, graph: nx.MultiDiGraph, parts: list[Partition] | None = None) -> dict[object, str]:
    """Model Explorer namespace (layer path) of every node of ``graph``.

    Instruction nodes go to their partition's layer; nodes inlined from a delegate (with a
    ``partition`` attribute, see :mod:`edgeinspect.stitch`) go to that delegate's layer;
    method inputs and outputs stay at the top level.
    """
    parts = partitions(method) if parts is None else parts
    by_instruction = {i: p.namespace for p in parts for i in p.instructions}
    by_delegate: dict[int, str] = {}
    for p in parts:
        if p.delegate is not None:
            by_delegate.setdefault(p.delegate, p.namespace)
    out: dict[object, str] = {}
    for key, data in graph.nodes(data=True):
        partition = data.get("partition")
        if partition is not None and data.get("kind") not in ("input", "output"):
            out[key] = by_delegate.get(partition, f"{data.get('device') or 'delegate'}_{partition}")
        elif data.get("kind") in ("input", "output"):
            out[key] = ""
        else:
            out[key] = by_instruction.get(data.get("index"), "")
    return out


def _doc(graph_id: str, name: str, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {graph_id: {"name": name, "results": results}}


def device_overlay(graph: nx.MultiDiGraph, graph_id: str) -> dict[str, Any]:
    """Node data colouring every node by the device it runs on (value: the device name)."""
    results: dict[str, dict[str, Any]] = {}
    for key, data in graph.nodes(data=True):
        device = data.get("device")
        if device is None:
            continue
        results[node_id(key)] = {"value": abbreviate(device), "bgColor": device_color(device)}
    return _doc(graph_id, "device", results)


def island_overlay(method: Method, graph: nx.MultiDiGraph, graph_id: str, parts: list[Partition] | None = None) -> dict[str, Any]:
    """Node data marking the kernels of each CPU island: its causes in red, quantize glue in pink.

    Values read ``"island <k>: cause"`` or ``"island <k>: glue"``; nodes outside islands get none.
    """
    parts = partitions(method) if parts is None else parts
    island_of = {i: p.island for p in parts if p.island is not None for i in p.instructions}
    results: dict[str, dict[str, Any]] = {}
    for key, data in graph.nodes(data=True):
        if data.get("kind") != "kernel" or data.get("partition") is not None:
            continue
        k = island_of.get(data.get("index"))
        if k is None:
            continue
        glue = is_glue(str(data.get("name", "")))
        results[node_id(key)] = {
            "value": f"island {k}: {'glue' if glue else 'cause'}",
            "bgColor": ISLAND_GLUE_COLOR if glue else ISLAND_CAUSE_COLOR,
        }
    return _doc(graph_id, "island", results)


def _field(rec: Any, name: str, default: Any = None) -> Any:
    if isinstance(rec, Mapping):
        return rec.get(name, default)
    return getattr(rec, name, default)


def recommendation_overlay(graph: nx.MultiDiGraph, graph_id: str, recommendations: Iterable[Any]) -> dict[str, Any]:
    """Node data marking the CPU kernels that split the graph, most harmful first.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        The method graph the adapter draws.
    graph_id : str
        Model Explorer graph id of the method.
    recommendations : iterable
        Recommendations most harmful first, as ``explain --format json`` entries (dicts) or
        objects with the same attributes (``operator``, ``kernels``, ``transitions_saved``, ``bytes_saved``).
        A kernel matches by its full name in ``kernels`` or as an overload of ``operator``.

    Returns
    -------
    dict
        Node data; each matching kernel gets ``"#<rank> <operator>: saves <n> transitions, <b> B"``
        (the fix itself is in ``edgeinspect explain`` and the HTML report).
    """
    recs = list(recommendations)
    # The first recommendation a kernel matches (its full name listed in ``kernels``, or it is
    # the operator or an overload of it: ``aten::upsample_bilinear2d.vec_out`` of
    # ``aten::upsample_bilinear2d``), found by lookups rather than a scan of every
    # recommendation per node (a file can hold thousands of each): operators are tried only
    # at the lengths they have.
    first_by_kernel: dict[str, int] = {}
    first_by_operator: dict[str, int] = {}
    for rank, rec in enumerate(recs, start=1):
        for kernel in _field(rec, "kernels") or ():
            first_by_kernel.setdefault(str(kernel), rank)
        operator = str(_field(rec, "operator", ""))
        if operator:
            first_by_operator.setdefault(operator, rank)
    lengths = sorted({len(op) for op in first_by_operator})
    results: dict[str, dict[str, Any]] = {}
    for key, data in graph.nodes(data=True):
        if data.get("kind") != "kernel" or data.get("partition") is not None:
            continue
        name = str(data.get("name", ""))
        found = [first_by_kernel.get(name), first_by_operator.get(name)]
        found += [first_by_operator.get(name[:n]) for n in lengths if n < len(name) and name[n] == "."]
        ranks = [r for r in found if r is not None]
        if ranks:
            rank = min(ranks)
            rec = recs[rank - 1]
            operator = str(_field(rec, "operator", ""))
            saved = [
                f"{v:,} {unit}"
                for v, unit in ((_field(rec, "transitions_saved"), "transitions"), (_field(rec, "bytes_saved"), "B"))
                if isinstance(v, int)
            ]
            value = f"#{rank} {abbreviate(operator)}" + (": saves " + ", ".join(saved) if saved else "")
            color = RECOMMENDATION_COLORS[min(rank, len(RECOMMENDATION_COLORS)) - 1]
            results[node_id(key)] = {"value": value, "bgColor": color}
    return _doc(graph_id, "recommendation", results)


def load_recommendations(program: Any, method: Method) -> list[dict[str, Any]] | None:
    """Recommendations for ``method`` from :func:`edgeinspect.recommend.recommend_method`, as
    ``explain --format json`` entries; None when this build has no recommender (the
    recommendation overlay is then left out)."""
    try:
        from edgeinspect.recommend import recommend_method
    except ImportError:
        return None
    return [r.to_dict() for r in recommend_method(method)]


def method_overlays(
    program: Any, method: Method, graph_id: str, graph: nx.MultiDiGraph | None = None, recommendations: Iterable[Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The overlays of one method, ``{overlay name: node data}`` (recommendation only when known)."""
    graph = explorer_graph(method) if graph is None else graph
    parts = partitions(method)
    out = {
        "device": device_overlay(graph, graph_id),
        "island": island_overlay(method, graph, graph_id, parts),
    }
    recs = load_recommendations(program, method) if recommendations is None else list(recommendations)
    if recs is not None:
        out["recommendation"] = recommendation_overlay(graph, graph_id, recs)
    return out


def overlays(program: Program, *, recommendations: Mapping[str, Iterable[Any]] | None = None) -> dict[str, dict[str, Any]]:
    """All overlays of a program, one node-data document per overlay covering every method.

    Parameters
    ----------
    program : Program
        A loaded .pte.
    recommendations : mapping, optional
        ``{method name: recommendations}``; by default they come from :mod:`edgeinspect.recommend`
        when it is available.

    Returns
    -------
    dict
        ``{"device": {graph_id: ...}, "island": {...}, "recommendation": {...}}``; graph ids are
        method names (shortened past 200 characters), as the adapter uses them.
    """
    out: dict[str, dict[str, Any]] = {}
    for m in program.methods:
        recs = None if recommendations is None else recommendations.get(m.name, [])
        # Graph ids are the adapter's (edgeinspect_explorer.graphs.graph_id): the method name, shortened when long.
        for name, doc in method_overlays(program, m, short_key(m.name), recommendations=recs).items():
            out.setdefault(name, {}).update(doc)
    return {name: out[name] for name in OVERLAY_NAMES if name in out}


def write_overlays(program: Program, directory: str | os.PathLike[str], **kwargs: Any) -> list[Path]:
    """Write :func:`overlays` as ``<stem>.<overlay>.json`` files in ``directory``; returns their paths."""
    from edgeinspect.outputs import write_output

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = Path(program.path).stem if program.path else "model"
    paths = []
    for name, doc in overlays(program, **kwargs).items():
        path = directory / f"{stem}.{name}.json"
        write_output(path, json.dumps(doc, indent=1) + "\n", inputs=[program.path] if program.path else [], what="overlay")
        paths.append(path)
    return paths
