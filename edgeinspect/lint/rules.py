"""The lint rules: stable codes, kebab-case names, default severities, and the checks.

Codes never change meaning once published. ``EI0xx`` are about the file itself,
``EI1xx`` about how fragmented the delegated graph is (absolute figures and
thresholds), ``EI2xx`` about growth against a committed baseline, ``EI3xx``
about hygiene of what the exporter stored, ``EI4xx`` about measured time (an ETDump)
and ``EI5xx`` about the memory a delegate needs (its payload, Vela's estimate).

Findings speak the numbering ``inspect`` uses: delegate ``d`` is the delegate table's index
(``[delegate d]``), instruction ``i`` the position in the method's instruction list; both are
said, labelled, wherever a finding names a delegate call. Findings of one rule and one cause
(the same operators making 300 islands, the same path stored in 300 delegates) are one
finding that lists every instance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from edgeinspect.textsafe import NAME_LIMIT, abbreviate

__all__ = [
    "RULES",
    "SEVERITIES",
    "Finding",
    "Rule",
    "SourceLine",
    "absolute_paths",
    "check_budgets",
    "check_fallbacks",
    "check_method",
    "check_program",
    "rule",
    "source_line",
]

#: Severities, most severe first. ``note`` findings are reported but never fail the run.
SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True, slots=True)
class Rule:
    """A lint rule.

    Attributes
    ----------
    code : str
        Stable code, e.g. ``"EI101"``.
    name : str
        Stable kebab-case name, e.g. ``"fragmented-delegation"``.
    severity : str
        Default severity (``error``, ``warning`` or ``note``).
    summary : str
        One sentence: what the rule reports.
    fix : str
        One sentence: what to do about it.
    default : bool
        Whether the rule runs when nothing selects it explicitly. Threshold rules run
        only once their threshold is set, whatever this says.
    """

    code: str
    name: str
    severity: str
    summary: str
    fix: str
    default: bool = True


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule(
            "EI001",
            "invalid-model",
            "error",
            "The file cannot be read as an ExecuTorch program (.pte) or TOSA flatbuffer (.tosa): truncated, corrupt or of another format.",
            "Re-export the model, or exclude the file from the lint (--exclude / `exclude` in the config).",
        ),
        Rule(
            "EI101",
            "fragmented-delegation",
            "error",
            "A backend runs a method as more delegated subgraphs than allowed (--max-delegates, default 1 per backend).",
            "Run `edgeinspect explain FILE` to see which operators split the graph and how to keep them on the backend.",
        ),
        Rule(
            "EI102",
            "cpu-island",
            "error",
            "Operators that are not quantize/dequantize glue run on the CPU between two delegate calls.",
            "Replace or rewrite the named operators so the backend accepts them, or move them before/after the delegated region.",
        ),
        Rule(
            "EI103",
            "too-many-transitions",
            "error",
            "Execution crosses between CPU and a backend more often than --max-transitions allows.",
            "Reduce the number of CPU islands (see EI102 and `edgeinspect explain`).",
        ),
        Rule(
            "EI104",
            "boundary-bytes-exceeded",
            "error",
            "More bytes cross delegate boundaries than --max-boundary-bytes allows.",
            "Merge delegates or keep large intermediate tensors inside one delegate.",
        ),
        Rule(
            "EI105",
            "low-coverage",
            "error",
            "Fewer operators are delegated than --min-coverage requires.",
            "Run `edgeinspect explain FILE` to see which operators stay on the CPU.",
        ),
        Rule(
            "EI106",
            "coverage-unknown",
            "warning",
            "--min-coverage is set but coverage cannot be measured: the operators inside a delegate are not known.",
            "Pass the dumped .tosa files (--tosa) or use a backend whose payload lists its operators.",
        ),
        Rule(
            "EI107",
            "no-delegation",
            "warning",
            "A method has no delegate call at all: everything runs on the CPU.",
            "Check that the partitioner ran; ignore the rule (--ignore EI107) for CPU-only models.",
        ),
        Rule(
            "EI120",
            "cpu-fallback",
            "warning",
            "An operator that is not glue runs on the CPU without splitting the delegated graph: before the first "
            "delegate call, after the last, or in a method with nothing delegated (off by default: select it to gate on "
            "'nothing falls back'; operators in `allowed-fallbacks` are let through).",
            "Run `edgeinspect explain FILE` for why the partitioner left it and how to move it onto the backend, or list "
            "it in `allowed-fallbacks`.",
            default=False,
        ),
        Rule(
            "EI201",
            "baseline-growth",
            "error",
            "A figure grew against the baseline: more delegates, new CPU islands, more transitions or more boundary bytes.",
            "Fix the regression, or accept it by rewriting the baseline with --write-baseline.",
        ),
        Rule(
            "EI301",
            "absolute-path-in-compile-specs",
            "warning",
            "A delegate's compile specs store an absolute path (e.g. debug_artifact_path), "
            "leaking the build machine's layout into the model.",
            "Export without dumping intermediate artifacts, or with a relative dump path.",
        ),
        Rule(
            "EI401",
            "cpu-share-exceeded",
            "error",
            "A measured share of the method's execute time above --max-cpu-share runs outside delegates "
            "(CPU islands, quantize/dequantize glue, other CPU kernels, control flow, runtime overhead).",
            "Run `edgeinspect explain FILE --etdump F` to see which operators cost the most time and how to delegate them.",
        ),
        Rule(
            "EI402",
            "cpu-share-unknown",
            "warning",
            "--max-cpu-share is set but the method has no measured time: no ETDump was given or found beside the model.",
            "Pass --etdump F (one FILE), or keep the run's <stem>.etdp beside the .pte.",
        ),
        Rule(
            "EI501",
            "scratch-bytes-exceeded",
            "error",
            "An Ethos-U delegate asks for more scratch (arena) memory than --max-scratch-bytes allows for its target "
            "(the scratch_size its payload declares; no Vela needed).",
            "Split the model, reduce the intermediate tensors, or compile with a memory mode that fits the target.",
        ),
        Rule(
            "EI502",
            "sram-bytes-exceeded",
            "error",
            "Vela estimates that an Ethos-U delegate uses more SRAM than --max-sram-bytes allows for its target (--estimate).",
            "Reduce the delegate's working set (smaller intermediate tensors), or compile for a memory mode with more SRAM.",
        ),
        Rule(
            "EI503",
            "memory-unknown",
            "warning",
            "A memory limit (--max-scratch-bytes, --max-sram-bytes) is set but a delegate's figure is not known "
            "(an external scratch block; no --estimate, no joined .tosa dump, or Vela refused the dump).",
            "Pass --estimate with the delegates' .tosa dumps (<stem>.tosa.d or --tosa), or ignore the rule for such models.",
        ),
    )
}


def rule(code: str) -> Rule:
    """The rule with this code."""
    return RULES[code]


@dataclass(frozen=True, slots=True)
class SourceLine:
    """The line of the user's Python code a finding comes from: an ETRecord's provenance, or the
    frames a program exported with ``emit_stacktrace=True`` carries.

    Attributes
    ----------
    file : str
        The file as recorded at export (untrusted text: every output escapes it).
    line : int
        Its line (1-based).
    end_line : int or None
        The last line, when the operators of a delegate span several lines of ``file``.
    module : str or None
        The module it ran in, the user's way: ``nn.Upsample at features.2``.
    path : str or None
        The same file relative to the repository root (POSIX separators) when it is a regular
        file there: what SARIF and GitHub annotations point at. None when it is not found.
    """

    file: str
    line: int
    end_line: int | None = None
    module: str | None = None
    path: str | None = None

    @property
    def location(self) -> str:
        """``file:line`` (``file:line-end`` for a span), with the repository path when known."""
        span = f"-{self.end_line}" if self.end_line else ""
        return f"{self.path or self.file}:{self.line}{span}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"file": self.file, "line": self.line, "end_line": self.end_line, "module": self.module, "path": self.path}


def source_line(source: Any) -> SourceLine | None:
    """The :class:`SourceLine` of a :class:`~edgeinspect.model.source.Source`: its user frame
    (or the user frame that called into library code), or None when it names no line."""
    from edgeinspect.model.source import module_label

    if source is None:
        return None
    file, line = source.file, source.line
    if (file is None or line is None) and source.caller is not None:
        file, line = source.caller.file, source.caller.line
    if not isinstance(file, str) or not file or not isinstance(line, int) or isinstance(line, bool) or line < 1:
        return None
    module = None
    if source.module_type:
        module = module_label(source.module_type) + (f" at {source.module_path}" if source.module_path else "")
    end = source.end_line if isinstance(source.end_line, int) and source.end_line > line else None
    return SourceLine(file, line, end, module)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in one file, or one rule's findings of one cause grouped (``count`` > 1).

    Attributes
    ----------
    code : str
        Rule code.
    path : str
        The file, as given on the command line (or found under a directory given there).
    message : str
        What is wrong, with the figures (and their units).
    severity : str
        Effective severity (after configuration).
    offset : int or None
        Byte offset in the file the finding points at (a delegate, an instruction...).
    method : str or None
        The method it concerns.
    instruction : int or None
        The instruction it points at (execution order; None for a method-wide finding).
    instructions : tuple of int
        Every instance grouped into this finding (the first kernel of each CPU island, the
        first call of each delegate); empty for a finding of one instance that is not an
        instruction.
    source : SourceLine or None
        The user's line it comes from (the first instance's), when provenance is known.
    related : tuple of SourceLine
        The other lines the grouped instances come from, without repeats.
    figures : mapping
        The measured figures behind the message, for machines (JSON, SARIF properties).
    """

    code: str
    path: str
    message: str
    severity: str
    offset: int | None = None
    method: str | None = None
    instruction: int | None = None
    instructions: tuple[int, ...] = ()
    source: SourceLine | None = None
    related: tuple[SourceLine, ...] = ()
    figures: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def name(self) -> str:
        """The rule's kebab-case name."""
        return RULES[self.code].name

    @property
    def count(self) -> int:
        """How many instances this finding groups (1 for a single one)."""
        return max(1, len(self.instructions))

    def with_severity(self, severity: str) -> Finding:
        """The same finding with another severity."""
        return self if severity == self.severity else replace(self, severity=severity)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "path": self.path,
            "offset": self.offset,
            "method": self.method,
            "instruction": self.instruction,
            "instructions": list(self.instructions),
            "count": self.count,
            "message": self.message,
            "source": self.source.to_dict() if self.source else None,
            "related_sources": [s.to_dict() for s in self.related],
            "figures": dict(self.figures),
            "fix": RULES[self.code].fix,
        }


