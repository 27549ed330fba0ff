"""What a merge saves in time: lower the what-if partitions to TOSA and estimate them with Vela.

:func:`edgeinspect.export.partitioner.whatif_partitions` counts the partitions the real
partitioner makes when given operators are treated as supported. Here the same partitioning
is carried through the Arm lowering: each partition becomes the TOSA graph the Ethos-U
backend would hand to Vela (``TOSABackend`` with the TOSA settings the Ethos-U compile spec
derives, exactly what ``EthosUBackend.preprocess`` does before it calls Vela), and each graph
is estimated by :func:`edgeinspect.estimate.estimate_dump` with the delegate's own Vela
flags. Done twice, without and with the operators, it says how many cycles the merge saves.

The partitioner is rebuilt from the delegate's compile specs as stored in the ETRecord
(``EthosUCompileSpec._from_list``), without its dump directory: nothing is written beside
the user's files. A merged partition the target cannot run (U55 has no bilinear RESIZE,
GATHER or SELECT) is refused by the TOSA lowering or by Vela: the result then says which and
why (:attr:`MergeEstimate.reason`) instead of a figure.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from edgeinspect.errors import UsageError
from edgeinspect.estimate import VelaError, VelaEstimate, estimate_dump
from edgeinspect.estimate._util import shown
from edgeinspect.export.partitioner import (
    _ORIGIN,
    _quiet,
    _register_whatif,
    _restore_arm_annotations,
    delegate_modules,
    load_edge_programs,
    unlower,
)

__all__ = ["MergeEstimate", "PartitionEstimate", "estimate_merge", "lower_partitions_to_tosa"]


@dataclass(frozen=True, slots=True)
class PartitionEstimate:
    """One partition of a re-partitioned method, lowered to TOSA and estimated.

    ``merges`` lists the delegate calls of the exported method (positions in call order, or
    the program's delegate indices when :func:`estimate_merge` was given the program) whose
    operators this partition holds; ``cpu_nodes`` the nodes it takes from the CPU.
    ``estimate`` is Vela's estimate, or ``error`` why there is none.
    """

    merges: tuple[int, ...]
    cpu_nodes: tuple[str, ...]
    tosa_bytes: int
    estimate: VelaEstimate | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``estimate`` as in ``inspect --estimate``)."""
        return {
            "merges": list(self.merges),
            "cpu_nodes": list(self.cpu_nodes),
            "tosa_bytes": self.tosa_bytes,
            "estimate": self.estimate.to_dict() if self.estimate else None,
            **({"estimate_error": self.error} if self.error else {}),
        }


@dataclass(frozen=True, slots=True)
class MergeEstimate:
    """The cost of a method's Ethos-U partitions as exported (``before``) and with
    ``operators`` supported (``after``), each lowered to TOSA and estimated by Vela.

    ``reason`` says why no saving can be given (a partition could not be lowered to TOSA, or
    Vela refused one); then :attr:`cycles_saved` is None.
    """

    method: str
    operators: tuple[str, ...]
    target: str | None
    flags: tuple[str, ...]
    before: tuple[PartitionEstimate, ...]
    after: tuple[PartitionEstimate, ...]
    reason: str | None = None

    @staticmethod
    def _cycles(parts: tuple[PartitionEstimate, ...]) -> int | None:
        if not parts or any(p.estimate is None for p in parts):
            return None
        return sum(p.estimate.cycles_total for p in parts)  # type: ignore[union-attr]

    @property
    def cycles_before(self) -> int | None:
        """Predicted cycles of the partitions as exported (None when one has no estimate)."""
        return self._cycles(self.before)

    @property
    def cycles_after(self) -> int | None:
        """Predicted cycles of the partitions with the operators supported."""
        return self._cycles(self.after)

    @property
    def cycles_saved(self) -> int | None:
        """``cycles_before - cycles_after`` (negative when the merge costs cycles)."""
        before, after = self.cycles_before, self.cycles_after
        return None if before is None or after is None else before - after

    @property
    def core_clock_hz(self) -> float | None:
        """The clock of the system config the estimates used."""
        for p in (*self.after, *self.before):
            if p.estimate is not None:
                return p.estimate.core_clock_hz
        return None

    @property
    def seconds_saved(self) -> float | None:
        """:attr:`cycles_saved` at the configured clock."""
        saved, clock = self.cycles_saved, self.core_clock_hz
        return None if saved is None or not clock else saved / clock

    @property
    def merged(self) -> tuple[tuple[int, ...], ...]:
        """The groups of exported delegate calls that one partition of ``after`` holds, when
        it holds more than one."""
        return tuple(p.merges for p in self.after if len(p.merges) > 1)

    def summary(self) -> str:
        """One sentence, e.g. ``merging delegates 0 and 1 saves 91,848 cycles (0.184 ms at 500 MHz)``."""
        saved, seconds, clock = self.cycles_saved, self.seconds_saved, self.core_clock_hz
        if self.reason is not None or saved is None or seconds is None or clock is None:
            return self.reason or "no estimate"
        groups = self.merged
        what = (
            "; ".join("merging delegates " + " and ".join(map(str, g)) for g in groups)
            if groups
            else f"supporting {', '.join(self.operators)} merges no delegates but"
        )
        verb = "saves" if saved >= 0 else "costs"
        return f"{what} {verb} {abs(saved):,} cycles ({abs(seconds) * 1e3:.3g} ms at {clock / 1e6:g} MHz)"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "method": self.method,
            "operators": list(self.operators),
            "target": self.target,
            "flags": list(self.flags),
            "delegates_before": len(self.before),
            "delegates_after": len(self.after),
            "cycles_before": self.cycles_before,
            "cycles_after": self.cycles_after,
            "cycles_saved": self.cycles_saved,
            "seconds_saved": self.seconds_saved,
            "core_clock_hz": self.core_clock_hz,
            "merged": [list(g) for g in self.merged],
            "reason": self.reason,
            "summary": self.summary(),
            "before": [p.to_dict() for p in self.before],
            "after": [p.to_dict() for p in self.after],
        }


