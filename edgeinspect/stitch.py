"""The stitched view: delegate internals inlined into a method's networkx graph.

:func:`stitch` replaces each delegate call node whose insides are known (the nodes of an
XNNPACK payload, the operators of a TOSABackend payload, or the operators of the .tosa
joined to an Ethos-U delegate by :func:`edgeinspect.join.attach_tosa`) with those nodes.
A delegate whose insides are unknown (Ethos-U without a joined .tosa, other backends, a
payload that does not decode) keeps its single delegate node.

Inlined nodes are keyed ``"d<instruction>:<inner key>"`` (inner keys as in
``TosaGraph.to_networkx`` / ``XnnGraph.to_networkx``) and carry ``kind`` = ``"operator"``,
``op``/``name`` (operator type), ``index`` (position inside the delegate), ``device`` (the
backend id), ``partition`` and ``delegate`` (the delegate index), ``instruction`` (the
delegate call's index) and ``const`` (True for TOSA ``CONST``/``CONST_SHAPE``, so views can
fold them). Edges inside the delegate are keyed by the inner tensor (TOSA name or XNNPACK
value id); edges across the boundary keep the method's value index and attributes, joining
the surrounding CPU nodes to the inner operators that read the delegate's inputs and write
its outputs. Inputs and outputs are paired with the call's tensor arguments in order, by
shape (a call can pass tensors the delegate graph does not use).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edgeinspect.errors import FormatError
from edgeinspect.formats.payloads import PayloadDecoder
from edgeinspect.graph import add_block_nodes, add_xnn_nodes, producers_and_consumers
from edgeinspect.model.payload import EthosUPayload, TosaPayload, XnnpackPayload

if TYPE_CHECKING:
    import networkx as nx

    from edgeinspect.model import Delegate, Instruction, Method
    from edgeinspect.model.payload import DecodedPayload

__all__ = ["stitch"]


def stitch(method: Method, g: nx.MultiDiGraph, *, decode: Callable[[Delegate], DecodedPayload] | None = None) -> nx.MultiDiGraph:
    """Inline delegate internals into ``g`` (the graph of ``method``) in place; return ``g``.

    ``decode`` reads a delegate's payload (a :class:`~edgeinspect.formats.payloads.PayloadDecoder`
    shared with the caller's other work; by default a fresh one).
    """
    decode = decode or PayloadDecoder()
    producer, _ = producers_and_consumers(method)
    for ins in method.instructions:
        if ins.kind != "delegate" or ins.index not in g or not (ins.target is not None and 0 <= ins.target < len(method.delegates)):
            continue
        inner = _inner_graph(method, ins, decode)
        if inner is None:
            continue
        _splice(method, g, ins, inner, producer)
    return g


def _inner_graph(
    method: Method, ins: Instruction, decode: Callable[[Delegate], DecodedPayload]
) -> tuple[Any, list[tuple[int, ...]], list[tuple[int, ...]]] | None:
    """(networkx graph of the delegate's insides, input shapes, output shapes), or None."""
    import networkx as nx

    d = method.delegates[ins.target]
    try:
        decoded = decode(d)
    except FormatError:
        return None
    prefix = f"d{ins.index}:"
    extra = {"device": d.backend_id, "partition": d.index, "delegate": d.index, "instruction": ins.index}
    h = nx.MultiDiGraph()
    if isinstance(decoded, XnnpackPayload):
        xg = decoded.graph
        add_xnn_nodes(h, xg, prefix=prefix, **extra)
        return h, [v.dims if v else () for v in xg.inputs], [v.dims if v else () for v in xg.outputs]
    if isinstance(decoded, TosaPayload):
        tosa = decoded.graph
    elif isinstance(decoded, EthosUPayload) and decoded.tosa is not None:
        tosa = decoded.tosa
    else:
        return None
    main = tosa.main_block
    for rg in tosa.regions:
        for blk in rg.blocks:
            add_block_nodes(h, rg.name, blk, main_block=blk is main, prefix=prefix, **extra)
    return h, [t.shape for t in tosa.inputs], [t.shape for t in tosa.outputs]


def _pair(shapes: list[tuple[int, ...]], values: list[int], method: Method) -> dict[int, int]:
    """Pair inner positions with method values: in order, equal shapes (leading ones ignored)."""

    def norm(s: tuple[int, ...]) -> tuple[int, ...]:
        s = tuple(s)
        while s and s[0] == 1:
            s = s[1:]
        return s

    out: dict[int, int] = {}
    j = 0
    for k, shape in enumerate(shapes):
        while j < len(values):
            t = method.tensor(values[j])
            j += 1
            if t is not None and norm(t.sizes) == norm(shape):
                out[k] = values[j - 1]
                break
    if len(out) < len(shapes) and len(shapes) == len(values):
        return dict(enumerate(values))
    return out


def _splice(method: Method, g: nx.MultiDiGraph, ins: Instruction, inner: tuple[Any, list, list], producer: dict[int, object]) -> None:
    h, in_shapes, out_shapes = inner
    node = ins.index
    prefix = f"d{ins.index}:"
    args = list(dict.fromkeys(method.tensor_args(ins)))
    outs = [v for v in args if producer.get(v) == node]
    ins_values = [v for v in args if v not in outs]
    in_map = _pair(in_shapes, ins_values, method)
    out_map = _pair(out_shapes, outs, method)
    incoming = {k: (u, d) for u, _, k, d in g.in_edges(node, keys=True, data=True)}
    outgoing: dict[int, list[tuple[Any, dict]]] = {}
    for _, v, k, d in g.out_edges(node, keys=True, data=True):
        outgoing.setdefault(k, []).append((v, d))
    io_nodes = [n for n, d in h.nodes(data=True) if d.get("kind") in ("input", "output")]
    g.add_nodes_from((n, d) for n, d in h.nodes(data=True) if d.get("kind") not in ("input", "output"))
    for u, v, k, d in h.edges(keys=True, data=True):
        if u in io_nodes or v in io_nodes:
            continue
        g.add_edge(u, v, key=k, **d)
    for k_pos in range(len(in_shapes)):
        value = in_map.get(k_pos)
        src = incoming.get(value) if value is not None else None
        if src is None:
            continue
        for _, dst, _, _ in h.out_edges(f"{prefix}input:{k_pos}", keys=True, data=True):
            if dst in io_nodes:
                continue
            g.add_edge(src[0], dst, key=value, **src[1])
    for k_pos in range(len(out_shapes)):
        value = out_map.get(k_pos)
        if value is None or value not in outgoing:
            continue
        for inner_src, _, _, _ in h.in_edges(f"{prefix}output:{k_pos}", keys=True, data=True):
            if inner_src in io_nodes:
                continue
            for dst, d in outgoing[value]:
                g.add_edge(inner_src, dst, key=value, **d)
    g.remove_node(node)
