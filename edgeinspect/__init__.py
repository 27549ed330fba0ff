"""edgeinspect: where an edge AI model really runs.

Read ExecuTorch programs (.pte) and TOSA flatbuffers (.tosa) without torch, turn them
into networkx graphs, and measure how fragmented the delegated graph is.

>>> import edgeinspect
>>> program = edgeinspect.load("model.pte")            # doctest: +SKIP
>>> g = program.to_networkx("forward")                 # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

from edgeinspect.errors import EdgeInspectError, FormatError, UsageError
from edgeinspect.model import Delegate, Instruction, Method, Program, Tensor

__version__ = "0.1.0"

__all__ = [
    "Delegate",
    "EdgeInspectError",
    "FormatError",
    "Instruction",
    "Method",
    "Program",
    "Tensor",
    "UsageError",
    "__version__",
    "load",
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
