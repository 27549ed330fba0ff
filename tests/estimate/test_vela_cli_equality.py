"""Every figure of an estimate equals what the ``vela`` command writes and prints.

For each Ethos-U55 and Ethos-U85 fixture of the zoo, each delegate joined to its dump is
estimated by edgeinspect, and the dump is compiled again here by the ``vela`` command with
the delegate's compile flags as stored (``--config=Arm/vela.ini`` relative, as exported)
plus ``--verbose-performance``. Every column of its summary CSV and of every row of its
per-layer CSV is compared with the record, unit conversions written out below (KiB -> bytes,
GB/s -> bytes/s), and the totals it prints are compared too.
"""

from __future__ import annotations

import csv
import math
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import DATA, zoo_index

import edgeinspect
from edgeinspect.estimate import delegate_memory, estimate_program

VELA = shutil.which("vela", path=os.path.dirname(sys.executable)) or shutil.which("vela")
pytestmark = pytest.mark.skipif(VELA is None, reason="the vela command (ethos-u-vela, the export extra) is not installed")

ETHOS_U = [e for e in zoo_index() if e["flow"] in ("ethos-u55", "ethos-u85") and e["tosa_dumps"]]


def _kib(text: str) -> int:
    return int(float(text) * 1024)


def _gib_per_s(text: str) -> float:
    return float(text) * 1024**3


def _nan_or_float(text: str) -> float | None:
    value = float(text)
    return None if math.isnan(value) else value


# summary CSV column -> (path in the estimate record, how the CSV text reads in that unit)
SUMMARY = {
    "accelerator_configuration": (("accelerator",), str),
    "system_config": (("system_config",), str),
    "memory_mode": (("memory_mode",), str),
    "core_clock": (("core_clock_hz",), float),
    "arena_cache_size": (("arena_cache_bytes",), _kib),
    "sram_bandwidth": (("bandwidth_bytes_per_s", "sram"), _gib_per_s),
    "dram_bandwidth": (("bandwidth_bytes_per_s", "dram"), _gib_per_s),
    "on_chip_flash_bandwidth": (("bandwidth_bytes_per_s", "on_chip_flash"), _gib_per_s),
    "off_chip_flash_bandwidth": (("bandwidth_bytes_per_s", "off_chip_flash"), _gib_per_s),
    "weights_storage_area": (("weights_storage_area",), str),
    "feature_map_storage_area": (("feature_map_storage_area",), str),
    "inferences_per_second": (("inferences_per_second",), _nan_or_float),
    "batch_size": (("batch_size",), int),
    "inference_time": (("inference_time_s",), float),
    "passes_before_fusing": (("passes_before_fusing",), int),
    "passes_after_fusing": (("passes_after_fusing",), int),
    "sram_memory_used": (("sram_bytes",), _kib),
    "dram_memory_used": (("dram_bytes",), _kib),
    "on_chip_flash_memory_used": (("on_chip_flash_bytes",), _kib),
    "off_chip_flash_memory_used": (("off_chip_flash_bytes",), _kib),
    "total_original_weights": (("original_weight_bytes",), int),
    "total_npu_encoded_weights": (("encoded_weight_bytes",), int),
    **{
        f"{m}_{kind}_bytes": (("traffic", m, f"{kind}_bytes"), int)
        for m in ("sram", "dram", "on_chip_flash", "off_chip_flash")
        for kind in ("feature_map_read", "feature_map_write", "weight_read", "weight_write", "total")
    },
    "nn_macs": (("nn_macs",), int),
    "nn_tops": (("nn_tops",), float),
    "cycles_npu": (("cycles_npu",), int),
    "cycles_sram_access": (("cycles_sram_access",), int),
    "cycles_dram_access": (("cycles_dram_access",), int),
    "cycles_on_chip_flash_access": (("cycles_on_chip_flash_access",), int),
    "cycles_off_chip_flash_access": (("cycles_off_chip_flash_access",), int),
    "cycles_total": (("cycles_total",), int),
}
# The two columns that name the run, not the graph: the experiment label and the file's stem.
NAMING_COLUMNS = {"experiment", "network"}