# An absolute POSIX path, a Windows drive path or a UNC path, starting at a token boundary
# (so "a/b" or "1/2" never match).
_ABSOLUTE_PATH = re.compile(r"""(?:^|(?<=[\s=,;:"'(\[{]))(/[^\s/"',;][^\s"',;]*|[A-Za-z]:[\\/][^\s"',;]*|\\\\[^\s"',;]+)""")


def absolute_paths(text: str) -> list[str]:
    """Absolute file-system paths found in a compile-spec value.

    Examples
    --------
    >>> absolute_paths("/builds/arm_dump")
    ['/builds/arm_dump']
    >>> absolute_paths("--accelerator-config=ethos-u55-128 --output-dir=/srv/ci/out")
    ['/srv/ci/out']
    >>> absolute_paths("TOSA-1.0+INT+int16")
    []
    >>> absolute_paths("C:\\\\build\\\\dump")
    ['C:\\\\build\\\\dump']
    """
    return [m.group(1) for m in _ABSOLUTE_PATH.finditer(text)]


def _names(names: list[str], shown: int) -> str:
    """The first ``shown`` names, abbreviated, and how many more there are."""
    text = ", ".join(abbreviate(n, NAME_LIMIT) for n in names[:shown])
    return text + (f", +{len(names) - shown} more" if len(names) > shown else "")


