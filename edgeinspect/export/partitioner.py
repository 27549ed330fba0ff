"""The real partitioners, driven from an ETRecord: every rejection reason, and what-if.

This is the only module of the recommender that imports torch/executorch (pinned 1.5.1).

An ETRecord holds the edge program *after* lowering: CPU nodes plus one
``executorch_call_delegate`` per delegate, whose lowered module keeps the subgraph it was
made from (``original_module``). :func:`unlower` inlines those subgraphs back, which gives
the program the partitioner saw. On it:

- :func:`rejection_reasons` runs the backend's own operator-support checks one by one on
  every node that stayed on the CPU (executorch chains them, stops at the first failure
  and only logs one reason per node; here every check runs and every reason is kept);
- :func:`whatif_partitions` re-runs the backend's partitioner, rebuilt from the delegate's
  compile specs, with given operators treated as supported, and counts the partitions.

Arm (TOSA / Ethos-U) checks come from ``executorch.backends.arm.operator_support``;
XNNPACK's from its partitioner configs (their reasons are logged through
``WhyNoPartition``; we capture those log records).
"""

from __future__ import annotations

import copy
import logging
import operator
import os
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch.export import ExportedProgram
from torch.export.graph_signature import ExportGraphSignature, InputKind, InputSpec, OutputSpec, TensorArgument

from edgeinspect.analysis.fragmentation import base_operator
from edgeinspect.model import accelerator_config

__all__ = [
    "edge_programs",
    "etrecord_analysis",
    "load_edge_programs",
    "load_etrecord",
    "rebuild_partitioner",
    "rejection_reasons",
    "unlower",
    "whatif_partitions",
]

_ORIGIN = "edgeinspect_origin"
_ACCEPTED = (
    "accepted by every support check; left on the CPU by partitioning "
    "(a quantize/dequantize on a partition boundary, or a partition with no real work)"
)


def load_etrecord(path: str | os.PathLike[str]) -> Any:
    """Parse an ETRecord (executorch's ``parse_etrecord``); it must hold the edge program.

    Loading one runs torch deserialization (see docs/provenance.md): only ever on a file the
    user named with ``--etrecord``.
    """
    from executorch.devtools.etrecord import parse_etrecord

    et = parse_etrecord(str(path))
    if et.edge_dialect_program is None:
        from edgeinspect.errors import UsageError

        raise UsageError(
            f"{path}: the ETRecord holds no edge dialect program; generate it with generate_etrecord(path, edge_manager, et_manager)"
        )
    return et


def edge_programs(et: Any) -> dict[str, ExportedProgram]:
    """The edge-dialect program of each method of a parsed ETRecord.

    An ETRecord of one method stores it without its name; the debug handle map (keyed by
    method) names it when it has one entry, else it is ``forward``.
    """
    edge = et.edge_dialect_program
    if isinstance(edge, dict):
        return dict(edge)
    names = list(et._debug_handle_map or {})
    return {names[0] if len(names) == 1 else "forward": edge}


def load_edge_programs(path: str | os.PathLike[str]) -> dict[str, ExportedProgram]:
    """The edge-dialect program of each method stored in an ETRecord."""
    return edge_programs(load_etrecord(path))


def etrecord_delegate_ops(path: str | os.PathLike[str]) -> dict[str, list[dict[str, int]]]:
    """Per method, the operators each delegate call lowered (base names, glue left out), in
    call order, from the subgraphs an ETRecord keeps: what coverage needs when a payload
    (Ethos-U without its .tosa) does not say."""
    from edgeinspect.analysis.fragmentation import is_glue

    out: dict[str, list[dict[str, int]]] = {}
    for name, ep in load_edge_programs(path).items():
        calls = []
        for lowered in delegate_modules(ep):
            hist: dict[str, int] = {}
            for n in lowered.original_module.graph.nodes:
                if n.op != "call_function" or n.target is operator.getitem:
                    continue
                op = _op_name(n.target)
                if not is_glue(op):
                    base = base_operator(op)
                    hist[base] = hist.get(base, 0) + 1
            calls.append(hist)
        out[name] = calls
    return out


