"""The fragmentation metrics, exactly as docs/concepts.md defines them, and what builds on them.

Every function takes a :class:`~edgeinspect.model.Method` (or its networkx graph) and
returns plain data; nothing here reads bytes, prints or imports torch.

Definitions (docs/concepts.md, "Metrics"):

delegated_subgraphs
    number of delegate calls per backend id.
transitions
    device changes along the kernel/delegate calls in instruction order, with the host
    (``"CPU"``) standing at both ends: one clean delegate gives 2.
boundary_bytes
    sum over delegate calls of the byte size of every tensor argument.
crossings
    the terms of that sum, one per tensor argument of a delegate call, in execution order:
    the tensor crossing into or out of the delegate, where it comes from and where it goes.
cpu_islands
    maximal runs of kernel calls between two delegate calls; quantize/dequantize kernels in
    an island are glue, not causes.
coverage
    delegated operators / all operators, where the operators inside every delegate are
    known; ``"unknown"`` otherwise (never a guess).
round_trips
    tensors that leave a delegate and re-enter a delegate: straight from one delegate call to
    another (``"direct"``), or after only glue or trivial (layout, copy) CPU work
    (``"through_cpu"``).
fragmentation_score
    ``1 - 2 / transitions`` (0 when there are fewer than 2 transitions): the share of
    host <-> backend crossings that one contiguous delegate would not have. Range
    ``[0, 1)``: 0 is one clean delegate (or nothing delegated), 0.5 two delegated pieces,
    0.75 four.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from edgeinspect.formats.payloads import known_delegate_ops  # the default lookup (importable from here as before)
from edgeinspect.graph import instruction_key, producers_and_consumers
from edgeinspect.model import Delegate, Instruction, Method
from edgeinspect.model.counts import CONST_OPS

__all__ = [
    "GLUE_OPERATORS",
    "TRIVIAL_OPERATORS",
    "Coverage",
    "CpuIsland",
    "Crossing",
    "Dataflow",
    "RoundTrip",
    "base_operator",
    "boundary_bytes",
    "coverage",
    "cpu_islands",
    "crossings",
    "delegated_subgraphs",
    "device_sequence",
    "format_score",
    "fragmentation_score",
    "is_glue",
    "is_trivial",
    "known_delegate_ops",
    "method_metrics",
    "round_trips",
    "transitions",
]

#: Substrings of operator names that are quantize/dequantize glue, never the cause of a split.
GLUE_OPERATORS = (
    "quantize_per_tensor",
    "dequantize_per_tensor",
    "quantize_per_channel",
    "dequantize_per_channel",
    "quantize_per_token",
    "dequantize_per_token",
    "choose_qparams",
)

#: Base names of CPU kernels that only move or relabel data (no arithmetic): a tensor that
#: passes through only these (and glue) between two delegates makes a round trip for nothing.
TRIVIAL_OPERATORS = (
    "aten::view_copy",
    "aten::_reshape_alias_copy",
    "aten::squeeze_copy",
    "aten::unsqueeze_copy",
    "aten::permute_copy",
    "aten::transpose_copy",
    "aten::t_copy",
    "aten::clone",
    "aten::alias_copy",
    "aten::detach_copy",
    "aten::_to_copy",
    "dim_order_ops::_clone_dim_order",
    "dim_order_ops::_to_dim_order_copy",
    "executorch_prim::et_view",
)


@functools.lru_cache(maxsize=4096)  # called per kernel: a long name must not be copied each time
def base_operator(name: str) -> str:
    """An operator name without its overload: ``aten::cumsum.out`` -> ``aten::cumsum``.

    Examples
    --------
    >>> base_operator("aten::upsample_bilinear2d.vec_out")
    'aten::upsample_bilinear2d'
    >>> base_operator("aten::cumsum")
    'aten::cumsum'
    """
    ns, sep, rest = name.rpartition("::")
    return f"{ns}{sep}{rest.split('.', 1)[0]}"


#: Every entry of :data:`GLUE_OPERATORS` contains one of these: a cheap first test, since a
#: method names a few operators thousands of times and most of them are not glue.
_GLUE_HINTS = ("quantize", "choose_qparams")


def is_glue(operator_name: str) -> bool:
    """Whether a kernel is quantize/dequantize glue (``quantized_decomposed::*quantize*``).

    Examples
    --------
    >>> is_glue("quantized_decomposed::dequantize_per_tensor.out")
    True
    >>> is_glue("aten::where.self_out")
    False
    """
    return (_GLUE_HINTS[0] in operator_name or _GLUE_HINTS[1] in operator_name) and any(g in operator_name for g in GLUE_OPERATORS)


def is_trivial(operator_name: str) -> bool:
    """Whether a kernel only moves or relabels data (:data:`TRIVIAL_OPERATORS`) or is glue.

    Examples
    --------
    >>> is_trivial("aten::view_copy.out"), is_trivial("aten::cumsum.out")
    (True, False)
    """
    return is_glue(operator_name) or base_operator(operator_name) in TRIVIAL_OPERATORS


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
    """Devices of the kernel and delegate calls in instruction order, with ``"CPU"`` at both ends.

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction
    >>> calls = (Instruction(0, "kernel", 0, (), "q", "CPU"), Instruction(1, "delegate", 0, (), "X", "X"))
    >>> device_sequence(Method("forward", (), (), (), calls, (), ()))
    ['CPU', 'CPU', 'X', 'CPU']
    """
    return ["CPU", *(ins.device or "CPU" for ins in method.instructions if ins.is_call), "CPU"]


def count_transitions(devices: list[str]) -> int:
    """Adjacent pairs of differing devices in a device sequence (ends included as given)."""
    return sum(1 for a, b in zip(devices, devices[1:], strict=False) if a != b)


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
    return count_transitions(device_sequence(method))


def tensor_bytes(method: Method, values: Any) -> int:
    """Total byte size of the tensor values given by index (unknown element sizes count 0)."""
    return sum(method.values[v].data.nbytes or 0 for v in values)


def boundary_bytes(method: Method) -> int:
    """Sum over delegate calls of the byte size of every tensor argument (inputs and outputs).

    Tensors of unknown element size count 0; tensor lists are expanded. A tensor passed to
    two delegate calls counts twice (it crosses twice). The terms of the sum, with where each
    tensor comes from and goes, are :func:`crossings`: ``sum(c.bytes for c in crossings(m))``
    is always ``boundary_bytes(m)``.

    Examples
    --------
    >>> import edgeinspect
    >>> m = edgeinspect.load("tests/data/u55_upsample.pte").method()
    >>> boundary_bytes(m), sum(c.bytes for c in crossings(m))
    (19200, 19200)
    """
    total = 0
    for ins in method.instructions:
        if ins.kind == "delegate":
            total += tensor_bytes(method, method.tensor_args(ins))
    return total


#: How a tensor crosses a delegate's boundary: ``"cpu"`` when the other side is the host (a
#: kernel call, a method input or output, a constant, state), ``"direct"`` when it is another
#: delegate call (the tensor goes from one delegate call to another with no CPU kernel on it).
CrossingKind = Literal["cpu", "direct"]


@dataclass(frozen=True, slots=True)
class Crossing:
    """One tensor argument of one delegate call: a tensor crossing that delegate's boundary.

    :func:`crossings` lists them in execution order; their ``bytes`` add up to
    :func:`boundary_bytes` exactly, because each is one term of its sum.

    Attributes
    ----------
    instruction : int
        Instruction index of the delegate call whose boundary the tensor crosses.
    delegate : int or None
        The delegate index that call runs.
    backend : str
        Its backend id.
    direction : {"in", "out"}
        ``"in"``: the call reads the tensor; ``"out"``: the call writes it.
    value : int
        The tensor's value index.
    bytes : int
        Its byte size (0 when the element size is unknown).
    shape : tuple of int
    dtype : str
    source : str or None
        Graph node key (:func:`edgeinspect.graph.instruction_key`, ``"input:<k>"``) of what
        hands the tensor over: for ``"out"`` the call itself; for ``"in"`` the instruction or
        method input that produced it, None for a constant or state (a mutable buffer) that
        nothing in the method produces.
    source_device : str
        ``"CPU"`` (kernels, method inputs, constants, state live in host memory) or the
        backend id of the delegate call that produced it.
    sinks : tuple of str
        Graph node keys of what reads it after the hand-over: for ``"in"`` the call itself;
        for ``"out"`` every later reader (instructions, ``"output:<k>"``), none when nothing
        reads it.
    sink_devices : tuple of str
        The device of each sink (``"CPU"`` for kernels and method outputs).
    kind : {"cpu", "direct"}
        ``"direct"`` when the other side is another delegate call (for ``"out"``: every reader
        is a delegate call), ``"cpu"`` otherwise.
    """

    instruction: int
    delegate: int | None
    backend: str
    direction: Literal["in", "out"]
    value: int
    bytes: int
    shape: tuple[int, ...]
    dtype: str
    source: str | None
    source_device: str
    sinks: tuple[str, ...]
    sink_devices: tuple[str, ...]
    kind: CrossingKind

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (an entry of ``metrics.crossings``)."""
        return {
            "instruction": self.instruction,
            "delegate": self.delegate,
            "backend": self.backend,
            "direction": self.direction,
            "value": self.value,
            "bytes": self.bytes,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "source": self.source,
            "source_device": self.source_device,
            "sinks": list(self.sinks),
            "sink_devices": list(self.sink_devices),
            "kind": self.kind,
        }


