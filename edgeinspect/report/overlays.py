"""Model Explorer node-data overlays (device, island, recommendation, fallback) and the partition naming they share.

Model Explorer colours nodes from "node data" JSON documents::

    {graph_id: {"name": ..., "results": {node_id: {"value": ..., "bgColor": ...}}}}

This module builds those documents from edgeinspect's own analysis, as dicts (for a server
started in-process) or as files (``model-explorer --node_data_paths=...``). It does not import
``model_explorer``: the adapter in ``adapters/edgeinspect_explorer`` and these overlays agree on
node ids and namespaces through :func:`node_id`, :func:`partitions` and :func:`node_namespaces`,
and ``edgeinspect view`` hands the adapter its ``--tosa`` files through :data:`TOSA_FILES`
(the adapter sits above the commands, which never import it).

A *partition* is a stretch of execution that stays on one device: each delegate call is one,
and each maximal run of kernel calls between them is one (``CPU_input`` before the first
delegate, ``CPU_island_<k>`` between two delegates -- the CPU islands of
:func:`edgeinspect.analysis.cpu_islands`, in the same order -- and ``CPU_output`` after the last).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
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
    "device_overlay",
    "explorer_graph",
    "fallback_overlay",
    "island_overlay",
    "load_fallbacks",
    "load_for_view",
    "load_recommendations",
    "method_overlays",
    "node_id",
    "node_namespaces",
    "overlays",
    "partitions",
    "recommendation_overlay",
    "TOSA_FILES",
    "tosa_beside",
    "write_overlays",
]

#: The id Model Explorer gives edgeinspect's adapter (``adapters/edgeinspect_explorer``, its
#: metadata id); ``edgeinspect view`` names it, a ``convert`` command passes it as ``extensionId``.
ADAPTER_ID = "edgeinspect"
#: Dumped .tosa files to join to the Arm delegates of a .pte, by absolute .pte path, for the
#: adapter (which Model Explorer calls with a path alone): ``edgeinspect view --tosa`` fills it
#: (the server runs in the same process). Without an entry, the adapter joins the
#: ``<stem>.tosa.d`` directory beside the .pte when there is one (:func:`tosa_beside`).
TOSA_FILES: dict[str, list[str]] = {}
#: Island overlay colours: the operators that cause an island, and the quantize/dequantize glue.
ISLAND_CAUSE_COLOR = "#d62728"
ISLAND_GLUE_COLOR = "#ff9896"
#: Recommendation overlay colours, most harmful splitter first (the last repeats).
RECOMMENDATION_COLORS = ("#b10026", "#e31a1c", "#fc4e2a", "#fd8d3c", "#feb24c")
#: Fallback overlay colours: an operator that splits the delegated graph, and one that does not.
FALLBACK_SPLITTER_COLOR = "#b10026"
FALLBACK_COLOR = "#fd8d3c"
#: The overlays :func:`overlays` builds, in this order.
OVERLAY_NAMES = ("device", "island", "recommendation", "fallback")


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


def method_overlays(
    program: Any, method: Method, graph_id: str, graph: nx.MultiDiGraph | None = None, recommendations: Iterable[Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The overlays of one method, ``{overlay name: node data}``."""
    graph = explorer_graph(method) if graph is None else graph
    parts = partitions(method)
    out = {
        "device": device_overlay(graph, graph_id),
        "island": island_overlay(method, graph, graph_id, parts),
    }
    recs = load_recommendations(program, method) if recommendations is None else list(recommendations)
    out["recommendation"] = recommendation_overlay(graph, graph_id, recs)
    out["fallback"] = fallback_overlay(graph, graph_id, load_fallbacks(program, method))
    return out


def overlays(program: Program, *, recommendations: Mapping[str, Iterable[Any]] | None = None) -> dict[str, dict[str, Any]]:
    """All overlays of a program, one node-data document per overlay covering every method.

    Parameters
    ----------
    program : Program
        A loaded .pte.
    recommendations : mapping, optional
        ``{method name: recommendations}``; by default they come from :mod:`edgeinspect.recommend`.

    Returns
    -------
    dict
        ``{"device": {graph_id: ...}, "island": {...}, "recommendation": {...}, "fallback": {...}}``; graph ids are
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