def _op_name(target: Any) -> str:
    inner = getattr(target, "_op", target)
    name = getattr(inner, "name", None)
    text = name() if callable(name) else str(target)
    return text if "." in text.rpartition("::")[2] else f"{text}.default"


def _delegate_calls(ep: ExportedProgram) -> list[torch.fx.Node]:
    return [n for n in ep.graph.nodes if n.op == "call_function" and getattr(n.target, "__name__", "") == "executorch_call_delegate"]


def delegate_modules(ep: ExportedProgram) -> list[Any]:
    """The lowered modules of the delegate calls, in graph order."""
    gm = ep.graph_module
    return [getattr(gm, n.args[0].target) for n in _delegate_calls(ep)]


def unlower(ep: ExportedProgram) -> ExportedProgram:
    """The program before partitioning: every delegate call replaced by the subgraph it lowered.

    Nodes keep their names where they are free; every node records where it came from in
    ``node.meta["edgeinspect_origin"]`` (``"cpu"``, or the delegate's position).
    """
    gm = ep.graph_module
    calls = _delegate_calls(ep)
    lowered = {c: getattr(gm, c.args[0].target) for c in calls}
    graph = torch.fx.Graph()
    env: dict[torch.fx.Node, Any] = {}
    specs_by_name = {s.arg.name: s for s in ep.graph_signature.input_specs if isinstance(s.arg, TensorArgument)}
    state_dict = dict(ep.state_dict)
    constants = dict(ep.constants)
    input_specs: list[InputSpec] = []
    top_placeholders = [n for n in ep.graph.nodes if n.op == "placeholder"]

    def add_placeholder(node: torch.fx.Node, spec: InputSpec, prefix: str, source: Any) -> torch.fx.Node:
        new = graph.placeholder(f"{prefix}{node.name}")
        new.meta = copy.copy(node.meta)
        target = spec.target
        if spec.kind in (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR) and prefix:
            target = f"{prefix}{spec.target}"
            store = (
                source.constants if spec.kind == InputKind.CONSTANT_TENSOR or spec.target not in source.state_dict else source.state_dict
            )
            (constants if store is source.constants else state_dict)[target] = store[spec.target]
        input_specs.append(InputSpec(kind=spec.kind, arg=TensorArgument(name=new.name), target=target, persistent=spec.persistent))
        return new

    # Lifted parameters/buffers/constants first (top level, then each delegate's), then user inputs.
    for node in top_placeholders:
        spec = specs_by_name[node.name]
        if spec.kind != InputKind.USER_INPUT:
            env[node] = add_placeholder(node, spec, "", ep)
    sub_env: dict[Any, dict[torch.fx.Node, Any]] = {}
    for k, call in enumerate(calls):
        sub = lowered[call].original_module
        sub_specs = {s.arg.name: s for s in sub.graph_signature.input_specs if isinstance(s.arg, TensorArgument)}
        sub_env[call] = {}
        for node in sub.graph.nodes:
            if node.op == "placeholder" and sub_specs[node.name].kind != InputKind.USER_INPUT:
                sub_env[call][node] = add_placeholder(node, sub_specs[node.name], f"d{k}_", sub)
    for node in top_placeholders:
        spec = specs_by_name[node.name]
        if spec.kind == InputKind.USER_INPUT:
            env[node] = add_placeholder(node, spec, "", ep)

    outputs_of: dict[torch.fx.Node, list[Any]] = {}
    for node in ep.graph.nodes:
        if node.op == "placeholder" or (node.op == "get_attr" and any(node is c.args[0] for c in calls)):
            continue
        if node in lowered:
            k = calls.index(node)
            sub = lowered[node].original_module
            user_inputs = [n for n in sub.graph.nodes if n.op == "placeholder" and n not in sub_env[node]]
            local = dict(sub_env[node])
            for ph, arg in zip(user_inputs, node.args[1:], strict=False):
                local[ph] = env[arg]
            for sn in sub.graph.nodes:
                if sn.op in ("placeholder", "output"):
                    continue
                new = graph.node_copy(sn, lambda a, local=local: local[a])
                new.meta[_ORIGIN] = k
                local[sn] = new
            out = next(n for n in sub.graph.nodes if n.op == "output")
            outputs_of[node] = [local[a] if isinstance(a, torch.fx.Node) else a for a in out.args[0]]
            continue
        if node.op == "call_function" and node.args and node.args[0] in outputs_of and getattr(node.target, "__name__", "") == "getitem":
            env[node] = outputs_of[node.args[0]][node.args[1]]
            continue
        if node.op == "output":
            graph.output(torch.fx.node.map_arg(node.args[0], lambda a: env[a]))
            continue
        new = graph.node_copy(node, lambda a: env[a])
        new.meta[_ORIGIN] = "cpu"
        env[node] = new
    _one_fake_mode(ep, graph)
    for n in graph.nodes:
        _positional_args(n)
    out_node = next(n for n in graph.nodes if n.op == "output")
    out_args = out_node.args[0]
    output_specs = [
        OutputSpec(kind=s.kind, arg=TensorArgument(name=a.name) if isinstance(a, torch.fx.Node) else s.arg, target=s.target)
        for s, a in zip(ep.graph_signature.output_specs, out_args, strict=False)
    ]
    root = torch.nn.Module()
    new_gm = torch.fx.GraphModule(root, graph)
    for name, value in list(state_dict.items()) + list(constants.items()):
        _set_attr(new_gm, name, value)
    return _PartitionerInput(
        root=new_gm,
        graph=new_gm.graph,
        graph_signature=ExportGraphSignature(input_specs=input_specs, output_specs=output_specs),
        state_dict=state_dict,
        range_constraints=copy.copy(ep.range_constraints),
        module_call_graph=copy.deepcopy(ep.module_call_graph),
        constants=constants,
        verifiers=ep.verifiers,
    )


