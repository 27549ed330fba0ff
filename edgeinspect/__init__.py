"""edgeinspect: where an edge AI model really runs.

Read ExecuTorch programs (.pte) and TOSA flatbuffers (.tosa) without torch, turn them
into networkx graphs, and measure how fragmented the delegated graph is.

>>> import edgeinspect
>>> program = edgeinspect.load("model.pte")            # doctest: +SKIP
>>> g = program.to_networkx("forward")                 # doctest: +SKIP
>>> etdump = edgeinspect.load_etdump("run.etdp")       # doctest: +SKIP
>>> from edgeinspect.analysis import profile_method
>>> profile = profile_method(program.method("forward"), etdump)  # doctest: +SKIP

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
    "load",
    "load_etdump",
]


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
    tosa : str, os.PathLike or list of them, optional
        Dumped .tosa files (or directories of them) to join to the Arm delegates of a .pte.
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

    model = read(path, name)
    if tosa is not None:
        from edgeinspect.join import attach_tosa

        model = attach_tosa(model, tosa)
    return model


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
