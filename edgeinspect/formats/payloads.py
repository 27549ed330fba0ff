"""What is inside a delegate: decode its payload by backend into one summary type.

:func:`decode_delegate` reads a delegate's payload and returns a :class:`DecodedPayload`:

``xnnpack``
    the XNNPACK graph (:mod:`edgeinspect.formats.xnnpack`); ``ops`` counts its nodes.
``tosa``
    a TOSABackend payload, which is a .tosa file (:mod:`edgeinspect.formats.tosa`); ``ops``
    counts its operators without ``CONST``/``CONST_SHAPE`` (they only hold data; their count
    is ``const_ops``).
``ethos-u``
    the Vela block stream (:mod:`edgeinspect.formats.ethosu`): command-stream and weight
    bytes, scratch size, inputs and outputs. Vela output holds no TOSA, so ``ops`` is None
    ("unknown") unless a dumped .tosa was joined to the delegate
    (:func:`edgeinspect.join.attach_tosa`); then it counts that graph's operators like
    ``tosa`` does. ``npu_ops`` counts the NPU operations of the command stream itself
    (:mod:`edgeinspect.formats.ethosu_cmd`: ``conv2d``, ``pooling.average``, ``dma``, ...),
    decoded for the architecture of the delegate's target; no dumped file is needed.
``opaque``
    any other backend (CoreML, QNN, Vulkan, VGF, MPS, ...): size and compile specs only.

Decoding never raises anything but :class:`~edgeinspect.errors.FormatError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edgeinspect.errors import FormatError, UsageError
from edgeinspect.model import Delegate

__all__ = ["DecodedPayload", "backend_kind", "decode_delegate", "decode_payload"]

_KINDS = {"xnnpackbackend": "xnnpack", "tosabackend": "tosa", "ethosubackend": "ethos-u"}


def backend_kind(backend_id: str) -> str:
    """``xnnpack`` | ``tosa`` | ``ethos-u`` | ``opaque`` for a backend id.

    Examples
    --------
    >>> backend_kind("EthosUBackend"), backend_kind("XnnpackBackend"), backend_kind("CoreMLBackend")
    ('ethos-u', 'xnnpack', 'opaque')
    """
    return _KINDS.get(backend_id.lower(), "opaque")


@dataclass(frozen=True, slots=True)
class DecodedPayload:
    """A delegate payload decoded by backend (see the module docstring for ``kind``).

    ``ops`` is the operator histogram of what the delegate runs (None when unknown);
    ``inputs``/``outputs`` the shapes the backend graph takes and gives (Vela's 6-D padding
    removed for Ethos-U); ``input_element_sizes``/``output_element_sizes`` their bytes per
    element where known. ``graph`` is the decoded XnnGraph/TosaGraph, ``stream`` the
    VelaStream, ``tosa`` the joined TosaGraph of an Ethos-U delegate. ``npu_ops`` is the
    histogram of an Ethos-U command stream's NPU operations (None when not Ethos-U, the
    target is unknown, or the command stream is external or corrupt: then
    ``details["npu_ops_error"]`` says why) and ``commands`` the decoded CommandStream.
    """

    backend: str
    kind: str
    size: int
    compile_specs: dict[str, str] = field(default_factory=dict, hash=False)
    ops: dict[str, int] | None = field(default=None, hash=False)
    num_ops: int | None = None
    const_ops: int | None = None
    inputs: tuple[tuple[int, ...], ...] = ()
    outputs: tuple[tuple[int, ...], ...] = ()
    input_element_sizes: tuple[int | None, ...] = ()
    output_element_sizes: tuple[int | None, ...] = ()
    graph: Any = field(default=None, compare=False, repr=False)
    stream: Any = field(default=None, compare=False, repr=False)
    tosa: Any = field(default=None, compare=False, repr=False)
    tosa_file: str | None = None
    tosa_join: str | None = None
    details: dict[str, Any] = field(default_factory=dict, hash=False)
    npu_ops: dict[str, int] | None = field(default=None, hash=False)
    commands: Any = field(default=None, compare=False, repr=False)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict of everything above except the decoded objects."""
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
            **self.details,
        }


def decode_delegate(delegate: Delegate) -> DecodedPayload:
    """Read and decode a delegate's payload; see :class:`DecodedPayload`.

    A TOSA graph joined by :func:`edgeinspect.join.attach_tosa` (``delegate.tosa``) gives
    the operators of an Ethos-U delegate.

    Raises
    ------
    FormatError
        When the payload cannot be read or is corrupt.
    """
    try:
        data = delegate.payload_view()
    except UsageError:
        data = None
    return decode_payload(
        delegate.backend_id,
        data,
        size=delegate.payload_size,
        compile_specs=delegate.specs,
        base=delegate.payload_offset,
        path=getattr(getattr(delegate._reader, "__self__", None), "path", None),  # the Source of the .pte
        tosa=delegate.tosa,
        tosa_file=delegate.tosa_file,
        tosa_join=delegate.tosa_join,
        target=delegate.target,
    )