def crossings(method: Method, *, dataflow: Dataflow | None = None) -> list[Crossing]:
    """Every tensor crossing a delegate's boundary, in execution order: the terms of :func:`boundary_bytes`.

    One :class:`Crossing` per tensor argument of each delegate call (tensor lists expanded),
    ordered by call, then the call's inputs before its outputs, then argument position. A
    tensor handed straight from one delegate call to another crosses twice: out of the first
    (``kind="direct"``, sink the second) and into the second (``kind="direct"``, source the
    first), as :func:`boundary_bytes` counts it. A tensor one call writes and several
    instructions read crosses out once, with every reader in ``sinks`` (fan-out is not
    counted per reader).

    ``dataflow`` is the method's :data:`Dataflow` when the caller has it already.

    Examples
    --------
    >>> import edgeinspect
    >>> m = edgeinspect.load("tests/data/u85_lrn.pte").method()
    >>> for c in crossings(m):
    ...     print(c.instruction, c.direction, c.source, "->", ", ".join(c.sinks), c.kind, c.shape, c.bytes)
    1 in 0 -> 1 cpu (1, 3, 16, 16) 768
    1 out 1 -> 5 direct (1, 8, 16, 16) 2048
    1 out 1 -> 2 cpu (1, 1, 10, 16, 16) 2560
    5 in 1 -> 5 direct (1, 8, 16, 16) 2048
    5 in 4 -> 5 cpu (1, 1, 8, 16, 16) 2048
    5 out 5 -> 6 cpu (1, 8, 16, 16) 2048
    >>> sum(c.bytes for c in crossings(m)) == boundary_bytes(m)
    True
    """
    calls = [ins for ins in method.instructions if ins.kind == "delegate"]
    if not calls:
        return []
    producer, consumers = dataflow or producers_and_consumers(method)
    # Per-instruction and per-tensor facts looked up once: a program can hold 10,000 calls.
    delegate_device = {ins.index: ins.device or ins.name for ins in calls}
    keys = {ins.index: instruction_key(ins.index) for ins in calls}
    values = method.values
    facts: dict[int, tuple[int, tuple[int, ...], str]] = {}
    out: list[Crossing] = []
    for call in calls:
        index = call.index
        me = keys[index]
        backend = delegate_device[index]
        entering: list[Crossing] = []
        leaving: list[Crossing] = []
        for v in method.tensor_args(call):
            fact = facts.get(v)
            if fact is None:
                t = values[v].data
                fact = facts[v] = (t.nbytes or 0, tuple(t.sizes), t.dtype)
            nbytes, shape, dtype = fact
            src = producer.get(v)
            if src == index:
                readers = [c for c in consumers.get(v, ()) if c != index]
                devices = tuple(delegate_device.get(c, "CPU") if isinstance(c, int) else "CPU" for c in readers)
                direct = bool(readers) and all(isinstance(c, int) and c in delegate_device for c in readers)
                sinks = tuple(keys[c] if c in keys else str(c) for c in readers)
                leaving.append(
                    Crossing(
                        index,
                        call.ref,
                        call.name,
                        "out",
                        v,
                        nbytes,
                        shape,
                        dtype,
                        me,
                        backend,
                        sinks,
                        devices,
                        "direct" if direct else "cpu",
                    )
                )
            else:
                from_delegate = isinstance(src, int) and src in delegate_device
                entering.append(
                    Crossing(
                        index,
                        call.ref,
                        call.name,
                        "in",
                        v,
                        nbytes,
                        shape,
                        dtype,
                        None if src is None else keys[src] if from_delegate else str(src),
                        delegate_device[src] if from_delegate else "CPU",
                        (me,),
                        (backend,),
                        "direct" if from_delegate else "cpu",
                    )
                )
        out.extend(entering)
        out.extend(leaving)
    return out