def numbers(items: Iterable[Any], shown: int = 8) -> str:
    """The first ``shown`` items and how many more there are: how a finding lists instances.

    Examples
    --------
    >>> numbers([1, 3, 5])
    '1, 3, 5'
    >>> numbers(range(0, 600, 2), shown=4)
    '0, 2, 4, 6, +296 more'
    """
    items = list(items)
    text = ", ".join(str(x) for x in items[:shown])
    return text + (f", +{len(items) - shown} more" if len(items) > shown else "")


def _span(indices: list[int]) -> str:
    """``4`` or ``2-4`` for consecutive instruction indices, else the list."""
    if len(indices) > 1 and indices == list(range(indices[0], indices[0] + len(indices))):
        return f"{indices[0]}-{indices[-1]}"
    return numbers(indices)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _call(ins: Any, index: int) -> str:
    """``delegate 1 (instruction 5)``: a delegate call in inspect's numbering, both labelled."""
    if ins is not None and ins.kind == "delegate" and ins.delegate is not None:
        return f"delegate {ins.delegate} (instruction {ins.index})"
    return f"instruction {index}"


def _sources(lines: Iterable[SourceLine | None]) -> tuple[SourceLine | None, tuple[SourceLine, ...]]:
    """The first known line, and the other distinct lines, in order."""
    seen: dict[tuple[str, int, int | None], SourceLine] = {}
    for s in lines:
        if s is not None:
            seen.setdefault((s.file, s.line, s.end_line), s)
    found = list(seen.values())
    return (found[0], tuple(found[1:])) if found else (None, ())