class _PartitionerInput(ExportedProgram):
    """The program the partitioner saw, rebuilt by :func:`unlower`.

    It holds operators that backends keep whole (XNNPACK's ``aten.linear``), which the edge
    verifier of a finished program rejects, so this program skips validation: an override on
    this class alone, nothing patched process-wide (programs the partitioners build from it are
    plain ExportedPrograms and validate as usual).
    """

    def validate(self) -> None:
        return None


def _positional_args(node: torch.fx.Node) -> None:
    """Move arguments that the schema takes positionally out of ``kwargs``.

    The ETRecord deserializer passes defaulted arguments (a linear's bias) by keyword; the
    partitioners read them by position (XNNPACK's gemm configs index ``node.args``).
    """
    schema = getattr(node.target, "_schema", None)
    if node.op != "call_function" or schema is None or not node.kwargs:
        return
    args = list(node.args)
    kwargs = dict(node.kwargs)
    for arg in schema.arguments[len(args) :]:
        if arg.kwarg_only or arg.name not in kwargs:
            break
        args.append(kwargs.pop(arg.name))
    node.args = tuple(args)
    node.kwargs = kwargs


def _one_fake_mode(ep: ExportedProgram, graph: torch.fx.Graph) -> None:
    """Re-create the delegates' fake tensors in the top-level program's fake mode (each
    lowered module was deserialized with its own, and ExportedProgram insists on one)."""
    from torch._guards import detect_fake_mode
    from torch._subclasses.fake_tensor import FakeTensor
    from torch.utils._pytree import tree_map

    mode = detect_fake_mode([n.meta.get("val") for n in ep.graph.nodes if n.op == "placeholder"])
    if mode is None:
        return

    def refake(t: Any) -> Any:
        if isinstance(t, FakeTensor) and t.fake_mode is not mode:
            with mode:
                return torch.empty_strided(tuple(t.shape), tuple(t.stride()), dtype=t.dtype, device=t.device)
        return t

    for n in graph.nodes:
        if "val" in n.meta:
            n.meta["val"] = tree_map(refake, n.meta["val"])


