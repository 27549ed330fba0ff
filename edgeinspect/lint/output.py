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


def _text(result: Any) -> str:
    """One line per finding (``path:offset: CODE name message``), then a summary line.

    Tool errors are not part of it: the CLI prints them on stderr, one line each.
    """
    lines = [f"{_said(_where(f))}: {f.code} {f.name} {_said(f.message)}" for f in result.findings]
    s = result.summary()
    if not result.files and result.errors:
        return ""
    n, files = s["findings"], s["files"]
    extra = []
    if s["invalid_files"]:
        extra.append(f"{s['invalid_files']} invalid file{'s' if s['invalid_files'] != 1 else ''}")
    if s["tool_errors"]:
        extra.append(f"{s['tool_errors']} tool error{'s' if s['tool_errors'] != 1 else ''}")
    if result.baseline:
        extra.append(f"against baseline {PurePath(result.baseline).name}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    where = f"{files} file{'s' if files != 1 else ''}"
    if n:
        codes = ", ".join(f"{c} x{k}" for c, k in s["by_code"].items())
        lines.append(f"Found {n} finding{'s' if n != 1 else ''} in {where}: {codes}{tail}")
    else:
        lines.append(f"All checks passed: {where}{tail}")
    return "\n".join(lines) + "\n"


def _json(result: Any, *, exit_zero: bool = False) -> str:
    from edgeinspect._version import __version__

    doc = {
        "schema_version": 1,
        "tool": {"name": "edgeinspect", "version": __version__},
        "files": [f.to_dict() for f in result.files],
        "findings": [f.to_dict() for f in result.findings],
        "errors": [e.to_dict() for e in result.errors],
        "baseline": result.baseline,
        "summary": result.summary(),
        "exit_code": result.exit_code(exit_zero=exit_zero),
    }
    return json.dumps(bounded(doc, TEXT_LIMIT), indent=2) + "\n"


def _artifact(path: str) -> dict[str, str]:
    """SARIF artifactLocation: a relative URI against %SRCROOT% (the folder the lint ran in), or a
    file URI for an absolute path."""
    from pathlib import Path
    from urllib.parse import quote

    if Path(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    p = PurePath(path).as_posix()
    while p.startswith("./"):
        p = p[2:]
    return {"uri": quote(p, safe="/"), "uriBaseId": "%SRCROOT%"}


def _fingerprint(f: Any) -> str:
    import hashlib

    return hashlib.sha256(f"{f.code}\0{f.path}\0{f.method}\0{f.offset}".encode()).hexdigest()[:32]


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
    results = []
    for f in result.findings:
        physical: dict[str, Any] = {"artifactLocation": _artifact(f.path)}
        if f.offset is not None:
            physical["region"] = {"byteOffset": f.offset, "byteLength": 1}
        entry: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": codes.index(f.code),
            "level": f.severity,
            "message": {"text": f"{f.name}: {f.message}"},
            "locations": [{"physicalLocation": physical}],
            "partialFingerprints": {"edgeinspectFinding/v1": _fingerprint(f)},
        }
        if f.method is not None:
            entry["properties"] = {"method": f.method}
        results.append(entry)
    notifications = []
    for e in result.errors:
        note: dict[str, Any] = {"level": "error", "message": {"text": e.message}}
        if e.path is not None:
            note["locations"] = [{"physicalLocation": {"artifactLocation": _artifact(e.path)}}]
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


def _github(result: Any) -> str:
    """GitHub Actions workflow commands: one annotation per finding, then a plain summary line."""
    lines = []
    for f in result.findings:
        props = f"file={_escape_property(PurePath(f.path).as_posix())},title={_escape_property(f'{f.code} {f.name}')}"
        where = f" (offset {f.offset:#x})" if f.offset is not None else ""
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {props}::{_escape_data(f.message + where)}")
    for e in result.errors:
        props = f"file={_escape_property(PurePath(e.path).as_posix())}," if e.path else ""
        lines.append(f"::error {props}title=edgeinspect tool error::{_escape_data(e.message)}")
    s = result.summary()
    lines.append(f"edgeinspect lint: {s['findings']} finding(s) in {s['files']} file(s), {s['tool_errors']} tool error(s)")
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
                f"      <failure type={quoteattr(f.code)} message={quoteattr(f'{f.code} {f.name}: {f.message}')}>"
                f"{escape(f'{_where(f)}: {f.code} {f.name} {f.message}')}</failure>"
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