def _first_calls(method: Any) -> dict[int, Any]:
    """Delegate index -> its first delegate call (instruction)."""
    out: dict[int, Any] = {}
    for ins in method.instructions:
        if ins.kind == "delegate" and ins.delegate is not None and ins.delegate not in out:
            out[ins.delegate] = ins
    return out


class _Sources:
    """Source lines of a method's instructions and delegates (nothing when provenance is unknown)."""

    def __init__(self, sources: Any) -> None:
        self.sources = sources
        self._memo: dict[int, SourceLine | None] = {}

    def instruction(self, index: int) -> SourceLine | None:
        if self.sources is None:
            return None
        if index not in self._memo:
            self._memo[index] = source_line(self.sources.instruction(index))
        return self._memo[index]

    def delegate(self, index: int, call: Any) -> SourceLine | None:
        """A delegate's lines: its call's merged source, else the first of its operators with one."""
        found = self.instruction(call.index) if call is not None else None
        if found is None and self.sources is not None:
            for op in self.sources.delegates.get(index, ()):
                found = source_line(op.source)
                if found is not None:
                    break
        return found


def check_program(program: Any, path: str) -> list[Finding]:
    """Program-wide hygiene findings (EI301), with default severities: delegates of one method that
    store the same absolute path in the same compile spec are one finding."""
    out = []
    for method in program.methods:
        name = abbreviate(method.name)
        calls = _first_calls(method)
        groups: dict[tuple[str, str, str], list[Any]] = {}
        for d in method.delegates:
            for cs in d.compile_specs:
                found = absolute_paths(cs.text) if cs.value else []
                if found:
                    groups.setdefault((d.backend_id, cs.key, found[0]), []).append(d)
        for (backend, key, found), delegates in groups.items():
            first = delegates[0]
            call = calls.get(first.index)
            at = tuple(calls[d.index].index for d in delegates if d.index in calls)
            stored = f"the absolute path {abbreviate(found)!r} in compile spec {abbreviate(key)!r}"
            if len(delegates) == 1:
                called = f", called at instruction {call.index}" if call is not None else ""
                message = f"delegate {first.index} ({abbreviate(backend)}{called}) of {name!r} stores {stored}"
            else:
                message = (
                    f"{len(delegates)} {abbreviate(backend)} delegates of {name!r} store {stored}: "
                    f"delegates {numbers(d.index for d in delegates)}"
                )
            out.append(
                Finding(
                    "EI301",
                    path,
                    message,
                    RULES["EI301"].severity,
                    first.offset,
                    name,
                    instruction=call.index if call is not None else None,
                    instructions=at if len(delegates) > 1 else (),
                    figures={"delegates": [d.index for d in delegates]},
                )
            )
    return out


