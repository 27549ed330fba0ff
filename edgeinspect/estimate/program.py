"""Estimates for the Ethos-U delegates of a program, and the memory their payloads declare."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from typing import Any

from edgeinspect.errors import EdgeInspectError, UsageError
from edgeinspect.estimate._util import shown
from edgeinspect.estimate.cache import EstimateCache, cache_key
from edgeinspect.estimate.flags import vela_flags
from edgeinspect.estimate.records import DelegateEstimate, DelegateMemory, LayerEstimate, VelaEstimate
from edgeinspect.estimate.vela import DEFAULT_TIMEOUT, VelaError, VelaInstall, find_vela, run_vela, run_vela_many
from edgeinspect.model import Delegate, Program

__all__ = ["delegate_memory", "estimate_dump", "estimate_program", "merge_estimate_missing"]

_ETHOS_U = "EthosUBackend"


def delegate_memory(delegate: Delegate) -> DelegateMemory | None:
    """What an Ethos-U delegate's payload says about memory (None for other backends).

    Raises
    ------
    FormatError
        When the payload is not a readable Vela stream.

    Examples
    --------
    >>> import edgeinspect
    >>> d = edgeinspect.load("tests/data/u55_cnn.pte").methods[0].delegates[0]
    >>> delegate_memory(d).scratch_bytes
    6912
    """
    if delegate.backend_id != _ETHOS_U:
        return None
    from edgeinspect.formats.ethosu import decode_ethosu

    return memory_of_stream(decode_ethosu(delegate.payload_view(), base=delegate.payload_offset))


def memory_of_stream(stream: Any) -> DelegateMemory:
    """:class:`DelegateMemory` of a decoded Vela stream (:class:`~edgeinspect.formats.ethosu.VelaStream`)."""
    return DelegateMemory(
        scratch_bytes=stream.scratch_bytes,
        weight_bytes=stream.weight_bytes,
        command_stream_bytes=stream.command_stream_bytes,
        input_bytes=sum(t.nbytes for t in stream.inputs),
        output_bytes=sum(t.nbytes for t in stream.outputs),
        external_blocks=tuple(sorted(stream.external_keys)),
    )


def _config_digest(flags: Iterable[str], install: VelaInstall) -> str:
    """SHA-256 over the config files the flags name (Vela reads them; editing one changes
    the estimate, so it changes the key)."""
    h = hashlib.sha256()
    for flag in flags:
        if flag.startswith("--config="):
            rel = flag.partition("=")[2]
            with open(os.path.join(install.config_dir, *rel.split("/")), "rb") as f:
                h.update(rel.encode() + b"\0" + hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def _prepared(data: bytes, compile_flags: Any, install: VelaInstall, target: str | None) -> tuple[tuple[str, ...], str, dict[str, Any]]:
    flags = vela_flags(compile_flags, install.config_dir, target=target)
    key, inputs = cache_key(hashlib.sha256(data).hexdigest(), flags, _config_digest(flags, install), install.version)
    return flags, key, inputs


def _link_layers(estimate: VelaEstimate, graph: Any) -> VelaEstimate:
    """Point each layer at the TOSA operator of the dump whose output it is named after."""
    block = getattr(graph, "main_block", None)
    if block is None or not estimate.layers:
        return estimate
    producer: dict[str, Any] = {}
    for op in block.operators:
        for name in op.outputs[:1]:
            producer.setdefault(name, op)
    from dataclasses import replace

    layers: list[LayerEstimate] = []
    for layer in estimate.layers:
        op = producer.get(layer.name)
        layers.append(replace(layer, tosa_op_index=op.index, tosa_op=op.op) if op is not None else layer)
    return replace(estimate, layers=tuple(layers))


def estimate_dump(
    data: bytes,
    compile_flags: str | Iterable[str],
    *,
    target: str | None = None,
    graph: Any = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> VelaEstimate:
    """Vela's estimate of one .tosa graph compiled with a delegate's flags.

    Parameters
    ----------
    data : bytes
        The .tosa file's bytes.
    compile_flags : str or iterable of str
        The delegate's ``compile_flags`` compile spec; checked by :func:`vela_flags`.
    target : str, optional
        The delegate's ``target`` compile spec (the accelerator when the flags name none).
    graph : TosaGraph, optional
        The same graph, read: layers then name the TOSA operator they come from.
    cache : bool
        Read and write the estimate cache (:mod:`edgeinspect.estimate.cache`).
    cache_dir : path, optional
        Another cache directory.
    timeout : float or None
        Seconds Vela may run.

    Raises
    ------
    UsageError
        When Vela is not installed (the message names the ``export`` extra).
    FlagError
        When the flags hold something that is not passed to Vela.
    VelaError
        When Vela rejects the graph, crashes or times out.
    """
    install = find_vela()
    flags, key, inputs = _prepared(bytes(data), compile_flags, install, target)
    store = EstimateCache(cache_dir) if cache else None
    found = store.get(key, inputs) if store else None
    if found is not None:
        return found
    estimate = _link_layers(run_vela(bytes(data), flags, install, timeout=timeout), graph)
    if store:
        store.put(key, inputs, estimate)
    return estimate


def _why_not(d: Delegate) -> str | None:
    """Why a delegate has nothing for Vela to compile, or None when it has."""
    if d.backend_id != _ETHOS_U:
        return f"not an Ethos-U delegate ({shown(d.backend_id)}): Vela estimates Ethos-U delegates only"
    if d.tosa_join is None:
        where = d.specs.get("debug_artifact_path")
        hint = f"; its compile specs say the dumps went to {shown(where)!r}" if where else ""
        return f"no .tosa dump joined: pass --tosa with the delegate's dumped .tosa file or directory{hint}"
    if d.tosa_join == "ambiguous":
        names = ", ".join(shown(n) for n in d.tosa_candidates)
        return f"several dumps match this delegate's inputs and outputs ({names}): which one it compiled cannot be told"
    if d.tosa is None:
        return "no dumped .tosa matches this delegate's inputs and outputs"
    return None


def _dump_bytes(graph: Any) -> bytes:
    from edgeinspect.formats._source import Source

    source = Source(graph.path)
    try:
        return bytes(source.data)
    finally:
        source.close()


def estimate_program(
    program: Program,
    *,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    methods: Iterable[str] | None = None,
) -> dict[str, dict[int, DelegateEstimate]]:
    """Vela's estimate for every Ethos-U delegate of a program joined to its dump.

    Each delegate's dump (joined by :func:`edgeinspect.join.attach_tosa`, or
    ``edgeinspect.load(path, tosa=...)``) is compiled by the installed Vela with the
    delegate's own ``compile_flags`` (checked by :func:`vela_flags`) plus
    ``--verbose-performance``, and Vela's summary and per-layer CSVs are read. Each dump is
    compiled once (delegates with the same dump and flags share it), in parallel (Vela
    imported once, one child process per dump: :func:`edgeinspect.estimate.run_vela_many`),
    and the estimates are cached (:mod:`edgeinspect.estimate.cache`).

    Parameters
    ----------
    program : Program
        A loaded .pte with its dumps joined.
    cache : bool
        Use the estimate cache (False: always run Vela, and store nothing).
    cache_dir : path, optional
        Another cache directory.
    jobs : int, optional
        Vela processes at a time (default: one per CPU core).
    timeout : float or None
        Seconds each Vela run may take.
    methods : iterable of str, optional
        Only these methods.

    Returns
    -------
    dict
        method name -> delegate index -> :class:`DelegateEstimate`, for every delegate: an
        estimate, or why there is none (``skipped``: not Ethos-U, no dump joined, ambiguous
        join; ``error``: flags refused, Vela rejected the dump, crashed or timed out). One
        delegate's failure never stops the others.

    Raises
    ------
    UsageError
        When ``program`` is not a .pte program, or Vela is needed and not installed (the
        message names the ``export`` extra).

    Examples
    --------
    >>> import edgeinspect
    >>> from edgeinspect.estimate import estimate_program
    >>> p = edgeinspect.load("tests/data/u55_cnn.pte", tosa="tests/data/u55_cnn.tosa.d")
    >>> est = estimate_program(p, cache=False)["forward"][0].estimate
    >>> est.cycles_total, est.sram_bytes
    (9984, 6912)
    """
    if not isinstance(program, Program):
        raise UsageError("--estimate compiles the Ethos-U delegates of a .pte program; the input here is not one")
    wanted = set(methods) if methods is not None else None
    results: dict[str, dict[int, DelegateEstimate]] = {}
    work: list[tuple[str, int, Delegate]] = []
    for m in program.methods:
        if wanted is not None and m.name not in wanted:
            continue
        results[m.name] = {}
        for d in m.delegates:
            reason = _why_not(d)
            if reason is not None:
                results[m.name][d.index] = DelegateEstimate(m.name, d.index, skipped=reason)
            else:
                work.append((m.name, d.index, d))
    if not work:  # nothing for Vela: it need not even be installed
        return results
    install = find_vela()
    store = EstimateCache(cache_dir) if cache else None
    jobs_by_key: dict[str, tuple[bytes, tuple[str, ...], dict[str, Any], Any]] = {}
    key_of: dict[tuple[str, int], str] = {}
    for method, index, d in work:
        name = d.tosa_file
        try:
            data = _dump_bytes(d.tosa)
            flags, key, inputs = _prepared(data, d.specs.get("compile_flags", ""), install, d.specs.get("target"))
        except (EdgeInspectError, OSError) as err:  # FlagError included: one delegate refused
            results[method][index] = DelegateEstimate(method, index, error=_message(err), tosa_file=name)
            continue
        key_of[(method, index)] = key
        jobs_by_key.setdefault(key, (data, flags, inputs, d.tosa))
    outcome: dict[str, VelaEstimate | str] = {}
    todo = []
    for key, (_, _, inputs, _) in jobs_by_key.items():
        found = store.get(key, inputs) if store else None
        if found is not None:
            outcome[key] = found
        else:
            todo.append(key)

    compiled = run_vela_many([jobs_by_key[k][:2] for k in todo], install, timeout=timeout, jobs=jobs)
    for key, got in zip(todo, compiled):
        if isinstance(got, VelaError):
            outcome[key] = _message(got)
            continue
        estimate = _link_layers(got, jobs_by_key[key][3])
        if store:
            store.put(key, jobs_by_key[key][2], estimate)
        outcome[key] = estimate
    for method, index, d in work:
        key = key_of.get((method, index))
        if key is None:
            continue
        got = outcome[key]
        if isinstance(got, str):
            results[method][index] = DelegateEstimate(method, index, error=got, tosa_file=d.tosa_file)
        else:
            results[method][index] = DelegateEstimate(method, index, estimate=got, tosa_file=d.tosa_file)
    return {m: dict(sorted(per.items())) for m, per in results.items()}


def _message(err: BaseException) -> str:
    text = str(err) if isinstance(err, EdgeInspectError) else f"cannot read the dump: {err.strerror or err}"  # type: ignore[attr-defined]
    return shown(text, 500)


def merge_estimate_missing(etrecord: str | os.PathLike[str] | None) -> str | None:
    """What estimating a merge (``edgeinspect.export.merge_estimate.estimate_merge``) needs
    and does not have here, in words for the user; None when nothing is missing.

    A merged partition exists only in the exporter's graph: it is re-partitioned and lowered
    from the ETRecord's edge program (torch and executorch), then compiled by Vela.

    Examples
    --------
    >>> merge_estimate_missing(None).split(":")[0]
    'an ETRecord of the export (pass --etrecord FILE, written by executorch.devtools.generate_etrecord)'
    """
    if etrecord is None:
        return (
            "an ETRecord of the export (pass --etrecord FILE, written by executorch.devtools.generate_etrecord): "
            "the merged partitions are lowered from its edge program"
        )
    if not os.path.isfile(etrecord):
        return f"the ETRecord {shown(os.fspath(etrecord))!r} (no such file)"
    import importlib.util

    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("executorch") is None:
        return "torch and executorch, to lower the merged partitions: pip install 'edgeinspect[export]'"
    try:
        find_vela()
    except UsageError as err:
        return str(err)
    return None
