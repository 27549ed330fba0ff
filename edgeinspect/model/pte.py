"""The in-memory model of an ExecuTorch program: small frozen records, no torch.

A :class:`Program` holds :class:`Method` objects (ExecuTorch "execution plans"); a
method holds its values (tensors, scalars, lists), operators, instructions and
delegates. Every record keeps the file offset it was read from, so findings can
point at bytes. Constant data and delegate payloads are not read at load time:
:meth:`Delegate.payload` reads the payload bytes on demand from the mapped file.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edgeinspect.errors import UsageError
from edgeinspect.model import views
from edgeinspect.model.kinds import DataLocation, InstructionKind, JoinStatus, ValueKind
from edgeinspect.model.source import Frame

if TYPE_CHECKING:
    import networkx as nx

    from edgeinspect.model.tosa import TosaGraph

__all__ = [
    "SCALAR_TYPES",
    "CompileSpec",
    "Delegate",
    "Instruction",
    "Method",
    "Operator",
    "Program",
    "Tensor",
    "Value",
    "accelerator_config",
    "compile_target",
    "dtype_name",
    "element_size",
]

#: ExecuTorch ScalarType enum value -> (dtype name, bytes per element or None when sub-byte/unknown).
SCALAR_TYPES: dict[int, tuple[str, int | None]] = {
    0: ("uint8", 1),
    1: ("int8", 1),
    2: ("int16", 2),
    3: ("int32", 4),
    4: ("int64", 8),
    5: ("float16", 2),
    6: ("float32", 4),
    7: ("float64", 8),
    8: ("complex32", 4),
    9: ("complex64", 8),
    10: ("complex128", 16),
    11: ("bool", 1),
    12: ("qint8", 1),
    13: ("quint8", 1),
    14: ("qint32", 4),
    15: ("bfloat16", 2),
    16: ("quint4x2", 1),
    17: ("quint2x4", 1),
    18: ("bits1x8", 1),
    19: ("bits2x4", 1),
    20: ("bits4x2", 1),
    21: ("bits8", 1),
    22: ("bits16", 2),
    23: ("float8_e5m2", 1),
    24: ("float8_e4m3fn", 1),
    25: ("float8_e5m2fnuz", 1),
    26: ("float8_e4m3fnuz", 1),
    27: ("uint16", 2),
    28: ("uint32", 4),
    29: ("uint64", 8),
}


def dtype_name(scalar_type: int) -> str:
    """Name of an ExecuTorch scalar type, ``"unknown(N)"`` for values this version does not know."""
    entry = SCALAR_TYPES.get(scalar_type)
    return entry[0] if entry else f"unknown({scalar_type})"


def element_size(scalar_type: int) -> int | None:
    """Bytes per element of a scalar type, or None when unknown."""
    entry = SCALAR_TYPES.get(scalar_type)
    return entry[1] if entry else None


@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor value: metadata only, its data is never loaded."""

    scalar_type: int
    sizes: tuple[int, ...]
    dim_order: tuple[int, ...] = ()
    data_buffer_idx: int = 0
    shape_dynamism: int = 0
    storage_offset: int = 0
    requires_grad: bool = False
    memory_planned: bool = False
    constant_name: str | None = None
    offset: int = field(default=0, compare=False)

    @property
    def dtype(self) -> str:
        """Scalar type name, e.g. ``"float32"``."""
        return dtype_name(self.scalar_type)

    @property
    def element_size(self) -> int | None:
        """Bytes per element, or None when the scalar type is unknown."""
        return element_size(self.scalar_type)

    @property
    def numel(self) -> int:
        """Number of elements (product of sizes; 1 for a 0-d tensor)."""
        return math.prod(self.sizes)

    @property
    def nbytes(self) -> int | None:
        """Byte size: product of sizes x element size (None when the element size is unknown)."""
        es = self.element_size
        return None if es is None else self.numel * es

    @property
    def is_constant(self) -> bool:
        """Whether the tensor holds constant data (weights) baked into the program."""
        return self.data_buffer_idx > 0 or self.constant_name is not None and not self.memory_planned


