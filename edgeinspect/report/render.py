"""Dispatch from a loaded model (or a program with its evidence) to its inspect document."""

from __future__ import annotations

from typing import Any

from edgeinspect.analysis.evidence import Evidence
from edgeinspect.model import Program
from edgeinspect.textsafe import bounded

__all__ = ["render_inspect"]


def render_inspect(model: Any, fmt: str, *, methods: list[str] | None = None) -> Any:
    """The ``inspect`` output: a dict for ``json``, a string for ``text``.

    Names from the file are abbreviated in both (:func:`edgeinspect.textsafe.bounded` for the
    JSON), so the output stays proportional to the input.

    ``model`` is a :class:`~edgeinspect.model.TosaGraph`, a :class:`~edgeinspect.model.Program`
    or an :class:`~edgeinspect.analysis.evidence.Evidence` (a program with what its ETDump,
    Vela estimates and ETRecord say: measured time, ``estimate`` per delegate, ``source`` per
    instruction).
    """
    if isinstance(model, Program):
        model = Evidence(model)
    if isinstance(model, Evidence):
        from edgeinspect.report.inspect import inspect_dict, inspect_text

        program = model.program
        kwargs = {"etrecord_ops": dict(model.etrecord_ops), "estimates": model.estimates, "profiles": dict(model.profiles)}
        if fmt == "json":
            doc = inspect_dict(program, sources=model.sources, **kwargs)
            if methods:
                doc["methods"] = [m for m in doc["methods"] if m["name"] in methods]
            return bounded(doc)
        return inspect_text(program, methods=methods, **kwargs)
    from edgeinspect.report.tosa import tosa_dict, tosa_text

    return bounded(tosa_dict(model)) if fmt == "json" else tosa_text(model)
