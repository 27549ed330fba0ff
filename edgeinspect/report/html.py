"""``edgeinspect report``: one self-contained HTML file (inline CSS and SVG, no script, no network).

For a .pte, per method, the sections of :data:`edgeinspect.report.sections.METHOD_SECTIONS`:
a summary of what ``inspect`` says (targets, coverage, fragmentation score, metrics); the
partition timeline (an overview bar that fits the page, drawn to instruction count or to
measured time, and the partition sequence with repeats compressed); the delegates (payload,
operators inside, joined dump, memory); the CPU islands grouped by cause; the
recommendations with every fix; with ``--etdump`` the measured time; with ``--estimate`` the
latency budget and Vela's cycles per delegate, per TOSA operator and per layer; and the
dataflow graph as static SVG, top to bottom. With provenance (``--etrecord`` or a program's own
stack traces) each table gains a source column: module path, module type, file and line.
For a .tosa: the operator histogram and the graph, CONST folded.

The page fits its width (nothing scrolls sideways) and stays small: every list that grows with
the program is compressed or cut at a stated number of rows, so 20,000 instructions make a
file of a few hundred KB that a browser opens in well under a second.

Made for CI artifacts and for people who do not run Model Explorer: it opens from disk in
any browser and fetches nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from edgeinspect.analysis.evidence import Evidence
from edgeinspect.graph import block_graph, fold_constants
from edgeinspect.model import Program, TosaGraph
from edgeinspect.report._html import _e, _name
from edgeinspect.report.drawing import Boundary, graph_svg, partition_boundaries, partition_traffic
from edgeinspect.report.sections import GRAPH_NODES, METHOD_SECTIONS, MethodView, Section, method_html

__all__ = [
    "Boundary",
    "METHOD_SECTIONS",
    "Section",
    "graph_svg",
    "partition_boundaries",
    "partition_traffic",
    "report_html",
    "write_report",
]

_CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2328;max-width:1400px}
body{overflow-wrap:break-word}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}h4{font-size:13px;margin:12px 0 4px}.muted{color:#656d76}
table{border-collapse:collapse;margin:6px 0;max-width:100%}
td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.chip{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-size:12px;max-width:100%}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
svg.graph{max-width:100%;height:auto;display:block}
code{background:#f6f8fa;padding:0 3px;border-radius:3px}
.overview{margin:6px 0 10px}.lane{display:grid;grid-template-columns:140px minmax(0,1fr);align-items:center;gap:6px;margin:2px 0}
.lane-name{font-weight:600;font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
svg.bar{width:100%;height:18px;display:block;background:#f6f8fa}svg.stacked{height:22px}
.axis{display:flex;justify-content:space-between;margin-left:146px;font-size:11px;color:#656d76}
ol.sequence{display:flex;flex-wrap:wrap;gap:4px;list-style:none;padding:0;margin:6px 0;align-items:flex-start}
ol.sequence li{max-width:100%}
li.host{font-weight:600;color:#656d76;padding:2px 4px}li.arrow{font-size:11px;color:#8c959f;padding:3px 2px}li.arrow.cross{color:#d62728}
li.step{border:1px solid #d0d7de;border-radius:6px;padding:2px 6px;background:#fff}li.step:has(details[open]){flex-basis:100%}
li.step summary{cursor:pointer}.count{font-weight:700;margin-left:4px}.meta{font-size:11px;color:#656d76}
.measured{color:#0550ae}.predicted{color:#116329}
.legend{display:inline-block;margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
ul.fixes{margin:0;padding-left:16px}
"""


def _provenance_note(evidence: Evidence) -> str:
    if evidence.sources is not None:
        origin = "the ETRecord" if evidence.sources.origin == "etrecord" else "the program's own stack traces"
        return f'<p class="muted">Sources (module, file and line) from {origin}.</p>'
    from edgeinspect.recommend.sources import NO_PROVENANCE

    return f'<p class="muted">Source column: {_e(NO_PROVENANCE)}.</p>'


