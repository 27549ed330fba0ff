"""Lint configuration: ``[tool.edgeinspect.lint]`` in pyproject.toml, ``[lint]`` in edgeinspect.toml.

Where it comes from, first found wins: ``--config FILE``; else, walking up from the
current directory, the first ``edgeinspect.toml`` or the first ``pyproject.toml`` that
has a ``[tool.edgeinspect.lint]`` table. Per-path overrides (``[[...lint.overrides]]``
with ``paths = [globs]``) apply on top, in file order, to files whose path relative
to the configuration file's folder matches; command-line flags apply last.

Keys (kebab-case; snake_case is accepted too)::

    select = ["EI"]                  # codes or prefixes; empty = the default rules
    ignore = ["EI107"]
    severity = {EI102 = "warning"}   # code or prefix -> error | warning | note
    max-delegates = 1                # or {EthosUBackend = 1, "*" = 2}
    max-transitions = 4
    min-coverage = 0.9
    max-boundary-bytes = 65536       # or {EthosUBackend = 65536}
    max-cpu-share = 0.2              # measured (an ETDump): share of execute time outside delegates
    max-scratch-bytes = 262144       # Ethos-U scratch (arena) per delegate; or {"ethos-u55-128" = N}
    max-sram-bytes = 393216          # Vela's SRAM estimate per delegate (--estimate); same forms
    include = ["*.pte", "*.tosa"]    # which files a directory argument expands to
    exclude = ["build/**"]
    baseline = "edgeinspect-baseline.json"
    etdumps = {"models/net.pte" = "profiles/net.etdp"}        # default: <stem>.etdp beside
    etrecords = {"models/net.pte" = "export/net.etrecord"}    # used with --etrecords only
    allowed-fallbacks = ["aten::index_put"]   # EI120 lets these CPU operators through

    [targets."ethos-u55-128"]        # per-target memory limits (the delegate's compile target)
    max-scratch-bytes = 131072
    max-sram-bytes = 262144
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edgeinspect.errors import UsageError
from edgeinspect.lint.rules import RULES, SEVERITIES

__all__ = ["Config", "Settings", "find_config", "glob_match", "load_config", "parse_options"]

#: Limits given per backend (``max_delegates``, ``max_boundary_bytes``) or per target (the memory
#: limits, keyed by the compile target a delegate names, e.g. ``ethos-u55-128``); ``"*"`` is the
#: default for the others.
_PER_BACKEND = ("max_delegates", "max_boundary_bytes", "max_scratch_bytes", "max_sram_bytes")
_PER_TARGET = ("max_scratch_bytes", "max_sram_bytes")
#: Side-file mappings: a .pte (relative to the configuration's folder) -> its side file.
_MAPPINGS = ("etdumps", "etrecords")
_KEYS = (
    "select",
    "ignore",
    "severity",
    "max_delegates",
    "max_transitions",
    "min_coverage",
    "max_boundary_bytes",
    "max_cpu_share",
    "max_scratch_bytes",
    "max_sram_bytes",
    "targets",
    "include",
    "exclude",
    "baseline",
    "etdumps",
    "etrecords",
    "allowed_fallbacks",
)
#: Keys that only the top of the table may set (not an override).
_TOP_ONLY = ("include", "exclude", "baseline", "etdumps", "etrecords")
#: Longest path a side-file mapping may hold.
_PATH_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective lint settings for one file.

    Per-backend limits are ``((backend, limit), ...)`` and per-target limits ``((target,
    limit), ...)``, where ``"*"`` is the default for backends (targets) not named.
    """

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()
    max_delegates: tuple[tuple[str, int], ...] = (("*", 1),)
    max_transitions: int | None = None
    min_coverage: float | None = None
    max_boundary_bytes: tuple[tuple[str, int], ...] = ()
    max_cpu_share: float | None = None
    max_scratch_bytes: tuple[tuple[str, int], ...] = ()
    max_sram_bytes: tuple[tuple[str, int], ...] = ()
    include: tuple[str, ...] = ("*.pte", "*.tosa")
    exclude: tuple[str, ...] = ()
    baseline: str | None = None
    allowed_fallbacks: tuple[str, ...] = ()

    def limit(self, key: str, backend: str | None = None, *, fallback: bool = True) -> Any:
        """The limit ``key`` for ``backend`` (per-backend and per-target keys) or overall; None when unset.

        For a per-backend key, ``backend=None`` asks for the overall (``"*"``) limit, and
        ``fallback=False`` returns None unless the backend is named explicitly.
        """
        value = getattr(self, key)
        if key not in _PER_BACKEND:
            return value
        table = dict(value)
        if backend is None:
            return table.get("*")
        if backend in table:
            return table[backend]
        return table.get("*") if fallback else None

    def enabled(self, code: str) -> bool:
        """Whether a rule runs: the longest matching select/ignore prefix decides, ties go to ignore."""
        best_select = max((_rank(p) for p in self.select if _matches(code, p)), default=-1)
        best_ignore = max((_rank(p) for p in self.ignore if _matches(code, p)), default=-1)
        if best_ignore >= 0 and best_ignore >= best_select:
            return False
        if best_select >= 0:
            return True
        return not self.select and RULES[code].default

    def severity_of(self, code: str) -> str:
        """Effective severity of a rule (the longest matching ``severity`` entry, else the default)."""
        best, level = -1, RULES[code].severity
        for prefix, sev in self.severity:
            if _matches(code, prefix) and _rank(prefix) > best:
                best, level = _rank(prefix), sev
        return level


