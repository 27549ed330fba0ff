"""The IR: what edgeinspect reads files into, as small frozen records (no torch, no weights).

One typed family, one module per format:

- :mod:`edgeinspect.model.pte`: an ExecuTorch program (:class:`Program`, :class:`Method`,
  :class:`Instruction`, :class:`Delegate`, :class:`Tensor`, ...);
- :mod:`edgeinspect.model.tosa`: a TOSA flatbuffer (:class:`TosaGraph` and its regions,
  blocks, operators and tensors), also the payload of a TOSABackend delegate;
- :mod:`edgeinspect.model.xnnpack`: an XNNPACK delegate payload (:class:`XnnGraph`);
- :mod:`edgeinspect.model.ethosu`: an Ethos-U delegate payload (:class:`VelaStream`) and its
  NPU command stream (:class:`CommandStream`);
- :mod:`edgeinspect.model.payload`: what every decoded delegate payload says
  (:class:`PayloadSummary`), one record per backend (``XnnpackPayload``, ``TosaPayload``,
  ``EthosUPayload``, each beside its backend's records, and :class:`OpaquePayload`);
- :mod:`edgeinspect.model.kinds`: the Literal type of every record's ``kind``.

``Model`` is what :func:`edgeinspect.load` returns: ``Program | TosaGraph``. The records of
a format are loaded when first named (``edgeinspect.model.TosaGraph`` works as any import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgeinspect.model.counts import CONST_OPS, histogram
from edgeinspect.model.kinds import DataLocation, InstructionKind, JoinStatus, ValueKind
from edgeinspect.model.pte import (
    SCALAR_TYPES,
    CompileSpec,
    Delegate,
    ExtendedHeader,
    Instruction,
    Method,
    Operator,
    Program,
    Tensor,
    Value,
    accelerator_config,
    compile_target,
    decode_spec_value,
    dtype_name,
    element_size,
)

if TYPE_CHECKING:
    from edgeinspect.model.ethosu import CommandStream, EthosUPayload, NpuCommand, NpuOperation, VelaBlock, VelaStream, VelaTensor, depad
    from edgeinspect.model.payload import OpaquePayload
    from edgeinspect.model.tosa import (
        DTYPE_BITS,
        TosaBlock,
        TosaGraph,
        TosaOperator,
        TosaPayload,
        TosaRegion,
        TosaShape,
        TosaTensor,
    )
    from edgeinspect.model.xnnpack import XnnGraph, XnnNode, XnnpackPayload, XnnValue

    #: What :func:`edgeinspect.load` returns.
    Model = Program | TosaGraph
    #: Any decoded delegate payload.
    DecodedPayload = XnnpackPayload | TosaPayload | EthosUPayload | OpaquePayload

#: Records imported when first asked for: a run that reads no .tosa and no delegate of their
#: backend never loads them (a CLI run pays for every module it imports).
_TOSA = ("DTYPE_BITS", "TosaBlock", "TosaGraph", "TosaOperator", "TosaPayload", "TosaRegion", "TosaShape", "TosaTensor")
_ETHOSU = ("CommandStream", "EthosUPayload", "NpuCommand", "NpuOperation", "VelaBlock", "VelaStream", "VelaTensor", "depad")
_XNNPACK = ("XnnGraph", "XnnNode", "XnnValue", "XnnpackPayload")
_PAYLOAD = ("OpaquePayload", "PayloadSummary", "PayloadKind")
_LAZY = {
    **dict.fromkeys(_TOSA, "tosa"),
    **dict.fromkeys(_ETHOSU, "ethosu"),
    **dict.fromkeys(_XNNPACK, "xnnpack"),
    **dict.fromkeys(_PAYLOAD, "payload"),
}


def __getattr__(name: str) -> Any:
    if name == "Model":  # what :func:`edgeinspect.load` returns
        from edgeinspect.model.tosa import TosaGraph

        return Program | TosaGraph
    if name == "DecodedPayload":  # any decoded delegate payload
        return __getattr__("XnnpackPayload") | __getattr__("TosaPayload") | __getattr__("EthosUPayload") | __getattr__("OpaquePayload")
    module = _LAZY.get(name)
    if module == "tosa":
        from edgeinspect.model import tosa as records
    elif module == "ethosu":
        from edgeinspect.model import ethosu as records
    elif module == "xnnpack":
        from edgeinspect.model import xnnpack as records
    elif module == "payload":
        from edgeinspect.model import payload as records
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
    "DecodedPayload",
    "Delegate",
    "EthosUPayload",
    "ExtendedHeader",
    "Instruction",
    "InstructionKind",
    "JoinStatus",
    "Method",
    "Model",
    "NpuCommand",
    "NpuOperation",
    "OpaquePayload",
    "Operator",
    "PayloadKind",
    "PayloadSummary",
    "Program",
    "Tensor",
    "TosaBlock",
    "TosaGraph",
    "TosaOperator",
    "TosaPayload",
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
    "XnnpackPayload",
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