def fragmentation_score(method: Method) -> float:
    """One number for how fragmented the delegated work is: ``1 - 2 / transitions``.

    Range ``[0, 1)``. 0 means at most one contiguous delegated region (a clean delegate, or
    nothing delegated at all); ``1 - 1/k`` means ``k`` delegated pieces with CPU work (or
    another backend) between them: 0.5 for two, 0.75 for four. Read it as the share of
    host <-> backend crossings that would disappear if the delegated work were one piece.

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction
    >>> seq = ["EthosU", "CPU", "EthosU"]
    >>> calls = tuple(Instruction(i, "kernel" if d == "CPU" else "delegate", 0, (), d, d)
    ...               for i, d in enumerate(seq))
    >>> fragmentation_score(Method("forward", (), (), (), calls, (), ()))
    0.5
    """
    t = transitions(method)
    # Rounded to 4 places, but never up to 1: from 40,000 transitions on, 1 - 2/t would round to 1.0.
    return 0.0 if t <= 2 else min(round(1.0 - 2.0 / t, 4), _SCORE_BELOW_ONE)


#: The largest score :func:`fragmentation_score` returns (its range is [0, 1), at 4 places).
_SCORE_BELOW_ONE = 0.9999


def format_score(score: float) -> str:
    """A fragmentation score as text: 2 places, or 4 where 2 would round it up to ``1.00``.

    The score's range is ``[0, 1)``: no text may say 1.00.

    Examples
    --------
    >>> format_score(0.5), format_score(0.8), format_score(0.9968), format_score(0.9999)
    ('0.50', '0.80', '0.9968', '0.9999')
    """
    return f"{score:.2f}" if round(score, 2) < 1 else f"{min(score, _SCORE_BELOW_ONE):.4f}"


