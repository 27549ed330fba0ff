"""Predicted NPU cost: Vela's performance estimate for each Ethos-U delegate.

An Ethos-U program cannot run on this machine, but its cost can be predicted: the installed
Vela (``ethos-u-vela``, from the ``export`` extra) compiles each delegate's dumped .tosa with
the delegate's own compile flags and estimates cycles, MACs, memory traffic and memory use
for exactly that graph (see docs/estimate.md for what it does not count).

>>> import edgeinspect
>>> from edgeinspect.estimate import estimate_program
>>> program = edgeinspect.load("tests/data/u55_cnn.pte", tosa="tests/data/u55_cnn.tosa.d")
>>> for index, result in estimate_program(program, cache=False)["forward"].items():
...     print(index, result.estimate.cycles_total if result.estimate else result.skipped or result.error)
0 9984

The payload's own memory figures (scratch, weights) need no Vela: :func:`delegate_memory`.
"""

from __future__ import annotations

from edgeinspect.estimate.cache import EstimateCache, default_cache_dir
from edgeinspect.estimate.flags import FlagError, vela_flags
from edgeinspect.estimate.program import delegate_memory, estimate_dump, estimate_program, memory_of_stream, merge_estimate_missing
from edgeinspect.estimate.records import DelegateEstimate, DelegateMemory, LayerEstimate, VelaEstimate, kib_to_bytes
from edgeinspect.estimate.vela import VelaError, VelaInstall, find_vela, parse_per_layer_csv, parse_summary_csv, run_vela, run_vela_many

__all__ = [
    "DelegateEstimate",
    "DelegateMemory",
    "EstimateCache",
    "FlagError",
    "LayerEstimate",
    "VelaError",
    "VelaEstimate",
    "VelaInstall",
    "default_cache_dir",
    "delegate_memory",
    "estimate_dump",
    "estimate_program",
    "find_vela",
    "kib_to_bytes",
    "memory_of_stream",
    "merge_estimate_missing",
    "parse_per_layer_csv",
    "parse_summary_csv",
    "run_vela",
    "run_vela_many",
    "vela_flags",
]
