"""Export the three benchmark programs once, with the real ExecuTorch exporter, and cache them.

``python benchmarks/make_programs.py [--force] [--only NAME ...]`` writes into
``benchmarks/.cache/`` (git-ignored):

- ``many_instructions.pte``: a chain of 20,480 small non-delegated kernels (alternating
  ``sin``/``cos`` on a 4-element tensor), so every operator is one kernel instruction;
- ``big_weights.pte``: seven fp32 ``Linear(4096, 4096)`` layers lowered to XNNPACK, about
  470 MB of weights (in segments after the program);
- ``many_delegates.pte``: 210 blocks of XNNPACK ``Linear(16, 16)`` then ``cumsum`` (which
  XNNPACK leaves on CPU), so 210 delegate calls alternate with CPU kernels.

Each program is exported only when its .pte is missing (``--force`` re-exports). A JSON
summary (instructions, delegates, file size, export seconds) is written beside each file.
Needs torch and executorch (``pip install -e ".[export]"``); the benchmark itself does not.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"

CHAIN_LENGTH = 20_480
BIG_LAYERS = 7
BIG_WIDTH = 4096
DELEGATE_BLOCKS = 210


def _chain_model():
    import torch

    class Chain(torch.nn.Module):
        """``CHAIN_LENGTH`` alternating unary ops: one kernel instruction each, no weights."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for i in range(CHAIN_LENGTH):
                x = torch.sin(x) if i % 2 == 0 else torch.cos(x)
            return x

    return Chain().eval(), (torch.randn(4),)


def _big_model():
    import torch

    class Big(torch.nn.Module):
        """``BIG_LAYERS`` fp32 square Linear layers: about 470 MB of weights."""

        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(BIG_WIDTH, BIG_WIDTH) for _ in range(BIG_LAYERS))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for layer in self.layers:
                x = layer(x)
            return x

    torch.manual_seed(0)
    return Big().eval(), (torch.randn(1, BIG_WIDTH),)


def _many_delegates_model():
    import torch

    class Alternating(torch.nn.Module):
        """Linear (XNNPACK) then cumsum (left on CPU by XNNPACK), ``DELEGATE_BLOCKS`` times."""

        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(16, 16) for _ in range(DELEGATE_BLOCKS))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for layer in self.layers:
                x = torch.cumsum(layer(x), dim=1)
            return x

    torch.manual_seed(0)
    return Alternating().eval(), (torch.randn(1, 16),)


def _export(build, delegate: bool) -> bytes:
    import torch
    from executorch.exir import EdgeCompileConfig, ExecutorchBackendConfig, to_edge, to_edge_transform_and_lower

    model, example = build()
    with torch.no_grad():
        ep = torch.export.export(model, example)
    if delegate:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])
    else:
        edge = to_edge(ep, compile_config=EdgeCompileConfig(_check_ir_validity=False))
    return edge.to_executorch(ExecutorchBackendConfig(extract_delegate_segments=True)).buffer


PROGRAMS = {
    "many_instructions": (_chain_model, False),
    "big_weights": (_big_model, True),
    "many_delegates": (_many_delegates_model, True),
}


def path_of(name: str) -> Path:
    """Where the cached program ``name`` lives."""
    return CACHE / f"{name}.pte"


def make(name: str, force: bool = False) -> dict:
    """Export ``name`` unless it is cached; return its summary."""
    pte = path_of(name)
    meta = pte.with_suffix(".json")
    if pte.exists() and meta.exists() and not force:
        return json.loads(meta.read_text())
    build, delegate = PROGRAMS[name]
    t0 = time.perf_counter()
    data = _export(build, delegate)
    seconds = time.perf_counter() - t0
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = pte.with_suffix(".pte.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, pte)

    import edgeinspect

    program = edgeinspect.load(pte)
    method = program.methods[0]
    summary = {
        "name": name,
        "file_bytes": pte.stat().st_size,
        "instructions": len(method.instructions),
        "delegate_calls": sum(1 for i in method.instructions if i.kind == "delegate"),
        "export_seconds": round(seconds, 1),
    }
    meta.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="re-export even when cached")
    parser.add_argument("--only", action="append", choices=sorted(PROGRAMS), help="export only these")
    args = parser.parse_args(argv)
    for name in args.only or PROGRAMS:
        print(f"{name}: ...", file=sys.stderr, flush=True)
        print(json.dumps(make(name, args.force)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