def _set_attr(module: torch.nn.Module, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        if not hasattr(module, p):
            module.add_module(p, torch.nn.Module())
        module = getattr(module, p)
    if isinstance(value, torch.nn.Parameter):
        module.register_parameter(leaf, value)
    elif isinstance(value, torch.Tensor):
        module.register_buffer(leaf, value)
    else:
        setattr(module, leaf, value)


def rebuild_partitioner(backend_id: str, compile_specs: Mapping[str, bytes | str], operators: Iterable[str] = ()) -> Any:
    """The backend's partitioner, built from a delegate's compile specs, with ``operators``
    (base names such as ``aten::upsample_bilinear2d``) treated as supported."""
    wanted = set(operators)
    specs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in compile_specs.items()}
    if backend_id == "XnnpackBackend":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        class WhatIfXnnpackPartitioner(XnnpackPartitioner):
            def get_matched_nodes_from_configs(self, ep: ExportedProgram) -> list[list[torch.fx.Node]]:
                groups = super().get_matched_nodes_from_configs(ep)
                taken = {n for g in groups for n in g}
                extra = []
                for n in ep.graph.nodes:
                    if n.op == "call_function" and n not in taken and base_operator(_op_name(n.target)) in wanted:
                        # With its getitem users, as a config's get_node_and_deps would take it.
                        extra.append([n, *(u for u in n.users if u.target is operator.getitem)])
                return groups + extra

        return WhatIfXnnpackPartitioner()
    if backend_id in ("EthosUBackend", "TOSABackend"):
        partitioner = _arm_partitioner(backend_id, specs)
        partitioner._edgeinspect_whatif = wanted
        return partitioner
    from edgeinspect.errors import UsageError

    raise UsageError(
        f"no partitioner known for backend {backend_id!r} (edgeinspect rebuilds XnnpackBackend, EthosUBackend and TOSABackend)"
    )


def _arm_partitioner(backend_id: str, specs: Mapping[str, str]) -> Any:
    from executorch.backends.arm import EthosUCompileSpec, EthosUPartitioner
    from executorch.backends.arm.tosa.compile_spec import TosaCompileSpec
    from executorch.backends.arm.tosa.partitioner import TOSAPartitioner

    if backend_id == "EthosUBackend":
        target = accelerator_config(specs)
        if not target:
            from edgeinspect.errors import UsageError

            raise UsageError(
                "the Ethos-U delegate's compile specs name no target (no 'target' and no --accelerator-config in compile_flags)"
            )
        spec = EthosUCompileSpec(target)
        if specs.get("preserve_io_quantization") == "True" and hasattr(spec, "set_preserve_io_quantization"):
            spec.set_preserve_io_quantization(True)
        return EthosUPartitioner(spec)
    spec = TosaCompileSpec(specs.get("tosa_spec", "TOSA-1.0+INT"))
    return TOSAPartitioner(spec)