PER_LAYER = {
    "Original Operator": (("original_operator",), str),
    "NNG Operator": (("operator",), str),
    "Target": (("target",), str),
    "Staging Usage": (("staging_bytes",), int),
    "Peak% (Staging)": (("staging_peak_percent",), _nan_or_float),
    "Op Cycles": (("cycles",), int),
    "Network% (cycles)": (("cycles_percent",), _nan_or_float),
    "NPU": (("npu_cycles",), int),
    "SRAM AC": (("access_cycles", "sram"), int),
    "DRAM AC": (("access_cycles", "dram"), int),
    "OnFlash AC": (("access_cycles", "on_chip_flash"), int),
    "OffFlash AC": (("access_cycles", "off_chip_flash"), int),
    "MAC Count": (("macs",), int),
    "Network% (MAC)": (("macs_percent",), _nan_or_float),
    "Util% (MAC)": (("utilisation_percent",), _nan_or_float),
    "Name": (("name",), str),
}


def _at(record: dict, path: tuple[str, ...]):
    for key in path:
        record = record[key]
    return record


def _vela_cli(dump: Path, compile_flags: str, out: Path) -> tuple[dict[str, str], list[dict[str, str]], str]:
    proc = subprocess.run(
        [VELA, str(dump), *compile_flags.split(), "--verbose-performance", "--output-dir", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    (summary,) = out.glob("*_summary_*.csv")
    (per_layer,) = out.glob("*_per-layer.csv")
    with open(summary, newline="") as f:
        (row,) = list(csv.DictReader(f))
    with open(per_layer, newline="") as f:
        layers = list(csv.DictReader(f))
    return row, layers, proc.stdout


@pytest.mark.parametrize("entry", ETHOS_U, ids=[e["name"] for e in ETHOS_U])
def test_every_figure_equals_the_vela_command(entry, tmp_path):
    pte = DATA / entry["pte"]
    program = edgeinspect.load(pte, tosa=DATA / f"{pte.stem}.tosa.d")
    results = estimate_program(program, cache=False)
    compared = 0
    for method in program.methods:
        for d in method.delegates:
            result = results[method.name][d.index]
            if d.tosa is None:  # an ambiguous or missing join: said, not guessed
                assert result.estimate is None and result.skipped and result.error is None
                continue
            assert result.error is None and result.skipped is None, result.error
            record = result.estimate.to_dict()
            row, layers, printed = _vela_cli(Path(d.tosa.path), d.specs["compile_flags"], tmp_path / f"{method.name}_{d.index}")
            # every column is compared: a column Vela adds fails here until it is mapped
            assert set(row) == set(SUMMARY) | NAMING_COLUMNS
            for column, (path, read) in SUMMARY.items():
                assert _at(record, path) == read(row[column]), (column, row[column])
            assert record["source"] == f"vela {version('ethos-u-vela')}"
            assert len(record["layers"]) == len(layers)
            for ours, theirs in zip(record["layers"], layers):
                assert set(theirs) == set(PER_LAYER)
                for column, (path, read) in PER_LAYER.items():
                    assert _at(ours, path) == read(theirs[column]), (column, theirs[column])
            # the totals it prints, at its own rounding
            sram = re.search(r"Total SRAM used\s+([\d.]+) KiB", printed).group(1)
            assert sram == f"{record['sram_bytes'] / 1024:.2f}"
            macs = re.search(r"Neural network macs\s+(\d+) MACs/batch", printed).group(1)
            assert int(macs) == record["nn_macs"]
            clock = re.search(r"Accelerator clock\s+(\d+) MHz", printed).group(1)
            assert int(clock) == record["core_clock_hz"] / 1e6
            # the layers point at the TOSA operators they are named after
            for layer in record["layers"]:
                if layer["tosa_op_index"] is not None:
                    op = d.tosa.main_block.operators[layer["tosa_op_index"]]
                    assert op.outputs[0] == layer["name"] and op.op == layer["tosa_op"]
            # Vela compiles a dump back into its delegate's payload (a toolchain fact), so the
            # SRAM it reports is the scratch the payload asks the runtime for
            assert record["sram_bytes"] == delegate_memory(d).scratch_bytes
            compared += 1
    # only a fixture whose dumps cannot be told apart (u55_sort) compares nothing
    assert compared or all(d.tosa_join == "ambiguous" for m in program.methods for d in m.delegates)


def test_the_fixtures_cover_u55_and_u85():
    joined: dict[str, int] = {}
    for e in ETHOS_U:
        program = edgeinspect.load(DATA / e["pte"], tosa=DATA / f"{e['name']}.tosa.d")
        joined[e["flow"]] = joined.get(e["flow"], 0) + sum(d.tosa is not None for m in program.methods for d in m.delegates)
    assert joined["ethos-u55"] >= 20 and joined["ethos-u85"] >= 4
