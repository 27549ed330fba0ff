"""Render a :class:`~edgeinspect.lint.LintResult` as text, json, sarif, github or junit.

Every renderer returns the whole document as one string (the CLI writes it to stdout
and nothing else). A tool error is part of the document in every format, so a CI
system reading the document sees it too.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from edgeinspect.lint.rules import RULES
from edgeinspect.textsafe import TEXT_LIMIT, bounded, github_data, github_property, safe, xml_text

__all__ = ["FORMATS", "render"]

FORMATS = ("text", "json", "sarif", "github", "junit")

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def render(result: Any, fmt: str, *, exit_zero: bool = False) -> str:
    """The document for ``result`` in format ``fmt`` (one of :data:`FORMATS`), newline-terminated.

    ``exit_zero`` is what ``--exit-zero`` asked: the JSON document reports the exit code the
    process really returns.
    """
    if fmt == "json":
        return _json(result, exit_zero=exit_zero)
    return {"text": _text, "sarif": _sarif, "github": _github, "junit": _junit}[fmt](result)


def _where(f: Any) -> str:
    return f"{f.path}:{f.offset:#x}" if f.offset is not None else f.path


def _said(text: str) -> str:
    """A path or message as a human-readable format shows it: bounded, control characters escaped
    (file names and the names inside messages come from untrusted files)."""
    return safe(text, TEXT_LIMIT)


def _from(f: Any) -> str:
    """`` (source: models.py:147 in nn.Upsample at up)``: the user's line, when known."""
    if f.source is None:
        return ""
    module = f"; {f.source.module}" if f.source.module else ""
    more = f"; +{len(f.related)} more line{'s' if len(f.related) != 1 else ''}" if f.related else ""
    return f" (source: {f.source.location}{module}{more})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def summary_line(result: Any) -> str | None:
    """The one-line summary every human-readable format starts with (None when nothing was linted)."""
    s = result.summary()
    if not result.files and result.errors:
        return None
    n, files = s["findings"], s["files"]
    extra = []
    if s["invalid_files"]:
        extra.append(_plural(s["invalid_files"], "invalid file"))
    if s["tool_errors"]:
        extra.append(_plural(s["tool_errors"], "tool error"))
    if result.baseline:
        extra.append(f"against baseline {_said(PurePath(result.baseline).name)}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    where = _plural(files, "file")
    if not n:
        return f"All checks passed: {where}{tail}"
    grouped = f" ({s['instances']} instances)" if s["instances"] != n else ""
    codes = ", ".join(f"{c} x{k}" for c, k in s["by_code"].items())
    return f"Found {_plural(n, 'finding')}{grouped} in {where}: {codes}{tail}"


def _text(result: Any) -> str:
    """The summary line, then one line per finding in execution order
    (``path:offset: CODE name message (source: file:line)``).

    Tool errors are not part of it: the CLI prints them on stderr, one line each.
    """
    head = summary_line(result)
    if head is None:
        return ""
    lines = [head]
    lines += [f"{_said(_where(f))}: {f.code} {f.name} {_said(f.message + _from(f))}" for f in result.findings]
    return "\n".join(lines) + "\n"


def _json(result: Any, *, exit_zero: bool = False) -> str:
    from edgeinspect._version import __version__

    doc = {
        "schema_version": 1,
        "tool": {"name": "edgeinspect", "version": __version__},
        "summary": result.summary(),
        "files": [f.to_dict() for f in result.files],
        "findings": [f.to_dict() for f in result.findings],
        "errors": [e.to_dict() for e in result.errors],
        "baseline": result.baseline,
        "exit_code": result.exit_code(exit_zero=exit_zero),
    }
    return json.dumps(bounded(doc, TEXT_LIMIT), indent=2) + "\n"


def _relative(path: str, root: str | None) -> str | None:
    """``path`` relative to the repository root (POSIX), or None when it is not under it."""
    import os

    if root is None:
        return None
    try:
        rel = os.path.relpath(os.path.abspath(path), root)
    except ValueError:  # another drive
        return None
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return None
    return PurePath(rel).as_posix()


def _artifact(path: str, root: str | None = None) -> dict[str, str]:
    """SARIF artifactLocation: a URI relative to %SRCROOT% (the repository root) when the file is
    under it, else the path as given (relative) or a file URI (absolute)."""
    from pathlib import Path
    from urllib.parse import quote

    rel = _relative(path, root)
    if rel is None:
        if Path(path).is_absolute():
            return {"uri": Path(path).as_uri()}
        rel = PurePath(path).as_posix()
        while rel.startswith("./"):
            rel = rel[2:]
    return {"uri": quote(rel, safe="/"), "uriBaseId": "%SRCROOT%"}


def _fingerprint(f: Any) -> str:
    import hashlib

    return hashlib.sha256(f"{f.code}\0{f.path}\0{f.method}\0{f.offset}".encode()).hexdigest()[:32]


def _python_location(line: Any, message: str | None = None) -> dict[str, Any]:
    """A SARIF location on a line of the user's Python file (its repository path)."""
    from urllib.parse import quote

    region: dict[str, Any] = {"startLine": line.line}
    if line.end_line:
        region["endLine"] = line.end_line
    out: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": quote(line.path, safe="/"), "uriBaseId": "%SRCROOT%"}, "region": region}
    }
    if message:
        out["message"] = {"text": message}
    return out