def _restore_arm_annotations(program: ExportedProgram) -> None:
    """Put back the Arm quantizer's per-node "quantized" marks, which ETRecords do not keep.

    The Arm partitioner reads ``node.meta["custom"]["_arm_annotation_info"]``, written by
    the quantizer, and serialization drops it. The quantizer leaves its mark where the graph
    shows it: a connected group of compute nodes whose floating inputs all come from
    dequantize nodes (or constants) and whose outside users are all quantize nodes. Nodes of
    such groups get ``quantized=True`` again; nodes that already have a mark keep it.
    """
    from executorch.backends.arm.common.annotation_meta import ArmAnnotationInfo
    from executorch.backends.arm.constants import DQ_OPS, Q_OPS

    key = ArmAnnotationInfo.CUSTOM_META_KEY
    compute = [n for n in program.graph.nodes if n.op == "call_function" and n.target not in Q_OPS and n.target not in DQ_OPS]
    members = set(compute)
    group: dict[torch.fx.Node, torch.fx.Node] = {n: n for n in compute}

    def find(n: torch.fx.Node) -> torch.fx.Node:
        while group[n] is not n:
            group[n] = group[group[n]]
            n = group[n]
        return n

    for n in compute:
        for inp in n.all_input_nodes:
            if inp in members:
                group[find(inp)] = find(n)
    groups: dict[torch.fx.Node, list[torch.fx.Node]] = {}
    for n in compute:
        groups.setdefault(find(n), []).append(n)

    def is_float(n: torch.fx.Node) -> bool:
        val = n.meta.get("val")
        return isinstance(val, torch.Tensor) and val.dtype.is_floating_point

    for nodes in groups.values():
        inside = set(nodes)
        ok = True
        for n in nodes:
            for inp in n.all_input_nodes:
                if inp in inside or inp.target in DQ_OPS or not is_float(inp):
                    continue
                if inp.op == "placeholder" and inp.name not in program.graph_signature.user_inputs:
                    continue  # a lifted constant
                ok = False
            for user in n.users:
                if user not in inside and user.target not in Q_OPS and user.op != "output":
                    ok = False
                if user.op == "output" and is_float(n):
                    ok = False
        if not ok:
            continue
        for n in nodes:
            custom = n.meta.setdefault("custom", {})
            custom.setdefault(key, ArmAnnotationInfo(quantized=True))


def _register_whatif(partitioner: Any, ep: ExportedProgram) -> None:
    wanted = getattr(partitioner, "_edgeinspect_whatif", set())
    for n in ep.graph.nodes:
        if n.op == "call_function" and base_operator(_op_name(n.target)) in wanted:
            partitioner.register_custom_partition_op(getattr(n.target, "_op", n.target))


@contextmanager
def _quiet() -> Any:
    """Silence the partitioners' INFO logging (their reject tables) while we run them."""
    root = logging.getLogger("executorch")
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.setLevel(level)


def whatif_partitions(ep: ExportedProgram, backend_id: str, compile_specs: Mapping[str, bytes | str], operators: Iterable[str] = ()) -> int:
    """Partitions the real partitioner makes on the un-lowered ``ep`` with ``operators``
    treated as supported (none: the baseline, which should equal the real delegate count)."""
    program = unlower(ep)
    partitioner = rebuild_partitioner(backend_id, compile_specs, operators)
    if backend_id != "XnnpackBackend":
        _restore_arm_annotations(program)
        _register_whatif(partitioner, program)
    with _quiet():
        result = partitioner.partition(program)
    # A tag whose nodes were all de-tagged again (the Arm partitioner drops a partition of
    # quantize/dequantize glue alone) lowers nothing: count the tags that kept a node.
    kept = {n.meta.get("delegation_tag") for n in result.tagged_exported_program.graph.nodes}
    return sum(1 for tag in result.partition_tags if tag in kept)


class _AllReasons:
    """A WhyNoPartitionReporter that keeps every reason, not only the first."""

    def __init__(self) -> None:
        from executorch.exir.backend.utils import WhyNoPartitionReporter

        self._base = WhyNoPartitionReporter()
        self.reasons: dict[torch.fx.Node, list[str]] = {}

    def report_reject(self, node: torch.fx.Node, reason: str) -> None:
        lst = self.reasons.setdefault(node, [])
        if reason not in lst:
            lst.append(reason)

    def wrap_check(self, check: Any, reason: str) -> Any:
        return self._base.__class__.wrap_check(self, check, reason)

    def get_table_report(self) -> str:
        return ""


def _cpu_nodes(program: ExportedProgram) -> list[torch.fx.Node]:
    return [
        n
        for n in program.graph.nodes
        if n.op == "call_function" and n.meta.get(_ORIGIN) == "cpu" and getattr(n.target, "__name__", "") != "getitem"
    ]