def _ethos_u_compile_spec(ep: Any) -> Any:
    """The Ethos-U compile spec of the method's first delegate, without its dump path."""
    from executorch.backends.arm.ethosu.compile_spec import EthosUCompileSpec

    modules = delegate_modules(ep)
    if not modules:
        raise UsageError("the method has no delegate calls in the ETRecord: nothing to merge")
    first = modules[0]
    if first.backend_id != "EthosUBackend":
        raise UsageError(f"Vela estimates Ethos-U delegates; this method's delegates are {first.backend_id}")
    specs = [cs for cs in first.compile_specs if cs.key != "debug_artifact_path"]
    return EthosUCompileSpec._from_list(specs)


def lower_partitions_to_tosa(
    ep: Any, compile_spec: Any, operators: Iterable[str] = ()
) -> list[tuple[bytes, tuple[int, ...], tuple[str, ...]]]:
    """Re-partition an ETRecord method with ``operators`` supported and lower each partition to TOSA.

    Returns, per delegate call of the re-lowered program in call order, the TOSA flatbuffer,
    the positions of the exported delegate calls whose nodes it holds and the names of the
    CPU nodes it took in.

    Raises
    ------
    Exception
        Whatever the Arm lowering raises for a partition it cannot lower.
    """
    from executorch.backends.arm.ethosu import EthosUPartitioner
    from executorch.backends.arm.tosa.backend import TOSABackend
    from executorch.exir.backend.backend_api import to_backend
    from executorch.exir.backend.partitioner import DelegationSpec, Partitioner

    program = unlower(ep)
    partitioner = EthosUPartitioner(compile_spec)
    partitioner._edgeinspect_whatif = set(operators)
    _restore_arm_annotations(program)
    _register_whatif(partitioner, program)
    tosa_spec = DelegationSpec("TOSABackend", TOSABackend.filter_tosa_compile_specs(compile_spec)._to_list())

    class EthosUPartitionsAsTosa(Partitioner):
        """The Ethos-U partitioner's partitions, each lowered by the TOSA backend alone: the
        graph ``EthosUBackend.preprocess`` would give Vela, without running Vela here."""

        def __init__(self) -> None:
            super().__init__()
            self.delegation_spec = tosa_spec

        def partition(self, exported_program: Any) -> Any:
            result = partitioner.partition(exported_program)
            for tag in result.partition_tags:
                result.partition_tags[tag] = tosa_spec
            return result

        def ops_to_not_decompose(self, exported_program: Any) -> Any:
            return partitioner.ops_to_not_decompose(exported_program)

    with _quiet():
        lowered = to_backend(program, EthosUPartitionsAsTosa())
    out = []
    for module in delegate_modules(lowered):
        nodes = [n for n in module.original_module.graph.nodes if n.op == "call_function"]
        origins = sorted({n.meta[_ORIGIN] for n in nodes if isinstance(n.meta.get(_ORIGIN), int)})
        cpu = tuple(n.name for n in nodes if n.meta.get(_ORIGIN) == "cpu")
        out.append((bytes(module.processed_bytes), tuple(origins), cpu))
    return out


