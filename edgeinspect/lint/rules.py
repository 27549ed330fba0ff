"""The lint rules: stable codes, kebab-case names, default severities, and the checks.

Codes never change meaning once published. ``EI0xx`` are about the file itself,
``EI1xx`` about how fragmented the delegated graph is (absolute figures and
thresholds), ``EI2xx`` about growth against a committed baseline, and ``EI3xx``
about hygiene of what the exporter stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from edgeinspect.textsafe import NAME_LIMIT, abbreviate

__all__ = ["RULES", "SEVERITIES", "Finding", "Rule", "absolute_paths", "check_fallbacks", "check_method", "check_program", "rule"]

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
    )
}


def rule(code: str) -> Rule:
    """The rule with this code."""
    return RULES[code]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in one file.

    Attributes
    ----------
    code : str
        Rule code.
    path : str
        The file, as given on the command line (or found under a directory given there).
    message : str
        What is wrong, with the figures.
    severity : str
        Effective severity (after configuration).
    offset : int or None
        Byte offset in the file the finding points at (a delegate, an instruction...).
    method : str or None
        The method it concerns.
    """

    code: str
    path: str
    message: str
    severity: str
    offset: int | None = None
    method: str | None = None

    @property
    def name(self) -> str:
        """The rule's kebab-case name."""
        return RULES[self.code].name

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "path": self.path,
            "offset": self.offset,
            "method": self.method,
            "message": self.message,
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


def check_program(program: Any, path: str) -> list[Finding]:
    """Program-wide hygiene findings (EI301), in file order, with default severities."""
    out = []
    for method in program.methods:
        for d in method.delegates:
            for cs in d.compile_specs:
                found = absolute_paths(cs.text) if cs.value else []
                if found:
                    out.append(
                        Finding(
                            "EI301",
                            path,
                            f"delegate {d.index} ({abbreviate(d.backend_id)}) of {abbreviate(method.name)!r} stores the absolute "
                            f"path {abbreviate(found[0])!r} in compile spec {abbreviate(cs.key)!r}",
                            RULES["EI301"].severity,
                            d.offset,
                            method.name,
                        )
                    )
    return out


def check_method(method: Any, figures: dict[str, Any], settings: Any, path: str) -> list[Finding]:
    """Fragmentation findings for one method (EI101-EI107), with default severities.

    ``figures`` is :func:`edgeinspect.analysis.figures.method_figures` of the method; ``settings``
    the effective :class:`~edgeinspect.lint.config.Settings` for the file.
    """
    out: list[Finding] = []
    name = abbreviate(method.name)  # names from the file are shown abbreviated (their length said)
    calls = {i.index: i for i in method.instructions}
    delegates = figures["delegated_subgraphs"]

    def add(code: str, message: str, offset: int | None) -> None:
        out.append(Finding(code, path, message, RULES[code].severity, offset, name))

    if not delegates and any(i.kind == "kernel" for i in method.instructions):
        add("EI107", f"{name!r}: no delegate call, all {figures['kernel_calls']} kernel calls run on the CPU", method.offset)
    for backend, count in delegates.items():
        limit = settings.limit("max_delegates", backend)
        if limit is not None and count > limit:
            # Point at the first delegate call past the limit.
            seen, offset = 0, method.offset
            for ins in method.instructions:
                if ins.kind == "delegate" and ins.name == backend:
                    seen += 1
                    if seen == limit + 1:
                        offset = ins.offset
                        break
            causes = list(dict.fromkeys(c for isl in figures["islands"] if backend in isl["backends"] for c in isl["causes"]))
            why = f"; split by {_names(causes, 5)}" if causes else ""
            add("EI101", f"{name!r}: {abbreviate(backend)} runs as {count} delegated subgraphs (max {limit}){why}", offset)
    for isl in figures["islands"]:
        first = calls.get(isl["instructions"][0])
        cause_text = _names(isl["causes"], 10) if isl["causes"] else "only quantize/dequantize glue"
        add(
            "EI102",
            f"{name!r}: CPU island of {len(isl['instructions'])} kernel call(s) between delegate calls "
            f"#{isl['between'][0]} and #{isl['between'][1]}: {cause_text}",
            first.offset if first is not None else method.offset,
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
                f"{name!r}: coverage is unknown (operators inside the delegates are not known), cannot check --min-coverage {minimum}",
                method.offset,
            )
        elif coverage < minimum:
            add("EI105", f"{name!r}: coverage {coverage:.1%} is below the minimum {minimum:.1%}", method.offset)
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
