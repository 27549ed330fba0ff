"""Google Model Explorer extension for edgeinspect: open .pte and .tosa files through edgeinspect.

Start it with ``edgeinspect view FILE`` or ``model-explorer FILE --extensions=edgeinspect_explorer``.
The adapter class lives in :mod:`edgeinspect_explorer.main` (Model Explorer imports ``PKG.main``).
"""

from __future__ import annotations

from edgeinspect.report.overlays import ADAPTER_ID

__all__ = ["ADAPTER_ID"]
