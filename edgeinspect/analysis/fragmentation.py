"""The core fragmentation metrics of design.md, exactly as defined there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgeinspect.model import Method

__all__ = [
    "GLUE_OPERATORS",
    "CpuIsland",
    "boundary_bytes",
    "cpu_islands",
    "delegated_subgraphs",
    "device_sequence",
    "is_glue",
    "method_metrics",
    "transitions",
]

#: Substrings of operator names that are quantize/dequantize glue, never the cause of a split.
GLUE_OPERATORS = ("quantize_per_tensor", "dequantize_per_tensor", "quantize_per_channel", "dequantize_per_channel", "quantize_per_token", "dequantize_per_token", "choose_qparams")


def is_glue(operator_name: str) -> bool:
    """Whether a kernel is quantize/dequantize glue (``quantized_decomposed::*quantize*``)."""
    return any(g in operator_name for g in GLUE_OPERATORS)


def delegated_subgraphs(method: Method) -> dict[str, int]:
    """Number of delegate calls per backend id, in order of first appearance.

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction
    >>> calls = (Instruction(0, "delegate", 0, (), "EthosUBackend", "EthosUBackend"),
    ...          Instruction(1, "kernel", 0, (), "aten::cumsum.out", "CPU"),
    ...          Instruction(2, "delegate", 1, (), "EthosUBackend", "EthosUBackend"))
    >>> m = Method("forward", (), (), (), calls, (), ())
    >>> delegated_subgraphs(m)
    {'EthosUBackend': 2}
    """
    out: dict[str, int] = {}
    for ins in method.instructions:
        if ins.kind == "delegate":
            out[ins.name] = out.get(ins.name, 0) + 1
    return out


def device_sequence(method: Method) -> list[str]:
    """Devices of the kernel and delegate calls in instruction order, with ``"CPU"`` at both ends."""
    return ["CPU", *(ins.device or "CPU" for ins in method.instructions if ins.is_call), "CPU"]


def transitions(method: Method) -> int:
    """Count device changes along the calls, the host (CPU) standing at both ends.

    One clean delegate gives 2; ``[q, EthosU, dq, upsample, q, EthosU, dq]`` gives 4.

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction
    >>> seq = ["CPU", "EthosU", "CPU", "CPU", "CPU", "EthosU", "CPU"]
    >>> calls = tuple(Instruction(i, "kernel" if d == "CPU" else "delegate", 0, (), d, d)
    ...               for i, d in enumerate(seq))
    >>> transitions(Method("forward", (), (), (), calls, (), ()))
    4
    """
    seq = device_sequence(method)
    return sum(1 for a, b in zip(seq, seq[1:]) if a != b)


def boundary_bytes(method: Method) -> int:
    """Sum over delegate calls of the byte size of every tensor argument (inputs and outputs).

    Tensors of unknown element size count 0; tensor lists are expanded.
    """
    total = 0
    for ins in method.instructions:
        if ins.kind == "delegate":
            for v in method.tensor_args(ins):
                total += method.values[v].data.nbytes or 0
    return total


@dataclass(frozen=True, slots=True)
class CpuIsland:
    """A maximal run of kernel calls between two delegate calls, in instruction order.

    Attributes
    ----------
    instructions : tuple of int
        Instruction indices of the kernel calls in the island.
    ops : tuple of str
        Their operator names, in order.
    before, after : int
        Instruction indices of the delegate calls on either side.
    causes : tuple of str
        The operators that are not quantize/dequantize glue (the real reasons the island exists).
    tensors_in, tensors_out : tuple of int
        Tensor values the island reads from / writes to the rest of the method.
    bytes_in, bytes_out : int
        Their total byte sizes.
    """

    instructions: tuple[int, ...]
    ops: tuple[str, ...]
    before: int
    after: int
    causes: tuple[str, ...]
    tensors_in: tuple[int, ...]
    tensors_out: tuple[int, ...]
    bytes_in: int
    bytes_out: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "instructions": list(self.instructions),
            "ops": list(self.ops),
            "between": [self.before, self.after],
            "causes": list(self.causes),
            "tensors_in": list(self.tensors_in),
            "tensors_out": list(self.tensors_out),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
        }


def cpu_islands(method: Method) -> list[CpuIsland]:
    """The CPU islands of a method: maximal runs of kernel calls between two delegate calls."""
    from edgeinspect.graph import producers_and_consumers

    calls = [ins for ins in method.instructions if ins.is_call]
    producer, consumers = producers_and_consumers(method)
    islands = []
    last_delegate: int | None = None
    run: list[int] = []
    for ins in calls:
        if ins.kind == "delegate":
            if last_delegate is not None and run:
                islands.append(_island(method, run, last_delegate, ins.index, producer, consumers))
            last_delegate = ins.index
            run = []
        else:
            run.append(ins.index)
    return islands


def _island(method: Method, run: list[int], before: int, after: int, producer: dict[int, Any], consumers: dict[int, list[Any]]) -> CpuIsland:
    members = set(run)
    ins_by_index = {i.index: i for i in method.instructions}
    ops = tuple(ins_by_index[i].name for i in run)
    tin: dict[int, None] = {}
    tout: dict[int, None] = {}
    for i in run:
        for v in method.tensor_args(ins_by_index[i]):
            src = producer.get(v)
            if src is not None and src not in members:
                tin[v] = None
            elif src in members and any(c not in members for c in consumers.get(v, ())):
                tout[v] = None
    nbytes = lambda vs: sum(method.values[v].data.nbytes or 0 for v in vs)  # noqa: E731
    return CpuIsland(
        instructions=tuple(run),
        ops=ops,
        before=before,
        after=after,
        causes=tuple(dict.fromkeys(o for o in ops if not is_glue(o))),
        tensors_in=tuple(tin),
        tensors_out=tuple(tout),
        bytes_in=nbytes(tin),
        bytes_out=nbytes(tout),
    )


def method_metrics(method: Method) -> dict[str, Any]:
    """The ``metrics`` object of ``inspect --format json`` for one method."""
    return {
        "delegated_subgraphs": delegated_subgraphs(method),
        "transitions": transitions(method),
        "boundary_bytes": boundary_bytes(method),
        "cpu_islands": [isl.to_dict() for isl in cpu_islands(method)],
    }
