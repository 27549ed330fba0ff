"""A sweep's results, drawn: side-by-side text, JSON, a self-contained HTML page, progress lines.

Everything here renders the sweep document (``SweepResult.to_dict()`` of
:mod:`edgeinspect.export.sweep`, plus ``findings``/``thresholds`` when thresholds were given;
the ``sweep.json`` a sweep writes) and its rows (:class:`edgeinspect.analysis.sweep.SweepRow`).
Text from files and toolchains (error messages, fixes) is cleaned of control characters and
clipped; the HTML escapes everything, runs no script and fetches nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from edgeinspect.analysis.sweep import SweepRow
from edgeinspect.report._html import _e, device_color

__all__ = ["progress_line", "rows_of", "sweep_html", "sweep_json", "sweep_text"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Longest message or fix shown (JSON keeps what the row holds, itself bounded by the exporter).
CLIP = 600


def _clean(text: object, limit: int = CLIP) -> str:
    """One line, no control characters, at most ``limit`` characters.

    >>> _clean("a\\x1b[31mb\\nc")
    'a?[31mb c'
    """
    s = _CONTROL.sub(lambda m: " " if m.group() in "\n\r\t" else "?", str(text))
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


def _backend(name: str) -> str:
    """Short backend label: ``EthosUBackend`` -> ``EthosU``, ``XnnpackBackend`` -> ``XNNPACK``."""
    short = name[:-7] if name.endswith("Backend") else name
    return "XNNPACK" if short == "Xnnpack" else short


def _short_op(op: str) -> str:
    return op.split("::", 1)[1] if "::" in op else op


def rows_of(doc: Mapping[str, Any]) -> list[SweepRow]:
    """The rows of a sweep document."""
    return [SweepRow.from_dict(r) for r in doc.get("rows", ())]


def _delegates(row: SweepRow) -> str:
    if not row.ok:
        return f"FAILED ({row.error_stage})"
    if not row.delegates:
        return "none (all CPU)"
    return ", ".join(f"{_backend(b)} x{n}" for b, n in row.delegates)


def _coverage(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.1%}"


def _num(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _splitter(row: SweepRow) -> str:
    if not row.ok:
        return "-"
    top = row.top_splitter
    if top is None:
        return "none"
    return " + ".join(_short_op(o) for o in (top.operator, *top.requires))


def _cells(row: SweepRow, estimate: bool) -> list[str]:
    if not row.ok:
        cells = [_delegates(row), "-", "-", "-", "-"]
    else:
        cells = [_delegates(row), str(row.transitions), _num(row.boundary_bytes), _coverage(row.coverage), _splitter(row)]
    if estimate:
        cells.append(_num(row.cycles) if row.cycles is not None else ("-" if row.ok else ""))
    return cells


_LABELS = ("delegates", "transitions", "boundary bytes", "coverage", "top splitter")


def _grid(doc: Mapping[str, Any]) -> tuple[list[str], list[str], dict[tuple[str, str], SweepRow]]:
    rows = rows_of(doc)
    models = [m["name"] for m in doc.get("models", ())] or list(dict.fromkeys(r.model for r in rows))
    targets = list(doc.get("targets", ())) or list(dict.fromkeys(r.target for r in rows))
    return models, targets, {(r.model, r.target): r for r in rows}


def _toolchain(doc: Mapping[str, Any]) -> str:
    tools = doc.get("toolchain") or {}
    return ", ".join(f"{_clean(k, 40)} {_clean(v, 40)}" for k, v in tools.items() if v)


def sweep_text(doc: Mapping[str, Any]) -> str:
    """The side-by-side table: per model, one column per target, the best marked ``*``; below
    each model, why the best is best, the top splitter's fix per target, and failures."""
    models, targets, by_pair = _grid(doc)
    estimate = bool(doc.get("estimate"))
    labels = [*_LABELS, *(("Vela cycles",) if estimate else ())]
    lines = [
        f"edgeinspect sweep: {len(models)} model(s) x {len(targets)} target(s)" + (f" ({_toolchain(doc)})" if doc.get("toolchain") else "")
    ]
    for model in models:
        row_of = {t: by_pair.get((model, t)) for t in targets}
        heads = [t + (" *" if row_of[t] is not None and row_of[t].best else "") for t in targets]  # type: ignore[union-attr]
        cells = {t: _cells(r, estimate) if r is not None else ["(not run)"] + [""] * (len(labels) - 1) for t, r in row_of.items()}
        width = max([18, *(len(h) + 2 for h in heads)])
        label_width = max(len(model) + 2, 18)
        lines.append("")
        lines.append(_clean(model).ljust(label_width) + "".join(h.ljust(width) for h in heads).rstrip())
        for i, label in enumerate(labels):
            values = [_fit(cells[t][i], width - 1) for t in targets]
            lines.append(("  " + label).ljust(label_width) + "".join(v.ljust(width) for v in values).rstrip())
        best = [r for r in row_of.values() if r is not None and r.best]
        if best:
            lines.append(f"  best: {', '.join(r.target for r in best)} ({_clean(best[0].best_reason or '')})")
        elif any(r is not None for r in row_of.values()):
            lines.append("  best: none (no target exported it)")
        for target, r in row_of.items():
            if r is None:
                continue
            if not r.ok:
                lines.append(f"  {target} failed at {r.error_stage}: {_clean(r.error or '')}")
            elif r.top_splitter is not None:
                top = r.top_splitter
                what = " + ".join((top.operator, *top.requires))
                fix = f"; fix: {_clean(top.fix)}" if top.fix else ""
                lines.append(
                    f"  {target}: {_clean(what, 120)} splits it in {top.splits} place(s) "
                    f"({r.delegate_calls} delegates -> {top.delegates_if_supported} if supported){fix}"
                )
            if r.ok and r.estimate_note and estimate:
                lines.append(f"  {target}: no Vela estimate: {_clean(r.estimate_note)}")
    findings = doc.get("findings") or []
    if doc.get("thresholds"):
        lines.append("")
        if findings:
            lines.append(f"thresholds: {len(findings)} finding(s)")
            for f in findings:
                lines.append(f"  {_clean(f['path'], 300)}: {f['code']} {f['name']}: {_clean(f['message'])}")
        else:
            lines.append("thresholds: every exported pair is within them")
        failed = [r for r in by_pair.values() if not r.ok]
        if failed:
            lines.append(f"  {len(failed)} pair(s) failed to export and meet no threshold")
    run = doc.get("run") or {}
    if run:
        lines.append("")
        lines.append(
            f"{run.get('exported', 0)} exported, {run.get('resumed', 0)} reused from a previous run, {run.get('failed', 0)} failed; "
            f"{run.get('seconds', 0):.1f} s"
        )
    return "\n".join(lines) + "\n"