#: Related locations one SARIF result lists at most (every instance stays in its properties).
SARIF_RELATED = 100


def _sarif_result(f: Any, codes: list[str], root: str | None) -> dict[str, Any]:
    model: dict[str, Any] = {"physicalLocation": {"artifactLocation": _artifact(f.path, root)}}
    if f.offset is not None:
        model["physicalLocation"]["region"] = {"byteOffset": f.offset, "byteLength": 1}
    # The user's line first (GitHub code scanning shows a result at its first location), then
    # the bytes of the model; lines that cannot be placed in the repository stay in the message.
    locations = []
    if f.source is not None and f.source.path is not None:
        locations.append(_python_location(f.source))
    locations.append(model)
    related = [
        {**_python_location(r, f"also from {r.location}" + (f" ({r.module})" if r.module else "")), "id": k}
        for k, r in enumerate((r for r in f.related if r.path is not None), 1)
        if k <= SARIF_RELATED
    ]
    entry: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": codes.index(f.code),
        "level": f.severity,
        "message": {"text": f"{f.name}: {f.message}{_from(f)}"},
        "locations": locations,
        "partialFingerprints": {"edgeinspectFinding/v1": _fingerprint(f)},
    }
    if related:
        entry["relatedLocations"] = related
    props: dict[str, Any] = {}
    if f.method is not None:
        props["method"] = f.method
    if f.instruction is not None:
        props["instruction"] = f.instruction
    if f.instructions:
        props["count"] = f.count
        props["instructions"] = list(f.instructions)
    if f.source is not None:
        props["source"] = f.source.to_dict()
    if f.figures:
        props["figures"] = dict(f.figures)
    if props:
        entry["properties"] = props
    return entry


def _sarif(result: Any) -> str:
    from edgeinspect._version import __version__

    codes = list(RULES)
    rules = [
        {
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": f"{r.summary} {r.fix}"},
            "help": {"text": r.fix},
            "defaultConfiguration": {"level": r.severity},
        }
        for r in RULES.values()
    ]
    root = getattr(result, "root", None)
    results = [_sarif_result(f, codes, root) for f in result.findings]
    notifications = []
    for e in result.errors:
        note: dict[str, Any] = {"level": "error", "message": {"text": e.message}}
        if e.path is not None:
            note["locations"] = [{"physicalLocation": {"artifactLocation": _artifact(e.path, root)}}]
        notifications.append(note)
    invocation: dict[str, Any] = {"executionSuccessful": not result.errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "edgeinspect", "version": __version__, "semanticVersion": __version__, "rules": rules}},
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(bounded(doc, TEXT_LIMIT), indent=2) + "\n"


def _escape_data(s: str) -> str:
    """A workflow command's message: control characters made visible (a name from a file cannot
    start a line, so it cannot start a command), then GitHub's own escaping."""
    return github_data(_said(s))


def _escape_property(s: str) -> str:
    return github_property(_said(s))


_GITHUB_LEVEL = {"error": "error", "warning": "warning", "note": "notice"}

#: Annotations GitHub shows per step and level (10 errors, 10 warnings, 10 notices; 50 per job).
#: The github format writes at most this many per level, the last one saying how many more
#: findings there are; those are still printed, as plain log lines.
GITHUB_ANNOTATIONS_PER_LEVEL = 10


def _annotation(f: Any, root: str | None) -> str:
    """One workflow command: on the user's line when it is known and in the repository, else on
    the model file (its offset in the message)."""
    model = _relative(f.path, root) or PurePath(f.path).as_posix()
    title = f"title={_escape_property(f'{f.code} {f.name}')}"
    where = f"offset {f.offset:#x}" if f.offset is not None else ""
    if f.source is not None and f.source.path is not None:
        props = f"file={_escape_property(f.source.path)},line={f.source.line}"
        if f.source.end_line:
            props += f",endLine={f.source.end_line}"
        at = f"{model}" + (f" {where}" if where else "")
        module = f"; {f.source.module}" if f.source.module else ""
        more = f"; also from {', '.join(r.location for r in f.related[:5])}" if f.related else ""
        more += f" and {len(f.related) - 5} more" if len(f.related) > 5 else ""
        message = f"{f.message} (in {at}{module}{more})"
    else:
        props = f"file={_escape_property(model)}"
        message = f.message + (f" ({where})" if where else "") + _from(f)
    return f"::{_GITHUB_LEVEL[f.severity]} {props},{title}::{_escape_data(message)}"


