"""The IR of an Ethos-U delegate payload: the Vela block stream and its NPU command stream.

:class:`VelaStream` is read by :func:`edgeinspect.formats.ethosu.decode_ethosu`;
:class:`CommandStream` (with its :class:`NpuCommand` and :class:`NpuOperation` records) by
:func:`edgeinspect.formats.ethosu_cmd.decode_command_stream`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from edgeinspect.model.payload import PayloadKind, PayloadSummary

if TYPE_CHECKING:
    from edgeinspect.model.tosa import TosaGraph

__all__ = ["CommandStream", "EthosUPayload", "NpuCommand", "NpuOperation", "VelaBlock", "VelaStream", "VelaTensor", "depad"]


@dataclass(frozen=True, slots=True)
class VelaBlock:
    """One block of the stream: name, data length, external flag and the file offset of its data."""

    name: str
    length: int
    external: bool = False
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class VelaTensor:
    """An NPU graph input or output as Vela lays it out: 6-D shape, element size, offset, region."""

    shape6: tuple[int, ...]
    element_size: int
    offset: int
    region: int

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape with Vela's leading padding ones removed (see :func:`depad`)."""
        return depad(self.shape6)

    @property
    def nbytes(self) -> int:
        """Byte size: product of the shape x element size."""
        return math.prod(self.shape6) * self.element_size