def _tosa_body(tosa: Any) -> str:
    parts = []
    for region, block in tosa.blocks:
        g = fold_constants(block_graph(region.name, block))
        lanes = {n: ("CPU" if d["kind"] in ("input", "output") else "TOSABackend") for n, d in g.nodes(data=True)}
        hist: dict[str, int] = {}
        for op in block.operators:
            if not op.is_const:
                hist[op.op] = hist.get(op.op, 0) + 1
        consts = sum(1 for op in block.operators if op.is_const)
        rows = "".join(
            f"<tr><td><code>{_name(k)}</code></td><td class=num>{v}</td></tr>"
            for k, v in sorted(hist.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        if g.number_of_nodes() > GRAPH_NODES:
            drawing = (
                f'<p class="muted">The graph of {g.number_of_nodes():,} nodes is not drawn here (more than {GRAPH_NODES}); '
                "<code>edgeinspect view FILE</code> shows it in Model Explorer.</p>"
            )
        else:
            drawing = graph_svg(g, lane_of=lanes)
        parts.append(
            f'<section class="block"><h2>region <code>{_name(region.name)}</code>, block <code>{_name(block.name)}</code></h2>'
            f"<p>{sum(hist.values()):,} operators ({consts:,} CONST operators folded into their consumers).</p>"
            f'<table class="histogram"><tr><th>operator</th><th>count</th></tr>{rows}</table>'
            f"<h3>Graph</h3>{drawing}</section>"
        )
    return "".join(parts)


def report_html(
    model: Program | TosaGraph | Evidence,
    *,
    recommendations: Mapping[str, Iterable[Any]] | None = None,
    sections: list[Section] | None = None,
) -> str:
    """The whole report as one HTML string (see the module docstring).

    Parameters
    ----------
    model : Program, TosaGraph or Evidence
        What :func:`edgeinspect.load` returned, or a program with what its side files say
        (:func:`edgeinspect.gather`: measured time, Vela estimates, sources).
    recommendations : mapping, optional
        ``{method name: recommendations}``; by default from :mod:`edgeinspect.recommend`.
    sections : list of Section, optional
        The sections of each method (default :data:`METHOD_SECTIONS`).
    """
    from edgeinspect._version import __version__

    if isinstance(model, Program):
        model = Evidence(model)
    target = model.program if isinstance(model, Evidence) else model
    name = os.path.basename(target.path) if target.path else "<bytes>"
    if isinstance(model, Evidence):
        program = model.program
        kind = f"ExecuTorch program, {program.file_size:,} bytes, {len(program.methods)} method(s)"
        side = [f"ETDump {os.path.basename(model.etdump)}" if model.etdump else "", "Vela estimates" if model.estimates is not None else ""]
        side.append(f"ETRecord {os.path.basename(model.etrecord)}" if model.etrecord else "")
        if any(side):
            kind += "; with " + ", ".join(s for s in side if s)
        body = _provenance_note(model) + "".join(
            method_html(
                MethodView(program, m, model, None if recommendations is None else recommendations.get(m.name, [])),
                sections,
            )
            for m in program.methods
        )
    else:
        kind = f"TOSA {model.version_string} flatbuffer, {model.file_size:,} bytes"
        body = _tosa_body(model)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>edgeinspect report: {_name(name)}</title><style>{_CSS}</style></head><body>"
        f"<h1>edgeinspect report: <code>{_name(name)}</code></h1>"
        f'<p class="muted">{_e(kind)}. Generated by edgeinspect {_e(__version__)}.</p>'
        f"{body}</body></html>\n"
    )


def write_report(
    model: Program | TosaGraph | Evidence,
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    **kwargs: Any,
) -> None:
    """Write :func:`report_html` to ``path`` (UTF-8), atomically, never over the model, its
    side files or one of ``inputs`` (see :func:`edgeinspect.outputs.write_output`)."""
    from edgeinspect.outputs import write_output

    target = model.program if isinstance(model, Evidence) else model
    own = [target.path] if getattr(target, "path", None) else []
    if isinstance(model, Evidence):
        own += [f for f in (model.etdump, model.etrecord) if f]
    write_output(path, report_html(model, **kwargs), inputs=[*own, *inputs], what="report")
