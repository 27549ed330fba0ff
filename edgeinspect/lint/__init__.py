"""The pre-merge lint: fail a change when a model's delegated graph fragments.

:func:`lint_paths` reads every file (directories are walked), runs the rules of
:mod:`edgeinspect.lint.rules` with the effective settings of each file, compares against
a baseline when one is given, and returns a :class:`LintResult`. It never stops at a
bad file: a file that cannot be parsed is an ``EI001 invalid-model`` finding, and a
path that cannot be read at all is a tool error (exit code 2); the others are still
linted.

Examples
--------
>>> from edgeinspect.lint import lint_paths
>>> result = lint_paths(["models/"])           # doctest: +SKIP
>>> result.exit_code(), [f.code for f in result.findings]  # doctest: +SKIP
(1, ['EI101', 'EI102'])
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from edgeinspect.lint.config import Config, Settings, glob_match
from edgeinspect.lint.rules import RULES, Finding
from edgeinspect.model import Program

__all__ = ["FileResult", "LintResult", "ToolError", "lint_paths"]

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
    """One linted file: ``status`` is ``ok``, ``invalid`` (EI001) or ``error`` (tool error)."""

    path: str
    status: str
    format: str | None = None
    methods: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"path": self.path, "status": self.status, "format": self.format, "methods": list(self.methods)}


@dataclass(frozen=True, slots=True)
class LintResult:
    """Everything one lint run found, in input order."""

    files: tuple[FileResult, ...]
    findings: tuple[Finding, ...]
    errors: tuple[ToolError, ...]
    baseline: str | None = None

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
        """Counts for reports: files by status, findings by code and severity."""
        by_code: dict[str, int] = {}
        by_severity: dict[str, int] = {"error": 0, "warning": 0, "note": 0}
        for f in self.findings:
            by_code[f.code] = by_code.get(f.code, 0) + 1
            by_severity[f.severity] += 1
        return {
            "files": len(self.files),
            "invalid_files": sum(1 for f in self.files if f.status == "invalid"),
            "findings": len(self.findings),
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


def lint_paths(
    paths: list[str],
    config: Config | None = None,
    *,
    baseline: str | None = None,
    write_baseline: str | None = None,
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

    Returns
    -------
    LintResult
    """
    from edgeinspect.errors import EdgeInspectError, FormatError
    from edgeinspect.lint.baseline import Baseline

    config = config or Config()
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

    findings: list[Finding] = []
    results: list[FileResult] = []
    for p in files:  # one file open at a time
        settings = config.settings_for(p)
        model, problem = _load(p)
        if isinstance(problem, ToolError):
            errors.append(problem)
            results.append(FileResult(p, "error"))
            continue
        if problem is not None:
            results.append(FileResult(p, "invalid"))
            _add(findings, settings, problem)
            continue
        try:
            found = _lint_model(model, p, settings, base, record=write_baseline is not None)
        except FormatError as err:  # a corrupt part read on demand (e.g. a delegate payload)
            results.append(FileResult(p, "invalid"))
            _add(findings, settings, _invalid(p, err))
            continue
        except EdgeInspectError as err:  # e.g. a malformed baseline record for this file
            errors.append(ToolError(str(err), p))
            continue
        except Exception as err:  # a bug of ours must not stop the other files
            errors.append(ToolError(f"{p}: internal error: {type(err).__name__}: {err}", p))
            results.append(FileResult(p, "error"))
            continue
        finally:
            model.close()
        for f in found:
            _add(findings, settings, f)
        results.append(FileResult(p, "ok", model.format, model.method_names if isinstance(model, Program) else ()))
    if write_baseline is not None:
        base.write(inputs=files)
    return LintResult(tuple(results), tuple(findings), tuple(errors), baseline)


def _add(findings: list[Finding], settings: Settings, f: Finding) -> None:
    if settings.enabled(f.code):
        severity = settings.severity_of(f.code)
        findings.append(f if severity == f.severity else Finding(f.code, f.path, f.message, severity, f.offset, f.method))


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


def _lint_model(model: Any, path: str, settings: Settings, base: Any, *, record: bool = False) -> list[Finding]:
    """Findings for one readable model; with ``record``, first add its figures to ``base``."""
    from edgeinspect.analysis.figures import method_figures
    from edgeinspect.errors import UsageError
    from edgeinspect.lint.baseline import entry_problem, method_entry, regressions
    from edgeinspect.lint.rules import check_fallbacks, check_method, check_program
    from edgeinspect.textsafe import TEXT_LIMIT, abbreviate

    if not isinstance(model, Program):
        return []  # a standalone .tosa: reading it cleanly is the whole check
    figures = {m.name: method_figures(m) for m in model.methods}
    if record:
        base.add(path, {name: method_entry(f) for name, f in figures.items()})
    out = check_program(model, path)
    known = (base.record(path) or {}).get("methods", {}) if base is not None else {}
    for method in model.methods:
        old = known.get(method.name)
        if old is None:
            out.extend(check_method(method, figures[method.name], settings, path))
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
            out.append(Finding("EI201", path, message, RULES["EI201"].severity, method.offset, method.name))
    return sorted(out, key=lambda f: (f.offset is None, f.offset or 0, f.code))