def _cause_at(isl: dict[str, Any]) -> int:
    """The first kernel of an island that is one of its causes (its first kernel for glue only)."""
    causes = set(isl["causes"])
    for index, op in zip(isl["instructions"], isl["ops"], strict=False):
        if op in causes:
            return index
    return isl["instructions"][0]


def check_method(method: Any, figures: dict[str, Any], settings: Any, path: str, *, sources: Any = None) -> list[Finding]:
    """Fragmentation findings for one method (EI101-EI107), with default severities.

    ``figures`` is :func:`edgeinspect.analysis.figures.method_figures` of the method; ``settings``
    the effective :class:`~edgeinspect.lint.config.Settings` for the file; ``sources`` the
    method's :class:`~edgeinspect.model.source.MethodSources` when provenance is known. CPU
    islands of the same causes are one EI102 finding listing every island.
    """
    out: list[Finding] = []
    name = abbreviate(method.name)  # names from the file are shown abbreviated (their length said)
    calls = {i.index: i for i in method.instructions}
    delegates = figures["delegated_subgraphs"]
    lines = _Sources(sources)

    def add(code: str, message: str, offset: int | None, **more: Any) -> None:
        out.append(Finding(code, path, message, RULES[code].severity, offset, name, **more))

    if not delegates and any(i.kind == "kernel" for i in method.instructions):
        add("EI107", f"{name!r}: no delegate call, all {figures['kernel_calls']} kernel calls run on the CPU", method.offset)
    for backend, count in delegates.items():
        limit = settings.limit("max_delegates", backend)
        if limit is None or count <= limit:
            continue
        own = [ins for ins in method.instructions if ins.kind == "delegate" and ins.name == backend]
        past = own[limit] if len(own) > limit else None  # the first delegate call past the limit
        islands = [isl for isl in figures["islands"] if backend in isl["backends"]]
        causes = list(dict.fromkeys(c for isl in islands for c in isl["causes"]))
        why = f"; split by {_names(causes, 5)}" if causes else ""
        first_past = f"; the first past the limit is {_call(past, past.index)}" if past is not None else ""
        split_at = next((_cause_at(isl) for isl in islands if isl["causes"]), None)
        add(
            "EI101",
            f"{name!r}: {abbreviate(backend)} runs as {count} delegated subgraphs (max {limit}): "
            f"delegates {numbers(ins.delegate for ins in own)}{why}{first_past}",
            past.offset if past is not None else method.offset,
            instruction=past.index if past is not None else None,
            source=lines.instruction(split_at) if split_at is not None else None,
            figures={
                "backend": abbreviate(backend),
                "delegate_calls": count,
                "max_delegates": limit,
                "causes": [abbreviate(c) for c in causes],
            },
        )
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for isl in figures["islands"]:
        groups.setdefault(tuple(isl["causes"]), []).append(isl)
    for causes, members in groups.items():
        first = members[0]
        cause_text = _names(list(causes), 10) if causes else "only quantize/dequantize glue"
        before, after = first["between"]
        between = f"between {_call(calls.get(before), before)} and {_call(calls.get(after), after)}"
        if len(members) == 1:
            n = len(first["instructions"])
            message = (
                f"{name!r}: CPU island of {_plural(n, 'kernel call')} (instruction{'s' if n != 1 else ''} "
                f"{_span(first['instructions'])}) {between}: {cause_text}"
            )
        else:
            message = (
                f"{name!r}: {len(members)} CPU islands of {cause_text}, at instructions "
                f"{numbers(_span(isl['instructions']) for isl in members)}; the first {between}"
            )
        source, related = _sources(lines.instruction(_cause_at(isl)) for isl in members)
        head = calls.get(first["instructions"][0])
        add(
            "EI102",
            message,
            head.offset if head is not None else method.offset,
            instruction=first["instructions"][0],
            instructions=tuple(isl["instructions"][0] for isl in members),
            source=source,
            related=related,
            figures={
                "islands": len(members),
                "kernel_calls": sum(len(isl["instructions"]) for isl in members),
                "causes": [abbreviate(c) for c in causes],
            },
        )
    limit = settings.limit("max_transitions")
    if limit is not None and figures["transitions"] > limit:
        add("EI103", f"{name!r}: {figures['transitions']} CPU<->backend transitions (max {limit})", method.offset)
    limit = settings.limit("max_boundary_bytes")
    if limit is not None and figures["boundary_bytes"] > limit:
        add("EI104", f"{name!r}: {figures['boundary_bytes']:,} bytes cross delegate boundaries (max {limit:,})", method.offset)
    for backend, nbytes in figures["boundary_bytes_by_backend"].items():
        limit = settings.limit("max_boundary_bytes", backend, fallback=False)
        if limit is not None and nbytes > limit:
            add(
                "EI104",
                f"{name!r}: {nbytes:,} bytes cross the boundaries of {abbreviate(backend)} delegates (max {limit:,})",
                method.offset,
            )
    minimum = settings.limit("min_coverage")
    if minimum is not None:
        coverage = figures["coverage"]
        if coverage is None:
            add(
                "EI106",
                f"{name!r}: coverage is unknown (operators inside the delegates are not known: pass their .tosa dumps with "
                f"--tosa or keep them in <stem>.tosa.d), cannot check --min-coverage {minimum}",
                method.offset,
            )
        elif coverage < minimum:
            add("EI105", f"{name!r}: coverage {coverage:.1%} is below the minimum {minimum:.1%}", method.offset)
    return out


