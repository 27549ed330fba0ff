"""What is inside a delegate: decode its payload by backend into a typed record.

:func:`decode_delegate` reads a delegate's payload and returns one of the records of
:mod:`edgeinspect.model.payload` (:class:`~edgeinspect.model.XnnpackPayload`,
:class:`~edgeinspect.model.TosaPayload`, :class:`~edgeinspect.model.EthosUPayload` or
:class:`~edgeinspect.model.OpaquePayload`); their union is ``DecodedPayload``.
:class:`PayloadDecoder` decodes each delegate once for callers that ask several times (the
delegates table, coverage and the stitched graph of one report); :func:`known_delegate_ops`
is the operator histogram the analysis counts coverage with.

Decoding never raises anything but :class:`~edgeinspect.errors.FormatError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from edgeinspect.errors import EdgeInspectError, FormatError, UsageError
from edgeinspect.model import Delegate, accelerator_config
from edgeinspect.model.payload import OpaquePayload, backend_kind

if TYPE_CHECKING:
    from edgeinspect.model import DecodedPayload
    from edgeinspect.model.ethosu import EthosUPayload
    from edgeinspect.model.tosa import TosaGraph
    from edgeinspect.model.xnnpack import XnnpackPayload

__all__ = [
    "DecodedPayload",
    "PayloadDecoder",
    "backend_kind",
    "decode_delegate",
    "decode_payload",
    "known_delegate_ops",
    "unknown_ops_reason",
]


def decode_delegate(delegate: Delegate) -> DecodedPayload:
    """Read and decode a delegate's payload; see :mod:`edgeinspect.model.payload`.

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
    tosa: TosaGraph | None = None,
    tosa_file: str | None = None,
    tosa_join: str | None = None,
    target: str | None = None,
) -> DecodedPayload:
    """Decode payload bytes of ``backend`` (``data`` None: nothing to read, summary only).

    ``target`` (e.g. ``ethos-u85-256``, the delegate's :attr:`~edgeinspect.model.Delegate.target`)
    picks the Ethos-U command set; without it, the target the compile specs name.
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
        return OpaquePayload(note="payload not readable (no file)", **common)
    try:
        if kind == "xnnpack":
            return _xnnpack(data, path, base, common)
        if kind == "tosa":
            from edgeinspect.formats.tosa import parse_tosa
            from edgeinspect.model.tosa import TosaPayload

            graph = parse_tosa(data, path=path, base=base)
            return TosaPayload(graph=graph, **_tosa_ops(graph), **_tosa_io(graph), **common)
        if kind == "ethos-u":
            return _ethosu(data, path, base, common, tosa, target)
    except FormatError:
        raise
    except (ValueError, TypeError, OverflowError, IndexError, KeyError, UnicodeError, MemoryError) as err:  # pragma: no cover - defensive
        raise FormatError(f"cannot decode {backend} payload: {err}", path=path, offset=base, field="payload") from err
    return OpaquePayload(**common)


def _tosa_io(graph: TosaGraph) -> dict[str, Any]:
    return {
        "inputs": tuple(tuple(t.shape) for t in graph.inputs),
        "outputs": tuple(tuple(t.shape) for t in graph.outputs),
        "input_element_sizes": tuple(t.element_size for t in graph.inputs),
        "output_element_sizes": tuple(t.element_size for t in graph.outputs),
    }


def _tosa_ops(graph: TosaGraph) -> dict[str, Any]:
    ops = graph.histogram(include_const=False)
    return {"ops": ops, "num_ops": sum(ops.values()), "const_ops": graph.num_operators - sum(ops.values())}


def _xnnpack(data: Any, path: str | None, base: int, common: dict[str, Any]) -> XnnpackPayload:
    from edgeinspect.formats.xnnpack import decode_xnnpack
    from edgeinspect.model.xnnpack import XnnpackPayload

    g = decode_xnnpack(data, path=path, base=base)
    ins, outs = g.inputs, g.outputs
    return XnnpackPayload(
        ops=g.histogram(),
        num_ops=len(g.nodes),
        inputs=tuple(v.dims if v else () for v in ins),
        outputs=tuple(v.dims if v else () for v in outs),
        input_element_sizes=tuple((v.element_bits + 7) // 8 if v and v.element_bits else None for v in ins),
        output_element_sizes=tuple((v.element_bits + 7) // 8 if v and v.element_bits else None for v in outs),
        graph=g,
        **common,
    )


def _ethosu(data: Any, path: str | None, base: int, common: dict[str, Any], tosa: TosaGraph | None, target: str | None) -> EthosUPayload:
    from edgeinspect.formats.ethosu import decode_ethosu
    from edgeinspect.formats.ethosu_cmd import architecture, decode_command_stream
    from edgeinspect.model.ethosu import EthosUPayload

    s = decode_ethosu(data, path=path, base=base)
    arch = architecture(target) or architecture(accelerator_config(common["compile_specs"]))
    commands = npu_ops = npu_error = None
    if arch is None:
        npu_error = "no Ethos-U accelerator config in the delegate's target or compile_flags: command stream not decoded"
    elif s.cmd_data is None:
        npu_error = "cmd_data is external or absent: command stream not decoded"
    else:
        try:
            commands = decode_command_stream(s.cmd_data, arch, path=path, base=s.command_stream_offset)
            npu_ops = commands.histogram()
        except FormatError as err:  # the I/O and sizes above stay useful when only the commands are corrupt
            npu_error = str(err)
    return EthosUPayload(
        inputs=tuple(t.shape for t in s.inputs),
        outputs=tuple(t.shape for t in s.outputs),
        input_element_sizes=tuple(t.element_size for t in s.inputs),
        output_element_sizes=tuple(t.element_size for t in s.outputs),
        stream=s,
        tosa=tosa,
        commands=commands,
        npu_ops=npu_ops,
        npu_ops_error=npu_error,
        **(_tosa_ops(tosa) if tosa is not None else {}),
        **common,
    )


class PayloadDecoder:
    """:func:`decode_delegate` that decodes each delegate once: a memo made by its caller.

    One report (or one ``inspect`` document) asks for the same payload several times: the
    delegates table, the coverage metric and the stitched graph. Create one decoder for that
    work and pass it along; nothing is kept once it goes out of scope. A payload that does not
    decode raises the same :class:`~edgeinspect.errors.FormatError` at every call.

    Examples
    --------
    >>> import edgeinspect
    >>> program = edgeinspect.load("tests/data/xnn_cumsum.pte")
    >>> decode = PayloadDecoder()
    >>> [decode(d).kind for d in program.delegates]
    ['xnnpack', 'xnnpack']
    >>> decode(program.delegates[0]) is decode(program.delegates[0])    # decoded once
    True
    """

    __slots__ = ("_done",)

    def __init__(self) -> None:
        self._done: dict[int, tuple[Delegate, DecodedPayload | EdgeInspectError]] = {}

    def __call__(self, delegate: Delegate) -> DecodedPayload:
        entry = self._done.get(id(delegate))
        if entry is None:
            try:
                result: DecodedPayload | EdgeInspectError = decode_delegate(delegate)
            except EdgeInspectError as err:
                result = err
            entry = self._done[id(delegate)] = (delegate, result)  # the delegate is kept, so its id stays its own
        if isinstance(entry[1], EdgeInspectError):
            raise entry[1]
        return entry[1]

    def ops(self, delegate: Delegate) -> Mapping[str, int] | None:
        """:func:`known_delegate_ops` through this memo."""
        return known_delegate_ops(delegate, decode=self)


def known_delegate_ops(delegate: Delegate, decode: Callable[[Delegate], DecodedPayload] | None = None) -> Mapping[str, int] | None:
    """The operator histogram inside a delegate when its payload says, else None.

    XNNPACK and TOSA payloads list their operators, and so does an Ethos-U delegate joined to
    its dumped .tosa (:func:`edgeinspect.join.attach_tosa`); a payload that does not decode
    gives None. ``decode`` replaces :func:`decode_delegate` (a :class:`PayloadDecoder`, so a
    report decodes each payload once).
    """
    try:
        decoded = (decode or decode_delegate)(delegate)
    except EdgeInspectError:
        return None
    return dict(decoded.ops) if decoded.ops is not None else None


def unknown_ops_reason(delegate: Delegate, decode: Callable[[Delegate], DecodedPayload] | None = None) -> str | None:
    """Why the operators inside a delegate are not known, in words that say what would tell
    them (None when they are known): the payload's own reason, or why it does not decode."""
    try:
        decoded = (decode or decode_delegate)(delegate)
    except EdgeInspectError as err:
        return f"operators unknown: the payload does not decode ({err})"
    return decoded.unknown_ops_reason


def __getattr__(name: str) -> Any:
    if name == "DecodedPayload":  # the union of the payload records, built when first named
        from edgeinspect import model

        return model.DecodedPayload
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
