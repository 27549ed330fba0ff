"""The IR: what edgeinspect reads files into, as small frozen records (no torch, no weights).

One typed family, one module per format:

- :mod:`edgeinspect.model.pte`: an ExecuTorch program (:class:`Program`, :class:`Method`,
  :class:`Instruction`, :class:`Delegate`, :class:`Tensor`, ...);
- :mod:`edgeinspect.model.tosa`: a TOSA flatbuffer (:class:`TosaGraph` and its regions,
  blocks, operators and tensors), also the payload of a TOSABackend delegate;
- :mod:`edgeinspect.model.xnnpack`: an XNNPACK delegate payload (:class:`XnnGraph`);
- :mod:`edgeinspect.model.ethosu`: an Ethos-U delegate payload (:class:`VelaStream`) and its
  NPU command stream (:class:`CommandStream`).

:data:`Model` is what :func:`edgeinspect.load` returns: ``Program | TosaGraph``.
"""

from __future__ import annotations

from edgeinspect.model.ethosu import CommandStream, NpuCommand, NpuOperation, VelaBlock, VelaStream, VelaTensor, depad
from edgeinspect.model.pte import (
    SCALAR_TYPES,
    CompileSpec,
    DataLocation,
    Delegate,
    ExtendedHeader,
    Instruction,
    InstructionKind,
    JoinStatus,
    Method,
    Operator,
    Program,
    Tensor,
    Value,
    ValueKind,
    accelerator_config,
    compile_target,
    decode_spec_value,
    dtype_name,
    element_size,
)
from edgeinspect.model.tosa import (
    CONST_OPS,
    DTYPE_BITS,
    TosaBlock,
    TosaGraph,
    TosaOperator,
    TosaRegion,
    TosaShape,
    TosaTensor,
    histogram,
)
from edgeinspect.model.xnnpack import XnnGraph, XnnNode, XnnValue

#: What :func:`edgeinspect.load` returns.
Model = Program | TosaGraph

__all__ = [
    "CONST_OPS",
    "DTYPE_BITS",
    "SCALAR_TYPES",
    "CommandStream",
    "CompileSpec",
    "DataLocation",
    "Delegate",
    "ExtendedHeader",
    "Instruction",
    "InstructionKind",
    "JoinStatus",
    "Method",
    "Model",
    "NpuCommand",
    "NpuOperation",
    "Operator",
    "Program",
    "Tensor",
    "TosaBlock",
    "TosaGraph",
    "TosaOperator",
    "TosaRegion",
    "TosaShape",
    "TosaTensor",
    "Value",
    "ValueKind",
    "VelaBlock",
    "VelaStream",
    "VelaTensor",
    "XnnGraph",
    "XnnNode",
    "XnnValue",
    "accelerator_config",
    "compile_target",
    "decode_spec_value",
    "depad",
    "dtype_name",
    "element_size",
    "histogram",
]