def decode_payload(
    backend: str,
    data: Any,
    *,
    size: int | None = None,
    compile_specs: dict[str, str] | None = None,
    base: int = 0,
    path: str | None = None,
    tosa: Any = None,
    tosa_file: str | None = None,
    tosa_join: str | None = None,
    target: str | None = None,
) -> DecodedPayload:
    """Decode payload bytes of ``backend`` (``data`` None: nothing to read, summary only).

    ``target`` (e.g. ``ethos-u85-256``) picks the Ethos-U command set; without it the
    ``--accelerator-config`` of the ``compile_flags`` spec is used.
    """
    kind = backend_kind(backend)
    common: dict[str, Any] = {
        "backend": backend,
        "size": size if size is not None else (len(data) if data is not None else 0),
        "compile_specs": dict(compile_specs or {}),
        "tosa_file": tosa_file,
        "tosa_join": tosa_join,
    }
    if data is None:
        return DecodedPayload(kind="opaque", details={"note": "payload not readable (no file)"}, **common)
    try:
        if kind == "xnnpack":
            return _xnnpack(data, path, base, common)
        if kind == "tosa":
            from edgeinspect.formats.tosa import parse_tosa

            graph = parse_tosa(data, path=path, base=base)
            return _with_tosa(DecodedPayload(kind="tosa", graph=graph, **common), graph)
        if kind == "ethos-u":
            return _ethosu(data, path, base, common, tosa, target)
    except FormatError:
        raise
    except (ValueError, TypeError, OverflowError, IndexError, KeyError, UnicodeError, MemoryError) as err:  # pragma: no cover - defensive
        raise FormatError(f"cannot decode {backend} payload: {err}", path=path, offset=base, field="payload") from err
    return DecodedPayload(kind="opaque", **common)


def _tosa_io(graph: Any) -> dict[str, Any]:
    return {
        "inputs": tuple(tuple(t.shape) for t in graph.inputs),
        "outputs": tuple(tuple(t.shape) for t in graph.outputs),
        "input_element_sizes": tuple(t.element_size for t in graph.inputs),
        "output_element_sizes": tuple(t.element_size for t in graph.outputs),
    }


def _with_tosa(p: DecodedPayload, graph: Any, *, io: bool = True) -> DecodedPayload:
    from dataclasses import replace

    ops = graph.histogram(include_const=False)
    extra = _tosa_io(graph) if io else {}
    details = dict(p.details)
    details["tosa_version"] = graph.version_string
    return replace(p, ops=ops, num_ops=sum(ops.values()), const_ops=graph.num_operators - sum(ops.values()), details=details, **extra)


def _xnnpack(data: Any, path: str | None, base: int, common: dict[str, Any]) -> DecodedPayload:
    from edgeinspect.formats.xnnpack import decode_xnnpack

    g = decode_xnnpack(data, path=path, base=base)
    ins, outs = g.inputs, g.outputs
    return DecodedPayload(
        kind="xnnpack",
        ops=g.histogram(),
        num_ops=len(g.nodes),
        inputs=tuple(v.dims if v else () for v in ins),
        outputs=tuple(v.dims if v else () for v in outs),
        input_element_sizes=tuple((v.element_bits + 7) // 8 if v and v.element_bits else None for v in ins),
        output_element_sizes=tuple((v.element_bits + 7) // 8 if v and v.element_bits else None for v in outs),
        graph=g,
        details={
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
        },
        **common,
    )


def _ethosu(data: Any, path: str | None, base: int, common: dict[str, Any], tosa: Any, target: str | None) -> DecodedPayload:
    from edgeinspect.formats.ethosu import decode_ethosu
    from edgeinspect.formats.ethosu_cmd import architecture

    s = decode_ethosu(data, path=path, base=base)
    arch = architecture(target) or architecture(common["compile_specs"].get("compile_flags"))
    commands = npu_ops = None
    npu_error: dict[str, str] = {}
    if arch is None:
        npu_error["npu_ops_error"] = "no Ethos-U accelerator config in the delegate's target or compile_flags: command stream not decoded"
    elif s.cmd_data is None:
        npu_error["npu_ops_error"] = "cmd_data is external or absent: command stream not decoded"
    else:
        try:
            commands = s.command_stream(arch, path=path)
            npu_ops = commands.histogram()
        except FormatError as err:  # the I/O and sizes above stay useful when only the commands are corrupt
            npu_error["npu_ops_error"] = str(err)
    p = DecodedPayload(
        kind="ethos-u",
        inputs=tuple(t.shape for t in s.inputs),
        outputs=tuple(t.shape for t in s.outputs),
        input_element_sizes=tuple(t.element_size for t in s.inputs),
        output_element_sizes=tuple(t.element_size for t in s.outputs),
        stream=s,
        tosa=tosa,
        details={
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
            },
            **npu_error,
        },
        npu_ops=npu_ops,
        commands=commands,
        **common,
    )
    if tosa is not None:
        p = _with_tosa(p, tosa, io=False)
    return p


def known_delegate_ops(delegate: Delegate, decode: Callable[[Delegate], Any] | None = None) -> Mapping[str, int] | None:
    """The operator histogram inside a delegate when a decoder knows it, else None.

    Uses ``edgeinspect.formats.payloads.decode_delegate`` (XNNPACK and TOSA payloads, and
    .tosa files joined with :func:`edgeinspect.join.attach_tosa`) when it is available,
    or ``decode`` in its place (a memo of it, so a report decodes each payload once).
    """
    if decode is None:
        try:
            from edgeinspect.formats.payloads import decode_delegate as decode
        except ImportError:
            return None
    from edgeinspect.errors import EdgeInspectError

    try:
        decoded = decode(delegate)
    except EdgeInspectError:
        return None
    ops = getattr(decoded, "ops", None)
    return dict(ops) if ops is not None else None
