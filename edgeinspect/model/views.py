"""Conveniences of the IR records that rooms above the IR provide: registration from above.

``Program.to_networkx()``, ``Method.to_networkx()``, ``TosaGraph.to_networkx()``,
``XnnGraph.to_networkx()`` and the ``_repr_html_`` of programs, methods and TOSA graphs need
the networkx views (:mod:`edgeinspect.graph`) and the notebook HTML
(:mod:`edgeinspect.report.notebook`), which sit above the IR and which the IR must not import.
So the records ask this registry for them, and the package facade (:mod:`edgeinspect`, which
Python runs before any edgeinspect module) registers them with :func:`register`: lazily, so
that importing edgeinspect imports neither networkx nor the report.

Names: ``method_graph``, ``tosa_graph``, ``xnnpack_graph`` (networkx views) and
``program_html``, ``method_html``, ``tosa_html`` (notebook HTML).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgeinspect.errors import UsageError

__all__ = ["VIEWS", "register", "view"]

#: The views a record can ask for.
VIEWS = ("method_graph", "tosa_graph", "xnnpack_graph", "program_html", "method_html", "tosa_html")

_registered: dict[str, Callable[..., Any]] = {}


def register(name: str, function: Callable[..., Any]) -> None:
    """Provide the view ``name`` (one of :data:`VIEWS`)."""
    if name not in VIEWS:
        raise UsageError(f"unknown view {name!r} (views: {', '.join(VIEWS)})")
    _registered[name] = function


def view(name: str) -> Callable[..., Any]:
    """The function registered for ``name``."""
    try:
        return _registered[name]
    except KeyError:
        raise UsageError(f"no {name!r} view is registered (import edgeinspect registers them all)") from None
