"""Model Explorer node-data overlays (device, island, recommendation, fallback, time, cycles) and the partition naming they share.

Model Explorer colours nodes from "node data" JSON documents::

    {graph_id: {"name": ..., "results": {node_id: {"value": ..., "bgColor": ...}}}}

This module builds those documents from edgeinspect's own analysis, as dicts (for a server
started in-process) or as files (``model-explorer --node_data_paths=...``). It does not import
``model_explorer``: the adapter in ``adapters/edgeinspect_explorer`` and these overlays agree on
node ids and namespaces through :func:`node_id`, :func:`partitions` and :func:`node_namespaces`.

Every overlay is one function of an :class:`OverlayInputs` (the method, its graph and what the
side files say) registered in :data:`OVERLAYS`; adding one is a function and a line there. The
evidence overlays (``time`` with an ETDump, ``cycles`` with Vela's estimate) have numeric values,
so Model Explorer colours them on a gradient and sums them over any layer selected; the adapter
also writes each layer's sum into its attributes (:func:`node_times`, :func:`node_cycles`).

A *partition* is a stretch of execution that stays on one device: each delegate call is one,
and each maximal run of kernel calls between them is one (``CPU_input`` before the first
delegate, ``CPU_island_<k>`` between two delegates -- the CPU islands of
:func:`edgeinspect.analysis.cpu_islands`, in the same order -- and ``CPU_output`` after the last).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeinspect.analysis.fragmentation import is_glue
from edgeinspect.analysis.partitions import Partition, partitions
from edgeinspect.graph import fold_constants, method_graph
from edgeinspect.join import load_for_view, tosa_beside
from edgeinspect.report._html import DEVICE_COLORS, _field, device_color
from edgeinspect.textsafe import abbreviate, short_key

if TYPE_CHECKING:
    import networkx as nx

    from edgeinspect.model import DecodedPayload, Delegate, Method, Program

__all__ = [
    "ADAPTER_ID",
    "DEVICE_COLORS",
    "OVERLAY_NAMES",
    "Partition",
    "device_color",
    "OVERLAYS",
    "OverlayInputs",
    "cycles_overlay",
    "delegate_times",
    "device_overlay",
    "explorer_graph",
    "fallback_overlay",
    "island_overlay",
    "load_fallbacks",
    "load_for_view",
    "load_recommendations",
    "method_overlays",
    "node_cycles",
    "node_id",
    "node_namespaces",
    "node_times",
    "overlays",
    "partitions",
    "recommendation_overlay",
    "time_overlay",
    "TOSA_FILES",
    "tosa_beside",
    "write_overlays",
]

#: The id Model Explorer gives edgeinspect's adapter (``adapters/edgeinspect_explorer``, its
#: metadata id); ``edgeinspect view`` names it, a ``convert`` command passes it as ``extensionId``.
ADAPTER_ID = "edgeinspect"
#: Dumped .tosa files to join to the Arm delegates of a .pte, by absolute .pte path, for the
#: adapter when Model Explorer's own server runs it (it calls the adapter with a path alone): a
#: program that starts that server in-process can fill it. ``edgeinspect view`` passes ``--tosa``
#: to its own server directly. Without an entry, the adapter joins the ``<stem>.tosa.d``
#: directory beside the .pte when there is one (:func:`tosa_beside`).
TOSA_FILES: dict[str, list[str]] = {}
#: Island overlay colours: the operators that cause an island, and the quantize/dequantize glue.
ISLAND_CAUSE_COLOR = "#d62728"
ISLAND_GLUE_COLOR = "#ff9896"
#: Recommendation overlay colours, most harmful splitter first (the last repeats).
RECOMMENDATION_COLORS = ("#b10026", "#e31a1c", "#fc4e2a", "#fd8d3c", "#feb24c")
#: Fallback overlay colours: an operator that splits the delegated graph, and one that does not.
FALLBACK_SPLITTER_COLOR = "#b10026"
FALLBACK_COLOR = "#fd8d3c"
#: Gradient of the numeric overlays (time, cycles): light for the cheapest node, dark for the costliest.
COST_GRADIENT = ({"stop": 0, "bgColor": "#fff5eb"}, {"stop": 0.5, "bgColor": "#fd8d3c"}, {"stop": 1, "bgColor": "#7f2704"})


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


def explorer_graph(method: Method, *, decode: Callable[[Delegate], DecodedPayload] | None = None) -> nx.MultiDiGraph:
    """The graph the adapter, the overlays and the HTML report draw.

    The stitched graph (delegate internals inline, :mod:`edgeinspect.stitch`) with TOSA
    ``CONST``/``CONST_SHAPE`` operators folded into the operators that read them
    (:func:`edgeinspect.graph.fold_constants`). ``decode`` is the caller's
    :class:`~edgeinspect.formats.payloads.PayloadDecoder`, when it has one.
    """
    return fold_constants(method_graph(method, stitched=True, decode=decode))


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


def _matches(node_name: str, operator: str) -> bool:
    """``aten::upsample_bilinear2d.vec_out`` is an instance of ``aten::upsample_bilinear2d``."""
    return node_name == operator or node_name.startswith(operator + ".")


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


def fallback_overlay(graph: nx.MultiDiGraph, graph_id: str, fallbacks: Iterable[Any]) -> dict[str, Any]:
    """Node data marking every CPU fallback (issue 17), splitters or not, glue left unmarked.

    ``fallbacks`` are :class:`edgeinspect.recommend.fallbacks.Fallback` records or their
    ``explain --format json`` entries (``operator``, ``instructions``, ``position``, ``splits``).
    Each of their kernel calls gets ``"fallback: <operator>, <position>[, splits <n>]"``, dark
    red when it splits the delegated graph, orange when it does not.
    """
    by_instruction: dict[int, Any] = {}
    for f in fallbacks:
        for i in _field(f, "instructions") or ():
            by_instruction.setdefault(int(i), f)
    results: dict[str, dict[str, Any]] = {}
    for key, data in graph.nodes(data=True):
        if data.get("kind") != "kernel" or data.get("partition") is not None:
            continue
        f = by_instruction.get(data.get("index"))
        if f is None:
            continue
        splits = _field(f, "splits") or 0
        value = f"fallback: {abbreviate(str(_field(f, 'operator', '')))}, {_field(f, 'position', '')}"
        results[node_id(key)] = {
            "value": value + (f", splits {splits}" if splits else ""),
            "bgColor": FALLBACK_SPLITTER_COLOR if splits else FALLBACK_COLOR,
        }
    return _doc(graph_id, "fallback", results)


def load_fallbacks(program: Any, method: Method) -> list[Any]:
    """The fallbacks of ``method`` (:func:`edgeinspect.recommend.fallbacks.fallbacks`), the
    program's delegates naming the target of a method that has none."""
    from edgeinspect.recommend.fallbacks import fallbacks, program_target

    return fallbacks(method, target=program_target(program) if program is not None else None)


