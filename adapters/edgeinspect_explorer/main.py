"""The Model Explorer adapter: ``model-explorer FILE --extensions=edgeinspect_explorer``.

Model Explorer imports this module; defining :class:`EdgeInspectAdapter` registers it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from model_explorer import Adapter, AdapterMetadata, ModelExplorerGraphs
from model_explorer import graph_builder as gb

import edgeinspect
from edgeinspect_explorer import ADAPTER_ID
from edgeinspect_explorer.graphs import file_label, pte_graphs, tosa_graphs

__all__ = ["TOSA_FILES", "EdgeInspectAdapter", "convert"]

#: Dumped .tosa files to join to the Arm delegates of a .pte, by absolute .pte path.
#: ``edgeinspect view --tosa`` fills it (the server runs in the same process). Without an
#: entry, a ``<stem>.tosa.d`` directory beside the .pte is used when there is one.
TOSA_FILES: dict[str, list[str]] = {}


def _tosa_for(model_path: str) -> list[str] | None:
    path = os.path.abspath(model_path)
    if path in TOSA_FILES:
        return TOSA_FILES[path] or None
    beside = Path(path).with_suffix(".tosa.d")
    if beside.is_dir() and any(beside.glob("*.tosa")):
        import importlib.util

        if importlib.util.find_spec("edgeinspect.join") is not None:
            return [str(beside)]
    return None


def convert(model_path: str) -> list[gb.Graph]:
    """The graphs of a .pte (one per method) or a .tosa (one per basic block)."""
    with open(model_path, "rb") as f:
        head = f.read(8)
    tosa = _tosa_for(model_path) if head[4:8] == b"ET12" else None
    model = edgeinspect.load(model_path, tosa=tosa)
    if getattr(model, "format", None) == "pte":
        return pte_graphs(model)
    return tosa_graphs(model)


class EdgeInspectAdapter(Adapter):
    """Opens ExecuTorch .pte and TOSA .tosa files through edgeinspect."""

    metadata = AdapterMetadata(
        id=ADAPTER_ID,
        name="edgeinspect (.pte / .tosa)",
        description="ExecuTorch programs and TOSA flatbuffers through edgeinspect: partitions as layers, "
        "devices coloured, delegate internals, boundary bytes, fragmentation metrics.",
        source_repo="",
        fileExts=["pte", "tosa"],
    )

    def __init__(self) -> None:
        super().__init__()

    def convert(self, model_path: str, settings: dict[str, Any]) -> ModelExplorerGraphs:
        return {"graphCollections": [gb.GraphCollection(label=file_label(model_path), graphs=convert(model_path))]}
