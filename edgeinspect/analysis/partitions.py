"""Partitions: a method's instructions split into stretches that stay on one device.

A *partition* is a stretch of execution that stays on one device: each delegate call is one,
and each maximal run of kernel calls between them is one (``CPU_input`` before the first
delegate, ``CPU_island_<k>`` between two delegates -- the CPU islands of
:func:`edgeinspect.analysis.cpu_islands`, in the same order -- and ``CPU_output`` after the last).
The Model Explorer layers, the overlays and the HTML report's timeline are drawn from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeinspect.model import Method

__all__ = ["Partition", "partitions"]


@dataclass(frozen=True, slots=True)
class Partition:
    """A stretch of execution on one device, in instruction order.

    Attributes
    ----------
    index : int
        Position among the method's partitions.
    namespace : str
        The Model Explorer layer name: ``EthosUBackend_0`` (backend and delegate index),
        ``CPU_input``, ``CPU_island_<k>``, ``CPU_output`` (or ``CPU`` when nothing is delegated).
    device : str
        ``"CPU"`` or the backend id.
    instructions : tuple of int
        Instruction indices in the partition (calls, and the moves/frees/jumps that follow them).
    delegate : int or None
        Delegate index of a delegate partition.
    island : int or None
        Index into :func:`~edgeinspect.analysis.cpu_islands` of an island partition.
    """

    index: int
    namespace: str
    device: str
    instructions: tuple[int, ...]
    delegate: int | None = None
    island: int | None = None

    @property
    def is_delegate(self) -> bool:
        """Whether the partition is a delegate call."""
        return self.delegate is not None


def partitions(method: Method) -> list[Partition]:
    """Split a method's instructions into partitions (see the module docstring).

    Instructions that are not calls (moves, frees, jumps) join the partition of the call
    before them (the first partition when they come first).

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction
    >>> seq = [("kernel", "aten::q", "CPU"), ("delegate", "EthosUBackend", "EthosUBackend"),
    ...        ("kernel", "aten::cumsum", "CPU"), ("delegate", "EthosUBackend", "EthosUBackend")]
    >>> calls = tuple(Instruction(i, k, i // 2, (), n, d) for i, (k, n, d) in enumerate(seq))
    >>> [p.namespace for p in partitions(Method("forward", (), (), (), calls, (), ()))]
    ['CPU_input', 'EthosUBackend_0', 'CPU_island_0', 'EthosUBackend_1']
    """
    runs: list[dict[str, Any]] = []
    leading: list[int] = []
    for ins in method.instructions:
        if ins.kind == "delegate":
            runs.append({"device": ins.device or ins.name, "delegate": ins.delegate, "instructions": [ins.index]})
        elif ins.kind == "kernel":
            if runs and runs[-1]["delegate"] is None:
                runs[-1]["instructions"].append(ins.index)
            else:
                runs.append({"device": "CPU", "delegate": None, "instructions": [ins.index]})
        elif runs:
            runs[-1]["instructions"].append(ins.index)
        else:
            leading.append(ins.index)
    if not runs:
        return [Partition(0, "CPU", "CPU", tuple(leading))] if leading else []
    runs[0]["instructions"][:0] = leading
    delegate_positions = [i for i, r in enumerate(runs) if r["delegate"] is not None]
    out: list[Partition] = []
    seen: dict[str, int] = {}
    island = 0
    for i, run in enumerate(runs):
        if run["delegate"] is not None:
            name = f"{run['device']}_{run['delegate']}"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:  # the same delegate called again: keep layer names unique
                name += f"_call{seen[name]}"
            out.append(Partition(i, name, run["device"], tuple(run["instructions"]), delegate=run["delegate"]))
            continue
        if not delegate_positions:
            name, isl = "CPU", None
        elif i < delegate_positions[0]:
            name, isl = "CPU_input", None
        elif i > delegate_positions[-1]:
            name, isl = "CPU_output", None
        else:
            name, isl = f"CPU_island_{island}", island
            island += 1
        out.append(Partition(i, name, "CPU", tuple(run["instructions"]), island=isl))
    return out
