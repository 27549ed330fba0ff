"""The records an estimate is made of, and their JSON form (one schema, read back strictly).

Every figure is Vela's own, taken from the CSV files ``vela --verbose-performance`` writes
(``<network>_summary_<system config>.csv`` and ``<network>_per-layer.csv``), renamed to say
their unit: ``*_bytes`` are bytes (Vela's KiB figures converted exactly, see
:func:`kib_to_bytes`), ``cycles*`` NPU clock cycles, ``*_s`` seconds, ``*_percent``
percentages. Counts are ints, ratios floats; a ratio Vela cannot compute (``NaN``) is None.

:meth:`VelaEstimate.from_dict` is the inverse of :meth:`VelaEstimate.to_dict` and checks
every key and type, so a cache entry that is not exactly what we wrote is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "MEMORIES",
    "DelegateEstimate",
    "DelegateMemory",
    "LayerEstimate",
    "VelaEstimate",
    "kib_to_bytes",
]

#: The memories Vela reports on, in its order (SHRAM/LUT RAM is left out by Vela itself).
MEMORIES = ("sram", "dram", "on_chip_flash", "off_chip_flash")
_TRAFFIC = ("feature_map_read_bytes", "feature_map_write_bytes", "weight_read_bytes", "weight_write_bytes", "total_bytes")


def kib_to_bytes(kib: float) -> int:
    """Bytes from one of Vela's KiB figures, exactly.

    Vela writes ``bytes / 1024.0`` (``memory_used``, ``arena_cache_size``): dividing an
    integer below 2**53 by a power of two is exact in binary floating point, and the CSV
    writer prints the shortest text that reads back to the same float, so multiplying by
    1024 gives the integer Vela started from. A figure that does not come back to an
    integer was not written that way: it is refused rather than rounded.

    Examples
    --------
    >>> kib_to_bytes(16.75)
    17152
    >>> kib_to_bytes(0.0009765625)
    1
    """
    value = kib * 1024
    if not math.isfinite(value) or not value.is_integer() or value < 0:
        raise ValueError(f"{kib!r} KiB is not a whole number of bytes")
    return int(value)


def _int(v: Any, name: str) -> int:
    if type(v) is not int:
        raise TypeError(f"{name}: expected an integer, got {type(v).__name__}")
    return v


def _count(v: Any, name: str) -> int:
    if _int(v, name) < 0:
        raise ValueError(f"{name}: negative count {v}")
    return v


def _float(v: Any, name: str, *, optional: bool = False) -> float | None:
    if v is None and optional:
        return None
    if type(v) not in (int, float) or not math.isfinite(v):
        raise TypeError(f"{name}: expected a finite number, got {v!r}")
    return float(v)


def _str(v: Any, name: str, *, optional: bool = False) -> str | None:
    if v is None and optional:
        return None
    if type(v) is not str:
        raise TypeError(f"{name}: expected a string, got {type(v).__name__}")
    return v


def _exact_keys(d: Any, keys: tuple[str, ...] | list[str], name: str) -> dict[str, Any]:
    if type(d) is not dict:
        raise TypeError(f"{name}: expected an object")
    if list(d) != list(keys):
        raise ValueError(f"{name}: keys {list(d)} are not {list(keys)}")
    return d


@dataclass(frozen=True, slots=True)
class LayerEstimate:
    """One row of Vela's per-layer CSV: an operator Vela scheduled.

    ``name`` is Vela's ``Name`` column: the name of the TOSA operator's output tensor (such as
    ``tosa_rescale_default``), or ``#<id>`` for an operation Vela inserted itself; then
    ``tosa_op_index``/``tosa_op`` point at that operator of the dump (its index in the entry
    block, and its TOSA type) and are None for Vela's own. ``original_operator`` is the TOSA
    operator type as Vela names it (``Conv2D``), ``operator`` what Vela made of it (a
    RESCALE fused into a convolution shows the convolution), ``target`` ``NPU`` or ``CPU``.
    ``cycles`` is the layer's share of the total (``Op Cycles``), ``npu_cycles`` the NPU's
    compute cycles, ``access_cycles`` the cycles spent on each memory; ``macs`` the
    multiply-accumulates, ``utilisation_percent`` MACs per available MAC slot.
    """

    name: str
    original_operator: str
    operator: str
    target: str
    staging_bytes: int
    staging_peak_percent: float | None
    cycles: int
    cycles_percent: float | None
    npu_cycles: int
    sram_access_cycles: int
    dram_access_cycles: int
    on_chip_flash_access_cycles: int
    off_chip_flash_access_cycles: int
    macs: int
    macs_percent: float | None
    utilisation_percent: float | None
    tosa_op_index: int | None = None
    tosa_op: str | None = None

    _KEYS = (
        "name",
        "tosa_op",
        "tosa_op_index",
        "original_operator",
        "operator",
        "target",
        "cycles",
        "npu_cycles",
        "access_cycles",
        "macs",
        "utilisation_percent",
        "cycles_percent",
        "macs_percent",
        "staging_bytes",
        "staging_peak_percent",
    )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``access_cycles`` keyed by memory: ``sram``, ``dram``, ...)."""
        return {
            "name": self.name,
            "tosa_op": self.tosa_op,
            "tosa_op_index": self.tosa_op_index,
            "original_operator": self.original_operator,
            "operator": self.operator,
            "target": self.target,
            "cycles": self.cycles,
            "npu_cycles": self.npu_cycles,
            "access_cycles": {m: getattr(self, f"{m}_access_cycles") for m in MEMORIES},
            "macs": self.macs,
            "utilisation_percent": self.utilisation_percent,
            "cycles_percent": self.cycles_percent,
            "macs_percent": self.macs_percent,
            "staging_bytes": self.staging_bytes,
            "staging_peak_percent": self.staging_peak_percent,
        }

    @classmethod
    def from_dict(cls, d: Any) -> LayerEstimate:
        """Read :meth:`to_dict`'s output back; raises TypeError/ValueError on anything else."""
        d = _exact_keys(d, cls._KEYS, "layer")
        access = _exact_keys(d["access_cycles"], MEMORIES, "layer.access_cycles")
        index = d["tosa_op_index"]
        return cls(
            name=_str(d["name"], "name"),
            original_operator=_str(d["original_operator"], "original_operator"),
            operator=_str(d["operator"], "operator"),
            target=_str(d["target"], "target"),
            staging_bytes=_count(d["staging_bytes"], "staging_bytes"),
            staging_peak_percent=_float(d["staging_peak_percent"], "staging_peak_percent", optional=True),
            cycles=_count(d["cycles"], "cycles"),
            cycles_percent=_float(d["cycles_percent"], "cycles_percent", optional=True),
            npu_cycles=_count(d["npu_cycles"], "npu_cycles"),
            sram_access_cycles=_count(access["sram"], "access_cycles.sram"),
            dram_access_cycles=_count(access["dram"], "access_cycles.dram"),
            on_chip_flash_access_cycles=_count(access["on_chip_flash"], "access_cycles.on_chip_flash"),
            off_chip_flash_access_cycles=_count(access["off_chip_flash"], "access_cycles.off_chip_flash"),
            macs=_count(d["macs"], "macs"),
            macs_percent=_float(d["macs_percent"], "macs_percent", optional=True),
            utilisation_percent=_float(d["utilisation_percent"], "utilisation_percent", optional=True),
            tosa_op_index=None if index is None else _count(index, "tosa_op_index"),
            tosa_op=_str(d["tosa_op"], "tosa_op", optional=True),
        )