def _rank(prefix: str) -> int:
    """Specificity of a select/ignore/severity prefix: ``ALL`` is below every real prefix."""
    return 0 if prefix == "ALL" else len(prefix)


def _matches(code: str, prefix: str) -> bool:
    return prefix == "ALL" or code.startswith(prefix)


@dataclass(frozen=True, slots=True)
class Config:
    """Layers of raw settings: the file's top table, its overrides, then the command line."""

    source: str | None = None
    root: Path = field(default_factory=Path.cwd)
    base: dict[str, Any] = field(default_factory=dict)
    overrides: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = ()
    cli: dict[str, Any] = field(default_factory=dict)

    def with_cli(self, options: dict[str, Any]) -> Config:
        """This configuration with command-line options on top."""
        return replace(self, cli=options)

    def mapped(self, kind: str, path: str | os.PathLike[str]) -> str | None:
        """The side file the configuration maps ``path`` to (``kind``: ``etdumps`` or
        ``etrecords``), as a path relative to the working directory or absolute; None when the
        configuration does not name one."""
        table = self.base.get(kind)
        if not table:
            return None
        found = table.get(_relative(path, self.root))
        return None if found is None else os.path.normpath(os.path.join(self.root, found))

    def settings_for(self, path: str | os.PathLike[str] | None = None) -> Settings:
        """The effective settings for one file (overrides matched against its path)."""
        layers = [self.base]
        if path is not None and self.overrides:
            rel = _relative(path, self.root)
            layers += [raw for patterns, raw in self.overrides if any(glob_match(rel, p) for p in patterns)]
        layers.append(self.cli)
        merged: dict[str, Any] = {}
        for raw in layers:
            for key, value in raw.items():
                if key in _MAPPINGS:
                    continue  # not a setting: read by mapped()
                if key in _PER_BACKEND or key == "severity":
                    merged[key] = {**merged.get(key, {}), **value}
                elif key == "ignore":
                    merged[key] = [*merged.get(key, []), *value]
                else:
                    merged[key] = value
        kwargs: dict[str, Any] = {}
        for key, value in merged.items():
            if key in _PER_BACKEND or key == "severity":
                kwargs[key] = tuple(value.items())
            elif isinstance(value, list):
                kwargs[key] = tuple(value)
            else:
                kwargs[key] = value
        if "max_delegates" in kwargs and "*" not in dict(kwargs["max_delegates"]):
            kwargs["max_delegates"] = (("*", 1), *kwargs["max_delegates"])
        return Settings(**kwargs)


def _relative(path: str | os.PathLike[str], root: Path) -> str:
    p = Path(os.path.abspath(path))
    try:
        return p.relative_to(root.resolve() if root.exists() else root).as_posix()
    except ValueError:
        return Path(path).as_posix()


_GLOB_CACHE: dict[str, tuple[tuple[str, str], ...]] = {}

# Glob tokens: ("lit", char), ("one", "") for ?, ("star", "") for *, ("deep", "") for **/
# (nothing, or any path ending in /), ("any", "") for ** (anything).