_SHARE_NAMES = (
    ("cpu_islands", "CPU islands"),
    ("glue", "glue (q/dq)"),
    ("cpu_other", "other CPU kernels"),
    ("control", "control flow"),
    ("runtime", "runtime"),
)


def check_budgets(
    method: Any,
    settings: Any,
    path: str,
    *,
    profile: Any = None,
    profiled: bool = False,
    estimates: Mapping[int, Any] | None = None,
    memory: Callable[[Any], Any] | None = None,
    sources: Any = None,
) -> list[Finding]:
    """Budget findings for one method (EI401-EI402, EI501-EI503), with default severities.

    Budgets are limits of the device, not figures to hold steady, so they apply with a
    baseline too.

    Parameters
    ----------
    method : Method
    settings : Settings
        The effective settings of the file.
    path : str
    profile : MethodProfile, optional
        The method's measured time (an ETDump joined to it).
    profiled : bool
        Whether this is the method an ETDump is for (``--method``, default forward): only it
        can lack a profile (EI402).
    estimates : mapping, optional
        Delegate index -> :class:`~edgeinspect.estimate.DelegateEstimate` (``--estimate``);
        None when no estimate was asked for.
    memory : callable, optional
        Delegate -> :class:`~edgeinspect.estimate.DelegateMemory` or None (default:
        :func:`edgeinspect.estimate.delegate_memory`, which reads the payload).
    sources : MethodSources, optional
    """
    out: list[Finding] = []
    name = abbreviate(method.name)
    lines = _Sources(sources)
    calls = _first_calls(method)

    def add(code: str, message: str, offset: int | None, **more: Any) -> None:
        out.append(Finding(code, path, message, RULES[code].severity, offset, name, **more))

    limit = settings.limit("max_cpu_share")
    if limit is not None and profiled:
        delegated = profile.shares.get("delegates") if profile is not None else None
        if profile is None:
            add(
                "EI402",
                f"{name!r}: no measured time (no ETDump given or found beside the model), cannot check --max-cpu-share {limit:.1%}",
                method.offset,
            )
        elif delegated is None:
            add(
                "EI402",
                f"{name!r}: the ETDump holds no execute time for this method, cannot check --max-cpu-share {limit:.1%}",
                method.offset,
            )
        else:
            share = round(1.0 - delegated, 4)
            if share > limit:
                out.append(_cpu_share(method, profile, share, limit, path, name, lines))
    if settings.max_scratch_bytes or settings.max_sram_bytes:
        out.extend(_memory_findings(method, settings, path, name, calls, lines, estimates, memory))
    return out


