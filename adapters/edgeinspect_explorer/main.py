"""The Model Explorer adapter: ``model-explorer FILE --extensions=edgeinspect_explorer``.

Model Explorer imports this module; defining :class:`EdgeInspectAdapter` registers it. The graphs
are the ones ``edgeinspect view`` serves (:mod:`edgeinspect_explorer.graphs`); under Model
Explorer's own server there are no side files (ETDump, estimate, ETRecord) and no guard: prefer
``edgeinspect view``.
"""

from __future__ import annotations

import os
from typing import Any

from model_explorer import Adapter, AdapterMetadata, ModelExplorerGraphs
from model_explorer import graph_builder as gb

from edgeinspect.model import Program, TosaGraph
from edgeinspect.report.overlays import ADAPTER_ID, TOSA_FILES, load_for_view
from edgeinspect_explorer.graphs import convert_model, file_label

__all__ = ["TOSA_FILES", "EdgeInspectAdapter", "convert", "load"]


def load(model_path: str) -> Program | TosaGraph:
    """Load a .pte or .tosa with the dumps registered in :data:`TOSA_FILES`, else those beside it."""
    return load_for_view(model_path, TOSA_FILES.get(os.path.abspath(model_path)) or None)


def convert(model_path: str) -> list[dict[str, Any]]:
    """The graphs of a .pte (one per method) or a .tosa (one per basic block), as JSON-ready dicts."""
    model = load(model_path)
    try:
        return convert_model(model, model_path)["graphCollections"][0]["graphs"]
    finally:
        model.close()


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
        # Model Explorer serialises the collection with dataclasses.asdict, which copies the
        # plain-dict graphs inside as they are.
        return {"graphCollections": [gb.GraphCollection(label=file_label(model_path), graphs=convert(model_path))]}