@dataclass(frozen=True, slots=True)
class CpuIsland:
    """A maximal run of kernel calls between two delegate calls, in instruction order.

    Attributes
    ----------
    instructions : tuple of int
        Instruction indices of the kernel calls in the island.
    ops : tuple of str
        Their operator names, in order.
    between : tuple of (int, int)
        Instruction indices of the delegate calls on either side (the one before the island,
        the one after it).
    backends : tuple of (str, str)
        Backend ids of those two delegate calls.
    causes : tuple of str
        The operators that are not quantize/dequantize glue (the real reasons the island
        exists), without repeats, in order.
    glue : tuple of int
        Instruction indices of the quantize/dequantize kernels in the island.
    tensors_in, tensors_out : tuple of int
        Tensor values the island reads from / writes to the rest of the method.
    bytes_in, bytes_out : int
        Their total byte sizes.
    control_flow : tuple of int
        Jumps, moves and frees between the two delegate calls: the island holds the branches of
        a ``torch.cond`` or the body of a loop, which a partitioner does not merge across.

    ``before``, ``after``, ``before_backend`` and ``after_backend`` (the former names) are
    deprecated aliases of ``between[0]``, ``between[1]``, ``backends[0]``, ``backends[1]``:
    "before" and "after" name the two sides of a change (a diff, a merge estimate).
    """

    instructions: tuple[int, ...]
    ops: tuple[str, ...]
    between: tuple[int, int]
    causes: tuple[str, ...]
    tensors_in: tuple[int, ...]
    tensors_out: tuple[int, ...]
    bytes_in: int
    bytes_out: int
    backends: tuple[str, str] = ("", "")
    glue: tuple[int, ...] = ()
    control_flow: tuple[int, ...] = ()

    @property
    def before(self) -> int:
        """Deprecated: ``between[0]``."""
        _renamed("CpuIsland.before", "CpuIsland.between[0]")
        return self.between[0]

    @property
    def after(self) -> int:
        """Deprecated: ``between[1]``."""
        _renamed("CpuIsland.after", "CpuIsland.between[1]")
        return self.between[1]

    @property
    def before_backend(self) -> str:
        """Deprecated: ``backends[0]``."""
        _renamed("CpuIsland.before_backend", "CpuIsland.backends[0]")
        return self.backends[0]

    @property
    def after_backend(self) -> str:
        """Deprecated: ``backends[1]``."""
        _renamed("CpuIsland.after_backend", "CpuIsland.backends[1]")
        return self.backends[1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "instructions": list(self.instructions),
            "ops": list(self.ops),
            "between": list(self.between),
            "backends": list(self.backends),
            "causes": list(self.causes),
            "glue": list(self.glue),
            "tensors_in": list(self.tensors_in),
            "tensors_out": list(self.tensors_out),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "control_flow": list(self.control_flow),
        }