@dataclass(frozen=True, slots=True)
class VelaEstimate:
    """Vela's performance estimate of one compiled TOSA graph (a delegate's dump).

    ``source`` is ``"vela <version>"``; ``flags`` the Vela options it was compiled with
    (normalized, see :func:`edgeinspect.estimate.vela_flags`). ``cycles_total`` is the
    whole inference in NPU clock cycles (compute and memory access overlapped as Vela
    models it), ``cycles_npu`` the compute part, ``cycles_<memory>_access`` the access
    cycles per memory; ``inference_time_s`` is ``cycles_total / core_clock_hz``.
    ``<memory>_bytes`` is the peak use of each memory (``sram_bytes``: the arena the
    delegate's scratch needs; ``off_chip_flash_bytes``: where weights live in the
    Shared_Sram mode), ``traffic`` the bytes read and written per memory per inference,
    ``bandwidth_bytes_per_s`` each memory's design peak bandwidth.
    """

    source: str
    flags: tuple[str, ...]
    accelerator: str
    system_config: str
    memory_mode: str
    core_clock_hz: float
    arena_cache_bytes: int
    bandwidth_bytes_per_s: dict[str, float]
    weights_storage_area: str
    feature_map_storage_area: str
    inferences_per_second: float | None
    batch_size: int
    inference_time_s: float
    passes_before_fusing: int
    passes_after_fusing: int
    sram_bytes: int
    dram_bytes: int
    on_chip_flash_bytes: int
    off_chip_flash_bytes: int
    original_weight_bytes: int
    encoded_weight_bytes: int
    traffic: dict[str, dict[str, int]]
    nn_macs: int
    nn_tops: float
    cycles_npu: int
    cycles_sram_access: int
    cycles_dram_access: int
    cycles_on_chip_flash_access: int
    cycles_off_chip_flash_access: int
    cycles_total: int
    layers: tuple[LayerEstimate, ...] = ()

    @property
    def vela_version(self) -> str:
        """The Vela version of ``source`` (``"5.1.0"``)."""
        return self.source.partition(" ")[2]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the fields above in order, ``layers`` as a list of dicts."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "flags":
                value = list(value)
            elif f.name == "layers":
                value = [layer.to_dict() for layer in value]
            elif f.name == "traffic":
                value = {m: dict(v) for m, v in value.items()}
            elif isinstance(value, dict):
                value = dict(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, d: Any) -> VelaEstimate:
        """Read :meth:`to_dict`'s output back, checking every key, type and the sums that
        tie the layers to the totals; raises TypeError/ValueError on anything else."""
        names = [f.name for f in fields(cls)]
        d = _exact_keys(d, names, "estimate")
        flags = d["flags"]
        if type(flags) is not list or not all(type(x) is str for x in flags):
            raise TypeError("flags: expected a list of strings")
        bandwidth = _exact_keys(d["bandwidth_bytes_per_s"], MEMORIES, "bandwidth_bytes_per_s")
        traffic = _exact_keys(d["traffic"], MEMORIES, "traffic")
        layers = d["layers"]
        if type(layers) is not list:
            raise TypeError("layers: expected a list")
        est = cls(
            source=_str(d["source"], "source"),
            flags=tuple(flags),
            accelerator=_str(d["accelerator"], "accelerator"),
            system_config=_str(d["system_config"], "system_config"),
            memory_mode=_str(d["memory_mode"], "memory_mode"),
            core_clock_hz=_float(d["core_clock_hz"], "core_clock_hz"),
            arena_cache_bytes=_count(d["arena_cache_bytes"], "arena_cache_bytes"),
            bandwidth_bytes_per_s={m: _float(bandwidth[m], f"bandwidth_bytes_per_s.{m}") for m in MEMORIES},
            weights_storage_area=_str(d["weights_storage_area"], "weights_storage_area"),
            feature_map_storage_area=_str(d["feature_map_storage_area"], "feature_map_storage_area"),
            inferences_per_second=_float(d["inferences_per_second"], "inferences_per_second", optional=True),
            batch_size=_count(d["batch_size"], "batch_size"),
            inference_time_s=_float(d["inference_time_s"], "inference_time_s"),
            passes_before_fusing=_count(d["passes_before_fusing"], "passes_before_fusing"),
            passes_after_fusing=_count(d["passes_after_fusing"], "passes_after_fusing"),
            sram_bytes=_count(d["sram_bytes"], "sram_bytes"),
            dram_bytes=_count(d["dram_bytes"], "dram_bytes"),
            on_chip_flash_bytes=_count(d["on_chip_flash_bytes"], "on_chip_flash_bytes"),
            off_chip_flash_bytes=_count(d["off_chip_flash_bytes"], "off_chip_flash_bytes"),
            original_weight_bytes=_count(d["original_weight_bytes"], "original_weight_bytes"),
            encoded_weight_bytes=_count(d["encoded_weight_bytes"], "encoded_weight_bytes"),
            traffic={
                m: {k: _count(v, f"traffic.{m}.{k}") for k, v in _exact_keys(traffic[m], _TRAFFIC, f"traffic.{m}").items()}
                for m in MEMORIES
            },
            nn_macs=_count(d["nn_macs"], "nn_macs"),
            nn_tops=_float(d["nn_tops"], "nn_tops"),
            cycles_npu=_count(d["cycles_npu"], "cycles_npu"),
            cycles_sram_access=_count(d["cycles_sram_access"], "cycles_sram_access"),
            cycles_dram_access=_count(d["cycles_dram_access"], "cycles_dram_access"),
            cycles_on_chip_flash_access=_count(d["cycles_on_chip_flash_access"], "cycles_on_chip_flash_access"),
            cycles_off_chip_flash_access=_count(d["cycles_off_chip_flash_access"], "cycles_off_chip_flash_access"),
            cycles_total=_count(d["cycles_total"], "cycles_total"),
            layers=tuple(LayerEstimate.from_dict(x) for x in layers),
        )
        est.check()
        return est

    def check(self) -> None:
        """Check the sums Vela's figures satisfy: the layers' cycles, NPU cycles, access
        cycles and MACs add up to the totals, and the time is the cycles at the clock.

        Raises
        ------
        ValueError
            When a sum does not hold (a record that Vela did not write).
        """
        if self.core_clock_hz <= 0 or self.inference_time_s != self.cycles_total / self.core_clock_hz:
            raise ValueError("inference_time_s is not cycles_total / core_clock_hz")
        if not self.layers:
            return
        sums = {
            "cycles_total": sum(x.cycles for x in self.layers),
            "cycles_npu": sum(x.npu_cycles for x in self.layers),
            "nn_macs": sum(x.macs for x in self.layers),
            **{f"cycles_{m}_access": sum(getattr(x, f"{m}_access_cycles") for x in self.layers) for m in MEMORIES},
        }
        for name, total in sums.items():
            if getattr(self, name) != total:
                raise ValueError(f"{name} {getattr(self, name)} is not the sum of the layers' ({total})")


