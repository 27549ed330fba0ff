"""Sphinx configuration for the edgeinspect documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (warnings are errors,
as in CI). Markdown pages go through MyST; the API reference comes from the numpydoc
docstrings (autodoc + napoleon); the CLI reference is rendered from the real argparse parser
at build time (``docs/_ext/edgeinspect_cli.py``), so it cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import edgeinspect  # noqa: E402

project = "edgeinspect"
author = "edgeinspect contributors"
copyright = "edgeinspect contributors"  # noqa: A001
release = edgeinspect.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "edgeinspect_cli",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "examples", "Thumbs.db", ".DS_Store"]

# MyST: ``{eval-rst}`` blocks for autodoc, heading anchors for links to sections.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# numpydoc-style docstrings through napoleon.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
# Modules that need the optional stacks are not documented here; mock nothing, import nothing heavy.
autodoc_mock_imports: list[str] = []

# No network at build time: intersphinx inventories are only used when reachable and cached.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}


html_theme = "alabaster"
html_title = f"edgeinspect {release}"
html_static_path: list[str] = []
html_theme_options = {"description": "Where an edge AI model really runs", "fixed_sidebar": True}


#: Pages written alongside the code they document; a checkout that does not ship one yet
#: builds without it (the index lists it only when the file exists).
OPTIONAL_PAGES = ("model-explorer",)


def _drop_missing_pages(app, docname, source):
    if docname != root_doc:
        return
    for page in OPTIONAL_PAGES:
        if not (HERE / f"{page}.md").exists():
            source[0] = source[0].replace(f"\n{page}\n", "\n")


def setup(app):
    app.connect("source-read", _drop_missing_pages)