def _github(result: Any) -> str:
    """GitHub Actions workflow commands: the summary first (a plain line), then one annotation per
    finding in execution order, at most :data:`GITHUB_ANNOTATIONS_PER_LEVEL` per level (the last
    of them counting what is left, which follows as plain log lines)."""
    root = getattr(result, "root", None)
    s = result.summary()
    head = summary_line(result) or "Nothing linted"
    lines = [f"edgeinspect lint: {_said(head)}; {_plural(s['tool_errors'], 'tool error')}"]
    entries: list[tuple[str, str, Any]] = [(_GITHUB_LEVEL[f.severity], _annotation(f, root), f) for f in result.findings]
    for e in result.errors:
        rel = _relative(e.path, root) if e.path else None
        props = f"file={_escape_property(rel or PurePath(e.path).as_posix())}," if e.path else ""
        entries.append(("error", f"::error {props}title=edgeinspect tool error::{_escape_data(e.message)}", e))
    shown: dict[str, int] = {}
    total = {level: sum(1 for lv, _, _ in entries if lv == level) for level in ("error", "warning", "notice")}
    rest: list[Any] = []
    for level, command, item in entries:
        k = shown.get(level, 0)
        if total[level] <= GITHUB_ANNOTATIONS_PER_LEVEL or k < GITHUB_ANNOTATIONS_PER_LEVEL - 1:
            lines.append(command)
            shown[level] = k + 1
        else:
            rest.append((level, item))
    for level in ("error", "warning", "notice"):
        left = [item for lv, item in rest if lv == level]
        if left:
            codes: dict[str, int] = {}
            for item in left:
                code = getattr(item, "code", "tool error")
                codes[code] = codes.get(code, 0) + 1
            listed = ", ".join(f"{c} x{k}" for c, k in codes.items())
            lines.append(
                f"::{level} title=edgeinspect lint::{len(left)} more {level} finding(s) not annotated "
                f"(GitHub shows {GITHUB_ANNOTATIONS_PER_LEVEL} per step): {listed}; listed in the log below"
            )
    for _, item in rest:
        if hasattr(item, "code"):
            lines.append(f"- {_said(_where(item))}: {item.code} {item.name} {_said(item.message + _from(item))}")
        else:
            lines.append(f"- tool error: {_said(item.message)}")
    return "\n".join(lines) + "\n"


def _junit(result: Any) -> str:
    """JUnit XML: one test case per file, a <failure> per finding, an <error> per tool error.

    Well-formed whatever a name holds: control characters (which XML 1.0 cannot carry even as
    character references) are shown as escapes before the markup is escaped.
    """
    from xml.sax.saxutils import escape as xml_escape
    from xml.sax.saxutils import quoteattr as xml_quoteattr

    def escape(text: str) -> str:
        return xml_escape(xml_text(_said(text)))

    def quoteattr(text: str) -> str:
        return xml_quoteattr(xml_text(_said(text)), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})

    by_file: dict[str, list[Any]] = {f.path: [] for f in result.files}
    for f in result.findings:
        by_file.setdefault(f.path, []).append(f)
    errors_by_file: dict[str | None, list[Any]] = {}
    for e in result.errors:
        errors_by_file.setdefault(e.path, []).append(e)
    cases = []
    n_fail = n_err = 0
    for path in dict.fromkeys([*by_file, *(p for p in errors_by_file if p is not None)]):
        findings = [f for f in by_file.get(path, []) if f.severity != "note"]
        body = []
        for f in findings:
            n_fail += 1
            body.append(
                f"      <failure type={quoteattr(f.code)} message={quoteattr(f'{f.code} {f.name}: {f.message}{_from(f)}')}>"
                f"{escape(f'{_where(f)}: {f.code} {f.name} {f.message}{_from(f)}')}</failure>"
            )
        for e in errors_by_file.get(path, []):
            n_err += 1
            body.append(f'      <error type="tool-error" message={quoteattr(e.message)}>{escape(e.message)}</error>')
        open_tag = f'    <testcase classname="edgeinspect.lint" name={quoteattr(path)}'
        cases.append(open_tag + (">\n" + "\n".join(body) + "\n    </testcase>" if body else "/>"))
    for e in errors_by_file.get(None, []):
        n_err += 1
        cases.append(
            f'    <testcase classname="edgeinspect.lint" name="edgeinspect">\n'
            f'      <error type="tool-error" message={quoteattr(e.message)}>{escape(e.message)}</error>\n    </testcase>'
        )
    total = len(cases)
    head = f'<testsuite name="edgeinspect lint" tests="{total}" failures="{n_fail}" errors="{n_err}" skipped="0">'
    return (
        "\n".join(
            [
                '<?xml version="1.0" encoding="UTF-8"?>',
                f'<testsuites name="edgeinspect" tests="{total}" failures="{n_fail}" errors="{n_err}">',
                "  " + head,
                *cases,
                "  </testsuite>",
                "</testsuites>",
            ]
        )
        + "\n"
    )
