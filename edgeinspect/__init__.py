"""edgeinspect: where an edge AI model really runs.

Read ExecuTorch programs (.pte) and TOSA flatbuffers (.tosa) without torch, turn them
into networkx graphs, and measure how fragmented the delegated graph is.

>>> import edgeinspect
>>> program = edgeinspect.load("tests/data/u55_upsample.pte", tosa="auto")  # + u55_upsample.tosa.d
>>> [ins.device for ins in program.method("forward").calls][:3]
['CPU', 'EthosUBackend', 'CPU']
>>> g = program.to_networkx("forward")
>>> ev = edgeinspect.gather("tests/data/xnn_many_delegates.pte",
...                         etdump="tests/data/etdump/xnn_many_delegates.etdp")
>>> ev.profile("forward").runs
3

This module is the package facade: the public names, :func:`load`, and the wiring of the
IR's conveniences (``to_networkx``, ``_repr_html_``) to the rooms above the IR that provide
them (see :mod:`edgeinspect.model.views` and docs/architecture.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from edgeinspect._version import __version__
from edgeinspect.errors import EdgeInspectError, FormatError, UsageError
from edgeinspect.model import Delegate, Instruction, Method, Program, Tensor, views
from edgeinspect.model.etdump import ETDump

if TYPE_CHECKING:
    from edgeinspect.analysis.evidence import Evidence
    from edgeinspect.model import Model, TosaGraph

__all__ = [
    "Delegate",
    "ETDump",
    "EdgeInspectError",
    "FormatError",
    "Instruction",
    "Method",
    "Model",
    "Program",
    "Tensor",
    "TosaGraph",
    "UsageError",
    "__version__",
    "Evidence",
    "gather",
    "load",
    "load_etdump",
]

#: ``tosa="auto"``: FILE's ``<stem>.tosa.d`` when it is there and joins (the rule of every command).
AUTO = "auto"


def load(
    path: str | os.PathLike[str] | bytes,
    *,
    tosa: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None = None,
    name: str | None = None,
) -> Program | TosaGraph:
    """Read a .pte (ExecuTorch program) or .tosa (TOSA flatbuffer) file.

    Parameters
    ----------
    path : str, os.PathLike or bytes
        The file, or its bytes. The kind is told by the file identifier, not the name.
    tosa : str, os.PathLike, list of them, "auto" or None
        Dumped .tosa files (or directories of them) to join to the Arm delegates of a .pte.
        ``"auto"`` (the rule every command and :func:`gather` follow): the ``<stem>.tosa.d``
        directory beside the file when there is one and it joins (a directory of another
        export's dumps is ignored). None (the default): the file alone, as it is.
    name : str, optional
        Name to use in error messages when ``path`` is bytes.

    Returns
    -------
    Program or TosaGraph
        Mapped, not read: payloads and constant data are read from the file when asked. If
        the file is truncated or rewritten after this call, reading a payload raises
        :class:`FormatError` ("changed since load") instead of touching the mapping.

    Raises
    ------
    FormatError
        When the file is truncated, corrupt, hostile or of another format.
    UsageError
        When ``path`` does not exist, is a directory, is a FIFO, socket or device (never
        opened: it could block forever), or cannot be opened. Both derive from
        :class:`EdgeInspectError`.
    """
    from edgeinspect.formats import read

    if isinstance(tosa, str) and tosa == AUTO:
        if isinstance(path, bytes):
            return read(path, name)
        from edgeinspect.join import load_for_view

        return load_for_view(path)
    model = read(path, name)
    if tosa is not None:
        from edgeinspect.join import attach_tosa

        model = attach_tosa(model, tosa)
    return model


def gather(
    path: str | os.PathLike[str] | Program,
    *,
    tosa: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None = AUTO,
    etdump: str | os.PathLike[str] | None = None,
    method: str = "forward",
    warmup_runs: int = 1,
    estimate: bool = False,
    cache: bool = True,
    etrecord: str | os.PathLike[str] | None = None,
) -> Evidence:
    """Load a program with everything its side files say: the one way every command reads them.

    Parameters
    ----------
    path : str, os.PathLike or Program
        A .pte program (or one already loaded, its dumps joined: ``tosa`` is then not used).
    tosa : see :func:`load`
        Dumped .tosa files; ``"auto"`` uses ``<stem>.tosa.d`` beside ``path``.
    etdump : path, optional
        An ETDump of runs of ``method``: its measured time (:func:`edgeinspect.analysis.profile_method`).
    method : str
        The method the ETDump profiled (default ``forward``).
    warmup_runs : int
        First runs of the ETDump kept out of medians and shares (default 1).
    estimate : bool
        Compile each Ethos-U delegate's joined dump with Vela for its estimate (needs the
        ``export`` extra, which installs Vela); ``cache`` reuses earlier estimates.
    etrecord : path, optional
        The export's ETRecord (needs the ``export`` extra; a torch serialization: trusted
        input, loaded only when named). Gives the operators inside delegates whose payload does
        not say and the module and line of every instruction. Without it, the frames a program
        exported with ``emit_stacktrace=True`` carries are used.

    Returns
    -------
    Evidence

    Raises
    ------
    UsageError
        A side file given for a .tosa file, a side file that does not belong to the program
        (another method, another export), a missing extra.
    FormatError
        A corrupt program or ETDump.
    """
    from edgeinspect.analysis.evidence import Evidence
    from edgeinspect.model.source import frame_sources

    program = path if isinstance(path, Program) else load(path, tosa=tosa)
    asked = [flag for flag, given in (("--etdump", etdump), ("--estimate", estimate), ("--etrecord", etrecord)) if given]
    if not isinstance(program, Program):
        if asked:
            raise UsageError(f"{' and '.join(asked)} {'goes' if len(asked) == 1 else 'go'} with the .pte program, not a .tosa file")
        raise UsageError(f"{os.fspath(path)}: a .tosa file has no CPU/delegate split; gather() takes a .pte program")
    profiles = {}
    if etdump is not None:
        from edgeinspect.analysis import profile_method

        if warmup_runs < 0:
            raise UsageError(f"--warmup-runs must be 0 or more, not {warmup_runs}")
        target = program.method(method)  # UsageError naming the methods there are
        with load_etdump(etdump) as dump:
            profiles[method] = profile_method(target, dump, warmup_runs=warmup_runs)
    estimates = None
    if estimate:
        from edgeinspect.estimate import estimate_program

        estimates = estimate_program(program, cache=cache)
    etrecord_ops: dict[str, dict[int, dict[str, int]]] = {}
    if etrecord is not None:
        etrecord_ops, sources = _from_etrecord(program, os.fspath(etrecord))
    else:
        sources = frame_sources(program)
    return Evidence(
        program=program,
        profiles=profiles,
        estimates=estimates,
        sources=sources,
        etrecord_ops=etrecord_ops,
        etrecord=os.fspath(etrecord) if etrecord is not None else None,
        etdump=os.fspath(etdump) if etdump is not None else None,
    )


def _from_etrecord(program: Program, path: str) -> tuple[dict[str, dict[int, dict[str, int]]], Any]:
    """The ETRecord's delegate operators (method -> delegate index -> histogram, matched to the
    program's delegate calls in execution order) and provenance. A mismatched ETRecord is a
    UsageError."""
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such ETRecord file (write one with executorch.devtools.generate_etrecord)")
    try:
        from edgeinspect.export.partitioner import etrecord_delegate_ops
        from edgeinspect.export.provenance import etrecord_sources
    except ImportError as err:
        raise UsageError(f"--etrecord needs executorch and torch ({err}); install them with: pip install 'edgeinspect[export]'") from err
    try:
        # Provenance first: it also checks that the ETRecord was written for this program.
        sources = etrecord_sources(program, path)
        per_method = etrecord_delegate_ops(path)
    except (RuntimeError, ValueError, KeyError, OSError) as err:
        name = os.path.basename(program.path) if program.path else "this program"
        raise UsageError(f"{path}: cannot use this ETRecord with {name}: {err}") from err
    ops: dict[str, dict[int, dict[str, int]]] = {}
    for m in program.methods:
        calls = [i.delegate for i in m.instructions if i.kind == "delegate"]
        lowered = per_method.get(m.name, [])
        if len(lowered) != len(calls):
            raise UsageError(
                f"{path} does not belong to this program: method {m.name!r} has {len(calls)} delegate call(s), the ETRecord {len(lowered)}"
            )
        ops[m.name] = {d: found for d, found in zip(calls, lowered) if d is not None}
    return ops, sources


def load_etdump(path: str | os.PathLike[str] | bytes, *, name: str | None = None) -> ETDump:
    """Read an ExecuTorch runtime profile (ETDump, ``.etdp``) without torch.

    Only the list of run blocks is read now; each block's events are decoded when asked for
    (:meth:`~edgeinspect.model.etdump.RunBlock.profile_events`), so a large file is cheap to
    open. Join it to the method that ran with :func:`edgeinspect.analysis.profile_method`.

    Parameters
    ----------
    path : str, os.PathLike or bytes
        The file (as the runtime's ``ETDumpGen`` writes it: a size-prefixed flatbuffer,
        identifier ``ED00``), or its bytes.
    name : str, optional
        Name to use in error messages when ``path`` is bytes.

    Returns
    -------
    ETDump
        Close it (or use it in a ``with`` block) to release the mapped file.

    Raises
    ------
    FormatError
        When the file is truncated, corrupt or not an ETDump.
    """
    from edgeinspect.formats.etdump import open_etdump

    return open_etdump(path, name)


def __getattr__(name: str) -> Any:
    if name in ("Model", "TosaGraph"):  # loaded when named: a .pte run never needs the TOSA records
        from edgeinspect import model

        return getattr(model, name)
    if name == "Evidence":
        from edgeinspect.analysis.evidence import Evidence

        return Evidence
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The IR's conveniences, registered lazily: importing edgeinspect imports neither networkx
# nor the report modules until a graph or an HTML summary is asked for.


def _method_graph(method: Method, **kwargs: Any) -> Any:
    from edgeinspect.graph import method_graph

    return method_graph(method, **kwargs)


def _tosa_graph(graph: TosaGraph) -> Any:
    from edgeinspect.graph import tosa_graph

    return tosa_graph(graph)


def _xnnpack_graph(graph: Any) -> Any:
    from edgeinspect.graph import xnnpack_graph

    return xnnpack_graph(graph)


def _program_html(program: Program) -> str:
    from edgeinspect.report.notebook import program_html

    return program_html(program)


def _method_html(method: Method) -> str:
    from edgeinspect.report.notebook import method_html

    return method_html(method)


def _tosa_html(graph: TosaGraph) -> str:
    from edgeinspect.report.notebook import tosa_html

    return tosa_html(graph)


views.register("method_graph", _method_graph)
views.register("tosa_graph", _tosa_graph)
views.register("xnnpack_graph", _xnnpack_graph)
views.register("program_html", _program_html)
views.register("method_html", _method_html)
views.register("tosa_html", _tosa_html)
