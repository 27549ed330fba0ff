"""edgeinspect: where an edge AI model really runs.

Read ExecuTorch programs (.pte) and TOSA flatbuffers (.tosa) without torch, turn them
into networkx graphs, and measure how fragmented the delegated graph is.

>>> import edgeinspect
>>> program = edgeinspect.load("model.pte")            # doctest: +SKIP
>>> g = program.to_networkx("forward")                 # doctest: +SKIP
>>> etdump = edgeinspect.load_etdump("run.etdp")       # doctest: +SKIP
>>> from edgeinspect.analysis import profile_method
>>> profile = profile_method(program.method("forward"), etdump)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

from edgeinspect.errors import EdgeInspectError, FormatError, UsageError
from edgeinspect.model import Delegate, Instruction, Method, Program, Tensor
from edgeinspect.model_etdump import ETDump

__version__ = "0.1.0"

__all__ = [
    "Delegate",
    "ETDump",
    "EdgeInspectError",
    "FormatError",
    "Instruction",
    "Method",
    "Program",
    "Tensor",
    "UsageError",
    "__version__",
    "load",
    "load_etdump",
]


def load(path: str | os.PathLike[str] | bytes, *, tosa: Any = None, name: str | None = None) -> Any:
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

    Raises
    ------
    FormatError
        When the file is truncated, corrupt or of another format.
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
    (:meth:`~edgeinspect.model_etdump.RunBlock.profile_events`), so a large file is cheap to
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
