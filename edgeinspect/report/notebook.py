"""HTML for Jupyter: what ``_repr_html_`` of the main objects returns.

:class:`~edgeinspect.model.Program`, :class:`~edgeinspect.model.Method` and
:class:`~edgeinspect.model.tosa.TosaGraph` call :func:`program_html`, :func:`method_html`
and :func:`tosa_html` from their ``_repr_html_``, so the last expression of a notebook cell
shows a readable summary instead of a dataclass repr. Analysis results and recommendations
are plain records owned by other modules; two ways show them as tables:

- :func:`show_islands`, :func:`show_round_trips`, :func:`show_recommendations` and
  :func:`show_metrics` return a :class:`Rendered` value that a notebook displays as HTML
  (and a console as text);
- ``%load_ext edgeinspect.report.notebook`` registers HTML formatters for
  :class:`~edgeinspect.analysis.CpuIsland`, :class:`~edgeinspect.analysis.RoundTrip`,
  :class:`~edgeinspect.analysis.Coverage` and ``Recommendation`` objects
  (:func:`load_ipython_extension`).

The HTML is self-contained (inline styles, no scripts, no network), escaped, and
deterministic: the same file gives the same bytes. Long tables are cut at
:data:`MAX_ROWS` rows with a line saying how many were left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgeinspect.analysis.fragmentation import (
    Coverage,
    CpuIsland,
    RoundTrip,
    boundary_bytes,
    coverage,
    cpu_islands,
    delegated_subgraphs,
    format_score,
    fragmentation_score,
    is_glue,
    round_trips,
    tensor_bytes,
    transitions,
)
from edgeinspect.model.counts import CONST_OPS
from edgeinspect.report._html import _chip, _e, _field, _n, _name, device_color

if TYPE_CHECKING:
    from edgeinspect.model import Delegate, Method, Program
    from edgeinspect.model.tosa import TosaGraph

__all__ = [
    "MAX_ROWS",
    "Rendered",
    "coverage_html",
    "island_html",
    "load_ipython_extension",
    "method_html",
    "program_html",
    "recommendation_html",
    "round_trip_html",
    "show_islands",
    "show_metrics",
    "show_recommendations",
    "show_round_trips",
    "tosa_html",
]

#: Rows shown per table before the rest is summarised in one line.
MAX_ROWS = 200

_STYLE = (
    "<style>"
    ".ei{font-family:system-ui,sans-serif;font-size:13px;line-height:1.4}"
    ".ei table{border-collapse:collapse;margin:4px 0 10px 0}"
    ".ei th,.ei td{border:1px solid #d0d7de;padding:2px 8px;text-align:left;vertical-align:top}"
    ".ei th{background:#f6f8fa}"
    ".ei td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".ei .chip{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px}"
    ".ei .strip{display:flex;gap:2px;margin:4px 0 8px 0}"
    ".ei .strip span{display:inline-block;width:14px;height:14px;border-radius:2px}"
    ".ei .muted{color:#656d76}"
    "</style>"
)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """An HTML table; cells are already HTML. Columns in ``numeric`` are right-aligned."""
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in header), "</tr></thead><tbody>"]
    for row in rows[:MAX_ROWS]:
        out.append("<tr>")
        out.extend(f'<td class="n">{c}</td>' if k in numeric else f"<td>{c}</td>" for k, c in enumerate(row))
        out.append("</tr>")
    out.append("</tbody></table>")
    if len(rows) > MAX_ROWS:
        out.append(f'<div class="muted">... {len(rows) - MAX_ROWS:,} more rows not shown</div>')
    return "".join(out)


def _wrap(body: str) -> str:
    return f'<div class="ei">{_STYLE}{body}</div>'


@dataclass(frozen=True, slots=True)
class Rendered:
    """HTML that Jupyter displays as is, with a plain-text form for consoles.

    Examples
    --------
    >>> r = Rendered("<b>2</b> transitions", "2 transitions")
    >>> r
    2 transitions
    >>> r._repr_html_()
    '<b>2</b> transitions'
    """

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


# ---------------------------------------------------------------------------------------
# Program / Method


def _delegate_ops(delegate: Delegate) -> Mapping[str, int] | None:
    from edgeinspect.formats.payloads import known_delegate_ops

    return known_delegate_ops(delegate)


def _metrics_rows(method: Method) -> list[tuple[str, str]]:
    subgraphs = delegated_subgraphs(method)
    cov = coverage(method)
    return [
        ("delegated subgraphs", ", ".join(f"{_chip(b)} {n}" for b, n in subgraphs.items()) or "none"),
        ("transitions", _n(transitions(method))),
        ("boundary bytes", _n(boundary_bytes(method))),
        ("CPU islands", _n(len(cpu_islands(method)))),
        ("round trips", _n(len(round_trips(method)))),
        ("coverage", _e(cov.ratio)),
        ("fragmentation score", _e(fragmentation_score(method))),
    ]


def _strip(method: Method) -> str:
    """One small coloured square per call, in instruction order (glue paler)."""
    cells = []
    for ins in method.calls:
        opacity = "0.4" if ins.kind == "kernel" and is_glue(ins.name) else "1"
        cells.append(
            f'<span title="#{ins.index} {_name(ins.name)}" style="background:{device_color(ins.device)};opacity:{opacity}"></span>'
        )
    return f'<div class="strip">{"".join(cells)}</div>' if cells else ""


def _instruction_rows(method: Method) -> list[list[str]]:
    rows = []
    for ins in method.instructions:
        nbytes = tensor_bytes(method, method.tensor_args(ins)) if ins.is_call else None
        target = "" if ins.ref is None else str(ins.ref)
        rows.append([_e(ins.index), _e(ins.kind), _name(ins.name), _chip(ins.device) if ins.device else "", _e(target), _n(nbytes)])
    return rows


def _delegate_rows(method: Method) -> list[list[str]]:
    rows = []
    for d in method.delegates:
        ops = _delegate_ops(d)
        ops_text = "unknown" if ops is None else ", ".join(f"{op} {n}" for op, n in ops.items())
        rows.append(
            [
                _e(d.index),
                _chip(d.backend_id),
                _e(d.target or "-"),
                _e(d.location),
                _n(d.payload_size),
                _e(d.tosa_file or "-"),
                _e(ops_text),
            ]
        )
    return rows


def _method_body(method: Method, *, level: int = 3) -> str:
    calls = sum(1 for _ in method.calls)
    parts = [
        f"<h{level}>method <code>{_name(method.name)}</code></h{level}>",
        f'<div class="muted">{len(method.instructions):,} instructions ({calls:,} calls), '
        f"{len(method.delegates):,} delegate(s), {len(method.inputs):,} input(s), {len(method.outputs):,} output(s)</div>",
        _strip(method),
        _table(["metric", "value"], [[_e(k), v] for k, v in _metrics_rows(method)]),
    ]
    if method.delegates:
        parts.append("<b>Delegates</b>")
        parts.append(
            _table(["#", "backend", "target", "data", "payload bytes", "tosa file", "operators inside"], _delegate_rows(method), (4,))
        )
    parts.append("<b>Instructions</b>")
    parts.append(_table(["#", "kind", "name", "device", "ref", "tensor argument bytes"], _instruction_rows(method), (0, 5)))
    islands = cpu_islands(method)
    if islands:
        parts.append("<b>CPU islands</b>")
        parts.append(_islands_table(islands))
    return "".join(parts)


def method_html(method: Method) -> str:
    """HTML summary of a method: metrics, a device strip, delegates, instructions, islands.

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction
    >>> calls = (Instruction(0, "delegate", 0, (), "XnnpackBackend", "XnnpackBackend"),)
    >>> "XnnpackBackend" in method_html(Method("forward", (), (), (), calls, (), ()))
    True
    """
    return _wrap(_method_body(method))


def program_html(program: Program) -> str:
    """HTML summary of a program: file facts, then each method as :func:`method_html` shows it."""
    name = program.path or "(bytes)"
    head = (
        f"<h2>ExecuTorch program <code>{_e(name)}</code></h2>"
        f'<div class="muted">{_n(program.file_size)} bytes, {len(program.methods):,} method(s): '
        f"{_e(', '.join(program.method_names) or 'none')}; {len(program.delegates):,} delegate(s); "
        f"{len(program.segments):,} data segment(s)</div>"
    )
    if program.tosa_files:
        head += f'<div class="muted">joined .tosa dumps: {_e(", ".join(program.tosa_files))}</div>'
    return _wrap(head + "".join(_method_body(m) for m in program.methods))


# ---------------------------------------------------------------------------------------
# TOSA


def tosa_html(graph: TosaGraph) -> str:
    """HTML summary of a TOSA graph: version, operator histogram (constants apart), inputs, outputs.

    Examples
    --------
    >>> from edgeinspect.model.tosa import TosaGraph
    >>> "1.0.0" in tosa_html(TosaGraph(None, (1, 0, 0), (), 0))
    True
    """

    def shapes(tensors: Iterable[Any]) -> str:
        return "<br>".join(f"{_name(t.name)}: {_e(list(t.shape))} {_e(t.dtype)}" for t in tensors) or "-"

    hist = graph.histogram(include_const=True)
    const = sum(n for op, n in hist.items() if op in CONST_OPS)
    real = {op: n for op, n in hist.items() if op not in CONST_OPS}
    head = (
        f"<h2>TOSA graph <code>{_e(graph.path or '(bytes)')}</code></h2>"
        f'<div class="muted">TOSA {_e(graph.version_string)}{" (draft)" if graph.draft else ""}, {_n(graph.file_size)} bytes, '
        f"{len(graph.regions):,} region(s), {graph.num_operators:,} operators of which {const:,} constants, "
        f"{_n(graph.constant_bytes)} bytes of constant data</div>"
    )
    io = _table(["inputs", "outputs"], [[shapes(graph.inputs), shapes(graph.outputs)]])
    ops = _table(["operator", "count"], [[_e(op), _n(n)] for op, n in real.items()], (1,))
    return _wrap(head + io + "<b>Operators (constants not counted)</b>" + ops)


# ---------------------------------------------------------------------------------------
# Analysis results


def _islands_table(islands: Sequence[CpuIsland]) -> str:
    rows = [
        [
            _e(f"#{isl.between[0]} {isl.backends[0]} \u2192 #{isl.between[1]} {isl.backends[1]}"),
            _e(", ".join(str(i) for i in isl.instructions)),
            _e(", ".join(isl.causes) or "(glue only)"),
            _n(len(isl.glue)),
            _n(isl.bytes_in),
            _n(isl.bytes_out),
        ]
        for isl in islands
    ]
    return _table(["between", "instructions", "causes", "glue", "bytes in", "bytes out"], rows, (3, 4, 5))


def island_html(island: CpuIsland) -> str:
    """HTML for one CPU island (a one-row table)."""
    return _wrap(_islands_table([island]))


def _round_trips_table(trips: Sequence[RoundTrip]) -> str:
    rows = [
        [_e(f"#{r.source} \u2192 #{r.sink}"), _e(r.kind.replace("_", " ")), _e(r.value), _e(", ".join(r.ops) or "none"), _n(r.bytes)]
        for r in trips
    ]
    return _table(["delegate calls", "kind", "tensor", "CPU ops on the way", "bytes"], rows, (2, 4))


def round_trip_html(trip: RoundTrip) -> str:
    """HTML for one round trip (a one-row table)."""
    return _wrap(_round_trips_table([trip]))


def coverage_html(cov: Coverage) -> str:
    """HTML for a :class:`~edgeinspect.analysis.Coverage` result.

    Examples
    --------
    >>> from edgeinspect.analysis import Coverage
    >>> "0.75" in coverage_html(Coverage(3, 1, 2, ()))
    True
    """
    rows = [
        ["coverage", _e(cov.ratio)],
        ["delegated operators", _n(cov.delegated_ops)],
        ["CPU operators (not glue)", _n(cov.cpu_ops)],
        ["glue (quantize/dequantize)", _n(cov.glue_ops)],
        ["delegates with unknown operators", _e(", ".join(str(d) for d in cov.unknown_delegates) or "none")],
    ]
    return _wrap(_table(["", ""], rows))


def _recommendations_table(recommendations: Sequence[Any]) -> str:
    rows = []
    for rank, r in enumerate(recommendations, 1):
        requires = _field(r, "requires") or []
        op = _e(_field(r, "operator"))
        if requires:
            op += f'<div class="muted">with {_e(", ".join(requires))}</div>'
        rows.append(
            [
                _e(rank),
                op,
                _n(_field(r, "instances")),
                _n(_field(r, "splits")),
                _n(_field(r, "delegates_if_supported")),
                _n(_field(r, "transitions_saved")),
                _n(_field(r, "bytes_saved")),
                _e(_field(r, "reason") or "-"),
                _e(_field(r, "fix") or "-"),
            ]
        )
    header = ["#", "operator", "instances", "splits", "delegates if supported", "transitions saved", "bytes saved", "reason", "fix"]
    return _table(header, rows, (0, 2, 3, 4, 5, 6))


def recommendation_html(recommendation: Any) -> str:
    """HTML for one recommendation (a ``Recommendation`` or its ``explain --format json`` dict)."""
    return _wrap(_recommendations_table([recommendation]))


# ---------------------------------------------------------------------------------------
# Displayable views


def show_metrics(method: Method) -> Rendered:
    """The fragmentation metrics of a method as a table.

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction
    >>> calls = (Instruction(0, "delegate", 0, (), "XnnpackBackend", "XnnpackBackend"),)
    >>> show_metrics(Method("forward", (), (), (), calls, (), ())).text.splitlines()[1]
    'transitions: 2'
    """
    rows = _metrics_rows(method)
    text_rows = [
        f"delegated subgraphs: {delegated_subgraphs(method)}",
        f"transitions: {transitions(method)}",
        f"boundary bytes: {boundary_bytes(method)}",
        f"CPU islands: {len(cpu_islands(method))}",
        f"round trips: {len(round_trips(method))}",
        f"coverage: {coverage(method).ratio}",
        f"fragmentation score: {format_score(fragmentation_score(method))}",
    ]
    return Rendered(_wrap(_table(["metric", "value"], [[_e(k), v] for k, v in rows])), "\n".join(text_rows))


def show_islands(method_or_islands: Method | Sequence[CpuIsland]) -> Rendered:
    """The CPU islands of a method (or a list of islands) as a table."""
    islands = list(method_or_islands) if isinstance(method_or_islands, Sequence) else cpu_islands(method_or_islands)
    text = "\n".join(
        f"#{i.between[0]}->#{i.between[1]}: {', '.join(i.causes) or '(glue only)'} ({i.bytes_in} B in, {i.bytes_out} B out)"
        for i in islands
    )
    return Rendered(_wrap(_islands_table(islands) if islands else "no CPU islands"), text or "no CPU islands")


def show_round_trips(method_or_trips: Method | Sequence[RoundTrip]) -> Rendered:
    """The round trips of a method (or a list of them) as a table."""
    trips = list(method_or_trips) if isinstance(method_or_trips, Sequence) else round_trips(method_or_trips)
    text = "\n".join(
        f"#{r.source}->#{r.sink} {'directly' if r.kind == 'direct' else 'via ' + ', '.join(r.ops)}: {r.bytes} B" for r in trips
    )
    return Rendered(_wrap(_round_trips_table(trips) if trips else "no round trips"), text or "no round trips")


def show_recommendations(recommendations: Iterable[Any]) -> Rendered:
    """Recommendations (from ``edgeinspect.recommend.recommend`` or ``explain --format json``) as a table, in the given order."""
    recs = list(recommendations)
    text = "\n".join(
        f"{k}. {_field(r, 'operator')}: {_field(r, 'transitions_saved')} transitions and {_field(r, 'bytes_saved')} bytes saved; "
        f"fix: {_field(r, 'fix')}"
        for k, r in enumerate(recs, 1)
    )
    return Rendered(_wrap(_recommendations_table(recs) if recs else "no recommendations"), text or "no recommendations")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext edgeinspect.report.notebook``: HTML for analysis results and recommendations.

    Registers formatters by type name, so the recommender is imported only if it is used.
    """
    formatter = ipython.display_formatter.formatters["text/html"]
    formatter.for_type(CpuIsland, island_html)
    formatter.for_type(RoundTrip, round_trip_html)
    formatter.for_type(Coverage, coverage_html)
    formatter.for_type_by_name("edgeinspect.recommend.recommender", "Recommendation", recommendation_html)
