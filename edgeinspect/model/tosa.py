"""The in-memory model of a TOSA flatbuffer (.tosa): small frozen records, no constant data.

A :class:`TosaGraph` holds :class:`TosaRegion` objects; a region holds
:class:`TosaBlock` objects; a block holds :class:`TosaOperator` and
:class:`TosaTensor` records (and :class:`TosaShape` records for shape values).
The first block of the first region (``main``) is the graph; control-flow
operators (``COND_IF``, ``WHILE_LOOP``) name the regions they run.

Constant data is never read at load time: each tensor knows the byte size and
file offset of its data, and :meth:`TosaGraph.constant_data` reads it on demand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from edgeinspect.errors import UsageError
from edgeinspect.model import views
from edgeinspect.model.counts import CONST_OPS, histogram
from edgeinspect.model.payload import PayloadKind, PayloadSummary

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "CONST_OPS",
    "DTYPE_BITS",
    "TosaBlock",
    "TosaGraph",
    "TosaOperator",
    "TosaRegion",
    "TosaShape",
    "TosaPayload",
    "TosaTensor",
    "histogram",
]


#: Bits per element of each TOSA DType name (SHAPE values are 64-bit index values).
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "INT4": 4,
    "INT8": 8,
    "INT16": 16,
    "INT32": 32,
    "INT48": 48,
    "FP32": 32,
    "FP16": 16,
    "BF16": 16,
    "SHAPE": 64,
    "FP8E4M3": 8,
    "FP8E5M2": 8,
    "FP6E2M3": 6,
    "FP6E3M2": 6,
    "FP4E2M1": 4,
    "FP8UE8M0": 8,
    "INT64": 64,
    "MXINT8": 8,
}


@dataclass(frozen=True, slots=True)
class TosaTensor:
    """A tensor of a block: metadata, and where its constant data lies (never loaded).

    ``data_bytes`` is the stored size of the constant data (0 for activations);
    ``data_offset`` its file offset (-1 when there is none). Tensors of models over
    2 GB keep their data outside the flatbuffer: ``external`` is then True and the
    offset is relative to the start of the .tosa file.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    data_bytes: int = 0
    variable: bool = False
    is_unranked: bool = False
    variable_name: str | None = None
    external: bool = False
    data_offset: int = field(default=-1, compare=False)
    offset: int = field(default=0, compare=False)

    @property
    def numel(self) -> int:
        """Number of elements (1 for a rank-0 tensor)."""
        return math.prod(self.shape)

    @property
    def element_bits(self) -> int | None:
        """Bits per element, or None for an unknown dtype."""
        return DTYPE_BITS.get(self.dtype)

    @property
    def element_size(self) -> int | None:
        """Bytes per element, rounded up (INT4 -> 1); None for an unknown dtype."""
        bits = self.element_bits
        return None if bits is None else (bits + 7) // 8

    @property
    def nbytes(self) -> int | None:
        """Byte size of the tensor's values (packed for sub-byte types); None for an unknown dtype."""
        bits = self.element_bits
        if bits is None or any(d < 0 for d in self.shape):
            return None
        return (self.numel * bits + 7) // 8

    @property
    def is_constant(self) -> bool:
        """Whether the tensor carries constant data."""
        return self.data_bytes > 0


@dataclass(frozen=True, slots=True)
class TosaShape:
    """A shape value of a block (TOSA 1.x ``TosaShape``): its rank and the size of its data."""

    name: str
    rank: int
    data_bytes: int = 0
    data_offset: int = field(default=-1, compare=False)
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class TosaOperator:
    """One operator of a block.

    ``op`` is the operator enum name (``"CONV2D"``; ``"UNKNOWN(n)"`` for a value this
    version does not know). ``attribute`` is the attribute table's name
    (``"Conv2dAttribute"``) and ``attributes`` its fields decoded into a dict (enum
    fields as names, vectors as tuples, ``[ubyte]`` fields as their byte length under
    ``<field>_bytes``). ``regions`` names the regions a control-flow operator runs
    (``then_graph``/``else_graph`` of ``COND_IF``, ``cond_graph``/``body_graph`` of
    ``WHILE_LOOP``). ``index`` is the position in its block.
    """

    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attribute: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict, hash=False)
    location: str | None = None
    index: int = 0
    regions: tuple[str, ...] = ()
    offset: int = field(default=0, compare=False)

    @property
    def is_const(self) -> bool:
        """Whether the operator only materialises constant data (``CONST``, ``CONST_SHAPE``)."""
        return self.op in CONST_OPS


