"""Google Model Explorer extension for edgeinspect: open .pte and .tosa files through edgeinspect.

Start it with ``edgeinspect view FILE`` or ``model-explorer FILE --extensions=edgeinspect_explorer``.
The adapter class lives in :mod:`edgeinspect_explorer.main` (Model Explorer imports ``PKG.main``).
"""

from __future__ import annotations

__all__ = ["ADAPTER_ID"]

#: The id Model Explorer gives the adapter (its metadata id); pass it as ``extensionId``.
ADAPTER_ID = "edgeinspect"
