"""The counterfactual as first written (networkx graphs, a full re-partition per question):
slow, but the model stated plainly. ``edgeinspect.recommend.counterfactual`` computes the same
answers incrementally; tests/recommend/test_counterfactual_equivalence.py holds the two equal
on real fixtures and on generated programs."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import networkx as nx

from edgeinspect.analysis.fragmentation import (
    base_operator,
    boundary_bytes,
    is_glue,
    tensor_bytes,
    transitions,
)
from edgeinspect.graph import producers_and_consumers
from edgeinspect.model import Method
from edgeinspect.recommend.counterfactual import Counterfactual, Partitioning


def _call_graph(method: Method) -> nx.DiGraph:
    """Dataflow between instructions (and method inputs/outputs), without edge multiplicity;
    instruction nodes keyed by their index (the graph's keys are its text)."""
    g = nx.DiGraph(method.to_networkx())
    return nx.relabel_nodes(g, {n: d["index"] for n, d in g.nodes(data=True) if d["kind"] not in ("input", "output")})


def _is_convex(g: nx.DiGraph, members: set[Any]) -> bool:
    """No path from the set leaves it and comes back."""
    frontier = [s for m in members for s in g.successors(m) if s not in members]
    seen: set[Any] = set()
    while frontier:
        n = frontier.pop()
        if n in seen:
            continue
        seen.add(n)
        for s in g.successors(n):
            if s in members:
                return False
            if s not in seen:
                frontier.append(s)
    return True


def repartition(method: Method, backend: str, supported: Iterable[str]) -> Partitioning:
    """Re-partition ``method`` for ``backend`` with the ``supported`` operators delegated.

    Parameters
    ----------
    method : Method
    backend : str
        Backend id (``EthosUBackend``, ``XnnpackBackend``...).
    supported : iterable of str
        Base operator names (``aten::cumsum``) or full names (``aten::cumsum.out``) of CPU
        kernels to treat as supported by ``backend``.

    Returns
    -------
    Partitioning

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction, Value, Tensor
    >>> t = Value("tensor", Tensor(6, (1, 4)))      # 16 bytes each
    >>> calls = (Instruction(0, "delegate", 0, (0, 1), "XnnpackBackend", "XnnpackBackend"),
    ...          Instruction(1, "kernel", 0, (1, 2), "aten::cumsum.out", "CPU"),
    ...          Instruction(2, "delegate", 1, (2, 3), "XnnpackBackend", "XnnpackBackend"))
    >>> m = Method("forward", (t, t, t, t), (0,), (3,), calls, (), ())
    >>> p = repartition(m, "XnnpackBackend", ["aten::cumsum"])
    >>> p.partitions, p.transitions, p.boundary_bytes
    (((0, 1, 2),), 2, 32)
    """
    wanted = set(supported)
    g = _call_graph(method)
    by_index = {i.index: i for i in method.instructions}

    def candidate(n: Any) -> bool:
        ins = by_index.get(n) if isinstance(n, int) else None
        if ins is None:
            return False
        if ins.kind == "delegate":
            return ins.name == backend
        if ins.kind != "kernel":
            return False
        return is_glue(ins.name) or ins.name in wanted or base_operator(ins.name) in wanted

    order = list(nx.lexicographical_topological_sort(g, key=_order_key))
    part_of: dict[Any, int] = {}
    parts: dict[int, set[Any]] = {}
    ids = itertools.count()
    for n in reversed(order):
        if not candidate(n):
            continue
        pid = next(ids)
        parts[pid] = {n}
        part_of[n] = pid
        for user in sorted(g.successors(n), key=_order_key):
            other = part_of.get(user)
            if other is None or other == part_of[n]:
                continue
            merged = parts[part_of[n]] | parts[other]
            if _is_convex(g, merged):
                keep, drop = other, part_of[n]
                parts[keep] = merged
                for m in parts.pop(drop):
                    part_of[m] = keep
    final = _detag_boundary_glue(g, by_index, parts.values())
    return _sequence(method, g, by_index, final, backend, producers_and_consumers(method))


def _order_key(n: Any) -> tuple[int, int, str]:
    """Inputs first, then instructions by index, then outputs."""
    if isinstance(n, int):
        return (1, n, "")
    kind, _, k = str(n).partition(":")
    return (0 if kind == "input" else 2, int(k) if k.isdigit() else 0, str(n))


def _detag_boundary_glue(g: nx.DiGraph, by_index: dict[int, Any], parts: Iterable[set[Any]]) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for members in parts:
        members = set(members)
        changed = True
        while changed:
            changed = False
            for n in sorted(members):
                if not is_glue(by_index[n].name):
                    continue
                name = by_index[n].name
                if "dequantize" in name:  # converts back to float: on the boundary if read outside
                    outside = any(s not in members for s in g.successors(n))
                else:  # converts to the integer type: on the boundary if fed from outside
                    outside = any(p not in members for p in g.predecessors(n))
                if outside or g.out_degree(n) == 0:
                    members.discard(n)
                    changed = True
        for piece in nx.weakly_connected_components(g.subgraph(members)):
            if not any(by_index[n].kind == "delegate" or not is_glue(by_index[n].name) for n in piece):
                continue
            if _is_convex(g, piece):
                out.append(tuple(sorted(piece)))
            else:  # de-tagging made it cyclic: keep only its delegates, each on its own
                out.extend((n,) for n in sorted(piece) if by_index[n].kind == "delegate")
    out.sort()
    return out


def _sequence(
    method: Method,
    g: nx.DiGraph,
    by_index: dict[int, Any],
    parts: list[tuple[int, ...]],
    backend: str,
    flow: tuple[dict[int, Any], dict[int, list[Any]]],
) -> Partitioning:
    rep: dict[Any, Any] = {}
    for p in parts:
        for n in p:
            rep[n] = ("part", p[0])
    contracted = nx.DiGraph()
    for n in g.nodes:
        contracted.add_node(rep.get(n, n))
    for a, b in g.edges:
        ra, rb = rep.get(a, a), rep.get(b, b)
        if ra != rb:
            contracted.add_edge(ra, rb)
    members = {("part", p[0]): p for p in parts}

    def key(n: Any) -> tuple[int, int, str]:
        return _order_key(members[n][0] if n in members else n)

    order: list[tuple[int, ...]] = []
    devices: list[str] = []
    nbytes = 0
    for n in nx.lexicographical_topological_sort(contracted, key=key):
        if n in members:
            p = members[n]
            order.append(p)
            devices.append(backend)
            nbytes += _partition_bytes(method, flow, by_index, p)
            continue
        ins = by_index.get(n) if isinstance(n, int) else None
        if ins is None or not ins.is_call:
            continue
        order.append((n,))
        devices.append(ins.device or "CPU")
        if ins.kind == "delegate":
            nbytes += tensor_bytes(method, method.tensor_args(ins))
    return Partitioning(tuple(parts), tuple(order), tuple(devices), nbytes)


def _partition_bytes(
    method: Method, flow: tuple[dict[int, Any], dict[int, list[Any]]], by_index: dict[int, Any], part: tuple[int, ...]
) -> int:
    """Argument bytes of the delegate call a partition would become."""
    delegates = [n for n in part if by_index[n].kind == "delegate"]
    if len(part) == 1 and delegates:
        return tensor_bytes(method, method.tensor_args(by_index[part[0]]))
    producer, consumers = flow
    inside = set(part)
    args: dict[int, None] = {}
    for n in part:
        for v in method.tensor_args(by_index[n]):
            src = producer.get(v)
            if src is None:  # a constant: it would be baked into the delegate
                continue
            users = consumers.get(v, [])
            if src in inside and all(u in inside for u in users):
                continue  # produced inside and read only inside (or never read): never crosses
            args[v] = None
    return tensor_bytes(method, args)


def counterfactual(method: Method, backend: str, operators: Iterable[str]) -> Counterfactual:
    """Delegate calls, transitions and boundary bytes of ``method`` before and after
    treating ``operators`` as supported by ``backend`` (see :func:`repartition`).

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction, Value, Tensor
    >>> t = Value("tensor", Tensor(6, (1, 4)))
    >>> calls = (Instruction(0, "delegate", 0, (0, 1), "XnnpackBackend", "XnnpackBackend"),
    ...          Instruction(1, "kernel", 0, (1, 2), "aten::cumsum.out", "CPU"),
    ...          Instruction(2, "delegate", 1, (2, 3), "XnnpackBackend", "XnnpackBackend"))
    >>> cf = counterfactual(Method("forward", (t, t, t, t), (0,), (3,), calls, (), ()), "XnnpackBackend", ["aten::cumsum"])
    >>> cf.delegates_after, cf.transitions_saved, cf.bytes_saved
    (1, 2, 32)
    """
    ops = tuple(dict.fromkeys(operators))
    p = repartition(method, backend, ops)
    before: dict[str, int] = {}
    for ins in method.calls:
        if ins.kind == "delegate":
            before[ins.name] = before.get(ins.name, 0) + 1
    after: dict[str, int] = {}
    for dev in p.devices:
        if dev != "CPU":
            after[dev] = after.get(dev, 0) + 1
    return Counterfactual(
        method=method.name,
        backend=backend,
        operators=ops,
        subgraphs_before=before,
        subgraphs_after=after,
        transitions_before=transitions(method),
        transitions_after=p.transitions,
        bytes_before=boundary_bytes(method),
        bytes_after=p.boundary_bytes,
        _partitioning=p,
    )
