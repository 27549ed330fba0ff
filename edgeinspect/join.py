"""Join dumped .tosa files to the Arm delegates of a program, by signature, never by file name.

The Arm flow can dump one ``output_tag<N>_<spec>.tosa`` per delegate, but tag numbers do not
follow execution order, a dump can be missing (two delegates writing the same tag), a file
can carry no tag at all, and two delegates can have identical inputs and outputs. So:

* a ``TOSABackend`` delegate's payload *is* a .tosa file: it matches a dump whose bytes are
  equal, and nothing else;
* an ``EthosUBackend`` delegate's payload (Vela output) lists the inputs and outputs of the
  NPU graph (shapes padded to 6-D, element sizes, in order); a dump matches when its entry
  block's inputs and outputs have the same shapes (padded the same way), element sizes and
  order. Vela can list fewer tensors than the TOSA graph (a real file had a duplicated
  output dropped) and can reshape them (a ``[2, 16]`` input became ``[1, 1, 2, 1, 1, 16]``),
  so when no dump matches exactly, dumps whose inputs and outputs contain Vela's as ordered
  subsequences, compared by element count and element size, are the candidates.

Each Arm delegate gets a status: ``matched`` (exactly one candidate, or several candidates
that are byte-identical files), ``ambiguous`` (several different candidates; all are listed
in ``tosa_candidates``, none is chosen) or ``missing`` (no candidate). Signatures cannot
tell apart two different graphs with the same inputs and outputs: those stay ambiguous.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgeinspect.errors import EdgeInspectError, FormatError, UsageError
from edgeinspect.model import Delegate, Program, TosaGraph

__all__ = ["attach_tosa", "collect_tosa_files", "load_for_view", "signature_of_stream", "signature_of_tosa", "tosa_beside"]

_ARM_BACKENDS = ("EthosUBackend", "TOSABackend")
_RANK = 6  # Vela pads every input/output shape to 6-D


def collect_tosa_files(tosa: Any) -> list[Path]:
    """Expand files and directories (``*.tosa`` inside, not recursive) into a sorted, de-duplicated list."""
    items = [tosa] if isinstance(tosa, (str, os.PathLike)) else list(tosa)
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(p.glob("*.tosa"))
            irregular = [q for q in found if not q.is_file()]
            if irregular:
                raise UsageError(f"{irregular[0]}: not a regular file")
            if not found:
                raise UsageError(f"{p}: directory holds no .tosa files (pass the dump directory the Arm compile spec wrote to)")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        elif p.exists():
            raise UsageError(f"{p}: not a regular file")
        else:
            raise UsageError(f"{p}: no such .tosa file or directory")
    seen: dict[str, Path] = {}
    for p in out:
        seen.setdefault(os.path.abspath(p), p)
    return list(seen.values())


def _pad(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (1,) * (_RANK - len(shape)) + tuple(shape) if len(shape) <= _RANK else tuple(shape)


def signature_of_tosa(graph: Any) -> tuple[tuple[tuple[tuple[int, ...], int | None], ...], tuple[tuple[tuple[int, ...], int | None], ...]]:
    """((padded shape, element size) of each input), (... of each output) of a TOSA graph."""
    return (
        tuple((_pad(t.shape), t.element_size) for t in graph.inputs),
        tuple((_pad(t.shape), t.element_size) for t in graph.outputs),
    )


def signature_of_stream(
    stream: Any,
) -> tuple[tuple[tuple[tuple[int, ...], int | None], ...], tuple[tuple[tuple[int, ...], int | None], ...]]:
    """The same signature from a decoded Vela stream (its shapes are already 6-D)."""
    return (
        tuple((_pad(t.shape6), t.element_size) for t in stream.inputs),
        tuple((_pad(t.shape6), t.element_size) for t in stream.outputs),
    )


def attach_tosa(program: Any, tosa: Any) -> Program:
    """Join dumped .tosa files to the Arm delegates of ``program``.

    Parameters
    ----------
    program : Program
        A loaded .pte.
    tosa : path or list of paths
        .tosa files and/or directories holding them.

    Returns
    -------
    Program
        A copy whose Arm delegates carry ``tosa`` (the TosaGraph), ``tosa_file`` (base name),
        ``tosa_join`` ("matched" | "ambiguous" | "missing") and ``tosa_candidates``; other
        delegates are unchanged. ``program.tosa_files`` lists the dumps considered.

    Raises
    ------
    UsageError
        When ``program`` is not a .pte or a path does not exist.
    FormatError
        When a given file is not a readable TOSA flatbuffer.
    """
    if not isinstance(program, Program):
        raise UsageError("--tosa joins dumped .tosa files to the delegates of a .pte; the input here is not a .pte program")
    from edgeinspect.formats import read
    from edgeinspect.formats._source import Source

    files = collect_tosa_files(tosa)

    dumps: list[tuple[str, memoryview, TosaGraph]] = []
    for f in files:
        # Mapped, not read: dumps hold every constant (weights) of their delegate.
        raw = memoryview(Source(f).data)
        graph = read(raw, name=str(f))
        if not isinstance(graph, TosaGraph):
            raise FormatError(
                "expected a TOSA flatbuffer (identifier b'TOSA'), found an ExecuTorch program",
                path=str(f),
                offset=4,
                field="file_identifier",
            )
        object.__setattr__(graph, "path", str(f))
        dumps.append((f.name, raw, graph))
    methods = []
    for m in program.methods:
        delegates = tuple(_join(d, dumps) if d.backend_id in _ARM_BACKENDS else d for d in m.delegates)
        methods.append(replace(m, delegates=delegates))
    return replace(program, methods=tuple(methods), tosa_files=tuple(name for name, _, _ in dumps))


def _join(d: Delegate, dumps: list[tuple[str, bytes, Any]]) -> Delegate:
    payload = d.payload_view()
    if d.backend_id == "TOSABackend":
        same = [i for i, (_, raw, _) in enumerate(dumps) if raw == payload]
        return _result(d, dumps, same, same_content=True)
    from edgeinspect.formats.ethosu import decode_ethosu

    stream = decode_ethosu(payload, base=d.payload_offset)
    want = signature_of_stream(stream)
    candidates = [i for i, (_, _, g) in enumerate(dumps) if signature_of_tosa(g) == want]
    if not candidates:
        # Vela can list fewer tensors than the TOSA graph has (it dropped a duplicated output in
        # a real file) and can reshape them (a [2, 16] input became [1, 1, 2, 1, 1, 16]): accept
        # a dump whose inputs and outputs contain Vela's, in order, by element count and size.
        loose = _by_numel(want)
        candidates = [i for i, (_, _, g) in enumerate(dumps) if _contains(_by_numel(signature_of_tosa(g)), loose)]
    return _result(d, dumps, candidates, same_content=len({dumps[i][1] for i in candidates}) == 1)


def _by_numel(sig: tuple[tuple[Any, ...], tuple[Any, ...]]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    return tuple(tuple((math.prod(shape), es) for shape, es in side) for side in sig)  # type: ignore[return-value]


def _contains(sig: tuple[tuple[Any, ...], tuple[Any, ...]], sub: tuple[tuple[Any, ...], tuple[Any, ...]]) -> bool:
    """Whether ``sub``'s inputs and outputs are ordered subsequences of ``sig``'s (and not empty)."""
    if not (sub[0] or sub[1]):
        return False
    for full, part in zip(sig, sub):
        it = iter(full)
        if not all(any(x == y for x in it) for y in part):
            return False
    return True


def _result(d: Delegate, dumps: list[tuple[str, bytes, Any]], candidates: list[int], *, same_content: bool) -> Delegate:
    names = tuple(dumps[i][0] for i in candidates)
    if not candidates:
        return replace(d, tosa=None, tosa_file=None, tosa_join="missing", tosa_candidates=())
    if len(candidates) == 1 or same_content:
        # Byte-identical candidates hold the same graph: the content is certain. Name the Arm
        # dump (output_*.tosa) rather than Vela's working copy (out.tosa) left beside it.
        chosen = next((i for i in candidates if dumps[i][0].startswith("output")), candidates[0])
        name, _, graph = dumps[chosen]
        return replace(d, tosa=graph, tosa_file=name, tosa_join="matched", tosa_candidates=names)
    return replace(d, tosa=None, tosa_file=None, tosa_join="ambiguous", tosa_candidates=names)


def tosa_beside(path: str | os.PathLike[str]) -> list[str] | None:
    """The ``<stem>.tosa.d`` directory of dumped .tosa files beside a .pte, when there is one.

    ``edgeinspect view``/``report`` and the Model Explorer adapter join it to the Arm delegates
    when no ``--tosa`` is given (the layout the fixture zoo and ``dump_intermediate_artifacts_to``
    produce), so Ethos-U delegates show their operators.
    """
    beside = Path(path).with_suffix(".tosa.d")
    if beside.is_dir() and any(beside.glob("*.tosa")):
        return [str(beside)]
    return None


def load_for_view(path: str | os.PathLike[str], tosa: list[str] | None = None) -> Program | TosaGraph:
    """Load a file the way the viewers do: with ``tosa`` when given, else with :func:`tosa_beside`.

    A ``.tosa.d`` found beside the file that does not join (dumps of another export) is
    ignored; explicit ``tosa`` files that do not join raise as usual.
    """
    from edgeinspect.formats import read

    model = read(path)  # reports missing, irregular and corrupt files first
    if tosa:
        return attach_tosa(model, tosa)
    found = tosa_beside(path) if isinstance(model, Program) else None
    if found:
        try:
            return attach_tosa(model, found)
        except EdgeInspectError:
            pass
    return model
