"""A delegate's payload decoded by backend: one typed record per backend kind.

:func:`edgeinspect.formats.payloads.decode_delegate` returns one of

:class:`XnnpackPayload`
    the XNNPACK graph (:class:`~edgeinspect.model.xnnpack.XnnGraph`); ``ops`` counts its nodes.
:class:`TosaPayload`
    a TOSABackend payload, which is a .tosa file (:class:`~edgeinspect.model.tosa.TosaGraph`);
    ``ops`` counts its operators without ``CONST``/``CONST_SHAPE`` (they only hold data; their
    count is ``const_ops``).
:class:`EthosUPayload`
    the Vela block stream (:class:`~edgeinspect.model.ethosu.VelaStream`): command-stream and
    weight bytes, scratch size, inputs and outputs. Vela output holds no TOSA, so ``ops`` is
    None ("unknown") unless a dumped .tosa was joined to the delegate
    (:func:`edgeinspect.join.attach_tosa`); then it counts that graph's operators as a
    TOSABackend payload does. ``npu_ops`` counts the NPU operations of the command stream
    itself (``conv2d``, ``pooling.average``, ``dma``, ...), decoded for the architecture of the
    delegate's target; no dumped file is needed.
:class:`OpaquePayload`
    any other backend (CoreML, QNN, Vulkan, VGF, MPS, ...), or a payload with no file to read
    it from: size and compile specs only.

All four share the fields of :class:`PayloadSummary` (what ``inspect --format json`` shows of
any payload) and :meth:`~PayloadSummary.summary`; :data:`DecodedPayload` is their union.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:  # the records of a backend are loaded when one of its payloads is decoded
    from edgeinspect.model.ethosu import CommandStream, VelaStream
    from edgeinspect.model.pte import JoinStatus
    from edgeinspect.model.tosa import TosaGraph
    from edgeinspect.model.xnnpack import XnnGraph

__all__ = [
    "DecodedPayload",
    "EthosUPayload",
    "OpaquePayload",
    "PayloadKind",
    "PayloadSummary",
    "TosaPayload",
    "XnnpackPayload",
    "backend_kind",
]

#: How a payload is decoded, by backend.
PayloadKind = Literal["xnnpack", "tosa", "ethos-u", "opaque"]

_KINDS: dict[str, PayloadKind] = {"xnnpackbackend": "xnnpack", "tosabackend": "tosa", "ethosubackend": "ethos-u"}


def backend_kind(backend_id: str) -> PayloadKind:
    """``xnnpack`` | ``tosa`` | ``ethos-u`` | ``opaque`` for a backend id.

    Examples
    --------
    >>> backend_kind("EthosUBackend"), backend_kind("XnnpackBackend"), backend_kind("CoreMLBackend")
    ('ethos-u', 'xnnpack', 'opaque')
    """
    return _KINDS.get(backend_id.lower(), "opaque")


@dataclass(frozen=True, slots=True, kw_only=True)
class PayloadSummary:
    """What every decoded payload says, whatever its backend.

    ``ops`` is the operator histogram of what the delegate runs (None when unknown: see
    :attr:`unknown_ops_reason`), ``num_ops`` its total and ``const_ops`` the TOSA constants
    left out of it; ``inputs``/``outputs`` the shapes the backend graph takes and gives
    (Vela's 6-D padding removed for Ethos-U), ``input_element_sizes``/``output_element_sizes``
    their bytes per element where known. ``tosa_file``/``tosa_join`` repeat the delegate's
    join of dumped .tosa files (:func:`edgeinspect.join.attach_tosa`).
    """

    kind: ClassVar[PayloadKind]
    npu_ops: ClassVar[dict[str, int] | None] = None

    backend: str
    size: int
    compile_specs: dict[str, str] = field(default_factory=dict, hash=False)
    ops: dict[str, int] | None = field(default=None, hash=False)
    num_ops: int | None = None
    const_ops: int | None = None
    inputs: tuple[tuple[int, ...], ...] = ()
    outputs: tuple[tuple[int, ...], ...] = ()
    input_element_sizes: tuple[int | None, ...] = ()
    output_element_sizes: tuple[int | None, ...] = ()
    tosa_file: str | None = None
    tosa_join: JoinStatus | None = None

    @property
    def unknown_ops_reason(self) -> str | None:
        """Why the operators inside are not known, in words that say what would tell them (None when known)."""
        return None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict of everything above and the backend's own figures (no decoded objects)."""
        return {
            "backend": self.backend,
            "kind": self.kind,
            "payload_bytes": self.size,
            "compile_specs": dict(self.compile_specs),
            "ops": dict(self.ops) if self.ops is not None else None,
            "num_ops": self.num_ops,
            "const_ops": self.const_ops,
            "inputs": [list(s) for s in self.inputs],
            "outputs": [list(s) for s in self.outputs],
            "input_element_sizes": list(self.input_element_sizes),
            "output_element_sizes": list(self.output_element_sizes),
            "tosa_file": self.tosa_file,
            "tosa_join": self.tosa_join,
            "npu_ops": dict(self.npu_ops) if self.npu_ops is not None else None,
            **self._details(),
        }

    def _details(self) -> dict[str, Any]:
        return {}


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


@dataclass(frozen=True, slots=True, kw_only=True)
class TosaPayload(PayloadSummary):
    """A TOSABackend payload: a whole .tosa file."""

    kind: ClassVar[PayloadKind] = "tosa"

    graph: TosaGraph = field(compare=False, repr=False)

    def _details(self) -> dict[str, Any]:
        return {"tosa_version": self.graph.version_string}


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


@dataclass(frozen=True, slots=True, kw_only=True)
class OpaquePayload(PayloadSummary):
    """A payload edgeinspect does not decode (another backend), or cannot read (no file): ``note`` says which."""

    kind: ClassVar[PayloadKind] = "opaque"

    note: str | None = None

    @property
    def unknown_ops_reason(self) -> str | None:
        if self.note is not None:
            return f"operators unknown: {self.note}"
        return f"operators unknown: edgeinspect does not decode {self.backend} payloads"

    def _details(self) -> dict[str, Any]:
        return {"note": self.note} if self.note is not None else {}


#: Any decoded payload.
DecodedPayload = XnnpackPayload | TosaPayload | EthosUPayload | OpaquePayload
