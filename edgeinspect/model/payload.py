"""A delegate's payload decoded by backend: one typed record per backend kind.

:func:`edgeinspect.formats.payloads.decode_delegate` returns one of

Each backend's record lives with that backend's records (:mod:`edgeinspect.model.xnnpack`,
:mod:`edgeinspect.model.tosa`, :mod:`edgeinspect.model.ethosu`: a run loads only the backends
it meets); :mod:`edgeinspect.model` names them all, and their union ``DecodedPayload``.

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
any payload) and :meth:`~PayloadSummary.summary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from edgeinspect.model.kinds import JoinStatus, PayloadKind

__all__ = ["OpaquePayload", "PayloadKind", "PayloadSummary", "backend_kind"]


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
