"""The document ``edgeinspect inspect`` prints for a .tosa file: JSON per the CLI contract (docs/cli.md), and text."""

from __future__ import annotations

import os
from typing import Any

from edgeinspect.model.tosa import TosaGraph, TosaTensor
from edgeinspect.textsafe import safe

__all__ = ["tosa_dict", "tosa_text"]

SCHEMA_VERSION = 1


def _tensor(t: TosaTensor) -> dict[str, Any]:
    return {"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "bytes": t.nbytes}


def tosa_dict(graph: TosaGraph) -> dict[str, Any]:
    """The ``inspect --format json`` document of a TOSA graph.

    ``operators`` counts every operator, ``CONST``/``CONST_SHAPE`` included, and
    ``histogram`` counts them all too; ``compute_operators`` and ``compute_histogram``
    leave the constants out. ``inputs``/``outputs`` are the entry block's shapes, and
    ``input_tensors``/``output_tensors`` add names, dtypes and byte sizes.
    """
    regions = []
    for r in graph.regions:
        regions.append(
            {
                "name": r.name,
                "blocks": [
                    {"name": b.name, "operators": len(b.operators), "tensors": len(b.tensors), "shapes": len(b.shapes)} for b in r.blocks
                ],
            }
        )
    compute = graph.histogram(include_const=False)
    return {
        "schema_version": SCHEMA_VERSION,
        "file": os.path.basename(graph.path) if graph.path else None,
        "format": "tosa",
        "version": graph.version_string,
        "draft": graph.draft,
        "software_version": graph.software_version,
        "file_bytes": graph.file_size,
        "operators": graph.num_operators,
        "histogram": graph.histogram(),
        "compute_operators": sum(compute.values()),
        "compute_histogram": compute,
        "constant_bytes": graph.constant_bytes,
        "inputs": [list(t.shape) for t in graph.inputs],
        "outputs": [list(t.shape) for t in graph.outputs],
        "input_tensors": [_tensor(t) for t in graph.inputs],
        "output_tensors": [_tensor(t) for t in graph.outputs],
        "regions": regions,
    }


def _shape(shape: tuple[int, ...], limit: int = 16) -> str:
    """A shape for text: a tensor of rank 100,000 (possible in a hostile file) shows its first dims."""
    if len(shape) <= limit:
        return str(list(shape))
    return f"[{', '.join(map(str, shape[:limit]))}, ... ({len(shape)} dims)]"


def tosa_text(graph: TosaGraph) -> str:
    """A readable summary: version, regions, operator histogram, inputs and outputs."""
    name = safe(os.path.basename(graph.path)) if graph.path else "<bytes>"
    draft = " (draft)" if graph.draft else ""
    writer = f", written by {safe(graph.software_version)}" if graph.software_version else ""
    lines = [f"{name}: TOSA {graph.version_string}{draft} flatbuffer, {graph.file_size:,} bytes{writer}"]
    compute = graph.histogram(include_const=False)
    lines.append(
        f"{graph.num_operators} operators ({sum(compute.values())} compute, {graph.num_operators - sum(compute.values())} constant), "
        f"{graph.constant_bytes:,} bytes of constant data"
    )
    for r in graph.regions:
        for b in r.blocks:
            lines.append(f"  region {safe(r.name)} / block {safe(b.name)}: {len(b.operators)} operators, {len(b.tensors)} tensors")
    for label, tensors in (("input", graph.inputs), ("output", graph.outputs)):
        for k, t in enumerate(tensors):
            lines.append(f"  {label} {k}: {safe(t.name)} {_shape(t.shape)} {t.dtype}")
    lines.append("  operators:")
    for op, n in graph.histogram().items():
        lines.append(f"    {n:>5}  {safe(op)}")
    return "\n".join(lines)
