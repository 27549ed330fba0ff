"""Google Model Explorer extension for edgeinspect: open .pte and .tosa files through edgeinspect.

Start it with ``edgeinspect view FILE`` (which runs ``python -m edgeinspect_explorer``: this
package's own server, :mod:`edgeinspect_explorer.session`) or with Model Explorer's command,
``model-explorer FILE --extensions=edgeinspect_explorer`` (the adapter class lives in
:mod:`edgeinspect_explorer.main`: Model Explorer imports ``PKG.main``). Importing this package
imports nothing heavy, so the server starts in a blink.
"""

from __future__ import annotations

#: The id of edgeinspect's adapter (:data:`edgeinspect.report.overlays.ADAPTER_ID`, the same).
ADAPTER_ID = "edgeinspect"

__all__ = ["ADAPTER_ID"]
