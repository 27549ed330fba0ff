"""The in-memory model of an ExecuTorch runtime profile (ETDump, ``.etdp``): small frozen records.

An :class:`ETDump` holds :class:`RunBlock` objects, one per block the runtime opened
(``"Default"`` for loading the method, then one ``"Execute"`` block per execution when the
runner names them). A block's events are not decoded at load time: ask a block for its
:meth:`~RunBlock.profile_events`, :meth:`~RunBlock.allocation_events` or
:meth:`~RunBlock.debug_events` and only then are they read from the file, so a
100,000-event file costs almost nothing until a figure is wanted.

Times are **ticks**, exactly as the file holds them: nanoseconds when the runtime ran on a
host with its default clock, cycles or timer ticks on a device (the ETDump does not say
which). Nothing here converts them.

What the runtime writes, per execution (ExecuTorch 1.x): for a kernel call a
``native_call_<op>`` event nested inside the ``OPERATOR_CALL`` event of the instruction; for
a delegate call the backend's own events first (named by a delegate debug identifier, e.g.
XNNPACK's ``"Convolution (NHWC, F32) IGEMM #1"``), then ``DELEGATE_CALL``; ``JF_CALL``,
``MOVE_CALL`` and ``FREE_CALL`` for jumps, moves and frees; ``Method::execute`` last. Each
instruction-level event carries the instruction's chain index and instruction id, which is
what the runtime calls the event's debug handle; the handles that link back to the exported
graph live in the ETRecord, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CALL_EVENT_NAMES",
    "AllocationEvent",
    "DebugEvent",
    "DebugTensor",
    "DebugValueKind",
    "ETDump",
    "EventCounts",
    "ProfileEvent",
    "ProfileKind",
    "RunBlock",
    "profile_kind",
    "tick_span",
]

#: What a profile event is, from its name (see :func:`profile_kind`).
ProfileKind = Literal[
    "operator_call",  # OPERATOR_CALL: one kernel instruction, dispatch included
    "delegate_call",  # DELEGATE_CALL: one delegate instruction, the whole backend call
    "jump",  # JF_CALL
    "move",  # MOVE_CALL
    "free",  # FREE_CALL
    "native_call",  # native_call_<op>: the kernel body, nested in its OPERATOR_CALL
    "delegate",  # an event the backend logged itself (named by a delegate debug identifier)
    "execute",  # Method::execute: one whole execution
    "init",  # Method::init
    "load",  # Program::load_method
    "other",  # any other named event (a backend's or a runner's own scope)
]

#: The instruction-level events and the instruction kind each one times.
CALL_EVENT_NAMES: dict[str, ProfileKind] = {
    "OPERATOR_CALL": "operator_call",
    "DELEGATE_CALL": "delegate_call",
    "JF_CALL": "jump",
    "MOVE_CALL": "move",
    "FREE_CALL": "free",
}

_FRAMEWORK_NAMES: dict[str, ProfileKind] = {
    **CALL_EVENT_NAMES,
    "Method::execute": "execute",
    "Method::init": "init",
    "Program::load_method": "load",
}

#: ETDump ``ValueType`` names, in schema order.
DebugValueKind = Literal["Null", "Int", "Bool", "Float", "Double", "Tensor", "TensorList", "String", "unknown"]

_U32_RANGE = 1 << 32


def profile_kind(name: str | None, delegate_event: bool) -> ProfileKind:
    """The kind of a profile event from its name, and whether it carries a delegate debug id.

    Examples
    --------
    >>> profile_kind("OPERATOR_CALL", False), profile_kind("native_call_cumsum.out", False)
    ('operator_call', 'native_call')
    >>> profile_kind(None, True), profile_kind("Method::execute", False)
    ('delegate', 'execute')
    """
    if delegate_event:
        return "delegate"
    if name is None:
        return "other"
    kind = _FRAMEWORK_NAMES.get(name)
    if kind is not None:
        return kind
    return "native_call" if name.startswith("native_call_") else "other"


def tick_span(start: int, end: int) -> int | None:
    """Ticks from ``start`` to ``end``, or None when ``end`` lies before ``start`` impossibly.

    A 32-bit device counter wraps: when ``end < start`` and both fit in 32 bits, the span is
    taken modulo 2**32. A 64-bit counter does not go backwards in a real run, so ``end <
    start`` with either above 32 bits is no span at all (the reader rejects such an event).

    Examples
    --------
    >>> tick_span(100, 350), tick_span(0xFFFFFF00, 0x10)
    (250, 272)
    >>> tick_span(1 << 40, 5) is None
    True
    """
    if end >= start:
        return end - start
    if start < _U32_RANGE and end < _U32_RANGE:
        return end + _U32_RANGE - start
    return None


@dataclass(frozen=True, slots=True)
class ProfileEvent:
    """One timed event.

    Fields hold the schema's values as stored: ``chain_index`` and ``instruction_id`` are -1
    for method-level events (``Method::execute`` and the loading events), and so are
    ``delegate_debug_id_int`` when the backend named the event with a string (or not at all).
    ``delegate_debug_metadata`` is None when absent and ``b""`` when present but empty.

    Attributes
    ----------
    name : str or None
        The runtime's name (``OPERATOR_CALL``, ``native_call_<op>``, ...); None for events a
        backend logged with a delegate debug identifier only.
    kind : ProfileKind
        See :func:`profile_kind`.
    chain_index, instruction_id : int
        The instruction the runtime was executing (its runtime debug handle).
    delegate_debug_id_int : int
        The backend's integer identifier of the event (-1 when unset).
    delegate_debug_id_str : str or None
        The backend's string identifier (XNNPACK: the operator, e.g. ``"Add (ND) #1"``).
    start, end : int
        Ticks at which the event started and ended.
    delegate_debug_metadata : bytes or None
        Bytes the backend attached to the event.
    offset : int
        File offset of the event's table.
    """

    name: str | None
    kind: ProfileKind
    chain_index: int
    instruction_id: int
    delegate_debug_id_int: int
    delegate_debug_id_str: str | None
    start: int
    end: int
    delegate_debug_metadata: bytes | None = None
    offset: int = field(default=0, compare=False)

    @property
    def ticks(self) -> int:
        """``end - start`` (modulo 2**32 when a 32-bit counter wrapped; see :func:`tick_span`)."""
        span = tick_span(self.start, self.end)
        return 0 if span is None else span

    @property
    def delegate_id(self) -> int | str | None:
        """The delegate debug identifier (the integer one when set, else the string one), or None."""
        if self.delegate_debug_id_int != -1:
            return self.delegate_debug_id_int
        return self.delegate_debug_id_str or None

    @property
    def label(self) -> str:
        """What to call the event in a report: its name, else its delegate debug identifier."""
        if self.name:
            return self.name
        ident = self.delegate_id
        return "" if ident is None else str(ident)


@dataclass(frozen=True, slots=True)
class AllocationEvent:
    """One allocation the runtime recorded: ``allocation_size`` bytes from allocator ``allocator_id``
    (an index into :attr:`RunBlock.allocators`)."""

    allocator_id: int
    allocation_size: int
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class DebugTensor:
    """A tensor a debug event logged: its metadata, and where its data lies in the debug buffer
    (a separate file the runner writes; an ETDump never holds tensor data itself)."""

    scalar_type: int
    sizes: tuple[int, ...]
    strides: tuple[int, ...]
    buffer_offset: int


@dataclass(frozen=True, slots=True)
class DebugEvent:
    """One logged value (an intermediate output, or with ``output`` True a method output).

    ``chain_index`` is stored as the schema's unsigned 64-bit value (method outputs carry
    2**64 - 1). ``value`` is the scalar of an Int/Bool/Float/Double entry; ``tensors`` the
    tensor of a Tensor entry or the tensors of a TensorList.
    """

    name: str | None
    chain_index: int
    instruction_id: int
    delegate_debug_id_int: int
    delegate_debug_id_str: str | None
    value_kind: DebugValueKind
    output: bool = False
    value: int | float | bool | None = None
    tensors: tuple[DebugTensor, ...] = ()
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class EventCounts:
    """How many events of each kind a block holds (an event table with none set is ``empty``)."""

    profile: int
    allocation: int
    debug: int
    empty: int = 0

    @property
    def total(self) -> int:
        """All events of the block."""
        return self.profile + self.allocation + self.debug + self.empty


@dataclass(frozen=True, slots=True)
class RunBlock:
    """One block of events (``RunData`` in the schema).

    The events are read from the file when asked for, on each call: keep the result rather
    than asking again.

    Attributes
    ----------
    index : int
        Position in the file.
    name : str
        ``"Default"`` (method loading, and everything when the runner opens no block) or
        ``"Execute"`` (one execution) in files the ExecuTorch runtime writes.
    bundled_input_index : int
        The bundled input the run used (-1 when none).
    allocators : tuple of str
        Names of the allocators profiled in this block (allocation events index them).
    num_events : int
        Number of events (all kinds).
    offset : int
        File offset of the block's table.
    """

    index: int
    name: str
    bundled_input_index: int
    allocators: tuple[str, ...]
    num_events: int
    offset: int = field(default=0, compare=False)
    _decoder: Any = field(default=None, compare=False, repr=False)

    def _decode(self, what: str) -> Any:
        if self._decoder is None:
            return ()
        return self._decoder(self.index, what)

    def profile_events(self) -> tuple[ProfileEvent, ...]:
        """The block's profile events, in file order (the order the runtime finished them).

        Raises
        ------
        FormatError
            When an event is corrupt.
        """
        return self._decode("profile")

    def allocation_events(self) -> tuple[AllocationEvent, ...]:
        """The block's allocation events, in file order."""
        return self._decode("allocation")

    def debug_events(self) -> tuple[DebugEvent, ...]:
        """The block's debug events (logged values), in file order."""
        return self._decode("debug")

    def event_counts(self) -> EventCounts:
        """How many profile, allocation and debug events the block holds (reads only the event tables)."""
        if self._decoder is None:
            return EventCounts(0, 0, 0, 0)
        return self._decoder(self.index, "counts")


