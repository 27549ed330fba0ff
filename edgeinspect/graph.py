"""The networkx view of a method: one node per instruction plus inputs and outputs.

Nodes
    Instruction nodes are keyed by the instruction index (``int``); method inputs and
    outputs by ``"input:<k>"`` and ``"output:<k>"`` (``k`` = position). Attributes:

    ``kind``
        ``kernel`` | ``delegate`` | ``input`` | ``output`` | ``other`` (moves, jumps, frees).
    ``name``
        operator name (``aten::upsample_bilinear2d.vec_out``), backend id, ``move``...
    ``device``
        ``"CPU"`` for kernel calls (and inputs/outputs, which the host holds), the backend id
        for delegate calls, None for the others.
    ``index``
        instruction index (position for inputs/outputs).
    ``delegate``
        delegate index for delegate calls, else None.
    ``op``
        instruction kind as read (``kernel``, ``delegate``, ``move``, ``jump_false``, ``free``).

Edges
    One edge per tensor value from the instruction that produces it to each instruction
    that reads it (a ``MultiDiGraph``, keyed by value index, since two tensors can join the
    same pair). Attributes: ``value`` (index), ``shape`` (tuple), ``dtype`` and ``bytes``.

A value's producer is the kernel that writes it as an out-argument (ExecuTorch appends a
kernel's return values, its out-arguments, to its arguments), the delegate call that first
names it (a delegate's inputs are already produced), or the ``move`` whose destination it is.
Method inputs and constants have no producing instruction; a value read before anything
writes it (a mutable buffer, such as a KV cache updated with ``copy_``) is state and gets no
made-up producer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

    from edgeinspect.model import Method

__all__ = ["method_graph", "producers_and_consumers"]


def producers_and_consumers(method: Method) -> tuple[dict[int, object], dict[int, list[object]]]:
    """Map each tensor value to the node that produces it and the nodes that read it.

    Returns
    -------
    producer : dict
        value index -> node key (instruction index or ``"input:<k>"``).
    consumers : dict
        value index -> list of node keys, in execution order, without repeats.
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


def method_graph(method: Method, *, stitched: bool = False) -> nx.MultiDiGraph:
    """Build the dataflow graph of ``method`` (see the module docstring for attributes).

    Parameters
    ----------
    method : Method
        A method of a loaded program.
    stitched : bool
        Inline the operators inside delegates (XNNPACK nodes, TOSA operators) as nodes with
        ``device`` = backend and ``partition`` = delegate index; see :mod:`edgeinspect.stitch`.

    Returns
    -------
    networkx.MultiDiGraph
    """
    # Imported here, not at the top: the metrics use producers_and_consumers without
    # networkx, and importing it costs a CLI run that never builds a graph about 0.2 s.
    import networkx as nx

    g = nx.MultiDiGraph(name=method.name)
    for k, v in enumerate(method.inputs):
        g.add_node(f"input:{k}", kind="input", name=f"input {k}", device="CPU", index=k, delegate=None, op="input", value=v)
    for ins in method.instructions:
        kind = ins.kind if ins.kind in ("kernel", "delegate") else "other"
        g.add_node(
            ins.index,
            kind=kind,
            name=ins.name,
            device=ins.device,
            index=ins.index,
            delegate=ins.target if ins.kind == "delegate" else None,
            op=ins.kind,
        )
    for k, v in enumerate(method.outputs):
        g.add_node(f"output:{k}", kind="output", name=f"output {k}", device="CPU", index=k, delegate=None, op="output", value=v)
    producer, consumers = producers_and_consumers(method)
    values = method.values
    for value, users in consumers.items():
        src = producer.get(value)
        if src is None:
            continue
        t = values[value].data
        for dst in users:
            g.add_edge(src, dst, key=value, value=value, shape=t.sizes, dtype=t.dtype, bytes=t.nbytes)
    if stitched:
        from edgeinspect.stitch import stitch

        stitch(method, g)
    return g