def rejection_reasons(ep: ExportedProgram, backend_id: str, compile_specs: Mapping[str, bytes | str]) -> list[dict[str, Any]]:
    """Every reason the backend's own checks give for every node left on the CPU.

    Returns a list, in graph order, of ``{"node", "operator", "reasons": [...]}``; a node
    that every check accepts gets the reason why the partitioner still left it out
    (quantize/dequantize on a partition boundary, or a partition with no real work).
    """
    program = unlower(ep)
    specs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in compile_specs.items()}
    nodes = _cpu_nodes(program)
    if backend_id == "XnnpackBackend":
        found = _xnnpack_reasons(program, nodes)
    elif backend_id in ("EthosUBackend", "TOSABackend"):
        _restore_arm_annotations(program)
        found = _arm_reasons(program, nodes, _arm_partitioner(backend_id, specs))
    else:
        from edgeinspect.errors import UsageError

        raise UsageError(f"no support checks known for backend {backend_id!r}")
    out = []
    for n in nodes:
        reasons = found.get(n) or [_ACCEPTED]
        out.append({"node": n.name, "operator": _op_name(n.target), "reasons": reasons})
    return out


def _arm_reasons(program: ExportedProgram, nodes: list[torch.fx.Node], partitioner: Any) -> dict[torch.fx.Node, list[str]]:
    from executorch.backends.arm.operator_support import tosa_supported_operators as tso
    from executorch.backends.arm.tosa.partitioner import DecomposableLargeStrideMaxPool2dForU55Supported, DecomposableResizeSupported
    from executorch.backends.arm.tosa.specification import TosaLoweringContext
    from torch._export.utils import _get_shape_env_from_gm

    spec = partitioner.tosa_spec
    reporter = _AllReasons()
    submodules = dict(program.graph_module.named_modules())
    out: dict[torch.fx.Node, list[str]] = {}
    with TosaLoweringContext(spec, _get_shape_env_from_gm(program.graph_module)), _quiet():
        positive = tso._positive_checks(spec, program, reporter) + [
            DecomposableResizeSupported(spec),
            DecomposableLargeStrideMaxPool2dForU55Supported(spec),
        ]
        negative = tso._negative_checks(spec, program, reporter, None)
        for n in nodes:
            reasons: list[str] = []
            if not any(_safe(c, submodules, n, reasons) for c in positive):
                reasons.insert(0, "Not included in BaseTOSASupportList or a registered tosa_support_check")
            for c in negative:
                before = list(reporter.reasons.get(n, []))
                if not _safe(c, submodules, n, reasons) and reporter.reasons.get(n, []) == before:
                    reasons.append(f"rejected by {type(c).__name__}")
            for r in reporter.reasons.get(n, []):
                if r not in reasons:
                    reasons.append(r)
            if reasons:
                out[n] = reasons
    return out


def _safe(check: Any, submodules: Mapping[str, Any], node: torch.fx.Node, reasons: list[str]) -> bool:
    try:
        return bool(check.is_node_supported(submodules, node))
    except Exception as err:  # a check that cannot judge this node is a reason too
        reasons.append(f"{type(check).__name__} could not check the node: {type(err).__name__}: {err}")
        return False


