"""The ``kind`` of every IR record, as Literal types: one closed set of names per record."""

from __future__ import annotations

from typing import Literal

__all__ = ["DataLocation", "InstructionKind", "JoinStatus", "PayloadKind", "ValueKind"]

#: The ``kind`` of a :class:`Value` (a member of ExecuTorch's ``KernelTypes`` union).
ValueKind = Literal[
    "null", "int", "bool", "double", "string", "tensor",
    "int_list", "double_list", "bool_list", "tensor_list", "optional_tensor_list", "unknown",
]  # fmt: skip
#: The ``kind`` of an :class:`Instruction` (a member of ExecuTorch's ``InstructionArguments`` union).
InstructionKind = Literal["kernel", "delegate", "move", "jump_false", "free", "unknown"]
#: Where a delegate's payload lies: inline in the program, or in a data segment after it.
DataLocation = Literal["inline", "segment"]
#: How dumped .tosa files joined a delegate (:func:`edgeinspect.join.attach_tosa`).
JoinStatus = Literal["matched", "ambiguous", "missing"]
#: How a payload is decoded, by backend (:mod:`edgeinspect.model.payload`).
PayloadKind = Literal["xnnpack", "tosa", "ethos-u", "opaque"]
