"""Dispatch from a loaded model to its inspect document (.pte or .tosa)."""

from __future__ import annotations

from typing import Any

from edgeinspect.model import Program

__all__ = ["render_inspect"]


def render_inspect(
    model: Any,
    fmt: str,
    *,
    methods: list[str] | None = None,
    etrecord_ops: Any = None,
    estimates: Any = None,
    sources: Any = None,
    profiles: Any = None,
) -> Any:
    """The ``inspect`` output of a model: a dict for ``json``, a string for ``text``.

    ``estimates`` is :func:`edgeinspect.estimate.estimate_program`'s result (``--estimate``);
    ``sources`` (a :class:`~edgeinspect.model.source.ProgramSources`) adds each
    instruction's ``source`` to the JSON; ``profiles`` (method name ->
    :class:`~edgeinspect.analysis.profile.MethodProfile`) adds the measured time of ``--etdump``.
    """
    if isinstance(model, Program):
        from edgeinspect.report.inspect import inspect_dict, inspect_text

        if fmt == "json":
            doc = inspect_dict(model, etrecord_ops=etrecord_ops, estimates=estimates, sources=sources, profiles=profiles)
            if methods:
                doc["methods"] = [m for m in doc["methods"] if m["name"] in methods]
            return doc
        return inspect_text(model, methods=methods, etrecord_ops=etrecord_ops, estimates=estimates, profiles=profiles)
    from edgeinspect.report.tosa import tosa_dict, tosa_text

    return tosa_dict(model) if fmt == "json" else tosa_text(model)
