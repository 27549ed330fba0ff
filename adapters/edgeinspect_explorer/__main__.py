"""``python -m edgeinspect_explorer FILE [options of edgeinspect view]``: the server process that
``edgeinspect view`` starts (see :mod:`edgeinspect_explorer.session`)."""

from __future__ import annotations

import sys

from edgeinspect_explorer.session import main

if __name__ == "__main__":
    sys.exit(main())
