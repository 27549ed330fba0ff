"""Which operators a target accepts, from the committed support table (no executorch needed).

``edgeinspect/data/support_table.json`` is generated from executorch's own support lists
and check classes by ``scripts/gen_support_table.py``; this module only reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from edgeinspect.analysis.fragmentation import base_operator
from edgeinspect.model import Delegate

__all__ = ["SupportEntry", "edge_overload", "lookup", "support_table", "target_key"]


@dataclass(frozen=True, slots=True)
class SupportEntry:
    """A target's verdict on one operator.

    Attributes
    ----------
    target : str
        Table key (``ethos-u55``, ``ethos-u85``, ``TOSA-1.0+INT``, ``TOSA-1.0+FP``, ``xnnpack``).
    operator : str
        The edge operator the verdict is for (``aten::upsample_bilinear2d.vec``).
    supported : str
        ``yes``, ``conditional`` (a per-node check decides), ``no`` or ``unknown``.
    reason : str
        Why not (or which check decides); empty for ``yes``.
    checks : tuple of str
        Names of executorch's per-node checks involved.
    """

    target: str
    operator: str
    supported: str
    reason: str
    checks: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def support_table() -> dict[str, Any]:
    """The parsed support table."""
    text = resources.files("edgeinspect").joinpath("data/support_table.json").read_text(encoding="utf-8")
    return json.loads(text)


def target_key(delegate: Delegate) -> str | None:
    """The support-table key for the target a delegate was compiled for, or None.

    Examples
    --------
    >>> from edgeinspect.model import Delegate, CompileSpec
    >>> target_key(Delegate(0, "XnnpackBackend", "inline", 0, (), 0, 0))
    'xnnpack'
    >>> target_key(Delegate(0, "EthosUBackend", "inline", 0, (CompileSpec("compile_flags", b"--accelerator-config=ethos-u55-128"),), 0, 0))
    'ethos-u55'
    >>> target_key(Delegate(0, "TOSABackend", "inline", 0, (CompileSpec("tosa_spec", b"TOSA-1.0+INT"),), 0, 0))
    'TOSA-1.0+INT'
    """
    if delegate.backend_id == "XnnpackBackend":
        return "xnnpack"
    target = (delegate.target or "").lower()
    spec = delegate.spec("tosa_spec") or ""
    if delegate.backend_id == "EthosUBackend" or target.startswith("ethos-u"):
        if "u55" in target or "+u55" in spec.lower():
            return "ethos-u55"
        if "u85" in target:
            return "ethos-u85"
        return None
    if spec.startswith("TOSA-1.0"):
        return "TOSA-1.0+FP" if "+FP" in spec else "TOSA-1.0+INT"
    return None


def edge_overload(kernel_name: str) -> str:
    """The edge-dialect operator a .pte kernel (an out-variant) comes from.

    Examples
    --------
    >>> edge_overload("aten::upsample_bilinear2d.vec_out")
    'aten::upsample_bilinear2d.vec'
    >>> edge_overload("aten::cumsum.out")
    'aten::cumsum.default'
    >>> edge_overload("aten::topk.values")
    'aten::topk.default'
    """
    base = base_operator(kernel_name)
    overload = kernel_name[len(base) + 1 :] if len(kernel_name) > len(base) else ""
    if overload in ("", "out", "values", "default"):
        return f"{base}.default"
    if overload.endswith("_out"):
        return f"{base}.{overload[: -len('_out')]}"
    return f"{base}.{overload}"


@cache
def _overloads(target: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The target's table entries by base operator, in table order (built once per target: a
    program can name thousands of operators the table does not list)."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for key, value in support_table()["targets"][target]["operators"].items():
        out.setdefault(base_operator(key), []).append((key, value))
    return out


def lookup(target: str | None, kernel_name: str) -> SupportEntry:
    """The target's verdict on the operator behind a .pte kernel name.

    Exact edge overload first; else every overload of the same operator, when they agree;
    else the target's default verdict (operators the partitioner does not list are rejected).

    Examples
    --------
    >>> lookup("ethos-u55", "aten::upsample_bilinear2d.vec_out").supported
    'no'
    >>> lookup("ethos-u85", "aten::upsample_bilinear2d.vec_out").supported
    'conditional'
    >>> lookup(None, "aten::cumsum.out").supported
    'unknown'
    """
    op = edge_overload(kernel_name)
    targets = support_table()["targets"]
    if target not in targets:
        return SupportEntry(str(target), op, "unknown", f"no support table for target {target!r}")
    table = targets[target]
    ops = table["operators"]
    entry = ops.get(op)
    if entry is None:
        same = _overloads(target).get(base_operator(kernel_name), ())
        verdicts = {v["supported"] for _, v in same}
        if len(verdicts) == 1:
            op, entry = same[0]
    if entry is None:
        entry = table["default"]
    return SupportEntry(target, op, entry["supported"], entry.get("reason", ""), tuple(entry.get("checks", ())))