@dataclass(frozen=True, slots=True)
class DelegateMemory:
    """What an Ethos-U delegate's payload says about memory, without running anything.

    ``scratch_bytes`` is the scratch (arena) the delegate asks the runtime for,
    ``weight_bytes`` its encoded weights and ``command_stream_bytes`` its NPU command
    stream (None when that block is external: it then lives in the program's named data
    store, listed in ``external_blocks``); ``input_bytes``/``output_bytes`` the bytes of the
    NPU graph's inputs and outputs as Vela laid them out.
    """

    scratch_bytes: int | None
    weight_bytes: int | None
    command_stream_bytes: int | None
    input_bytes: int
    output_bytes: int
    external_blocks: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``"memory"`` of an Ethos-U delegate)."""
        return {
            "scratch_bytes": self.scratch_bytes,
            "weight_bytes": self.weight_bytes,
            "command_stream_bytes": self.command_stream_bytes,
            "input_bytes": self.input_bytes,
            "output_bytes": self.output_bytes,
            "external_blocks": list(self.external_blocks),
        }


@dataclass(frozen=True, slots=True)
class DelegateEstimate:
    """The outcome of estimating one delegate: an estimate, or why there is none.

    Exactly one of ``estimate``, ``skipped`` (nothing to compile: not an Ethos-U delegate,
    no dump joined, an ambiguous join) and ``error`` (the flags were refused, Vela rejected
    the dump, crashed or timed out) is set. ``tosa_file`` is the dump compiled (base name).
    """

    method: str
    delegate: int
    estimate: VelaEstimate | None = None
    skipped: str | None = None
    error: str | None = None
    tosa_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The keys a delegate's JSON gains: ``estimate`` (None without one) and, without
        one, ``estimate_skipped`` or ``estimate_error``."""
        out: dict[str, Any] = {"estimate": self.estimate.to_dict() if self.estimate else None}
        if self.skipped is not None:
            out["estimate_skipped"] = self.skipped
        if self.error is not None:
            out["estimate_error"] = self.error
        return out