def _cpu_share(method: Any, profile: Any, share: float, limit: float, path: str, name: str, lines: _Sources) -> Finding:
    """EI401: the share outside delegates, its parts, and the costliest CPU islands (those of one
    cause that take the most time, with the source of their first cause kernel)."""
    unit = profile.unit
    ticks = profile.category_ticks
    outside = sum(v for k, v in ticks.items() if k != "delegates")
    steady = profile.runs - profile.warmup_runs
    parts = ", ".join(f"{label} {profile.shares[k]:.1%}" for k, label in _SHARE_NAMES if profile.shares.get(k))
    warm = f" after {_plural(profile.warmup_runs, 'warm-up run')}" if profile.warmup_runs else ""
    source = abbreviate(profile.source) if profile.source else "the ETDump"
    message = (
        f"{name!r}: {share:.1%} of execute time runs outside delegates (max {limit:.1%}): {outside:,} of "
        f"{outside + ticks.get('delegates', 0):,} {unit} over {_plural(steady, 'run')}{warm} ({source})" + (f"; {parts}" if parts else "")
    )
    by_cause: dict[tuple[str, ...], list[Any]] = {}
    for ip in profile.islands:
        by_cause.setdefault(ip.island.causes, []).append(ip)
    costliest = max(by_cause.values(), key=lambda group: sum(ip.share or 0 for ip in group), default=None)
    instruction: int | None = None
    where: SourceLine | None = None
    if costliest:
        first = costliest[0].island
        what = _names(list(first.causes), 5) if first.causes else "glue"
        spent = sum(ip.share or 0 for ip in costliest)
        median = sum(ip.timing.median_ticks or 0 for ip in costliest)
        message += (
            f"; the costliest CPU islands: {len(costliest)} of {what} at instruction"
            f"{'s' if len(costliest) != 1 else ''} {numbers(ip.island.instructions[0] for ip in costliest)}, "
            f"{spent:.1%} of execute time, {median:,} {unit} per run (sum of medians)"
        )
        instruction = first.instructions[0]
        cause = next((i for i, op in zip(first.instructions, first.ops, strict=False) if op in first.causes), instruction)
        where = lines.instruction(cause)
    head = method.instructions[instruction] if instruction is not None and instruction < len(method.instructions) else None
    return Finding(
        "EI401",
        path,
        message,
        RULES["EI401"].severity,
        head.offset if head is not None else method.offset,
        name,
        instruction=instruction,
        source=where,
        figures={
            "cpu_share": share,
            "max_cpu_share": limit,
            "outside_ticks": outside,
            "delegate_ticks": ticks.get("delegates", 0),
            "unit": unit,
            "runs": profile.runs,
            "warmup_runs": profile.warmup_runs,
            "shares": dict(profile.shares),
            "etdump": profile.source,
        },
    )


