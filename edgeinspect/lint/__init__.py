"""The pre-merge lint: fail a change when a model's delegated graph fragments.

:func:`lint_paths` reads every file (directories are walked) with its side files
(:mod:`edgeinspect.lint.sides`: ``<stem>.tosa.d``, an ETDump, an ETRecord, Vela estimates, read
through :func:`edgeinspect.gather`, which the command passes in), runs the rules of
:mod:`edgeinspect.lint.rules` with the effective settings of each file, compares against a
baseline when one is given, places the model lines findings come from in the repository, and
returns a :class:`LintResult` in execution order. It never stops at a bad file: a file that
cannot be parsed is an ``EI001 invalid-model`` finding, and a path that cannot be read at all
(or a side file that does not belong) is a tool error (exit code 2); the others are still
linted.

Examples
--------
>>> from edgeinspect.lint import lint_paths
>>> result = lint_paths(["tests/data/u55_upsample.pte"])    # a file, or a directory to walk
>>> result.exit_code(), [f.code for f in result.findings]
(1, ['EI102', 'EI101'])
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edgeinspect.lint.config import Config, Settings, glob_match
from edgeinspect.lint.rules import RULES, Finding, SourceLine
from edgeinspect.lint.sides import SideFiles, SideOptions, side_files
from edgeinspect.model import Program

__all__ = ["FileResult", "LintResult", "SideOptions", "ToolError", "lint_paths", "repository_root"]

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True, slots=True)
class ToolError:
    """Something that stopped the lint from judging a path (missing, unreadable, internal error)."""

    message: str
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"path": self.path, "message": self.message}


@dataclass(frozen=True, slots=True)
class FileResult:
    """One linted file: ``status`` is ``ok``, ``invalid`` (EI001) or ``error`` (tool error);
    ``sides`` what it was read with (base names: joined dumps, ETDump, ETRecord)."""

    path: str
    status: str
    format: str | None = None
    methods: tuple[str, ...] = ()
    sides: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = {"path": self.path, "status": self.status, "format": self.format, "methods": list(self.methods)}
        if self.sides:
            out["side_files"] = dict(self.sides)
        return out


@dataclass(frozen=True, slots=True)
class LintResult:
    """Everything one lint run found: files in input order, each file's findings in execution
    order (method by method, method-wide findings first, then by instruction).

    ``root`` is the repository root the SARIF and GitHub outputs make paths relative to
    (:func:`repository_root`); None for the working directory.
    """

    files: tuple[FileResult, ...]
    findings: tuple[Finding, ...]
    errors: tuple[ToolError, ...]
    baseline: str | None = None
    root: str | None = None

    @property
    def failing(self) -> tuple[Finding, ...]:
        """Findings that fail the run (severity ``error`` or ``warning``; ``note`` never fails)."""
        return tuple(f for f in self.findings if f.severity != "note")

    def exit_code(self, *, exit_zero: bool = False) -> int:
        """0 clean, 1 findings, 2 tool error; ``exit_zero`` turns 1 into 0 but never hides a 2."""
        if self.errors:
            return EXIT_ERROR
        if self.failing and not exit_zero:
            return EXIT_FINDINGS
        return EXIT_CLEAN

    def summary(self) -> dict[str, Any]:
        """Counts for reports: files by status, findings by code and severity, and the instances
        the findings group (300 CPU islands of one cause are one finding of 300 instances)."""
        by_code: dict[str, int] = {}
        by_severity: dict[str, int] = {"error": 0, "warning": 0, "note": 0}
        for f in self.findings:
            by_code[f.code] = by_code.get(f.code, 0) + 1
            by_severity[f.severity] += 1
        return {
            "files": len(self.files),
            "invalid_files": sum(1 for f in self.files if f.status == "invalid"),
            "findings": len(self.findings),
            "instances": sum(f.count for f in self.findings),
            "by_severity": by_severity,
            "by_code": dict(sorted(by_code.items())),
            "tool_errors": len(self.errors),
        }


def expand_paths(paths: list[str], config: Config, errors: list[ToolError]) -> list[str]:
    """Files to lint: explicit files as given, directories walked (sorted) for ``include`` globs
    minus ``exclude`` globs. A path that does not exist, and a directory that cannot be read,
    are tool errors naming them; the rest go on."""
    settings = config.settings_for(None)
    out: list[str] = []
    seen: set[str] = set()

    def excluded(p: str) -> bool:
        rel = _relative(p, config)
        return any(glob_match(rel, g) for g in settings.exclude)

    def add(p: str) -> None:
        key = os.path.normpath(os.path.abspath(p))
        if key not in seen:
            seen.add(key)
            out.append(p)

    def unreadable(err: OSError) -> None:  # os.walk skips what it cannot list unless told
        where = err.filename if err.filename is not None else "?"
        errors.append(ToolError(f"{where}: cannot read this directory ({err.strerror or err}): its files were not linted", str(where)))

    for p in paths:
        if os.path.isdir(p):
            for folder, dirs, files in os.walk(p, onerror=unreadable):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not excluded(os.path.join(folder, d)))
                for name in sorted(files):
                    full = os.path.normpath(os.path.join(folder, name))
                    if any(glob_match(name, g) for g in settings.include) and not excluded(full):
                        if os.path.isfile(full):
                            add(full)
                        elif os.path.lexists(full):
                            what = "not a regular file" if os.path.exists(full) else "broken symbolic link"
                            errors.append(ToolError(f"{full}: {what}", full))
        elif os.path.isfile(p):
            add(p)
        elif os.path.exists(p):  # a FIFO or device would block or never end: not a model file
            errors.append(ToolError(f"{p}: not a regular file", p))
        else:
            errors.append(ToolError(f"{p}: no such file or directory", p))
    return out


def _relative(path: str, config: Config) -> str:
    from pathlib import Path

    try:
        return Path(os.path.abspath(path)).relative_to(config.root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def repository_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The repository the lint runs in: the nearest folder up from ``start`` (default: the
    working directory) that holds ``.git`` (a checkout or a worktree); ``start`` itself when
    there is none. SARIF ``%SRCROOT%`` and GitHub annotation paths are relative to it."""
    here = Path(os.path.abspath(start or os.getcwd()))
    for folder in (here, *here.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return here


#: Longest recorded source path looked up on disk (a hostile frame can hold megabytes).
_SOURCE_PATH_LIMIT = 4096


class _SourcePlaces:
    """Where a recorded source file is in the repository: its path relative to the root when it
    is a regular file there (looked up once per recorded name; never opened)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cwd = Path(os.getcwd())
        self._known: dict[str, str | None] = {}

    def place(self, recorded: str) -> str | None:
        if recorded not in self._known:
            self._known[recorded] = self._find(recorded)
        return self._known[recorded]

    def _find(self, recorded: str) -> str | None:
        if len(recorded) > _SOURCE_PATH_LIMIT or any(ord(c) < 32 or ord(c) == 127 for c in recorded):
            return None  # no real file is named so; do not ask the file system
        given = Path(recorded)
        # A relative path was recorded relative to the exporting process's folder: the
        # repository root when it ran there (the usual case), else the working directory.
        for candidate in (given,) if given.is_absolute() else (self.root / given, self.cwd / given):
            try:
                full = Path(os.path.normpath(candidate))
                if full.is_file():
                    return full.relative_to(self.root).as_posix()
            except (OSError, ValueError):
                continue
        return None

    def placed(self, line: SourceLine | None) -> SourceLine | None:
        if line is None:
            return None
        path = self.place(line.file)
        return line if path is None else replace(line, path=path)


def lint_paths(
    paths: list[str],
    config: Config | None = None,
    *,
    baseline: str | None = None,
    write_baseline: str | None = None,
    sides: SideOptions | None = None,
    gather: Callable[..., Any] | None = None,
) -> LintResult:
    """Lint files and directories.

    Parameters
    ----------
    paths : list of str
        Files (.pte, .tosa) and directories (walked for the ``include`` globs).
    config : Config, optional
        Configuration with command-line options applied; default: none (built-in defaults).
    baseline : str, optional
        Baseline file: for files and methods it records, the fragmentation rules
        (EI1xx) give way to ``EI201 baseline-growth``, which fires only on regressions.
    write_baseline : str, optional
        Record today's figures of every readable .pte into this file first (so the
        run then judges against it).
    sides : SideOptions, optional
        What the command line asked about side files (see :mod:`edgeinspect.lint.sides`).
        Each .pte is joined to its ``<stem>.tosa.d`` in any case.
    gather : callable, optional
        :func:`edgeinspect.gather` (the command line passes it; the lint sits below the
        package facade and cannot import it): reads each program's ETDump, ETRecord and Vela
        estimates exactly as every other command. Without it, side files other than the
        dumps are refused, and provenance comes from the frames a program carries.

    Returns
    -------
    LintResult
    """
    from edgeinspect.errors import UsageError
    from edgeinspect.lint.baseline import Baseline

    config = config or Config()
    sides = sides or SideOptions()
    sides.check(paths)
    if gather is None and (sides.etdump or sides.etrecord or sides.etrecords or sides.estimate):
        raise UsageError("side files other than .tosa dumps are read through edgeinspect.gather: pass gather=edgeinspect.gather")
    if sides.estimate:
        from edgeinspect.estimate import find_vela

        find_vela()  # once, not once per model: a missing Vela names the extra that installs it
    errors: list[ToolError] = []
    files = expand_paths(paths, config, errors)
    if baseline is None and write_baseline is None:
        configured = config.settings_for(None).baseline
        if configured:
            baseline = str(config.root / configured)
    if write_baseline is not None:
        from edgeinspect.outputs import check_not_input

        check_not_input(write_baseline, [*files, *([config.source] if config.source else [])], what="baseline")
        base = Baseline(write_baseline)  # filled file by file, then written
        baseline = write_baseline
    else:
        base = Baseline.read(baseline) if baseline is not None else None

    root = repository_root()
    places = _SourcePlaces(root)
    findings: list[Finding] = []
    results: list[FileResult] = []
    for p in files:  # one file open at a time
        settings = config.settings_for(p)
        outcome = _lint_file(p, settings, config, sides, gather, base, record=write_baseline is not None)
        if isinstance(outcome, ToolError):
            errors.append(outcome)
            results.append(FileResult(p, "error"))
            continue
        result, found = outcome
        results.append(result)
        for f in found:
            if settings.enabled(f.code):
                f = f.with_severity(settings.severity_of(f.code))
                if f.source is not None or f.related:
                    f = replace(f, source=places.placed(f.source), related=tuple(places.placed(r) for r in f.related))
                findings.append(f)
    if write_baseline is not None:
        base.write(inputs=files)
    return LintResult(tuple(results), tuple(findings), tuple(errors), baseline, str(root))


def _lint_file(
    path: str,
    settings: Settings,
    config: Config,
    sides: SideOptions,
    gather: Callable[..., Any] | None,
    base: Any,
    *,
    record: bool,
) -> tuple[FileResult, list[Finding]] | ToolError:
    """One file: its result and findings (EI001 for a bad file), or a tool error."""
    from edgeinspect.errors import EdgeInspectError, FormatError

    model, problem = _load(path)
    if isinstance(problem, ToolError):
        return problem
    if problem is not None:
        return FileResult(path, "invalid"), [problem]
    try:
        if not isinstance(model, Program):
            if sides.single:
                return ToolError(f"{path}: {' and '.join(sides.single)} go with a .pte program, not a .tosa file", path)
            return FileResult(path, "ok", model.format), []  # a standalone .tosa: reading it cleanly is the whole check
        try:
            wanted = side_files(path, sides, config, settings)
        except EdgeInspectError as err:
            return ToolError(f"{path}: {err}", path)
        try:
            program = _with_dumps(model, path, wanted)
            evidence = _evidence(program, wanted, sides, gather)
        except FormatError as err:
            if err.path not in (None, path):  # a corrupt side file is not the model's fault
                return ToolError(f"{path}: {err}", path)
            return FileResult(path, "invalid"), [_invalid(path, err)]
        except EdgeInspectError as err:  # a side file that does not belong, a missing extra
            return ToolError(f"{path}: {err}", path)
        found = _lint_evidence(evidence, path, settings, sides, base, record=record)
    except FormatError as err:  # a corrupt part read on demand (e.g. a delegate payload)
        return FileResult(path, "invalid"), [_invalid(path, err)]
    except EdgeInspectError as err:  # e.g. a malformed baseline record for this file
        return ToolError(str(err), path)
    except Exception as err:  # a bug of ours must not stop the other files
        return ToolError(f"{path}: internal error: {type(err).__name__}: {err}", path)
    finally:
        model.close()
    return FileResult(path, "ok", model.format, model.method_names, wanted.to_dict(program)), found


def _with_dumps(program: Program, path: str, wanted: SideFiles) -> Program:
    """The program joined to its dumps the way :func:`edgeinspect.load` does: the given ones
    (errors are errors), or ``<stem>.tosa.d`` when it is there and joins (ignored otherwise)."""
    from edgeinspect.errors import EdgeInspectError
    from edgeinspect.join import attach_tosa, tosa_beside

    if wanted.tosa:
        return attach_tosa(program, list(wanted.tosa))
    found = tosa_beside(path)
    if found:
        try:
            return attach_tosa(program, found)
        except EdgeInspectError:
            pass  # dumps of another export (or unreadable ones) beside the file: not this model's
    return program


def _evidence(program: Program, wanted: SideFiles, sides: SideOptions, gather: Callable[..., Any] | None) -> Any:
    """What the side files say, through ``gather`` (:func:`edgeinspect.gather`)."""
    if gather is not None:
        return gather(
            program,
            etdump=wanted.etdump,
            method=sides.method,
            warmup_runs=sides.warmup_runs,
            estimate=sides.estimate,
            cache=sides.cache,
            etrecord=wanted.etrecord,
        )
    from edgeinspect.analysis.evidence import Evidence
    from edgeinspect.model.source import frame_sources

    if wanted.etdump:  # paired beside the file: only gather() reads it
        from edgeinspect.errors import UsageError

        raise UsageError(f"{wanted.etdump}: reading an ETDump needs gather=edgeinspect.gather")
    return Evidence(program=program, sources=frame_sources(program))


def _load(path: str) -> tuple[Any, Finding | ToolError | None]:
    """Read one file: (model, None), or (None, EI001 finding) for a bad file, or (None, ToolError)."""
    from edgeinspect.errors import EdgeInspectError, FormatError
    from edgeinspect.formats import read

    try:
        return read(path), None
    except FormatError as err:
        return None, _invalid(path, err)
    except EdgeInspectError as err:
        return None, ToolError(str(err), path)
    except Exception as err:  # the reader must raise FormatError only; report a bug, keep going
        return None, ToolError(f"{path}: internal error while reading: {type(err).__name__}: {err}", path)


def _invalid(path: str, err: Any) -> Finding:
    """The EI001 finding for a FormatError."""
    where = f"{err.field}: " if err.field else ""
    return Finding("EI001", path, f"not a valid model: {where}{err.message}", RULES["EI001"].severity, err.offset)


def _lint_evidence(evidence: Any, path: str, settings: Settings, sides: SideOptions, base: Any, *, record: bool = False) -> list[Finding]:
    """Findings for one readable program, in execution order; with ``record``, first add its
    figures to ``base``."""
    from edgeinspect.analysis.figures import method_figures
    from edgeinspect.errors import UsageError
    from edgeinspect.formats.payloads import known_delegate_ops
    from edgeinspect.lint.baseline import entry_problem, method_entry, regressions
    from edgeinspect.lint.rules import check_budgets, check_fallbacks, check_method, check_program
    from edgeinspect.textsafe import TEXT_LIMIT, abbreviate

    model = evidence.program
    figures = {m.name: method_figures(m, evidence.delegate_ops(m.name, known_delegate_ops)) for m in model.methods}
    if record:
        base.add(path, {name: method_entry(f) for name, f in figures.items()})
    out = check_program(model, path)
    known = (base.record(path) or {}).get("methods", {}) if base is not None else {}
    for method in model.methods:
        sources = evidence.method_sources(method.name)
        out.extend(
            check_budgets(
                method,
                settings,
                path,
                profile=evidence.profile(method.name),
                profiled=method.name == sides.method,
                estimates=evidence.method_estimates(method.name),
                sources=sources,
            )
        )
        old = known.get(method.name)
        if old is None:
            out.extend(check_method(method, figures[method.name], settings, path, sources=sources))
            if settings.enabled("EI120"):  # off by default: the fallback account costs a recommender run
                out.extend(check_fallbacks(model, method, settings, path))
            continue
        problem = entry_problem(old)
        if problem:
            raise UsageError(
                f"baseline {base.path}: the record of {path} method {abbreviate(method.name)!r} is malformed ({problem}); "
                "rewrite it with --write-baseline"
            )
        for change in regressions(old, method_entry(figures[method.name])):
            message = f"{abbreviate(method.name)!r}: {abbreviate(change, TEXT_LIMIT)} (against baseline)"
            out.append(Finding("EI201", path, message, RULES["EI201"].severity, method.offset, abbreviate(method.name)))
    order = {abbreviate(m.name): k for k, m in enumerate(model.methods)}
    codes = {c: k for k, c in enumerate(RULES)}
    return sorted(out, key=lambda f: (order.get(f.method, -1), -1 if f.instruction is None else f.instruction, codes[f.code]))
