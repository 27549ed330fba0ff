"""Provenance from an ETRecord: the module, file and line of every instruction of a .pte and
of every operator inside its delegates.

What it rests on (executorch 1.5.1's emitter and devtools, read, not copied):

- Instructions carry no debug handle. While emitting a method, executorch records
  instruction index -> the debug handle of the node it came from (the ETRecord's
  ``_debug_handle_map``, per method); for a delegate call, the handles of the lowered
  subgraph's call_function nodes, in graph order. ``_delegate_map`` names each delegate
  call's backend. Views the emitter turns into ``executorch_prim::et_view`` get no entry.
- The ETRecord's edge program is the graph before ``to_executorch``: its nodes keep the
  handle in ``node.meta["debug_handle"]``, the module hierarchy in ``nn_module_stack`` and
  the frames in ``stack_trace``. A handle names a node of the exported graph, so several
  edge nodes share it (the quantize/dequantize around an op, a decomposition's parts): a
  kernel call is tied to the node with its handle *and* its operator, several such nodes
  in graph order (the order the emitter walks).
- A delegate's operators live in its lowered module's ``original_module``; XNNPACK payload
  nodes keep the handle of the node they were made from (65535 for nodes a pass added).

A pairing that does not add up (another export's ETRecord) raises UsageError naming what
differs. The ETRecord is loaded by :func:`edgeinspect.export.partitioner.load_etrecord`.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from edgeinspect.analysis.fragmentation import base_operator, is_glue
from edgeinspect.errors import UsageError
from edgeinspect.export.partitioner import _op_name, delegate_modules, edge_programs, load_etrecord
from edgeinspect.model import Method, Program
from edgeinspect.model.source import (
    MethodSources,
    Module,
    OpSource,
    ProgramSources,
    Source,
    merge_sources,
    parse_stack_trace,
    source_from,
)

__all__ = ["etrecord_sources", "node_source"]

#: The handle XNNPACK gives payload nodes that no graph node made (layout transposes).
_NO_HANDLE = 65535


def node_source(node: torch.fx.Node) -> Source:
    """The :class:`Source` of an edge-graph node, from its ``nn_module_stack`` and
    ``stack_trace``."""
    stack = node.meta.get("nn_module_stack") or {}
    modules = [Module(str(path), str(kind)) for path, kind in (v for v in stack.values() if isinstance(v, tuple) and len(v) == 2)]
    frames = parse_stack_trace(node.meta.get("stack_trace") or "")
    return source_from(frames, modules, nodes=(node.name,))


def etrecord_sources(program: Program, etrecord: str | os.PathLike[str]) -> ProgramSources:
    """The sources of every instruction and delegate operator of ``program`` from the
    ETRecord written at its export.

    Raises
    ------
    UsageError
        When the ETRecord was not written for this program (methods, delegate calls,
        operators or debug handles differ), or holds no debug handle map.
    """
    et = load_etrecord(etrecord)
    name = os.path.basename(os.fspath(etrecord))
    handle_maps = et._debug_handle_map
    if not handle_maps:
        raise UsageError(
            f"{name} holds no debug handle map, which ties instructions to graph nodes: write it with "
            "generate_etrecord(path, edge_manager, executorch_manager), passing the ExecuTorch program"
        )
    edge = edge_programs(et)
    delegate_maps = et._delegate_map or {}
    theirs = sorted(edge)
    ours = sorted(m.name for m in program.methods)
    if theirs != ours:
        raise UsageError(f"{name} does not belong to this program: it holds methods {theirs}, the program {ours}")
    methods = {}
    for method in program.methods:
        handles = handle_maps.get(method.name)
        if handles is None:
            raise UsageError(f"{name} has no debug handles for method {method.name!r}")
        methods[method.name] = _method_sources(method, edge[method.name], handles, delegate_maps.get(method.name) or {}, name)
    return ProgramSources("etrecord", methods, etrecord=name)


def _mismatch(name: str, method: Method, what: str) -> UsageError:
    return UsageError(f"{name} does not belong to this program: method {method.name!r}: {what}")


def _graph_nodes(ep: Any) -> list[torch.fx.Node]:
    """The call_function nodes that run on the CPU: the top-level graph and its control-flow
    submodules (not the delegates' lowered subgraphs), in graph order."""
    out = []
    for module in ep.graph_module.modules():
        if isinstance(module, torch.fx.GraphModule):
            out.extend(
                n
                for n in module.graph.nodes
                if n.op == "call_function"
                and n.target is not operator.getitem
                and getattr(n.target, "__name__", "") != "executorch_call_delegate"
            )
    return out


def _subgraph_nodes(lowered: Any) -> list[torch.fx.Node]:
    return [n for n in lowered.original_module.graph.nodes if n.op == "call_function" and n.target is not operator.getitem]


def _method_sources(method: Method, ep: Any, raw_handles: Mapping[str, Any], delegate_map: Mapping[str, Any], name: str) -> MethodSources:
    handles: dict[int, Any] = {}
    for key, value in raw_handles.items():
        try:
            index = int(key)
        except ValueError:
            raise _mismatch(name, method, f"debug handle map key {key!r} is not an instruction index") from None
        if not 0 <= index < len(method.instructions):
            raise _mismatch(name, method, f"the ETRecord maps instruction {index}, the method has {len(method.instructions)}")
        kind = method.instructions[index].kind
        if (kind == "delegate") != isinstance(value, list) or kind not in ("kernel", "delegate"):
            raise _mismatch(name, method, f"instruction {index} is a {kind} call here, not in the ETRecord")
        handles[index] = value

    calls = [i for i in method.instructions if i.kind == "delegate"]
    lowered = delegate_modules(ep)
    if len(calls) != len(lowered):
        raise _mismatch(name, method, f"{len(calls)} delegate call(s) here, {len(lowered)} in the ETRecord")
    instructions: dict[int, Source] = {}
    delegates: dict[int, tuple[OpSource, ...]] = {}
    payload: dict[int, dict[int, Source]] = {}
    for ins, low in zip(calls, lowered, strict=True):
        backend = (delegate_map.get(str(ins.index)) or {}).get("name", low.backend_id)
        if backend != ins.name or low.backend_id != ins.name:
            raise _mismatch(name, method, f"instruction {ins.index} calls {ins.name}, the ETRecord {low.backend_id}")
        nodes = _subgraph_nodes(low)
        expected = [n.meta.get("debug_handle") for n in nodes if n.meta.get("debug_handle") is not None]
        if ins.index in handles and list(handles[ins.index]) != expected:
            raise _mismatch(name, method, f"delegate call {ins.index} lowered other nodes (debug handles differ)")
        ops = tuple(OpSource(k, _op_name(n.target), n.name, n.meta.get("debug_handle"), node_source(n)) for k, n in enumerate(nodes))
        delegates[ins.delegate] = ops
        merged = merge_sources(op.source for op in ops if not is_glue(op.operator)) or merge_sources(op.source for op in ops)
        if merged is not None:
            instructions[ins.index] = merged
        payload_sources = _payload_sources(method, ins.delegate, ops)
        if payload_sources is None:
            raise _mismatch(name, method, f"the XNNPACK nodes of delegate {ins.delegate} carry debug handles its lowered subgraph lacks")
        if payload_sources:
            payload[ins.delegate] = payload_sources

    by_handle: dict[Any, list[torch.fx.Node]] = {}
    for n in _graph_nodes(ep):
        by_handle.setdefault(n.meta.get("debug_handle"), []).append(n)
    taken: dict[tuple[Any, str], int] = {}
    for ins in method.instructions:
        if ins.kind != "kernel" or ins.index not in handles:
            continue
        handle = handles[ins.index]
        candidates = by_handle.get(handle, [])
        op = base_operator(ins.name)
        same = [n for n in candidates if base_operator(_op_name(n.target)) == op]
        if same:
            k = taken.get((handle, op), 0)
            taken[(handle, op)] = k + 1
            # More calls than nodes: no order left to go by, so every candidate.
            chosen = [same[k]] if k < len(same) else same
        elif candidates and ins.name.startswith("executorch_prim::"):
            chosen = candidates  # a symbolic-size op the emitter made from the node
        else:
            found = ", ".join(sorted({_op_name(n.target) for n in candidates})) or "none"
            raise _mismatch(
                name, method, f"instruction {ins.index} runs {ins.name}; the ETRecord's nodes with its debug handle {handle} run {found}"
            )
        merged = merge_sources(node_source(n) for n in chosen)
        if merged is not None:
            instructions[ins.index] = merged
    return MethodSources(method.name, dict(sorted(instructions.items())), delegates, payload)


def _payload_sources(method: Method, delegate: int, ops: Iterable[OpSource]) -> dict[int, Source] | None:
    """XNNPACK node index -> the merged source of the subgraph operators with its handle;
    ``{}`` for other payloads, None when a node's handle is not in the subgraph."""
    from edgeinspect.errors import FormatError
    from edgeinspect.formats.payloads import decode_delegate

    d = method.delegates[delegate]
    if d.backend_id != "XnnpackBackend":
        return {}
    try:
        decoded = decode_delegate(d)
    except FormatError:
        return {}  # the payload's own problem, reported by inspect; nothing to place here
    by_handle: dict[int, list[Source]] = {}
    for op in ops:
        if op.debug_handle is not None:
            by_handle.setdefault(op.debug_handle, []).append(op.source)
    out: dict[int, Source] = {}
    for node in decoded.graph.nodes:
        if node.debug_handle == _NO_HANDLE:
            continue
        if node.debug_handle not in by_handle:
            return None
        merged = merge_sources(by_handle[node.debug_handle])
        if merged is not None:
            out[node.index] = merged
    return out
