"""The IR of an XNNPACK delegate payload: the graph of nodes and values the payload holds.

Read by :func:`edgeinspect.formats.xnnpack.decode_xnnpack`; small frozen records, the
constant data (weights) is never read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from edgeinspect.model import views
from edgeinspect.model.counts import histogram
from edgeinspect.model.payload import PayloadKind, PayloadSummary

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["FLAG_EXTERNAL_INPUT", "FLAG_EXTERNAL_OUTPUT", "INVALID_ID", "XnnGraph", "XnnNode", "XnnValue", "XnnpackPayload"]

INVALID_ID = 0xFFFFFFFF
FLAG_EXTERNAL_INPUT = 1
FLAG_EXTERNAL_OUTPUT = 2


@dataclass(frozen=True, slots=True)
class XnnValue:
    """One XNNPACK value (tensor): id, datatype, shape, and whether it is external or constant."""

    id: int
    datatype: str
    dims: tuple[int, ...]
    constant_buffer_idx: int = 0
    external_id: int = INVALID_ID
    flags: int = 0
    quantization: str | None = None
    element_bits: int | None = None
    offset: int = field(default=0, compare=False)

    @property
    def is_external_input(self) -> bool:
        """Flagged ``XNN_VALUE_FLAG_EXTERNAL_INPUT`` (handed in by the delegate call)."""
        return bool(self.flags & FLAG_EXTERNAL_INPUT)

    @property
    def is_external_output(self) -> bool:
        """Flagged ``XNN_VALUE_FLAG_EXTERNAL_OUTPUT`` (handed back to the delegate call)."""
        return bool(self.flags & FLAG_EXTERNAL_OUTPUT)

    @property
    def is_constant(self) -> bool:
        """Backed by constant data (weights, biases)."""
        return self.constant_buffer_idx > 0

    @property
    def nbytes(self) -> int | None:
        """Bytes of the values (packed for 4-bit types); None when the datatype's size is unknown."""
        if self.element_bits is None:
            return None
        return (math.prod(self.dims) * self.element_bits + 7) // 8


@dataclass(frozen=True, slots=True)
class XnnNode:
    """One XNNPACK node: its type (``XNNFullyConnected``), value ids read and written, other fields."""

    index: int
    type: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    attributes: dict[str, Any] = field(default_factory=dict, hash=False)
    debug_handle: int = 0
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class XnnGraph:
    """A decoded XNNPACK payload.

    ``identifier`` is ``XN01`` (or ``XN00`` for old payloads); ``has_header`` tells whether
    the ``XH00`` header was present. ``constant_data_bytes`` is the size of the constant
    data that follows the flatbuffer; ``named_constants`` counts constants kept in the
    program's named data store instead.
    """

    version: str
    identifier: str
    has_header: bool
    nodes: tuple[XnnNode, ...]
    values: tuple[XnnValue, ...]
    num_externs: int
    input_ids: tuple[int, ...]
    output_ids: tuple[int, ...]
    flatbuffer_bytes: int
    constant_data_bytes: int = 0
    constants: int = 0
    named_constants: int = 0

    def value(self, value_id: int) -> XnnValue | None:
        """The value with id ``value_id``, or None."""
        for v in self.values:
            if v.id == value_id:
                return v
        return None

    def histogram(self) -> dict[str, int]:
        """Node type -> count, most frequent first."""
        return histogram([n.type for n in self.nodes])

    @property
    def inputs(self) -> tuple[XnnValue | None, ...]:
        """Values of the external inputs, in ``input_ids`` order."""
        by_id = {v.id: v for v in self.values}
        return tuple(by_id.get(i) for i in self.input_ids)

    @property
    def outputs(self) -> tuple[XnnValue | None, ...]:
        """Values of the external outputs, in ``output_ids`` order."""
        by_id = {v.id: v for v in self.values}
        return tuple(by_id.get(i) for i in self.output_ids)

    def edges(self) -> list[tuple[int, int, int]]:
        """``(producer node, consumer node, value id)`` for every value passed between nodes."""
        producer: dict[int, int] = {}
        for n in self.nodes:
            for v in n.outputs:
                producer.setdefault(v, n.index)
        out = []
        for n in self.nodes:
            for v in n.inputs:
                src = producer.get(v)
                if src is not None and src != n.index:
                    out.append((src, n.index, v))
        return out

    def to_networkx(self) -> nx.MultiDiGraph:
        """One node per XNNPACK node, ``input:<k>``/``output:<k>`` nodes for the external values,
        edges keyed by value id; see :func:`edgeinspect.graph.xnnpack_graph`."""
        return views.view("xnnpack_graph")(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class XnnpackPayload(PayloadSummary):
    """An XNNPACK payload: its graph of nodes and values."""

    kind: ClassVar[PayloadKind] = "xnnpack"

    graph: XnnGraph = field(compare=False, repr=False)

    def _details(self) -> dict[str, Any]:
        g = self.graph
        return {
            "xnnpack": {
                "identifier": g.identifier,
                "header": g.has_header,
                "values": len(g.values),
                "external_values": g.num_externs,
                "constants": g.constants,
                "named_constants": g.named_constants,
                "flatbuffer_bytes": g.flatbuffer_bytes,
                "constant_data_bytes": g.constant_data_bytes,
            }
        }