def _renamed(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated: use {new}", DeprecationWarning, stacklevel=3)


def _delegate_calls(method: Method) -> int:
    """Number of delegate calls: islands and round trips need two."""
    return sum(1 for ins in method.instructions if ins.kind == "delegate")


#: ``(producer, consumers)`` of a method, as :func:`edgeinspect.graph.producers_and_consumers`
#: returns them: the metrics that follow tensors take it as an argument, so a caller that asks
#: several (:func:`method_metrics`) computes it once; nothing is cached behind their back.
Dataflow = tuple[Mapping[int, Any], Mapping[int, list[Any]]]


def cpu_islands(method: Method, *, dataflow: Dataflow | None = None) -> list[CpuIsland]:
    """The CPU islands of a method: maximal runs of kernel calls between two delegate calls.

    ``dataflow`` is the method's :data:`Dataflow` when the caller has it already.

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction
    >>> names = ["EthosUBackend", "quantized_decomposed::dequantize_per_tensor.out",
    ...          "aten::upsample_bilinear2d.vec_out", "quantized_decomposed::quantize_per_tensor.out",
    ...          "EthosUBackend"]
    >>> calls = tuple(Instruction(i, "delegate" if n.startswith("Ethos") else "kernel", 0, (), n,
    ...                           n if n.startswith("Ethos") else "CPU") for i, n in enumerate(names))
    >>> [(isl.instructions, isl.causes, isl.glue) for isl in cpu_islands(Method("forward", (), (), (), calls, (), ()))]
    [((1, 2, 3), ('aten::upsample_bilinear2d.vec_out',), (1, 3))]
    """
    if _delegate_calls(method) < 2:
        return []
    producer, consumers = dataflow or producers_and_consumers(method)
    islands = []
    last_delegate: Instruction | None = None
    run: list[Instruction] = []
    for ins in method.calls:
        if ins.kind == "delegate":
            if last_delegate is not None and run:
                islands.append(_island(method, run, last_delegate, ins, producer, consumers))
            last_delegate = ins
            run = []
        else:
            run.append(ins)
    return islands


def _island(
    method: Method,
    run: list[Instruction],
    before: Instruction,
    after: Instruction,
    producer: Mapping[int, Any],
    consumers: Mapping[int, list[Any]],
) -> CpuIsland:
    members = {i.index for i in run}
    tin: dict[int, None] = {}
    tout: dict[int, None] = {}
    for ins in run:
        for v in method.tensor_args(ins):
            src = producer.get(v)
            if src is not None and src not in members:
                tin[v] = None
            elif src in members and any(c not in members for c in consumers.get(v, ())):
                tout[v] = None
    ops = tuple(i.name for i in run)
    return CpuIsland(
        instructions=tuple(i.index for i in run),
        ops=ops,
        between=(before.index, after.index),
        causes=tuple(dict.fromkeys(o for o in ops if not is_glue(o))),
        tensors_in=tuple(tin),
        tensors_out=tuple(tout),
        bytes_in=tensor_bytes(method, tin),
        bytes_out=tensor_bytes(method, tout),
        backends=(before.name, after.name),
        glue=tuple(i.index for i in run if is_glue(i.name)),
        control_flow=tuple(
            i.index for i in method.instructions[before.index + 1 : after.index] if i.kind in ("jump_false", "move", "free")
        ),
    )


#: How a tensor comes back to a delegate: straight from one delegate call to another
#: (``"direct"``), or through glue / trivial CPU kernels (``"through_cpu"``).
RoundTripKind = Literal["direct", "through_cpu"]


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A tensor that leaves a delegate call and re-enters a delegate call, for nothing.

    ``kind`` says how: ``"direct"``, handed straight from one delegate call to another with no
    CPU kernel on it (the delegates were split, yet the tensor only goes out and comes back:
    Arm's LRN lab model passes a [1,1280,7,7] tensor from one Ethos-U delegate to the next);
    ``"through_cpu"``, through CPU kernels that are all glue or trivial (:func:`is_trivial`).

    Attributes
    ----------
    source, sink : int
        Instruction indices of the delegate call that produces the tensor and of the one it
        (or what the CPU made of it) re-enters.
    value : int
        The tensor value leaving ``source``.
    path : tuple of int
        The CPU kernel calls between them, in dataflow order (glue and trivial ops only;
        empty for a direct round trip).
    ops : tuple of str
        Their operator names.
    bytes : int
        Bytes that cross a delegate boundary for nothing: the tensor leaving ``source`` plus
        the tensor entering ``sink`` (twice the tensor for a direct round trip; both are
        :func:`crossings`, of kind ``"direct"``).
    kind : {"direct", "through_cpu"}
    """

    source: int
    sink: int
    value: int
    path: tuple[int, ...]
    ops: tuple[str, ...]
    bytes: int
    kind: RoundTripKind = "through_cpu"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the keys are the attributes' names)."""
        return {
            "kind": self.kind,
            "source": self.source,
            "sink": self.sink,
            "value": self.value,
            "path": list(self.path),
            "ops": list(self.ops),
            "bytes": self.bytes,
        }


def round_trips(method: Method, *, dataflow: Dataflow | None = None) -> list[RoundTrip]:
    """Delegate outputs that reach another delegate call directly, or through CPU kernels that
    are all glue or trivial (:func:`is_trivial`): NPU -> NPU and NPU -> CPU -> NPU.

    ``dataflow`` is the method's :data:`Dataflow` when the caller has it already.

    A direct round trip is a tensor one delegate call writes and another reads, with no kernel
    between them on the tensor's path (whatever else runs on the CPU in between). On a path
    through the CPU, each kernel must take exactly one non-constant tensor (so nothing else
    flows in); the walk follows every consumer. Results are ordered by source, then sink.

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction, Value, Tensor
    >>> t = Value("tensor", Tensor(1, (1, 8)))
    >>> calls = (Instruction(0, "delegate", 0, (0, 1), "EthosUBackend", "EthosUBackend"),
    ...          Instruction(1, "kernel", 0, (1, 2), "aten::view_copy.out", "CPU"),
    ...          Instruction(2, "delegate", 1, (2, 1, 3), "EthosUBackend", "EthosUBackend"))
    >>> m = Method("forward", (t, t, t, t), (0,), (3,), calls, (), ())
    >>> [(r.kind, r.source, r.sink, r.path, r.bytes) for r in round_trips(m)]
    [('direct', 0, 2, (), 16), ('through_cpu', 0, 2, (1,), 16)]
    """
    if _delegate_calls(method) < 2:
        return []
    producer, consumers = dataflow or producers_and_consumers(method)
    by_index = {i.index: i for i in method.instructions}
    out: list[RoundTrip] = []
    for src in method.calls:
        if src.kind != "delegate":
            continue
        for v in method.tensor_args(src):
            if producer.get(v) != src.index:
                continue
            for c in consumers.get(v, ()):
                reader = by_index.get(c) if isinstance(c, int) else None
                if reader is not None and reader.kind == "delegate" and c != src.index:
                    out.append(RoundTrip(src.index, c, v, (), (), 2 * tensor_bytes(method, [v]), "direct"))
            for sink, path, last in _trivial_paths(method, v, consumers, producer, by_index):
                if sink == src.index:
                    continue
                ops = tuple(by_index[i].name for i in path)
                nbytes = tensor_bytes(method, [v]) + tensor_bytes(method, [last])
                out.append(RoundTrip(src.index, sink, v, path, ops, nbytes, "through_cpu"))
    out.sort(key=lambda r: (r.source, r.sink, r.value, r.path))
    return out


def _trivial_paths(
    method: Method,
    value: int,
    consumers: Mapping[int, list[Any]],
    producer: Mapping[int, Any],
    by_index: Mapping[int, Instruction],
) -> list[tuple[int, tuple[int, ...], int]]:
    """(sink delegate call, CPU path, tensor entering the sink) reached from ``value``."""
    found = []
    stack: list[tuple[int, tuple[int, ...]]] = [(value, ())]
    while stack:
        v, path = stack.pop()
        for c in consumers.get(v, ()):
            ins = by_index.get(c) if isinstance(c, int) else None
            if ins is None:
                continue
            if ins.kind == "delegate":
                if path:
                    found.append((ins.index, path, v))
                continue
            if ins.kind != "kernel" or not is_trivial(ins.name) or ins.index in path:
                continue
            ins_inputs = [a for a in method.tensor_args(ins) if producer.get(a) is not None and producer.get(a) != ins.index]
            if len(dict.fromkeys(ins_inputs)) != 1:
                continue
            for o in method.tensor_args(ins):
                if producer.get(o) == ins.index:
                    stack.append((o, (*path, ins.index)))
    return found


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of a method's work runs in delegates, counted in operators.

    Attributes
    ----------
    delegated_ops : int or None
        Operators inside all delegates (None when any delegate's operators are unknown).
    cpu_ops : int
        Kernel calls on the CPU that are not quantize/dequantize glue.
    glue_ops : int
        Quantize/dequantize kernel calls on the CPU (format conversion at delegate
        boundaries, not model operators: they count in neither side of the ratio).
    unknown_delegates : tuple of int
        Delegates whose operators are not known.
    """

    delegated_ops: int | None
    cpu_ops: int
    glue_ops: int
    unknown_delegates: tuple[int, ...]

    @property
    def ratio(self) -> float | str:
        """``delegated / (delegated + cpu)`` rounded to 4 places, or ``"unknown"``."""
        if self.delegated_ops is None:
            return "unknown"
        total = self.delegated_ops + self.cpu_ops
        return round(self.delegated_ops / total, 4) if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ratio": self.ratio,
            "delegated_ops": self.delegated_ops,
            "cpu_ops": self.cpu_ops,
            "glue_ops": self.glue_ops,
            "unknown_delegates": list(self.unknown_delegates),
        }


def coverage(method: Method, delegate_ops: Callable[[Delegate], Mapping[str, int] | None] | None = None) -> Coverage:
    """Delegated operators / all operators of a method, or ``"unknown"`` (never a guess).

    Parameters
    ----------
    method : Method
    delegate_ops : callable, optional
        ``delegate -> {operator: count}`` or None when unknown. Default:
        :func:`known_delegate_ops` (payload decoders and joined .tosa files).

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction, Delegate
    >>> d = Delegate(0, "XnnpackBackend", "inline", 0, (), 0, 0)
    >>> calls = (Instruction(0, "delegate", 0, (), "XnnpackBackend", "XnnpackBackend"),
    ...          Instruction(1, "kernel", 0, (), "aten::cumsum.out", "CPU"))
    >>> m = Method("forward", (), (), (), calls, (), (d,))
    >>> coverage(m, lambda d: {"CONV_2D": 2, "ADD": 1}).ratio
    0.75
    >>> coverage(m, lambda d: None).ratio
    'unknown'
    """
    lookup = delegate_ops or known_delegate_ops
    cpu = sum(1 for i in method.calls if i.kind == "kernel" and not is_glue(i.name))
    glue = sum(1 for i in method.calls if i.kind == "kernel" and is_glue(i.name))
    by_index = {d.index: d for d in method.delegates}
    known: dict[int, int | None] = {}
    delegated = 0
    for call in method.calls:  # a delegate called twice runs its operators twice
        if call.kind != "delegate":
            continue
        if call.ref not in known:
            d = by_index.get(call.ref)
            ops = lookup(d) if d is not None else None
            known[call.ref] = None if ops is None else _work(ops)
        delegated += known[call.ref] or 0
    unknown = [k for k, n in known.items() if n is None]
    return Coverage(None if unknown else delegated, cpu, glue, tuple(unknown))


def _work(ops: Mapping[str, int]) -> int:
    """Operators that do work: TOSA constants are data."""
    return sum(n for op, n in ops.items() if op not in CONST_OPS)


def method_metrics(method: Method, delegate_ops: Callable[[Delegate], Mapping[str, int] | None] | None = None) -> dict[str, Any]:
    """The ``metrics`` object of ``inspect --format json`` for one method.

    ``crossings`` lists the terms of ``boundary_bytes`` (:func:`crossings`);
    ``boundary_bytes_by_kind`` splits the same total into ``cpu`` and ``direct``
    (delegate <-> delegate) crossings; ``round_trip_counts`` counts the round trips by kind.
    """
    flow = producers_and_consumers(method) if _delegate_calls(method) >= 1 else None
    hops = crossings(method, dataflow=flow)
    trips = round_trips(method, dataflow=flow)
    by_kind = {"cpu": 0, "direct": 0}
    for c in hops:
        by_kind[c.kind] += c.bytes
    return {
        "delegated_subgraphs": delegated_subgraphs(method),
        "transitions": transitions(method),
        "boundary_bytes": boundary_bytes(method),
        "boundary_bytes_by_kind": by_kind,
        "crossings": [c.to_dict() for c in hops],
        "cpu_islands": [isl.to_dict() for isl in cpu_islands(method, dataflow=flow)],
        "coverage": coverage(method, delegate_ops).to_dict(),
        "round_trips": [r.to_dict() for r in trips],
        "round_trip_counts": {"direct": sum(r.kind == "direct" for r in trips), "through_cpu": sum(r.kind == "through_cpu" for r in trips)},
        "fragmentation_score": fragmentation_score(method),
    }
