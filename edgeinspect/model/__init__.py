"""The IR: what edgeinspect reads files into, as small frozen records (no torch, no weights).

One typed family, one module per format:

- :mod:`edgeinspect.model.pte`: an ExecuTorch program (:class:`Program`, :class:`Method`,
  :class:`Instruction`, :class:`Delegate`, :class:`Tensor`, ...);
- :mod:`edgeinspect.model.tosa`: a TOSA flatbuffer (:class:`TosaGraph` and its regions,
  blocks, operators and tensors), also the payload of a TOSABackend delegate;
- :mod:`edgeinspect.model.xnnpack`: an XNNPACK delegate payload (:class:`XnnGraph`);
- :mod:`edgeinspect.model.ethosu`: an Ethos-U delegate payload (:class:`VelaStream`) and its
  NPU command stream (:class:`CommandStream`).

``Model`` is what :func:`edgeinspect.load` returns: ``Program | TosaGraph``. The records of
a format are loaded when first named (``edgeinspect.model.TosaGraph`` works as any import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgeinspect.model.counts import histogram
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

if TYPE_CHECKING:
    from edgeinspect.model.ethosu import CommandStream, NpuCommand, NpuOperation, VelaBlock, VelaStream, VelaTensor, depad
    from edgeinspect.model.tosa import CONST_OPS, DTYPE_BITS, TosaBlock, TosaGraph, TosaOperator, TosaRegion, TosaShape, TosaTensor
    from edgeinspect.model.xnnpack import XnnGraph, XnnNode, XnnValue

    #: What :func:`edgeinspect.load` returns.
    Model = Program | TosaGraph

#: Records imported when first asked for: a run that reads no .tosa and no delegate of their
#: backend never loads them (a CLI run pays for every module it imports).
_LAZY = {
    **dict.fromkeys(("CONST_OPS", "DTYPE_BITS", "TosaBlock", "TosaGraph", "TosaOperator", "TosaRegion", "TosaShape", "TosaTensor"), "tosa"),
    **dict.fromkeys(("CommandStream", "NpuCommand", "NpuOperation", "VelaBlock", "VelaStream", "VelaTensor", "depad"), "ethosu"),
    **dict.fromkeys(("XnnGraph", "XnnNode", "XnnValue"), "xnnpack"),
}


def __getattr__(name: str) -> Any:
    if name == "Model":  # what :func:`edgeinspect.load` returns
        from edgeinspect.model.tosa import TosaGraph

        return Program | TosaGraph
    module = _LAZY.get(name)
    if module == "tosa":
        from edgeinspect.model import tosa as records
    elif module == "ethosu":
        from edgeinspect.model import ethosu as records
    elif module == "xnnpack":
        from edgeinspect.model import xnnpack as records
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(records, name)


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


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
