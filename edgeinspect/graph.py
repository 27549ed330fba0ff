"""The networkx views of the IR, with one node and edge schema, written here and nowhere else.

Every view is a ``networkx.MultiDiGraph``: :func:`method_graph` (one node per instruction of
a method, plus its inputs and outputs; stitched, with the operators inside delegates inlined,
see :mod:`edgeinspect.stitch`), :func:`tosa_graph` (the operators of a .tosa) and
:func:`xnnpack_graph` (the nodes of an XNNPACK payload); :func:`block_graph` (one TOSA basic block). ``Program.to_networkx()``,
``TosaGraph.to_networkx()`` and ``XnnGraph.to_networkx()`` return them.

Nodes
    Every node key is a string, so ``sorted(g.nodes)`` works and a key is the same text in
    networkx, JSON and Model Explorer. Instruction nodes are keyed by the instruction index as
    text (``"3"``, :func:`instruction_key`; the ``index`` attribute holds the number); operator
    nodes by ``"<region>/<block>/<index>"`` (TOSA) or ``"<index>"`` (XNNPACK), prefixed by
    ``"d<instruction>:"`` when stitched into a method; inputs and outputs by ``"input:<k>"``
    and ``"output:<k>"`` (``k`` = position). Every node has:

    ``kind``
        :data:`NodeKind`: ``kernel`` | ``delegate`` | ``other`` (moves, jumps, frees) for
        instructions, ``operator`` for an operator inside a delegate or a .tosa, ``input`` |
        ``output``.
    ``name``
        operator name (``aten::upsample_bilinear2d.vec_out``, ``CONV2D``), backend id of a
        delegate call, ``move``..., ``input <k>`` / ``output <k>``.
    ``op``
        the operator the node runs: a kernel's operator name, a TOSA or XNNPACK operator type
        (``CONV2D``, ``XNNFullyConnected``); None for delegate calls, other instructions,
        inputs and outputs.
    ``index``
        instruction index; an operator's position in its block or payload; the position of
        an input or output.
    ``device``
        ``"CPU"`` for kernel calls and a method's inputs/outputs (the host holds them), the
        backend id for delegate calls and the operators inlined from them, None otherwise.
    ``delegate``
        delegate index of a delegate call or of an operator inlined from it, else None.

    Some nodes say more: instruction nodes ``instruction_kind`` (the instruction's kind as
    read: ``kernel``, ``delegate``, ``move``, ``jump_false``, ``free``, ``unknown``); a method's
    inputs and outputs ``value`` (the value index); operator nodes ``const`` (True for TOSA
    ``CONST``/``CONST_SHAPE``, so views can fold them) and ``attributes``; TOSA operator nodes
    ``region``, ``block``, ``location`` and ``regions`` (the regions a control-flow operator
    runs), TOSA inputs/outputs ``tensor`` (the tensor's name); XNNPACK nodes
    ``debug_handle``; operators stitched into a method ``partition`` (= ``delegate``) and
    ``instruction`` (the delegate call's index); an operator that reads folded constants
    ``consts`` (:func:`fold_constants`).

Edges
    One edge per tensor from the node that produces it to each node that reads it, keyed by
    the tensor (a method's value index, a TOSA tensor name, an XNNPACK value id: two tensors
    can join the same pair). Attributes: ``value`` (that key), ``shape`` (tuple), ``dtype``
    and ``bytes`` (None when unknown); TOSA edges also ``name`` (the tensor name).

:func:`producers_and_consumers` is the dataflow under the graph, without networkx: its
endpoints are instruction indices (``int``) and the ``"input:<k>"``/``"output:<k>"`` keys;
:func:`instruction_key` turns an index into its node key.

A value's producer is the kernel that writes it as an out-argument (ExecuTorch appends a
kernel's return values, its out-arguments, to its arguments), the delegate call that first
names it (a delegate's inputs are already produced), or the ``move`` whose destination it is.
Method inputs and constants have no producing instruction; a value read before anything
writes it (a mutable buffer, such as a KV cache updated with ``copy_``) is state and gets no
made-up producer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from edgeinspect.errors import FormatError
from edgeinspect.formats.payloads import PayloadDecoder
from edgeinspect.textsafe import short_key

if TYPE_CHECKING:
    import networkx as nx

    from edgeinspect.model import DecodedPayload, Delegate, Instruction, Method, TosaBlock, TosaGraph, TosaTensor, XnnGraph

__all__ = [
    "NodeKind",
    "add_block_nodes",
    "add_xnn_nodes",
    "block_graph",
    "fold_constants",
    "instruction_key",
    "method_graph",
    "producers_and_consumers",
    "tosa_graph",
    "xnnpack_graph",
]

#: The ``kind`` of a graph node.
NodeKind = Literal["kernel", "delegate", "other", "operator", "input", "output"]


def instruction_key(index: int) -> str:
    """The node key of instruction ``index`` in a method's graph: the index as text.

    Examples
    --------
    >>> instruction_key(3)
    '3'
    """
    return str(index)


def _key(endpoint: object) -> str:
    """The node key of a :func:`producers_and_consumers` endpoint (an index or an io key)."""
    return str(endpoint)


def _node(
    g: nx.MultiDiGraph,
    key: str,
    kind: NodeKind,
    name: str,
    index: int,
    *,
    op: str | None = None,
    device: str | None = None,
    delegate: int | None = None,
    **details: Any,
) -> None:
    """Add a node with every attribute of the schema (see the module docstring)."""
    g.add_node(key, kind=kind, name=name, op=op, index=index, device=device, delegate=delegate, **details)


def _edge(
    g: nx.MultiDiGraph, src: object, dst: object, value: object, shape: Any, dtype: str | None, nbytes: int | None, **details: Any
) -> None:
    """Add a tensor edge keyed by ``value`` with every attribute of the schema."""
    g.add_edge(src, dst, key=value, value=value, shape=shape, dtype=dtype, bytes=nbytes, **details)


def producers_and_consumers(method: Method) -> tuple[dict[int, object], dict[int, list[object]]]:
    """Map each tensor value to the node that produces it and the nodes that read it.

    Returns
    -------
    producer : dict
        value index -> what produces it: an instruction index (``int``) or ``"input:<k>"``.
    consumers : dict
        value index -> what reads it (instruction indices and ``"output:<k>"``), in execution
        order, without repeats. (:func:`instruction_key` gives an index's graph node key.)
    """
    producer: dict[int, object] = {}
    consumers: dict[int, list[object]] = {}
    for k, v in enumerate(method.inputs):
        for t in _tensors_of(method, v):
            producer.setdefault(t, f"input:{k}")
    values = method.values
    for ins in method.instructions:
        if ins.kind == "move":
            src, dst = ins.args
            for t in _tensors_of(method, src):
                if t in producer:
                    _add_consumer(consumers, t, ins.index)
            producer.setdefault(dst, ins.index)
            continue
        if not ins.is_call:
            continue
        written = _written_by_kernel(method, ins.args) if ins.kind == "kernel" else None
        for t in method.tensor_args(ins):
            if written is not None and t in written:
                # An out-argument (or an in-place self): this call writes it. A value written
                # again (a mutable buffer's copy_) keeps its first writer.
                producer.setdefault(t, ins.index)
            elif t in producer:
                if producer[t] != ins.index:
                    _add_consumer(consumers, t, ins.index)
            elif written is None and not values[t].data.is_constant:
                # Delegate calls (and kernels whose out-arguments cannot be told) take the
                # first mention: inputs come first and are already produced.
                producer[t] = ins.index
            # else: read before anything wrote it and not an input or constant: state
            # (a mutable buffer); no producer is made up for it.
    for k, v in enumerate(method.outputs):
        for t in _tensors_of(method, v):
            _add_consumer(consumers, t, f"output:{k}")
    return producer, consumers


def _written_by_kernel(method: Method, args: tuple[int, ...]) -> set[int] | None:
    """Tensors a kernel call writes, or None when its arguments do not say.

    ExecuTorch emits a kernel's arguments as the schema's arguments followed by its return
    values, and an out-variant (or in-place) kernel returns its out-arguments (or ``self``):
    the trailing run of arguments that also appear earlier in the list is what it writes.
    """
    seen_before = {}
    for pos, a in enumerate(args):
        seen_before.setdefault(a, pos)
    written: list[int] = []
    for pos in range(len(args) - 1, -1, -1):
        a = args[pos]
        if seen_before[a] >= pos:
            break
        written.append(a)
    if not written:
        return None
    out: set[int] = set()
    for a in written:
        out.update(_tensors_of(method, a))
    return out or None


def _add_consumer(consumers: dict[int, list[object]], value: int, node: object) -> None:
    lst = consumers.setdefault(value, [])
    # A node adds its reads together (instructions, then outputs, in order): comparing with
    # the last entry keeps the list free of repeats in constant time.
    if not lst or lst[-1] != node:
        lst.append(node)


def _tensors_of(method: Method, value_index: int) -> list[int]:
    values = method.values
    if not 0 <= value_index < len(values):
        return []
    v = values[value_index]
    if v.kind == "tensor":
        return [value_index]
    if v.kind in ("tensor_list", "optional_tensor_list"):
        return [i for i in v.data if 0 <= i < len(values) and values[i].kind == "tensor"]
    return []


def method_graph(method: Method, *, stitched: bool = False, decode: Callable[[Delegate], Any] | None = None) -> nx.MultiDiGraph:
    """Build the dataflow graph of ``method`` (see the module docstring for attributes).

    Parameters
    ----------
    method : Method
        A method of a loaded program.
    stitched : bool
        Inline the operators inside delegates (XNNPACK nodes, TOSA operators) as nodes with
        ``device`` = backend and ``partition`` = delegate index; see :mod:`edgeinspect.stitch`.
    decode : callable, optional
        ``delegate -> decoded payload`` for the stitched view (a
        :class:`~edgeinspect.formats.payloads.PayloadDecoder` that a caller shares, so each
        payload is decoded once); by default a fresh one.

    Returns
    -------
    networkx.MultiDiGraph
    """
    # Imported here, not at the top: the metrics use producers_and_consumers without
    # networkx, and importing it costs a CLI run that never builds a graph about 0.2 s.
    import networkx as nx

    g = nx.MultiDiGraph(name=method.name)
    for k, v in enumerate(method.inputs):
        _node(g, f"input:{k}", "input", f"input {k}", k, device="CPU", value=v)
    for ins in method.instructions:
        key = instruction_key(ins.index)
        if ins.kind == "kernel":
            _node(g, key, "kernel", ins.name, ins.index, op=ins.name, device=ins.device, instruction_kind=ins.kind)
        elif ins.kind == "delegate":
            _node(g, key, "delegate", ins.name, ins.index, device=ins.device, delegate=ins.ref, instruction_kind=ins.kind)
        else:
            _node(g, key, "other", ins.name, ins.index, device=ins.device, instruction_kind=ins.kind)
    for k, v in enumerate(method.outputs):
        _node(g, f"output:{k}", "output", f"output {k}", k, device="CPU", value=v)
    producer, consumers = producers_and_consumers(method)
    values = method.values
    for value, users in consumers.items():
        src = producer.get(value)
        if src is None:
            continue
        t = values[value].data
        for dst in users:
            _edge(g, _key(src), _key(dst), value, t.sizes, t.dtype, t.nbytes)
    if stitched:
        stitch(method, g, decode=decode)
    return g


def tosa_graph(graph: TosaGraph) -> nx.MultiDiGraph:
    """The dataflow graph of a TOSA flatbuffer: one node per operator of every block, one edge
    per tensor use; the entry block's inputs and outputs are ``input:<k>`` / ``output:<k>``.

    Examples
    --------
    >>> import edgeinspect
    >>> g = edgeinspect.load("tests/data/tosa_cnn.tosa.d/output_tag0_TOSA-1.0+INT.tosa").to_networkx()
    >>> [d["op"] for _, d in g.nodes(data=True) if d["kind"] == "operator" and not d["const"]]
    ['TRANSPOSE', 'CONV2D', 'RESCALE', 'CONV2D', 'RESCALE', 'TRANSPOSE']
    >>> sorted(g.nodes)[:3]      # every node key is a string
    ['input:0', 'main/main/0', 'main/main/1']
    """
    import networkx as nx

    g = nx.MultiDiGraph(name=graph.path or "tosa")
    main = graph.main_block
    for rg in graph.regions:
        for blk in rg.blocks:
            add_block_nodes(g, rg.name, blk, main_block=blk is main, prefix="")
    return g


def block_graph(region: str, block: TosaBlock) -> nx.MultiDiGraph:
    """The dataflow graph of one TOSA basic block, with its own ``input:<k>``/``output:<k>`` nodes."""
    import networkx as nx

    g = nx.MultiDiGraph(name=f"{region}/{block.name}")
    add_block_nodes(g, region, block, main_block=True, prefix="")
    return g


def xnnpack_graph(xg: XnnGraph) -> nx.MultiDiGraph:
    """The dataflow graph of an XNNPACK payload: one node per XNNPACK node (``kind`` =
    ``"operator"``, ``op`` = its type), ``input:<k>``/``output:<k>`` nodes for the external
    values, edges keyed by value id."""
    import networkx as nx

    g = nx.MultiDiGraph(name="xnnpack")
    add_xnn_nodes(g, xg, prefix="")
    return g


def add_block_nodes(g: nx.MultiDiGraph, region: str, block: TosaBlock, *, main_block: bool, prefix: str, **extra: Any) -> dict[str, Any]:
    """Add a block's operators and tensor edges to ``g``; return ``{tensor name: producer node}``.

    Used by :func:`tosa_graph` and by :mod:`edgeinspect.stitch` (which passes a ``prefix`` for
    node keys and ``extra`` node attributes such as ``device``/``partition``). Block inputs get
    ``"<prefix>input:<k>"`` nodes and outputs ``"<prefix>output:<k>"`` nodes when
    ``main_block`` is True.
    """
    tensors = block.tensor_map
    producer: dict[str, Any] = {}
    # Every operator's key repeats the names: long ones (hostile) are shortened, still unique.
    base = f"{prefix}{short_key(region)}/{short_key(block.name)}/"
    if main_block:
        for k, name in enumerate(block.inputs):
            key = f"{prefix}input:{k}"
            _node(g, key, "input", f"input {k}", k, tensor=name, region=region, block=block.name, const=False, **extra)
            producer.setdefault(name, key)
    for op in block.operators:
        key = base + str(op.index)
        _node(
            g,
            key,
            "operator",
            op.op,
            op.index,
            op=op.op,
            region=region,
            block=block.name,
            const=op.is_const,
            attributes=op.attributes,
            location=op.location,
            regions=op.regions,
            **extra,
        )
        for name in op.inputs:
            src = producer.get(name)
            if src is not None:
                _tensor_edge(g, src, key, name, tensors.get(name))
        for name in op.outputs:
            producer.setdefault(name, key)
    if main_block:
        for k, name in enumerate(block.outputs):
            key = f"{prefix}output:{k}"
            _node(g, key, "output", f"output {k}", k, tensor=name, region=region, block=block.name, const=False, **extra)
            src = producer.get(name)
            if src is not None:
                _tensor_edge(g, src, key, name, tensors.get(name))
    return producer


def _tensor_edge(g: nx.MultiDiGraph, src: Any, dst: Any, name: str, t: TosaTensor | None) -> None:
    if t is None:
        _edge(g, src, dst, name, None, None, None, name=name)
    else:
        _edge(g, src, dst, name, t.shape, t.dtype, t.nbytes, name=name)


def add_xnn_nodes(g: nx.MultiDiGraph, xg: XnnGraph, *, prefix: str, **extra: Any) -> None:
    """Add the nodes and value edges of ``xg`` to ``g`` with keys prefixed by ``prefix``."""
    by_id = {v.id: v for v in xg.values}
    producer: dict[int, Any] = {}
    for k, vid in enumerate(xg.input_ids):
        key = f"{prefix}input:{k}"
        _node(g, key, "input", f"input {k}", k, const=False, **extra)
        producer.setdefault(vid, key)

    def edge(src: Any, dst: Any, vid: int) -> None:
        v = by_id.get(vid)
        _edge(g, src, dst, vid, v.dims if v else None, v.datatype if v else None, v.nbytes if v else None)

    for n in xg.nodes:
        key = f"{prefix}{n.index}"
        _node(g, key, "operator", n.type, n.index, op=n.type, const=False, attributes=n.attributes, debug_handle=n.debug_handle, **extra)
        for vid in n.inputs:
            src = producer.get(vid)
            if src is not None:
                edge(src, key, vid)
        for vid in n.outputs:
            producer.setdefault(vid, key)
    for k, vid in enumerate(xg.output_ids):
        key = f"{prefix}output:{k}"
        _node(g, key, "output", f"output {k}", k, const=False, **extra)
        src = producer.get(vid)
        if src is not None:
            edge(src, key, vid)


def fold_constants(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Fold TOSA ``CONST``/``CONST_SHAPE`` operators (nodes with ``const``) into their readers,
    in place; return ``g``.

    Each such node is removed and described in the ``consts`` attribute (a list of dicts with
    ``tensor``, ``op``, ``shape``, ``dtype``, ``bytes``) of the nodes that read it.
    """
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


# -- the stitched view -----------------------------------------------------------------


def stitch(method: Method, g: nx.MultiDiGraph, *, decode: Callable[[Delegate], DecodedPayload] | None = None) -> nx.MultiDiGraph:
    """Inline delegate internals into ``g`` (the graph of ``method``) in place; return ``g``.

    ``decode`` reads a delegate's payload (a :class:`~edgeinspect.formats.payloads.PayloadDecoder`
    shared with the caller's other work; by default a fresh one).
    """
    decode = decode or PayloadDecoder()
    producer, _ = producers_and_consumers(method)
    for ins in method.instructions:
        if (
            ins.kind != "delegate"
            or instruction_key(ins.index) not in g
            or not (ins.ref is not None and 0 <= ins.ref < len(method.delegates))
        ):
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

    from edgeinspect.model.ethosu import EthosUPayload
    from edgeinspect.model.tosa import TosaPayload
    from edgeinspect.model.xnnpack import XnnpackPayload

    d = method.delegates[ins.ref]
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
    node = instruction_key(ins.index)
    prefix = f"d{ins.index}:"
    args = list(dict.fromkeys(method.tensor_args(ins)))
    outs = [v for v in args if producer.get(v) == ins.index]
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
