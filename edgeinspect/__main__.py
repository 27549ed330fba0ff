"""``python -m edgeinspect``: the command line, for environments whose scripts directory is not
on PATH (a notebook kernel, a venv not activated)."""

import sys

from edgeinspect.cli import main

sys.exit(main())