def _tokens(pattern: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append(("deep", ""))
            i += 3
        elif pattern.startswith("**", i):
            out.append(("any", ""))
            i += 2
        elif pattern[i] == "*":
            out.append(("star", ""))
            i += 1
        elif pattern[i] == "?":
            out.append(("one", ""))
            i += 1
        else:
            out.append(("lit", pattern[i]))
            i += 1
    return tuple(out)


def _glob_states(tokens: tuple[tuple[str, str], ...], path: str) -> tuple[bool, int]:
    """Run the glob as a set of states over ``path`` (no backtracking): whether it matches, and
    the work done, at most (len(path) + 1) x (2 * len(tokens) + 1) state visits.

    A state is ``2 * k`` (about to match token k) or ``2 * k + 1`` (inside a ``**/`` at token
    k, which must still reach a ``/``); ``2 * len(tokens)`` is the end.
    """
    end = 2 * len(tokens)
    work = 0

    def closure(states: set[int]) -> set[int]:
        nonlocal work
        stack = list(states)
        while stack:
            st = stack.pop()
            work += 1
            if st % 2 == 0 and st < end and tokens[st // 2][0] in ("star", "deep", "any") and st + 2 not in states:
                states.add(st + 2)  # the wildcard may match nothing
                stack.append(st + 2)
        return states

    states = closure({0})
    for c in path:
        nxt: set[int] = set()
        for st in states:
            work += 1
            if st == end:
                continue
            kind, lit = tokens[st // 2]
            if st % 2 == 1 or kind == "deep":  # inside **/: any character, a / may end it
                nxt.add(st | 1)
                if c == "/":
                    nxt.add(st - st % 2 + 2)
            elif kind == "lit":
                if c == lit:
                    nxt.add(st + 2)
            elif kind == "one":
                if c != "/":
                    nxt.add(st + 2)
            elif kind == "star":
                if c != "/":
                    nxt.add(st)
            else:  # any
                nxt.add(st)
        states = closure(nxt)
        if not states:
            return False, work
    return end in states, work


def glob_match(path: str, pattern: str) -> bool:
    """Match a POSIX relative path against a glob: ``*`` and ``?`` stay inside one folder,
    ``**`` crosses folders, and a pattern without ``/`` matches the base name anywhere.

    Matching walks the path once, keeping the set of places the pattern could be at: its time
    grows with len(path) x len(pattern) whatever the pattern (many ``**/`` included).

    Examples
    --------
    >>> glob_match("models/legacy/a.pte", "models/legacy/*.pte")
    True
    >>> glob_match("models/legacy/deep/a.pte", "models/**/*.pte")
    True
    >>> glob_match("models/legacy/deep/a.pte", "models/*.pte")
    False
    >>> glob_match("models/x/a.pte", "*.pte")
    True
    """
    if "/" not in pattern:
        path = path.rsplit("/", 1)[-1]
    tokens = _GLOB_CACHE.get(pattern)
    if tokens is None:
        tokens = _GLOB_CACHE[pattern] = _tokens(pattern)
    return _glob_states(tokens, path)[0]


# -- reading files ---------------------------------------------------------------
def _toml_load(path: Path) -> dict[str, Any]:
    """Parse a configuration file: size and nesting bounded before parsing (see :mod:`edgeinspect.lint.schema`)."""
    from edgeinspect.lint.schema import load_toml

    return load_toml(path, "configuration")


def _lint_table(doc: dict[str, Any], path: Path) -> dict[str, Any] | None:
    pyproject = path.name == "pyproject.toml" or "tool" in doc
    table: Any = doc
    for key in ("tool", "edgeinspect", "lint") if pyproject else ("lint",):
        if not isinstance(table, dict):
            return None  # e.g. tool = 1: not our table (and not a crash)
        table = table.get(key)
    if table is not None and not isinstance(table, dict):
        raise UsageError(f"{path}: the lint configuration must be a table")
    return table


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The configuration file for ``start`` (default: the current directory), or None."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        standalone = folder / "edgeinspect.toml"
        if standalone.is_file():
            return standalone
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            from edgeinspect.lint.schema import read_limited

            if b"edgeinspect" in read_limited(pyproject, "configuration") and _lint_table(_toml_load(pyproject), pyproject) is not None:
                return pyproject
    return None


def load_config(path: str | os.PathLike[str] | None = None, *, search: bool = True) -> Config:
    """Read the lint configuration from ``path``, or the one :func:`find_config` finds.

    Raises
    ------
    UsageError
        When the file cannot be read, is not TOML, or has an unknown key or a bad value.
    """
    if path is None:
        found = find_config() if search else None
        if found is None:
            return Config()
        path = found
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"configuration file {path} does not exist")
    table = _lint_table(_toml_load(path), path) or {}
    where = f"{path} [{'tool.edgeinspect.lint' if path.name == 'pyproject.toml' else 'lint'}]"
    raw_overrides = table.pop("overrides", [])
    base = _validate(table, where)
    if not isinstance(raw_overrides, list):
        raise UsageError(f"{where}: 'overrides' must be an array of tables ([[...overrides]])")
    overrides = []
    for i, item in enumerate(raw_overrides):
        if not isinstance(item, dict):
            raise UsageError(f"{where}: overrides[{i}] must be a table")
        item = dict(item)
        patterns = item.pop("paths", None)
        if isinstance(patterns, str):
            patterns = [patterns]
        if not patterns or not all(isinstance(p, str) for p in patterns):
            raise UsageError(f"{where}: overrides[{i}] needs 'paths', a list of globs")
        raw = _validate(item, f"{where} overrides[{i}]")
        for key in _TOP_ONLY:
            if key in raw:
                raise UsageError(f"{where} overrides[{i}]: {key!r} cannot be set per path; set it at the top")
        overrides.append((tuple(patterns), raw))
    return Config(source=str(path), root=path.parent.resolve(), base=base, overrides=tuple(overrides))


def _validate(table: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    targets = None
    for key, value in table.items():
        norm = key.replace("-", "_")
        if norm not in _KEYS:
            known = ", ".join(k.replace("_", "-") for k in _KEYS)
            raise UsageError(f"{where}: unknown key {key!r} (known keys: {known}, overrides)")
        if norm == "targets":
            targets = _targets(value, f"{where}: {key}")
            continue
        out[norm] = _value(norm, value, f"{where}: {key}")
    for norm, limits in (targets or {}).items():  # [targets."ethos-u55-128"] adds to max-scratch-bytes etc.
        table_form = out.setdefault(norm, {})
        for target, limit in limits.items():
            if target in table_form and table_form[target] != limit:
                raise UsageError(f"{where}: {norm.replace('_', '-')} of target {target!r} is set twice, with different values")
            table_form[target] = limit
    return out


def _targets(value: Any, what: str) -> dict[str, dict[str, int]]:
    """``targets = {"ethos-u55-128" = {max-scratch-bytes = N, max-sram-bytes = N}}`` -> per-key tables."""
    if not isinstance(value, dict):
        raise UsageError(f'{what} must be a table of targets, e.g. [targets."ethos-u55-128"] with max-scratch-bytes = N')
    out: dict[str, dict[str, int]] = {}
    for target, limits in value.items():
        where = f"{what}.{target!r}"
        if not target or target == "*":
            raise UsageError(f"{where}: name a compile target such as 'ethos-u55-128' (set the default at the top of the table)")
        if not isinstance(limits, dict):
            raise UsageError(f"{where} must be a table of limits (max-scratch-bytes, max-sram-bytes)")
        for key, limit in limits.items():
            norm = key.replace("-", "_")
            if norm not in _PER_TARGET:
                known = ", ".join(k.replace("_", "-") for k in _PER_TARGET)
                raise UsageError(f"{where}: unknown key {key!r} (per-target keys: {known})")
            out.setdefault(norm, {})[target] = _number(limit, f"{where}.{key}", integer=True)
    return out


def _mapping(value: Any, what: str) -> dict[str, str]:
    """``etdumps`` / ``etrecords``: .pte path -> side file, both relative to the configuration's
    folder (POSIX separators), checked as untrusted text."""
    if not isinstance(value, dict):
        raise UsageError(f'{what} must be a table such as {{"models/net.pte" = "profiles/net.etdp"}}')
    out: dict[str, str] = {}
    for model, side in value.items():
        for text, role in ((model, "model path"), (side, "file")):
            if not isinstance(text, str) or not text:
                raise UsageError(f"{what}: each {role} must be a non-empty string")
            if len(text) > _PATH_LIMIT or any(ord(c) < 32 or ord(c) == 127 for c in text):
                raise UsageError(f"{what}: a {role} holds control characters or is over {_PATH_LIMIT} characters")
            if os.path.isabs(text) or text.startswith(("/", "\\")) or (len(text) > 1 and text[1] == ":"):
                raise UsageError(f"{what}: {text[:200]!r} must be relative to the configuration file's folder")
        out[Path(model).as_posix().removeprefix("./")] = side
    return out


def _codes(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{what} must be a list of rule codes or prefixes")
    out = []
    for v in value:
        v = v.strip()
        if v != "ALL" and not any(c.startswith(v) for c in RULES):
            raise UsageError(f"{what}: {v!r} matches no rule (codes: {', '.join(RULES)})")
        out.append(v)
    return out


def _number(value: Any, what: str, *, integer: bool) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise UsageError(f"{what} must be {'a whole number' if integer else 'a number'}, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise UsageError(f"{what} must be a finite number, got {value!r}")
    if value < 0:
        raise UsageError(f"{what} must not be negative, got {value!r}")
    return value


def _value(key: str, value: Any, what: str) -> Any:
    if key in ("select", "ignore"):
        return _codes(value, what)
    if key in ("include", "exclude"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{what} must be a list of globs")
        return list(value)
    if key == "allowed_fallbacks":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f'{what} must be a list of operator names such as "aten::index_put"')
        return list(value)
    if key == "baseline":
        if not isinstance(value, str):
            raise UsageError(f"{what} must be a file name")
        return value
    if key == "severity":
        if not isinstance(value, dict):
            raise UsageError(f'{what} must be a table such as {{EI102 = "warning"}}')
        for code, level in value.items():
            _codes(code, what)
            if level not in SEVERITIES:
                raise UsageError(f"{what}: severity of {code} must be one of {', '.join(SEVERITIES)}, got {level!r}")
        return dict(value)
    if key in _PER_BACKEND:
        if isinstance(value, dict):
            return {str(k): _number(v, f"{what}.{k}", integer=True) for k, v in value.items()}
        return {"*": _number(value, what, integer=True)}
    if key == "max_transitions":
        return _number(value, what, integer=True)
    if key in ("min_coverage", "max_cpu_share"):
        value = _number(value, what, integer=False)
        if value > 1:
            raise UsageError(f"{what} is a fraction between 0 and 1 (0.9 for 90%), got {value!r}")
        return float(value)
    if key in _MAPPINGS:
        return _mapping(value, what)
    raise AssertionError(key)  # pragma: no cover - _KEYS and this function list the same keys


def parse_options(
    *,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    severity: list[str] | None = None,
    max_delegates: list[str] | None = None,
    max_transitions: int | None = None,
    min_coverage: str | None = None,
    max_boundary_bytes: list[str] | None = None,
    max_cpu_share: str | None = None,
    max_scratch_bytes: list[str] | None = None,
    max_sram_bytes: list[str] | None = None,
    exclude: list[str] | None = None,
) -> dict[str, Any]:
    """Turn command-line option strings into a raw settings layer (validated like the file).

    Examples
    --------
    >>> parse_options(max_delegates=["2", "EthosUBackend=1"], select=["EI1,EI3"])
    {'select': ['EI1', 'EI3'], 'max_delegates': {'*': 2, 'EthosUBackend': 1}}
    """
    out: dict[str, Any] = {}

    def split(items: list[str]) -> list[str]:
        return [s.strip() for item in items for s in item.split(",") if s.strip()]

    if select:
        out["select"] = _codes(split(select), "--select")
    if ignore:
        out["ignore"] = _codes(split(ignore), "--ignore")
    if severity:
        table = {}
        for item in split(severity):
            code, sep, level = item.partition("=")
            if not sep:
                raise UsageError(f"--severity takes CODE=LEVEL (e.g. EI102=warning), got {item!r}")
            table[code.strip()] = level.strip()
        out["severity"] = _value("severity", table, "--severity")
    for key, items in (
        ("max_delegates", max_delegates),
        ("max_boundary_bytes", max_boundary_bytes),
        ("max_scratch_bytes", max_scratch_bytes),
        ("max_sram_bytes", max_sram_bytes),
    ):
        if not items:
            continue
        flag = "--" + key.replace("_", "-")
        example = "N or TARGET=N (e.g. ethos-u55-128=262144)" if key in _PER_TARGET else "N or BACKEND=N (e.g. EthosUBackend=1)"
        table = {}
        for item in items:
            backend, sep, number = item.rpartition("=")
            if not sep:
                backend = "*"
            try:
                table[backend.strip() or "*"] = int(number)
            except ValueError:
                raise UsageError(f"{flag} takes {example}, got {item!r}") from None
        out[key] = _value(key, table, flag)
    if max_transitions is not None:
        out["max_transitions"] = _value("max_transitions", max_transitions, "--max-transitions")
    if min_coverage is not None:
        text = min_coverage.strip()
        try:
            number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise UsageError(f"--min-coverage takes a fraction (0.9) or a percentage (90%), got {min_coverage!r}") from None
        out["min_coverage"] = _value("min_coverage", number, "--min-coverage")
    if max_cpu_share is not None:
        text = max_cpu_share.strip()
        try:
            number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise UsageError(f"--max-cpu-share takes a fraction (0.2) or a percentage (20%), got {max_cpu_share!r}") from None
        out["max_cpu_share"] = _value("max_cpu_share", number, "--max-cpu-share")
    if exclude:
        out["exclude"] = list(exclude)
    return out