def depad(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Drop the leading ones Vela pads shapes to 6-D with (a rank-0 result becomes ``()``).

    Leading ones of the original shape are dropped too, so compare shapes padded to the same
    rank when the rank matters.

    Examples
    --------
    >>> depad((1, 1, 1, 3, 16, 16))
    (3, 16, 16)
    """
    i = 0
    while i < len(shape) and shape[i] == 1:
        i += 1
    return tuple(shape[i:])


@dataclass(frozen=True, slots=True)
class VelaStream:
    """A decoded Ethos-U payload.

    ``command_stream_bytes`` and ``weight_bytes`` are the sizes of ``cmd_data`` and
    ``weight_data`` (None when the block is external: its size is then in the named data
    store, not in the payload); ``scratch_bytes`` the scratch (SRAM) size Vela asked for.
    """

    blocks: tuple[VelaBlock, ...]
    command_stream_bytes: int | None
    weight_bytes: int | None
    scratch_bytes: int | None
    inputs: tuple[VelaTensor, ...]
    outputs: tuple[VelaTensor, ...]
    external_keys: dict[str, str] = field(default_factory=dict, hash=False)
    command_stream_offset: int = field(default=-1, compare=False)
    #: The ``cmd_data`` bytes (None when the block is external or absent), which
    #: :func:`edgeinspect.formats.ethosu_cmd.decode_command_stream` decodes.
    cmd_data: bytes | None = field(default=None, compare=False, repr=False)

    def block(self, name: str) -> VelaBlock | None:
        """The first block called ``name``, or None."""
        for b in self.blocks:
            if b.name == name:
                return b
        return None


@dataclass(frozen=True, slots=True)
class NpuCommand:
    """One command word (and its payload word for a cmd1).

    ``offset`` is the byte offset of the command in ``cmd_data``; ``code`` the low 16 bits
    of the first word; ``param`` the high 16 bits; ``payload`` the second word of a cmd1
    (None for a cmd0); ``name`` the register or operation (``NPU_SET_IFM_BASE0``) or
    ``unknown(0x....)`` for a code the architecture does not define.
    """

    offset: int
    code: int
    param: int
    payload: int | None
    name: str


@dataclass(frozen=True, slots=True)
class NpuOperation:
    """One ``NPU_OP_*`` command with the register state it runs with.

    ``kind`` is ``conv2d``, ``matmul`` (an Ethos-U85 convolution whose weights come from
    IFM2), ``depthwise``, ``pooling.<mode>``, ``elementwise.<mode>``, ``resize.<mode>``
    (modes the tables do not name appear as ``mode_0x..``), ``dma``, ``dma_wait``,
    ``kernel_wait``, ``pmu_mask``, ``irq`` or ``stop``. For compute operations ``ifm``,
    ``ifm2`` (elementwise and matmul; its depth is the IFM's, there is no IFM2 depth
    register) and ``ofm`` are (height, width, depth) from the
    ``*_HEIGHT*_M1``/``*_WIDTH*_M1``/``*_DEPTH_M1`` registers (IFM/IFM2: tile 0, which is
    the whole feature map unless Vela tiled it); ``kernel`` (height, width) and ``stride``
    (y, x) for convolution, matmul, depthwise and pooling; precisions such as ``int8``/``uint8``/
    ``int16``. ``dma_bytes`` is ``NPU_SET_DMA0_LEN`` for a DMA. A value the stream has not
    set yet is None. ``offset`` is the byte offset of the ``NPU_OP`` command in ``cmd_data``.
    """

    kind: str
    offset: int
    param: int
    ifm: tuple[int, int, int] | None = None
    ifm2: tuple[int, int, int] | None = None
    ofm: tuple[int, int, int] | None = None
    kernel: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
    ifm_precision: str | None = None
    ifm2_precision: str | None = None
    ofm_precision: str | None = None
    dma_bytes: int | None = None

    @property
    def is_compute(self) -> bool:
        """True for work on the MAC/elementwise/resize units (not DMA, waits or stop)."""
        return self.kind.split(".", 1)[0] in ("conv2d", "matmul", "depthwise", "pooling", "elementwise", "resize")


@dataclass(frozen=True, slots=True)
class CommandStream:
    """A decoded command stream: every command, the operations, and where it stopped.

    ``trailing_bytes`` counts bytes after ``NPU_OP_STOP`` (not decoded: the NPU never
    reads them). ``config``/``npu_id`` are the CONFIG and ID register values of the COP1
    driver header (None for a bare command stream).
    """

    arch: str
    commands: tuple[NpuCommand, ...]
    operations: tuple[NpuOperation, ...]
    trailing_bytes: int = 0
    config: int | None = None
    npu_id: int | None = None

    @property
    def macs_per_cycle(self) -> int | None:
        """MACs per cycle of the NPU configuration Vela compiled for (COP1 config word), or None."""
        return None if self.config is None else 1 << (self.config & 0xF)

    @property
    def stream_arch(self) -> str | None:
        """The command-set family the COP1 ID word names (``ethos-u55`` or ``ethos-u85``), or None."""
        major = None if self.npu_id is None else self.npu_id >> 28
        return {1: "ethos-u55", 2: "ethos-u85"}.get(major) if major is not None else None

    def histogram(self, *, compute_only: bool = False) -> dict[str, int]:
        """``{kind: count}`` of the operations, most frequent first (ties by name)."""
        c = Counter(op.kind for op in self.operations if op.is_compute or not compute_only)
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def unknown_commands(self) -> int:
        """How many commands have a code the architecture's table does not define."""
        return sum(1 for c in self.commands if c.name.startswith("unknown("))


@dataclass(frozen=True, slots=True, kw_only=True)
class EthosUPayload(PayloadSummary):
    """An Ethos-U payload: the Vela block stream, its NPU command stream, and the joined TOSA.

    ``commands`` is the decoded command stream and ``npu_ops`` the histogram of its NPU
    operations; both None when the target is unknown or the command stream is external or
    corrupt (``npu_ops_error`` says which). ``tosa`` is the TOSA graph joined to the delegate
    (None without dumps): the operators (``ops``) come from it.
    """

    kind: ClassVar[PayloadKind] = "ethos-u"

    stream: VelaStream = field(compare=False, repr=False)
    tosa: TosaGraph | None = field(default=None, compare=False, repr=False)
    commands: CommandStream | None = field(default=None, compare=False, repr=False)
    npu_ops: dict[str, int] | None = field(default=None, hash=False)  # type: ignore[misc]
    npu_ops_error: str | None = None

    @property
    def unknown_ops_reason(self) -> str | None:
        if self.ops is not None:
            return None
        if self.tosa_join == "ambiguous":
            return "operators unknown: several dumped .tosa files match this delegate's inputs and outputs (ambiguous join)"
        if self.tosa_join == "missing":
            return "operators unknown: Vela output holds no TOSA and no dumped .tosa file matches this delegate"
        return (
            "operators unknown: Vela output holds no TOSA; pass its dumped .tosa files (--tosa) or, to inspect, its ETRecord (--etrecord)"
        )

    def _details(self) -> dict[str, Any]:
        s = self.stream
        out: dict[str, Any] = {
            "ethos_u": {
                "command_stream_bytes": s.command_stream_bytes,
                "weight_bytes": s.weight_bytes,
                "scratch_bytes": s.scratch_bytes,
                "inputs": [
                    {"shape": list(t.shape6), "element_size": t.element_size, "offset": t.offset, "region": t.region} for t in s.inputs
                ],
                "outputs": [
                    {"shape": list(t.shape6), "element_size": t.element_size, "offset": t.offset, "region": t.region} for t in s.outputs
                ],
                "blocks": [{"name": b.name, "bytes": b.length, "external": b.external} for b in s.blocks],
            }
        }
        if self.npu_ops_error is not None:
            out["npu_ops_error"] = self.npu_ops_error
        if self.tosa is not None:
            out["tosa_version"] = self.tosa.version_string
        return out