@dataclass(frozen=True, slots=True)
class Value:
    """One entry of a method's value table (ExecuTorch ``EValue``).

    ``kind`` is one of ``null, int, bool, double, string, tensor, int_list,
    double_list, bool_list, tensor_list, optional_tensor_list`` (``unknown`` for a
    union member this version does not know). ``data`` is a :class:`Tensor`, a
    Python scalar, or a tuple (lists of tensors hold value indices, -1 for None).
    """

    kind: ValueKind
    data: Any = None
    offset: int = field(default=0, compare=False)

    @property
    def tensor(self) -> Tensor | None:
        """The tensor, when this value is one."""
        return self.data if self.kind == "tensor" else None


@dataclass(frozen=True, slots=True)
class Operator:
    """A kernel operator referenced by name, e.g. ``aten::add`` overload ``out``."""

    name: str
    overload: str = ""

    @property
    def full_name(self) -> str:
        """``name.overload`` as it appears in reports, e.g. ``aten::add.out``."""
        return f"{self.name}.{self.overload}" if self.overload else self.name


@dataclass(frozen=True, slots=True)
class CompileSpec:
    """One compile setting stored with a delegate: a key and raw bytes."""

    key: str
    value: bytes

    @property
    def text(self) -> str:
        """The value as text when it is printable UTF-8, else as hex."""
        return decode_spec_value(self.value)