def load_recommendations(program: Any, method: Method) -> list[dict[str, Any]]:
    """Recommendations for ``method`` from :func:`edgeinspect.recommend.recommend_method`, as
    ``explain --format json`` entries."""
    from edgeinspect.recommend import recommend_method

    return [r.to_dict() for r in recommend_method(method)]


# -- the evidence overlays: measured time and predicted cycles ------------------------------
def _call_instruction(data: Mapping[str, Any]) -> int | None:
    """The instruction a graph node belongs to: its own, or the delegate call it is inside."""
    if data.get("kind") in ("input", "output"):
        return None
    if data.get("partition") is not None:
        return data.get("instruction")
    return data.get("index")


def node_times(graph: nx.MultiDiGraph, profile: Any) -> dict[object, float]:
    """Measured time of the nodes that are instructions: the median ticks per run (outside the
    warm-up) of each CPU kernel call and of each delegate call drawn as one node.

    A delegate whose operators are drawn inline has its time on its layer (the operators inside
    share one call; the ETDump does not split it between them): see :func:`delegate_times`.
    """
    out: dict[object, float] = {}
    if profile is None:
        return out
    for key, data in graph.nodes(data=True):
        if data.get("kind") not in ("kernel", "delegate") or data.get("partition") is not None:
            continue
        p = profile.instruction(data.get("index"))
        if p is not None and p.timing.median_ticks is not None:
            out[key] = p.timing.median_ticks
    return out


def delegate_times(method: Method, profile: Any) -> dict[int, float]:
    """Delegate call instruction -> its median ticks per run (the time of a delegate layer)."""
    if profile is None:
        return {}
    out: dict[int, float] = {}
    for ins in method.instructions:
        if ins.kind == "delegate":
            p = profile.instruction(ins.index)
            if p is not None and p.timing.median_ticks is not None:
                out[ins.index] = p.timing.median_ticks
    return out


def node_cycles(graph: nx.MultiDiGraph, estimates: Mapping[int, Any] | None) -> dict[object, int]:
    """Vela's predicted cycles per node: each TOSA operator inside an Ethos-U delegate gets the
    cycles of the Vela layers made from it (``LayerEstimate.tosa_op_index``); a delegate drawn
    as one node gets its whole estimate (``cycles_total``). CPU nodes get none (Vela predicts
    the NPU only)."""
    out: dict[object, int] = {}
    if not estimates:
        return out
    per_op: dict[tuple[int, int], int] = {}
    for d, est in estimates.items():
        vela = getattr(est, "estimate", None)
        if vela is None:
            continue
        for layer in vela.layers:
            if layer.tosa_op_index is not None:
                per_op[(d, layer.tosa_op_index)] = per_op.get((d, layer.tosa_op_index), 0) + int(layer.cycles)
    for key, data in graph.nodes(data=True):
        d = data.get("partition")
        if d is not None and data.get("kind") == "operator":
            cycles = per_op.get((d, data.get("index")))
            if cycles is not None:
                out[key] = cycles
        elif data.get("kind") == "delegate":
            est = estimates.get(data.get("delegate"))
            vela = getattr(est, "estimate", None)
            if vela is not None:
                out[key] = int(vela.cycles_total)
    return out