@dataclass(frozen=True, slots=True)
class ETDump:
    """An ETDump file (``.etdp``): the profile and debug events an ExecuTorch runtime recorded.

    Read with :func:`edgeinspect.load_etdump`. Nothing but the block list is read at load time.
    The ETDump does not say which method ran; :func:`edgeinspect.analysis.profile_method`
    checks that its instruction ids fit the method it is joined to.
    """

    path: str | None
    version: int
    file_size: int
    run_blocks: tuple[RunBlock, ...]
    size_prefixed: bool = True
    _source: Any = field(default=None, compare=False, repr=False)

    @property
    def execute_blocks(self) -> tuple[RunBlock, ...]:
        """The blocks named ``"Execute"`` (one per execution in files the runtime writes)."""
        return tuple(b for b in self.run_blocks if b.name == "Execute")

    def event_counts(self) -> EventCounts:
        """Events of each kind over every block."""
        counts = [b.event_counts() for b in self.run_blocks]
        return EventCounts(
            sum(c.profile for c in counts),
            sum(c.allocation for c in counts),
            sum(c.debug for c in counts),
            sum(c.empty for c in counts),
        )

    def close(self) -> None:
        """Release the mapped file (events cannot be read afterwards)."""
        if self._source is not None:
            self._source.close()

    def __enter__(self) -> ETDump:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