@dataclass(frozen=True, slots=True)
class TosaBlock:
    """A basic block: operators in order, the tensors they use, and the block's inputs/outputs."""

    name: str
    operators: tuple[TosaOperator, ...]
    tensors: tuple[TosaTensor, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    shapes: tuple[TosaShape, ...] = ()
    offset: int = field(default=0, compare=False)

    def tensor(self, name: str) -> TosaTensor | None:
        """The tensor called ``name`` in this block, or None."""
        for t in self.tensors:
            if t.name == name:
                return t
        return None

    @property
    def tensor_map(self) -> dict[str, TosaTensor]:
        """Tensors by name (the first of repeated names wins)."""
        out: dict[str, TosaTensor] = {}
        for t in self.tensors:
            out.setdefault(t.name, t)
        return out


@dataclass(frozen=True, slots=True)
class TosaRegion:
    """A region: a named list of basic blocks (``main``, or the body of a control-flow operator)."""

    name: str
    blocks: tuple[TosaBlock, ...]
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class TosaGraph:
    """A TOSA flatbuffer, read without its constant data.

    ``version`` is ``(major, minor, patch)``, ``draft`` the draft flag of the
    schema version; ``software_version`` the writer's version string when the file
    records one (TOSA 1.1), else None.
    """

    path: str | None
    version: tuple[int, int, int]
    regions: tuple[TosaRegion, ...]
    file_size: int
    draft: bool = False
    software_version: str | None = None
    format: str = "tosa"
    _reader: Callable[[int, int], bytes] | None = field(default=None, compare=False, repr=False)
    _source: Any = field(default=None, compare=False, repr=False)

    @property
    def version_string(self) -> str:
        """``"major.minor.patch"``, e.g. ``"1.0.0"``."""
        return ".".join(str(v) for v in self.version)

    def region(self, name: str) -> TosaRegion:
        """The region called ``name``; raises UsageError listing the regions there are."""
        for r in self.regions:
            if r.name == name:
                return r
        names = ", ".join(r.name for r in self.regions) or "none"
        raise UsageError(f"no region {name!r} in this TOSA graph (regions: {names})")

    @property
    def main_block(self) -> TosaBlock | None:
        """The entry block: the first block of the first region (None for an empty graph)."""
        for r in self.regions:
            if r.blocks:
                return r.blocks[0]
            break
        return None

    @property
    def blocks(self) -> Iterator[tuple[TosaRegion, TosaBlock]]:
        """Every (region, block) pair in file order."""
        return ((r, b) for r in self.regions for b in r.blocks)

    @property
    def operators(self) -> tuple[TosaOperator, ...]:
        """Every operator of every block, in file order."""
        return tuple(op for r in self.regions for b in r.blocks for op in b.operators)

    @property
    def num_operators(self) -> int:
        """Number of operators, constants included."""
        return sum(len(b.operators) for r in self.regions for b in r.blocks)

    def histogram(self, *, include_const: bool = True) -> dict[str, int]:
        """Operator name -> count over all blocks, most frequent first.

        Parameters
        ----------
        include_const : bool
            Count ``CONST``/``CONST_SHAPE`` operators too (about half of a real file).
        """
        return histogram([op.op for op in self.operators if include_const or not op.is_const])

    def _io(self, names: tuple[str, ...]) -> tuple[TosaTensor, ...]:
        block = self.main_block
        if block is None:
            return ()
        tensors = block.tensor_map
        return tuple(tensors[n] if n in tensors else TosaTensor(n, (), "UNKNOWN") for n in names)

    @property
    def inputs(self) -> tuple[TosaTensor, ...]:
        """The graph inputs (tensors of the entry block), in order."""
        block = self.main_block
        return self._io(block.inputs) if block else ()

    @property
    def outputs(self) -> tuple[TosaTensor, ...]:
        """The graph outputs (tensors of the entry block), in order."""
        block = self.main_block
        return self._io(block.outputs) if block else ()

    @property
    def constant_bytes(self) -> int:
        """Total stored size of constant data (weights, biases, zero points, tables)."""
        return sum(t.data_bytes for _, b in self.blocks for t in b.tensors)

    def constant_data(self, tensor: TosaTensor) -> bytes:
        """Read the constant data of ``tensor`` from the file (the only time it is read)."""
        if tensor.data_offset < 0 or not tensor.data_bytes:
            return b""
        if self._reader is None:
            raise UsageError("this TOSA graph has no file to read constant data from")
        return self._reader(tensor.data_offset, tensor.data_bytes)

    def close(self) -> None:
        """Release the mapped file (constant data cannot be read afterwards)."""
        if self._source is not None:
            self._source.close()

    def __enter__(self) -> TosaGraph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _repr_html_(self) -> str:
        """HTML summary for Jupyter (:func:`edgeinspect.report.notebook.tosa_html`)."""
        return views.view("tosa_html")(self)

    def to_networkx(self) -> nx.MultiDiGraph:
        """The dataflow graph: one node per operator, one edge per tensor use; see
        :func:`edgeinspect.graph.tosa_graph` (the node and edge attributes are those of
        :mod:`edgeinspect.graph`).

        Examples
        --------
        >>> import edgeinspect
        >>> g = edgeinspect.load("tests/data/tosa_cnn.tosa.d/output_tag0_TOSA-1.0+INT.tosa").to_networkx()
        >>> [d["op"] for _, d in g.nodes(data=True) if d["kind"] == "operator" and not d["const"]]
        ['TRANSPOSE', 'CONV2D', 'RESCALE', 'CONV2D', 'RESCALE', 'TRANSPOSE']
        """
        return views.view("tosa_graph")(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class TosaPayload(PayloadSummary):
    """A TOSABackend payload: a whole .tosa file."""

    kind: ClassVar[PayloadKind] = "tosa"

    graph: TosaGraph = field(compare=False, repr=False)

    def _details(self) -> dict[str, Any]:
        return {"tosa_version": self.graph.version_string}