def _numeric_doc(graph_id: str, name: str, values: Mapping[object, float]) -> dict[str, Any]:
    results = {node_id(k): {"value": v} for k, v in values.items()}
    doc = _doc(graph_id, name, results)
    doc[graph_id]["gradient"] = [dict(stop) for stop in COST_GRADIENT]
    return doc


def time_overlay(graph: nx.MultiDiGraph, graph_id: str, profile: Any) -> dict[str, Any]:
    """Node data of measured time (:func:`node_times`): numbers, coloured on a gradient."""
    unit = getattr(profile, "unit", "ticks")
    return _numeric_doc(graph_id, f"time ({unit}, median per run)", node_times(graph, profile))


def cycles_overlay(graph: nx.MultiDiGraph, graph_id: str, estimates: Mapping[int, Any] | None) -> dict[str, Any]:
    """Node data of Vela's predicted cycles (:func:`node_cycles`): numbers, on a gradient."""
    return _numeric_doc(graph_id, "cycles (Vela, predicted)", node_cycles(graph, estimates))


# -- the registry -------------------------------------------------------------------------
@dataclass(frozen=True)
class OverlayInputs:
    """What an overlay is computed from: one method, the graph the adapter draws, and the
    evidence (``None`` parts when a side file was not given)."""

    program: Any
    method: Method
    graph_id: str
    graph: nx.MultiDiGraph
    parts: list[Partition]
    recommendations: list[Any] | None = None
    profile: Any = None
    estimates: Mapping[int, Any] | None = None


def _recommendation(x: OverlayInputs) -> dict[str, Any]:
    recs = load_recommendations(x.program, x.method) if x.recommendations is None else x.recommendations
    return recommendation_overlay(x.graph, x.graph_id, recs)


#: Every overlay: name -> ``inputs -> node data`` (None when its evidence is missing), in the
#: order they are listed. ``edgeinspect view`` loads them all and shows ``device`` first.
OVERLAYS: dict[str, Callable[[OverlayInputs], dict[str, Any] | None]] = {
    "device": lambda x: device_overlay(x.graph, x.graph_id),
    "island": lambda x: island_overlay(x.method, x.graph, x.graph_id, x.parts),
    "recommendation": _recommendation,
    "fallback": lambda x: fallback_overlay(x.graph, x.graph_id, load_fallbacks(x.program, x.method)),
    "time": lambda x: time_overlay(x.graph, x.graph_id, x.profile) if x.profile is not None else None,
    "cycles": lambda x: cycles_overlay(x.graph, x.graph_id, x.estimates) if x.estimates else None,
}
#: The overlays :func:`overlays` can build, in this order.
OVERLAY_NAMES = tuple(OVERLAYS)


def method_overlays(
    program: Any,
    method: Method,
    graph_id: str,
    graph: nx.MultiDiGraph | None = None,
    recommendations: Iterable[Any] | None = None,
    *,
    evidence: Any = None,
    parts: list[Partition] | None = None,
) -> dict[str, dict[str, Any]]:
    """The overlays of one method, ``{overlay name: node data}`` (those its evidence allows).

    ``evidence`` is an :class:`~edgeinspect.analysis.evidence.Evidence` (its ETDump profile gives
    ``time``, its Vela estimates ``cycles``).
    """
    graph = explorer_graph(method) if graph is None else graph
    inputs = OverlayInputs(
        program=program,
        method=method,
        graph_id=graph_id,
        graph=graph,
        parts=partitions(method) if parts is None else parts,
        recommendations=None if recommendations is None else list(recommendations),
        profile=evidence.profile(method.name) if evidence is not None else None,
        estimates=evidence.method_estimates(method.name) if evidence is not None else None,
    )
    out = {}
    for name, build in OVERLAYS.items():
        doc = build(inputs)
        if doc is not None:
            out[name] = doc
    return out


def overlays(
    program: Program, *, recommendations: Mapping[str, Iterable[Any]] | None = None, evidence: Any = None
) -> dict[str, dict[str, Any]]:
    """All overlays of a program, one node-data document per overlay covering every method.

    Parameters
    ----------
    program : Program
        A loaded .pte.
    recommendations : mapping, optional
        ``{method name: recommendations}``; by default they come from :mod:`edgeinspect.recommend`.
    evidence : Evidence, optional
        What the side files say (:func:`edgeinspect.gather`): adds ``time`` (``--etdump``) and
        ``cycles`` (``--estimate``).

    Returns
    -------
    dict
        ``{"device": {graph_id: ...}, "island": {...}, "recommendation": {...}, "fallback": {...}, ...}``; graph ids
        are method names (shortened past 200 characters), as the adapter uses them.
    """
    out: dict[str, dict[str, Any]] = {}
    for m in program.methods:
        recs = None if recommendations is None else recommendations.get(m.name, [])
        # Graph ids are the adapter's (edgeinspect_explorer.graphs.graph_id): the method name, shortened when long.
        for name, doc in method_overlays(program, m, short_key(m.name), recommendations=recs, evidence=evidence).items():
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
