"""The export flows, one per kind of target: the real ExecuTorch lowering, shared by the
fixture zoo (:mod:`edgeinspect.export.zoo`) and the sweep (:mod:`edgeinspect.export.sweep`).

- ``portable``: no delegate, every operator a CPU kernel;
- ``xnnpack``: fp32 through ``XnnpackPartitioner``; ``xnnpack-int8`` first quantizes with
  PT2E and ``XNNPACKQuantizer`` (symmetric, per channel);
- Ethos-U (``ethos-u55-128``, ``ethos-u85-256``, ...) and TOSA INT (``TOSA-1.0+INT``): the
  standard PT2E int8 flow (``EthosUQuantizer`` / ``TOSAQuantizer`` with
  ``get_symmetric_quantization_config``), then ``EthosUPartitioner`` (Vela compiles each
  delegate) or ``TOSAPartitioner``; TOSA FP (``TOSA-1.0+FP``) lowers without quantizing.

Arm flows dump the TOSA handed to each delegate into ``dump_dir``, a path stored verbatim in
every delegate's compile specs: callers pass a RELATIVE one (and lower from the directory it
is relative to), so no path of the exporting machine lands in the .pte.

Every function takes ``methods``, ``{method name: (module, example inputs)}``, and returns
the ``EdgeProgramManager`` (call :func:`delegation_info` before ``to_executorch()``, which
mutates it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from edgeinspect.export.targets import is_integer_tosa, target_kind

__all__ = ["Methods", "delegation_info", "lower", "lower_arm", "lower_portable", "lower_xnnpack"]

Methods = dict[str, tuple[torch.nn.Module, tuple[Any, ...]]]


Stage = Callable[[str], None]


def _no_stage(step: str) -> None:
    pass


def lower_portable(methods: Methods, *, on_stage: Stage = _no_stage):
    """Every operator on the portable CPU kernels (no partitioner)."""
    from executorch.exir import to_edge_transform_and_lower

    on_stage("export")
    programs = {name: torch.export.export(m, ex) for name, (m, ex) in methods.items()}
    on_stage("lower")
    return to_edge_transform_and_lower(programs)


def _quantized(model: torch.nn.Module, example: tuple[Any, ...], quantizer: Any, on_stage: Stage) -> torch.export.ExportedProgram:
    """PT2E: prepare, calibrate on the example inputs once, convert, export again."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    on_stage("export")
    # check_guards=False: with guards (torch 2.13) the quantizer passes see call_module nodes.
    graph = torch.export.export(model, example).module(check_guards=False)
    on_stage("quantize")
    prepared = prepare_pt2e(graph, quantizer)
    prepared(*example)
    quantized = convert_pt2e(prepared)
    return torch.export.export(quantized, example)


def lower_xnnpack(methods: Methods, *, int8: bool = False, on_stage: Stage = _no_stage):
    """XNNPACK: fp32, or int8 (PT2E with ``XNNPACKQuantizer``, symmetric per-channel) with ``int8``."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    if int8:
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config

        quantizer = XNNPACKQuantizer()
        quantizer.set_global(get_symmetric_quantization_config(is_per_channel=True))
        programs = {name: _quantized(m, ex, quantizer, on_stage) for name, (m, ex) in methods.items()}
    else:
        on_stage("export")
        programs = {name: torch.export.export(m, ex) for name, (m, ex) in methods.items()}
    on_stage("lower")
    return to_edge_transform_and_lower(programs, partitioner=[XnnpackPartitioner()])


def lower_arm(methods: Methods, target: str, dump_dir: str, *, on_stage: Stage = _no_stage):
    """An Ethos-U accelerator configuration (``ethos-u55-128``) or a TOSA specification
    (``TOSA-1.0+INT``, ``TOSA-1.0+FP``): quantized with the Arm quantizer unless the TOSA
    specification is floating point, partitioned, lowered (Vela for Ethos-U), dumping each
    delegate's TOSA into ``dump_dir`` (relative: it is stored in the .pte)."""
    from executorch.backends.arm import (
        EthosUCompileSpec,
        EthosUPartitioner,
        EthosUQuantizer,
        get_symmetric_quantization_config,
    )
    from executorch.backends.arm.quantizer import TOSAQuantizer
    from executorch.backends.arm.tosa.compile_spec import TosaCompileSpec
    from executorch.backends.arm.tosa.partitioner import TOSAPartitioner
    from executorch.exir import to_edge_transform_and_lower

    kind = target_kind(target)
    if kind not in ("tosa", "ethos-u"):
        raise ValueError(f"not an Arm target: {target!r}")
    spec = TosaCompileSpec(target) if kind == "tosa" else EthosUCompileSpec(target)
    spec.dump_intermediate_artifacts_to(dump_dir)
    quantize = kind == "ethos-u" or is_integer_tosa(target)
    if quantize:
        quantizer = TOSAQuantizer(spec) if kind == "tosa" else EthosUQuantizer(spec)
        quantizer.set_global(get_symmetric_quantization_config())
    programs = {}
    for name, (model, example) in methods.items():
        if quantize:
            programs[name] = _quantized(model, example, quantizer, on_stage)
        else:
            on_stage("export")
            programs[name] = torch.export.export(model, example)
    partitioner = TOSAPartitioner(spec) if kind == "tosa" else EthosUPartitioner(spec)
    on_stage("lower")
    return to_edge_transform_and_lower(programs, partitioner=[partitioner])


def lower(methods: Methods, target: str, dump_dir: str, *, on_stage: Stage = _no_stage):
    """The flow for ``target`` (a name :func:`edgeinspect.export.targets.check_target` accepts).

    ``on_stage`` is told each step as it starts (``export``, ``quantize``, ``lower``), so a
    caller can say where a failure happened.
    """
    kind = target_kind(target)
    if kind == "portable":
        return lower_portable(methods, on_stage=on_stage)
    if kind == "xnnpack":
        return lower_xnnpack(methods, int8=target == "xnnpack-int8", on_stage=on_stage)
    return lower_arm(methods, target, dump_dir, on_stage=on_stage)


def delegation_info(edge) -> dict[str, Any]:
    """executorch's own ``get_delegation_info`` per method: delegated subgraphs and the
    operators delegated or left on CPU. Take it before ``to_executorch()``, which mutates."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = {}
    for method in edge.methods:
        di = get_delegation_info(edge.exported_program(method).graph_module)
        breakdown = sorted(di.delegation_by_operator.items())
        info[method] = {
            "num_delegated_subgraphs": di.num_delegated_subgraphs,
            "delegated_ops": {op: b.delegated for op, b in breakdown if b.delegated},
            "non_delegated_ops": {op: b.non_delegated for op, b in breakdown if b.non_delegated},
        }
    return info