def _memory_findings(
    method: Any,
    settings: Any,
    path: str,
    name: str,
    calls: dict[int, Any],
    lines: _Sources,
    estimates: Mapping[int, Any] | None,
    memory: Callable[[Any], Any] | None,
) -> list[Finding]:
    """EI501 / EI502 per method and target (naming the delegate that needs the most), EI503 per
    figure and reason."""
    if memory is None:
        from edgeinspect.estimate import delegate_memory as memory
    out: list[Finding] = []
    # (code, target) -> [(delegate, bytes)], and (figure, reason) -> [delegates]
    over: dict[tuple[str, str], list[tuple[Any, int]]] = {}
    limits: dict[tuple[str, str], int] = {}
    unknown: dict[tuple[str, str], list[Any]] = {}
    where: dict[tuple[str, str], str] = {}
    for d in method.delegates:
        if d.backend_id != "EthosUBackend":
            continue
        target = d.target or ""
        scratch_limit = settings.limit("max_scratch_bytes", target)
        if scratch_limit is not None:
            mem = memory(d)
            if mem is not None and mem.scratch_bytes is None:
                unknown.setdefault(("scratch", "its scratch_size block is external (in the program's named data)"), []).append(d)
            elif mem is not None and mem.scratch_bytes > scratch_limit:
                over.setdefault(("EI501", target), []).append((d, mem.scratch_bytes))
                limits[("EI501", target)] = scratch_limit
        sram_limit = settings.limit("max_sram_bytes", target)
        if sram_limit is not None:
            result = estimates.get(d.index) if estimates is not None else None
            if estimates is None:
                unknown.setdefault(("SRAM", "Vela's estimate needs --estimate"), []).append(d)
            elif result is None or result.estimate is None:
                why = (result.skipped or result.error) if result is not None else "no estimate"
                unknown.setdefault(("SRAM", f"no Vela estimate: {abbreviate(str(why), 300)}"), []).append(d)
            elif result.estimate.sram_bytes > sram_limit:
                key = ("EI502", target)
                over.setdefault(key, []).append((d, result.estimate.sram_bytes))
                limits[key] = sram_limit
                est = result.estimate
                where[key] = f"{abbreviate(est.source)} estimate, {abbreviate(est.system_config)}, {abbreviate(est.memory_mode)}"
    for (code, target), items in over.items():
        worst, most = max(items, key=lambda item: item[1])  # the first on a tie
        call = calls.get(worst.index)
        limit = limits[(code, target)]
        label = abbreviate(target) if target else "the default"
        what = "scratch (arena) memory" if code == "EI501" else "SRAM"
        origin = "the scratch_size its payload declares" if code == "EI501" else where[(code, target)]
        message = (
            f"{name!r}: delegate {worst.index}" + (f" (instruction {call.index})" if call is not None else "") + f" needs {most:,} B of "
            f"{what}, over the {label} limit of {limit:,} B ({origin})"
        )
        if len(items) > 1:
            message += f"; the most of {len(items)} delegates over it: " + numbers((f"delegate {d.index} {b:,} B" for d, b in items), 5)
        out.append(
            Finding(
                code,
                path,
                message,
                RULES[code].severity,
                call.offset if call is not None else worst.offset,
                name,
                instruction=call.index if call is not None else None,
                instructions=tuple(calls[d.index].index for d, _ in items if d.index in calls) if len(items) > 1 else (),
                source=lines.delegate(worst.index, call),
                figures={"target": target or None, "limit_bytes": limit, "most": worst.index, "bytes": {str(d.index): b for d, b in items}},
            )
        )
    for (figure, reason), delegates in unknown.items():
        first = delegates[0]
        call = calls.get(first.index)
        flag = "--max-scratch-bytes" if figure == "scratch" else "--max-sram-bytes"
        message = (
            f"{name!r}: the {figure} of delegate{'s' if len(delegates) != 1 else ''} {numbers(d.index for d in delegates)} "
            f"is unknown, so {flag} cannot be checked: {reason}"
        )
        out.append(
            Finding(
                "EI503",
                path,
                message,
                RULES["EI503"].severity,
                call.offset if call is not None else first.offset,
                name,
                instruction=call.index if call is not None else None,
                instructions=tuple(calls[d.index].index for d in delegates if d.index in calls) if len(delegates) > 1 else (),
                figures={"figure": figure, "delegates": [d.index for d in delegates]},
            )
        )
    return out


def check_fallbacks(program: Any, method: Any, settings: Any, path: str) -> list[Finding]:
    """``EI120 cpu-fallback``: one finding per operator of ``method`` that runs on the CPU
    without splitting the delegated graph (splitters are EI101/EI102's), unless its base name
    is in the settings' ``allowed_fallbacks``; pointed at its first call."""
    from edgeinspect.recommend.fallbacks import fallbacks, program_target

    allowed = set(getattr(settings, "allowed_fallbacks", ()))
    name = abbreviate(method.name)
    by_index = {i.index: i for i in method.instructions}
    out = []
    for f in fallbacks(method, target=program_target(program)):
        if f.splits or f.operator in allowed:
            continue
        first = by_index.get(f.instructions[0])
        out.append(
            Finding(
                "EI120",
                path,
                f"{name!r}: {abbreviate(f.operator, NAME_LIMIT)} falls back to the CPU ({f.count} call(s), {f.position}): "
                f"{abbreviate(f.reason, 160)}",
                RULES["EI120"].severity,
                first.offset if first is not None else method.offset,
                name,
            )
        )
    return out