def _fit(text: str, width: int) -> str:
    text = _clean(text, 200)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def sweep_json(doc: Mapping[str, Any]) -> str:
    """The document as JSON (deterministic key order, as given)."""
    return json.dumps(doc, indent=1) + "\n"


# --- HTML ------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2328;max-width:1600px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.muted{color:#656d76}table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.cell{min-width:170px;max-width:320px}td.best{background:#eaf7ee;outline:2px solid #2ca02c}td.failed{background:#fdecea}
.chip{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-size:12px;margin:1px 2px 1px 0}
.badge{display:inline-block;padding:0 6px;border-radius:9px;background:#2ca02c;color:#fff;font-size:12px}
.fail{color:#b42318;font-weight:600}.small{font-size:12px}code{background:#f6f8fa;padding:0 3px;border-radius:3px}
"""


def _chips(row: SweepRow) -> str:
    if not row.delegates:
        return '<span class="muted">no delegate: all on CPU</span>'
    return "".join(f'<span class="chip" style="background:{device_color(b)}">{_e(_backend(b))} &times;{n}</span>' for b, n in row.delegates)


def _cell(row: SweepRow | None, estimate: bool) -> str:
    if row is None:
        return '<td class="cell muted">not run</td>'
    if not row.ok:
        return (
            f'<td class="cell failed"><span class="fail">failed at {_e(row.error_stage)}</span>'
            f'<div class="small">{_e(_clean(row.error or ""))}</div></td>'
        )
    parts = [_chips(row)]
    if row.best:
        parts.insert(0, f'<span class="badge" title="{_e(_clean(row.best_reason or ""))}">&#9733; best</span> ')
    figures = f"{row.transitions} transitions &middot; {_num(row.boundary_bytes)} B across &middot; {_e(_coverage(row.coverage))} coverage"
    parts.append(f"<div>{figures}</div>")
    if row.top_splitter is not None:
        parts.append(f'<div class="small">split by <code>{_e(_clean(_splitter(row), 200))}</code></div>')
    if estimate and row.cycles is not None:
        parts.append(f'<div class="small">{_num(row.cycles)} Vela cycles</div>')
    css = "cell best" if row.best else "cell"
    return f'<td class="{css}">{"".join(parts)}</td>'


def _details(model: str, targets: Sequence[str], by_pair: Mapping[tuple[str, str], SweepRow], estimate: bool) -> str:
    head = ["target", "status", "delegates", "transitions", "boundary bytes", "coverage", "CPU islands", "top splitter", "fix"]
    if estimate:
        head.append("Vela cycles")
    body = []
    for t in targets:
        r = by_pair.get((model, t))
        if r is None:
            continue
        if r.ok:
            top = r.top_splitter
            cells = [
                _e(t) + (' <span class="badge">&#9733; best</span>' if r.best else ""),
                "ok",
                _chips(r),
                f'<td class="num">{r.transitions}',
                f'<td class="num">{_num(r.boundary_bytes)}',
                _e(_coverage(r.coverage)),
                f'<td class="num">{_num(r.cpu_islands)}',
                _e(_clean(_splitter(r), 300)) + (f'<div class="small muted">{_e(_clean(top.reason))}</div>' if top else ""),
                _e(_clean(top.fix)) if top and top.fix else "-",
            ]
            if estimate:
                cells.append(f'<td class="num">{_num(r.cycles)}' if r.cycles is not None else _e(_clean(r.estimate_note or "-")))
        else:
            cells = [_e(t), f'<span class="fail">failed at {_e(r.error_stage)}</span>', _e(_clean(r.error or ""))]
            cells += ["-"] * (len(head) - len(cells))
        body.append("<tr>" + "".join(c + "</td>" if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>")
    reason = next((r.best_reason for t in targets if (r := by_pair.get((model, t))) is not None and r.best), None)
    why = f"<p>Best: {_e(_clean(reason))}</p>" if reason else '<p class="muted">No target exported this model.</p>'
    return f"<h2>{_e(model)}</h2>{why}<table><tr>{''.join(f'<th>{_e(h)}</th>' for h in head)}</tr>{''.join(body)}</table>"


def sweep_html(doc: Mapping[str, Any]) -> str:
    """One self-contained HTML page: the models x targets matrix (best marked), then each
    model's rows in full, the threshold findings and the toolchain. No script, no network."""
    models, targets, by_pair = _grid(doc)
    estimate = bool(doc.get("estimate"))
    run = doc.get("run") or {}
    matrix = (
        '<table class="matrix"><tr><th>model</th>'
        + "".join(f"<th>{_e(t)}</th>" for t in targets)
        + "</tr>"
        + "".join(f"<tr><th>{_e(m)}</th>" + "".join(_cell(by_pair.get((m, t)), estimate) for t in targets) + "</tr>" for m in models)
        + "</table>"
    )
    details = "".join(_details(m, targets, by_pair, estimate) for m in models)
    findings = doc.get("findings") or []
    thresholds = ""
    if doc.get("thresholds"):
        items = "".join(
            f"<li><code>{_e(_clean(f['path'], 300))}</code> {_e(f['code'])} {_e(f['name'])}: {_e(_clean(f['message']))}</li>"
            for f in findings
        )
        thresholds = "<h2>Thresholds</h2>" + (f"<ul>{items}</ul>" if findings else "<p>Every exported pair is within them.</p>")
    summary = (
        f"{len(models)} model(s) x {len(targets)} target(s): {run.get('exported', 0)} exported, "
        f"{run.get('resumed', 0)} reused, {run.get('failed', 0)} failed"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>edgeinspect sweep</title>"
        f"<style>{_CSS}</style></head><body>"
        f'<h1>Which target fragments least?</h1><p class="muted">{_e(summary)}. {_e(_toolchain(doc))}</p>'
        '<p class="small muted">Best per model: some delegation, then fewest transitions, then highest coverage, '
        "then fewest boundary bytes, then fewest Vela cycles when estimated.</p>"
        f"{matrix}{details}{thresholds}</body></html>\n"
    )


# --- progress ----------------------------------------------------------------------------


def progress_line(
    kind: str,
    done: int,
    total: int,
    elapsed: float,
    *,
    model: str | None = None,
    target: str | None = None,
    row: SweepRow | None = None,
    message: str | None = None,
    exported: int = 0,
    width: int = 20,
) -> str:
    """One line of progress for stderr: the bar, counts, elapsed and remaining time, and the
    task the event is about. Plain text (no cursor movement): it reads the same in a CI log.

    Examples
    --------
    >>> progress_line("finished", 3, 12, 75.0, model="m", target="xnnpack", exported=3,
    ...               row=SweepRow("m", "xnnpack", "ok", delegates=(("XnnpackBackend", 1),), transitions=2, seconds=20.5))
    '[#####...............]  3/12  25%  1:15 elapsed, ~3:45 left  m x xnnpack: ok, XNNPACK x1, 2 transitions (20.5 s)'
    """
    filled = 0 if total == 0 else round(width * done / total)
    bar = "[" + "#" * filled + "." * (width - filled) + "]"
    count = f"{done:>{len(str(total))}}/{total}"
    pct = f"{0 if total == 0 else 100 * done // total:>3}%"
    times = f"{_clock(elapsed)} elapsed"
    if exported and done < total:
        times += f", ~{_clock(elapsed / exported * (total - done))} left"
    head = f"{bar} {count} {pct}  {times}"
    if kind == "planned":
        return f"{head}  {_clean(message or '')}"
    pair = f"{model} x {target}"
    if kind == "started":
        return f"{head}  {pair}: exporting"
    if row is None:
        return f"{head}  {pair}"
    if row.ok:
        what = f"ok, {_delegates(row)}, {row.transitions} transitions"
    else:
        what = f"FAILED at {row.error_stage}: {_clean(row.error or '', 160)}"
    when = " (reused)" if row.resumed else (f" ({row.seconds:.1f} s)" if row.seconds is not None else "")
    return f"{head}  {pair}: {what}{when}"


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