class _WhyCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found: list[tuple[Any, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.msg
        if hasattr(msg, "node") and hasattr(msg, "reason"):
            self.found.append((msg.node, msg.reason))


def _xnnpack_reasons(program: ExportedProgram, nodes: list[torch.fx.Node]) -> dict[torch.fx.Node, list[str]]:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir.backend.canonical_partitioners.config_partitioner import format_target_name

    partitioner = XnnpackPartitioner()
    capture = _WhyCapture()
    loggers = [
        logging.getLogger(name) for name in logging.root.manager.loggerDict if name.startswith("executorch.backends.xnnpack.partition")
    ]
    saved = [(lg, lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(capture)
        lg.setLevel(logging.DEBUG)
        lg.propagate = False
    out: dict[torch.fx.Node, list[str]] = {}
    try:
        for n in nodes:
            target = format_target_name(n.target.__name__)
            config = partitioner.target_partitioner_configs.get(target)
            if config is None:
                out[n] = [f"no XNNPACK partitioner config for {target}"]
                continue
            capture.found.clear()
            ok = config.check_constraints(n, program)
            reasons = [r for node, r in capture.found if node is n or node is None]
            if not ok:
                out[n] = reasons or [f"rejected by {type(config).__name__}.check_constraints"]
    finally:
        for lg, level, propagate in saved:
            lg.removeHandler(capture)
            lg.setLevel(level)
            lg.propagate = propagate
    return out


#: The partitioner setup (backend id, compile specs) of a support-table target, for a method
#: whose program has no delegate to read it from (``explain --target``).
TARGET_SETUPS: dict[str, tuple[str, dict[str, str]]] = {
    "ethos-u55": ("EthosUBackend", {"compile_flags": "--accelerator-config=ethos-u55-128"}),
    "ethos-u85": ("EthosUBackend", {"compile_flags": "--accelerator-config=ethos-u85-256"}),
    "TOSA-1.0+INT": ("TOSABackend", {"tosa_spec": "TOSA-1.0+INT"}),
    "TOSA-1.0+FP": ("TOSABackend", {"tosa_spec": "TOSA-1.0+FP"}),
    "xnnpack": ("XnnpackBackend", {}),
}


def etrecord_analysis(
    program: Any, etrecord: str | os.PathLike[str], recommendations: Iterable[Any] = (), *, target: str | None = None
) -> tuple[dict[str, dict[str, list[str]]], dict[str, Any]]:
    """Reasons and what-if for ``explain --etrecord``.

    The backend and its settings are read from each method's first delegate; a method with no
    delegate at all is checked against ``target`` (a key of :data:`TARGET_SETUPS`) when given,
    and skipped otherwise (nothing says what it was lowered for).

    Returns
    -------
    reasons : dict
        method -> base operator -> every reason its CPU nodes got, in node order.
    info : dict
        ``{"etrecord", "methods": {method: {"backend", "partitions_baseline", "rejected": [...]}},
        "whatif": {"<method>:<op>[+<op>...]": {"operators", "partitions"}}}``.
    """
    edge = load_edge_programs(etrecord)
    reasons: dict[str, dict[str, list[str]]] = {}
    info: dict[str, Any] = {"etrecord": os.path.basename(os.fspath(etrecord)), "methods": {}, "whatif": {}}
    setups: dict[str, tuple[str, dict[str, bytes]]] = {}
    for method in program.methods:
        ep = edge.get(method.name)
        if ep is None:
            continue
        first = delegate_modules(ep)
        if first:
            backend = first[0].backend_id
            specs = {cs.key: cs.value for cs in first[0].compile_specs}
        elif target is not None and not any(i.kind == "delegate" for i in method.instructions):
            if target not in TARGET_SETUPS:
                from edgeinspect.errors import UsageError

                raise UsageError(f"--target {target!r} is not one of {', '.join(TARGET_SETUPS)}")
            backend, specs = TARGET_SETUPS[target][0], dict(TARGET_SETUPS[target][1])
        else:
            continue
        setups[method.name] = (backend, specs)
        rejected = rejection_reasons(ep, backend, specs)
        per_op: dict[str, list[str]] = {}
        for r in rejected:
            lst = per_op.setdefault(base_operator(r["operator"]), [])
            lst.extend(x for x in r["reasons"] if x not in lst)
        reasons[method.name] = per_op
        info["methods"][method.name] = {
            "backend": backend,
            "partitions_baseline": whatif_partitions(ep, backend, specs),
            "rejected": rejected,
        }
    for rec in recommendations:
        if rec.method not in setups:
            continue
        backend, specs = setups[rec.method]
        ops = (rec.operator, *rec.requires)
        key = f"{rec.method}:{'+'.join(ops)}"
        info["whatif"][key] = {"operators": list(ops), "partitions": whatif_partitions(edge[rec.method], backend, specs, ops)}
    return reasons, info