def _estimated(
    lowered: list[tuple[bytes, tuple[int, ...], tuple[str, ...]]], flags: str, target: str | None, index_of: list[int] | None, cache: bool
) -> tuple[PartitionEstimate, ...]:
    parts = []
    for data, origins, cpu in lowered:
        merges = tuple(index_of[k] for k in origins) if index_of is not None else origins
        try:
            est, err = estimate_dump(data, flags, target=target, cache=cache), None
        except VelaError as e:
            est, err = None, str(e)
        parts.append(PartitionEstimate(merges, cpu, len(data), est, err))
    return tuple(parts)


def estimate_merge(
    etrecord: str | os.PathLike[str],
    operators: Iterable[str],
    *,
    method: str = "forward",
    program: Any = None,
    cache: bool = True,
) -> MergeEstimate:
    """Predicted cycles of a method's Ethos-U partitions as exported and with ``operators`` supported.

    Parameters
    ----------
    etrecord : path
        The ETRecord of the export (trusted input: loading it runs torch deserialization).
    operators : iterable of str
        Base operator names treated as supported, such as ``aten::sum``.
    method : str
        The method to re-partition.
    program : Program, optional
        The .pte: partitions then name the program's delegate indices (the ETRecord's
        delegate calls matched to the program's in call order) instead of call positions.
    cache : bool
        Use the estimate cache.

    Returns
    -------
    MergeEstimate
        ``reason`` is set when a partition cannot be lowered to TOSA or Vela refuses one.

    Raises
    ------
    UsageError
        When the method is not in the ETRecord, its delegates are not Ethos-U, the program
        does not match the ETRecord, or Vela is not installed.
    """
    ops = tuple(operators)
    programs = load_edge_programs(etrecord)
    if method not in programs:
        raise UsageError(f"no method {method!r} in the ETRecord (methods: {', '.join(sorted(programs))})")
    ep = programs[method]
    compile_spec = _ethos_u_compile_spec(ep)
    flags = " ".join(compile_spec.compiler_flags)
    target = getattr(compile_spec, "target", None)
    index_of = None
    if program is not None:
        calls = [i.delegate for i in program.method(method).instructions if i.kind == "delegate"]
        if len(calls) != len(delegate_modules(ep)):
            raise UsageError(
                f"the ETRecord does not belong to this program: method {method!r} has {len(calls)} delegate call(s), "
                f"the ETRecord {len(delegate_modules(ep))}"
            )
        index_of = calls
    before = _estimated(lower_partitions_to_tosa(ep, compile_spec), flags, target, index_of, cache)
    try:
        lowered = lower_partitions_to_tosa(ep, compile_spec, ops)
    except Exception as err:  # the Arm lowering's own refusal, whatever its type
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        reason = f"the partitions with {', '.join(ops)} supported cannot be lowered to TOSA: {type(err).__name__}: {shown(first_line, 300)}"
        return MergeEstimate(method, ops, target, tuple(compile_spec.compiler_flags), before, (), reason)
    after = _estimated(lowered, flags, target, index_of, cache)
    reason = None
    refused = [p for p in (*before, *after) if p.error]
    if refused:
        p = refused[0]
        which = "merged " if p in after and len(p.merges) > 1 else ""
        reason = f"Vela cannot compile the {which}partition of delegates {' and '.join(map(str, p.merges)) or '-'} for {target}: {p.error}"
    return MergeEstimate(method, ops, target, tuple(compile_spec.compiler_flags), before, after, reason)