def decode_spec_value(value: bytes) -> str:
    """Render compile-spec bytes as text when printable UTF-8, else as ``0x``-prefixed hex."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + value.hex()
    if text.isprintable() or all(c.isprintable() or c in "\n\t" for c in text):
        return text
    return "0x" + value.hex()


@dataclass(frozen=True, slots=True)
class Delegate:
    """A lowered subgraph handed to a backend (ExecuTorch ``BackendDelegate``).

    The payload (what the backend compiled) is not read at load time; call
    :meth:`payload` to read it from the file.
    """

    index: int
    backend_id: str
    location: DataLocation
    data_index: int
    compile_specs: tuple[CompileSpec, ...]
    payload_offset: int  # file offset of the payload bytes
    payload_size: int
    offset: int = field(default=0, compare=False)
    _reader: Callable[[int, int], bytes] | None = field(default=None, compare=False, repr=False)
    #: Set by :func:`edgeinspect.join.attach_tosa`: the joined TOSA graph (a TosaGraph), the
    #: dump's base name, the join status ("matched" | "ambiguous" | "missing"; None when no
    #: join was asked or the backend takes no TOSA) and the candidate dumps considered.
    tosa: TosaGraph | None = field(default=None, compare=False, repr=False)
    tosa_file: str | None = None
    tosa_join: JoinStatus | None = None
    tosa_candidates: tuple[str, ...] = ()

    def payload(self) -> bytes:
        """Read the delegate payload bytes from the file (the only time they are read)."""
        if self._reader is None:
            raise UsageError("this delegate has no file to read its payload from")
        return self._reader(self.payload_offset, self.payload_size)

    def payload_view(self) -> memoryview:
        """The payload as a view into the mapped file: decoders read the parts they need and
        a payload holding hundreds of MB of weights is never copied."""
        view = getattr(getattr(self._reader, "__self__", None), "view", None)
        if view is None:
            return memoryview(self.payload())
        return view(self.payload_offset, self.payload_size)

    def spec(self, key: str) -> str | None:
        """The first compile spec named ``key`` as text, or None."""
        for cs in self.compile_specs:
            if cs.key == key:
                return cs.text
        return None

    @property
    def specs(self) -> dict[str, str]:
        """Compile specs as ``{key: text}`` (the last of repeated keys wins, in file order)."""
        return {cs.key: cs.text for cs in self.compile_specs}

    @property
    def target(self) -> str | None:
        """The hardware or spec the delegate was compiled for, when its compile specs name one
        (:func:`compile_target`). XNNPACK stores no compile specs: None."""
        return compile_target(self.specs)

    @property
    def accelerator(self) -> str | None:
        """The accelerator the delegate was compiled for, such as ``ethos-u55-128`` (:func:`accelerator_config`)."""
        return accelerator_config(self.specs)


def accelerator_config(specs: Mapping[str, str]) -> str | None:
    """The accelerator named by a delegate's compile specs: a ``target`` spec, else the value
    of ``--accelerator-config=`` in Vela's ``compile_flags``; None when neither names one.

    Examples
    --------
    >>> accelerator_config({"compile_flags": "--accelerator-config=ethos-u85-256 --output-format=raw"})
    'ethos-u85-256'
    >>> accelerator_config({"target": "ethos-u55-128"}), accelerator_config({"tosa_spec": "TOSA-1.0+INT"})
    ('ethos-u55-128', None)
    """
    if specs.get("target"):
        return specs["target"]
    for flag in specs.get("compile_flags", "").split():
        if flag.startswith("--accelerator-config="):
            return flag.split("=", 1)[1]
    return None


def compile_target(specs: Mapping[str, str]) -> str | None:
    """The hardware or spec a delegate was compiled for, from its compile specs: the
    :func:`accelerator_config`, else the ``tosa_spec``; None when the specs name none.

    Examples
    --------
    >>> compile_target({"tosa_spec": "TOSA-1.0+INT"}), compile_target({})
    ('TOSA-1.0+INT', None)
    """
    return accelerator_config(specs) or specs.get("tosa_spec") or None


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction of a method, in execution order.

    ``kind`` is ``kernel``, ``delegate``, ``move``, ``jump_false``, ``free`` or
    ``unknown``. ``args`` are value indices: the call arguments of a kernel or
    delegate call, ``(move_from, move_to)`` of a move, ``(cond_value_index,)`` of
    a jump and ``(value_index,)`` of a free. ``ref`` is the table entry the
    instruction refers to: the operator index of a kernel call
    (:attr:`operator_index`), the delegate index of a delegate call
    (:attr:`delegate`), the destination instruction of a jump (:attr:`destination`).
    ``name`` is the operator's full name for a kernel call and the backend id for a
    delegate call; ``device`` is ``"CPU"`` for kernel calls and the backend id for
    delegate calls (None for the others).

    ``ref`` was called ``target``; ``target`` now means one thing in
    edgeinspect, the chip or spec a delegate was compiled for (:attr:`Delegate.target`),
    and ``Instruction.target`` is a deprecated alias of ``ref``.
    """

    index: int
    kind: InstructionKind
    ref: int | None
    args: tuple[int, ...]
    name: str
    device: str | None
    offset: int = field(default=0, compare=False)

    @property
    def is_call(self) -> bool:
        """Kernel or delegate call (the instructions that do work)."""
        return self.kind in ("kernel", "delegate")

    @property
    def delegate(self) -> int | None:
        """The delegate index a delegate call runs (None for other instructions): the
        ``delegate`` of the graph node and of the instruction's JSON."""
        return self.ref if self.kind == "delegate" else None

    @property
    def operator_index(self) -> int | None:
        """The index into :attr:`Method.operators` of a kernel call (None for others)."""
        return self.ref if self.kind == "kernel" else None

    @property
    def destination(self) -> int | None:
        """The instruction a ``jump_false`` goes to when its condition is false (None for others)."""
        return self.ref if self.kind == "jump_false" else None

    @property
    def target(self) -> int | None:
        """Deprecated alias of :attr:`ref` (``target`` is the chip a delegate was compiled for)."""
        warnings.warn(
            "Instruction.target is deprecated: use Instruction.ref (or .delegate, .operator_index, .destination)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.ref


@dataclass(frozen=True, slots=True)
class Method:
    """One method of a program (``forward`` usually): an ExecuTorch execution plan."""

    name: str
    values: tuple[Value, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    instructions: tuple[Instruction, ...]
    operators: tuple[Operator, ...]
    delegates: tuple[Delegate, ...]
    non_const_buffer_sizes: tuple[int, ...] = ()
    num_chains: int = 1
    offset: int = field(default=0, compare=False)
    #: Per instruction index, the stack frames the program stores for it (outermost first;
    #: exported with ``emit_stacktrace=True``); empty when the file stores none.
    frames: tuple[tuple[Frame, ...], ...] = ()

    def tensor(self, value_index: int) -> Tensor | None:
        """The tensor at ``value_index``, or None when that value is not a tensor."""
        if 0 <= value_index < len(self.values):
            return self.values[value_index].tensor
        return None

    def tensor_args(self, instruction: Instruction) -> list[int]:
        """Value indices of every tensor an instruction touches, tensor lists expanded, in order."""
        out: list[int] = []
        values = self.values
        for a in instruction.args:
            if not 0 <= a < len(values):
                continue
            v = values[a]
            # A tensor value whose table is absent (data None) has nothing to measure: skip it.
            if v.kind == "tensor" and v.data is not None:
                out.append(a)
            elif v.kind in ("tensor_list", "optional_tensor_list") and v.data is not None:
                out.extend(i for i in v.data if 0 <= i < len(values) and values[i].kind == "tensor" and values[i].data is not None)
        return out

    @property
    def calls(self) -> Iterator[Instruction]:
        """Kernel and delegate calls in execution order."""
        return (i for i in self.instructions if i.is_call)

    def to_networkx(self, *, stitched: bool = False) -> nx.MultiDiGraph:
        """The dataflow graph of this method; see :func:`edgeinspect.graph.method_graph`."""
        return views.view("method_graph")(self, stitched=stitched)

    def _repr_html_(self) -> str:
        """HTML summary for Jupyter (:func:`edgeinspect.report.notebook.method_html`)."""
        return views.view("method_html")(self)


@dataclass(frozen=True, slots=True)
class ExtendedHeader:
    """The optional ``eh00`` header of a .pte (present when data segments follow the program)."""

    length: int
    program_size: int
    segment_base_offset: int
    segment_data_size: int


@dataclass(frozen=True, slots=True)
class Program:
    """An ExecuTorch program (.pte), read without torch and without its weights."""

    path: str | None
    version: int
    methods: tuple[Method, ...]
    file_size: int
    header: ExtendedHeader | None = None
    segments: tuple[tuple[int, int], ...] = ()
    num_constant_buffers: int = 0
    named_data: tuple[tuple[str, int], ...] = ()
    format: str = "pte"
    #: Base names of the dumped .tosa files given to :func:`edgeinspect.join.attach_tosa`.
    tosa_files: tuple[str, ...] = ()
    _source: Any = field(default=None, compare=False, repr=False)

    def method(self, name: str = "forward") -> Method:
        """The method called ``name``; raises UsageError listing the methods there are."""
        for m in self.methods:
            if m.name == name:
                return m
        names = ", ".join(m.name for m in self.methods) or "none"
        raise UsageError(f"no method {name!r} in this program (methods: {names})")

    @property
    def method_names(self) -> tuple[str, ...]:
        """Names of the methods, in file order."""
        return tuple(m.name for m in self.methods)

    @property
    def delegates(self) -> tuple[Delegate, ...]:
        """Every delegate of every method, in file order."""
        return tuple(d for m in self.methods for d in m.delegates)

    def to_networkx(self, method: str = "forward", *, stitched: bool = False) -> nx.MultiDiGraph:
        """The dataflow graph of one method; see :func:`edgeinspect.graph.method_graph`."""
        return self.method(method).to_networkx(stitched=stitched)

    def _repr_html_(self) -> str:
        """HTML summary for Jupyter (:func:`edgeinspect.report.notebook.program_html`)."""
        return views.view("program_html")(self)

    def close(self) -> None:
        """Release the mapped file (payloads cannot be read afterwards)."""
        if self._source is not None:
            self._source.close()

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
