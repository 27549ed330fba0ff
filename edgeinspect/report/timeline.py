"""The partition timeline of the HTML report: an overview bar that fits its width, and the
partition sequence with its repeats compressed.

A method of 20,000 instructions has hundreds of partitions, most of them alike (a delegate,
then the one CPU operator the backend does not take, again and again). Drawn one box per
call, the timeline was 122,824 px wide at 601 instructions. Here:

- :func:`overview_html` draws every partition in the lane of its device, ``width="100%"``:
  widths proportional to the instructions of each partition, or to its measured time when an
  ETDump is given (:func:`partition_weights`). Partitions too narrow to see apart in one lane
  are merged into one mark (its title says how many), so the drawing is bounded by its width,
  not by the method's length.
- :func:`compress` finds runs of a repeated pattern of partitions (``XnnpackBackend ->
  CPU(cumsum)`` 210 times) and :func:`sequence_html` shows each run once with its count, its
  members listed inside a ``<details>`` element.

No script: the report opens from disk and fetches nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from edgeinspect.analysis.fragmentation import base_operator, is_glue
from edgeinspect.analysis.partitions import Partition
from edgeinspect.analysis.profile import MethodProfile
from edgeinspect.model import Method
from edgeinspect.report._html import _e, _name, _short, _wrap, device_color

__all__ = [
    "MAX_PERIOD",
    "MEMBER_ROWS",
    "STEP_ROWS",
    "SEQUENCE_STEPS",
    "Step",
    "compress",
    "overview_html",
    "partition_key",
    "partition_label",
    "partition_weights",
    "sequence_html",
]

#: Longest pattern of partitions :func:`compress` looks for (a delegate and its island is 2).
MAX_PERIOD = 4
#: Steps of the sequence shown; the rest are counted (the overview bar still draws them).
SEQUENCE_STEPS = 400
#: Member rows listed inside one step's ``<details>`` and in all the steps of a method; the
#: rest are counted (300 repeats of one pattern need not be listed 300 times).
STEP_ROWS = 200
MEMBER_ROWS = 3000
#: Units across the overview bar (its viewBox); a mark is at least ``_MIN_MARK`` wide.
_SCALE = 1000.0
_MIN_MARK = 0.8
#: Marks in one lane closer than this (about two pixels on a laptop) merge when one is as narrow.
_MERGE_GAP = 2.0
GLUE_LABEL = "q/dq"


def partition_key(method: Method, part: Partition) -> tuple[str, ...]:
    """What makes two partitions alike for :func:`compress`: the backend of a delegate call;
    for a CPU partition the distinct operators it runs (glue as one ``q/dq``), in order."""
    if part.is_delegate:
        return (part.device,)
    ops: dict[str, None] = {}
    glue = control = False
    for i in part.instructions:
        ins = method.instructions[i]
        if ins.kind != "kernel":
            control = control or ins.kind == "jump_false"
        elif is_glue(ins.name):
            glue = True
        else:
            ops[base_operator(ins.name)] = None
    return ("CPU", *ops, *((GLUE_LABEL,) if glue else ()), *(("control flow",) if control else ()))


def partition_label(key: Sequence[str], limit: int = 3) -> str:
    """``XnnpackBackend``, ``CPU(cumsum, q/dq)``, ``CPU(sin, cos, tan, +2)`` (plain text: escape it)."""
    if key[0] != "CPU":
        return _short(key[0], 28)
    ops = [_short(op, 22) for op in key[1 : 1 + limit]]
    more = len(key) - 1 - limit
    return f"CPU({', '.join(ops)}{f', +{more}' if more > 0 else ''})" if ops else "CPU"


@dataclass(frozen=True, slots=True)
class Step:
    """A stretch of the partition sequence: ``period`` partitions from ``start``, the same
    pattern ``count`` times in a row (``count`` 1: shown once)."""

    start: int
    period: int
    count: int

    @property
    def stop(self) -> int:
        """One past the last member (partition index)."""
        return self.start + self.period * self.count

    @property
    def members(self) -> range:
        """The partition indices in the step."""
        return range(self.start, self.stop)


def compress(keys: Sequence[object], max_period: int = MAX_PERIOD) -> list[Step]:
    """Run-length encoding of a sequence by repeated patterns of up to ``max_period`` items.

    At each position, the pattern length that covers the most items by repeating (at least
    twice) wins, the shorter on a tie; otherwise the item stands alone. Linear in the length
    for a bounded ``max_period``.

    Examples
    --------
    >>> [(s.start, s.period, s.count) for s in compress("abababac")]
    [(0, 2, 3), (6, 1, 1), (7, 1, 1)]
    >>> [(s.period, s.count) for s in compress("xaaaay")]
    [(1, 1), (1, 4), (1, 1)]
    """
    out: list[Step] = []
    i, n = 0, len(keys)
    while i < n:
        best_period, best_count = 1, 1
        for period in range(1, max_period + 1):
            if i + 2 * period > n:
                break
            count = 1
            while i + (count + 1) * period <= n and all(keys[i + count * period + k] == keys[i + k] for k in range(period)):
                count += 1
            if count >= 2 and period * count > best_period * best_count:
                best_period, best_count = period, count
        out.append(Step(i, best_period, best_count))
        i += best_period * best_count
    return out


def partition_weights(method: Method, parts: Sequence[Partition], profile: MethodProfile | None = None) -> list[float]:
    """The width of each partition in the overview: its instructions, or with ``profile`` the
    sum of its instructions' median ticks (the warm-up runs left out; 0 for what never ran)."""
    if profile is None:
        return [float(len(p.instructions)) for p in parts]
    out = []
    for p in parts:
        total = 0.0
        for i in p.instructions:
            timed = profile.instruction(i)
            if timed is not None and timed.timing.median_ticks is not None:
                total += timed.timing.median_ticks
        out.append(total)
    return out


@dataclass
class _Mark:
    first: int
    last: int
    x0: float
    x1: float
    members: int
    weight: float


def overview_html(parts: Sequence[Partition], weights: Sequence[float], *, unit: str, describe: Callable[[int], str] | None = None) -> str:
    """The overview bar: one lane per device (CPU first), every partition a mark whose width
    is its weight (see :func:`partition_weights`), scaled to the page's width.

    ``unit`` names what the weights count (``instructions``, ``ticks``); ``describe`` gives
    a partition's tooltip text (plain; escaped here). Marks carry ``class="part"``,
    ``data-partition`` (the first partition's name) and ``data-members`` (how many were
    merged into it).
    """
    total = sum(weights)
    lanes = list(dict.fromkeys(["CPU", *(p.device for p in parts)]))
    marks: dict[str, list[_Mark]] = {lane: [] for lane in lanes}
    x = 0.0
    for k, (part, w) in enumerate(zip(parts, weights, strict=True)):
        x0 = x / total * _SCALE if total else 0.0
        x += w
        x1 = x / total * _SCALE if total else 0.0
        lane = marks[part.device]
        if lane and x0 - lane[-1].x1 < _MERGE_GAP and (x1 - x0 < _MERGE_GAP or lane[-1].x1 - lane[-1].x0 < _MERGE_GAP):
            m = lane[-1]
            m.last, m.x1, m.members, m.weight = k, x1, m.members + 1, m.weight + w
        else:
            lane.append(_Mark(k, k, x0, x1, 1, w))
    rows = []
    for lane in lanes:
        color = device_color(lane)
        rects = []
        for m in marks[lane]:
            width = max(m.x1 - m.x0, _MIN_MARK)
            x0 = min(m.x0, _SCALE - width)
            if m.members == 1:
                title = describe(m.first) if describe else parts[m.first].namespace
            else:
                title = (
                    f"{m.members} partitions on {lane}, {parts[m.first].namespace} to {parts[m.last].namespace}: {_amount(m.weight)} {unit}"
                )
            rects.append(
                f'<rect class="part" data-partition="{_name(parts[m.first].namespace)}" data-members="{m.members}" '
                f'x="{x0:.2f}" y="1" width="{width:.2f}" height="16" fill="{color}"><title>{_e(title)}</title></rect>'
            )
        rows.append(
            f'<div class="lane"><span class="lane-name" style="color:{color}" title="{_name(lane)}">{_name(_short(lane, 28))}</span>'
            f'<svg class="bar" viewBox="0 0 {_SCALE:g} 18" preserveAspectRatio="none" role="img" '
            f'aria-label="{_name(lane)}">{"".join(rects)}</svg></div>'
        )
    axis = f'<div class="axis"><span>0</span><span>{_e(_amount(total))} {_e(unit)}</span></div>'
    return f'<div class="overview">{"".join(rows)}{axis}</div>'


def _amount(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 or float(x).is_integer() else f"{x:,.1f}"


def op_histogram(method: Method, part: Partition, limit: int = 4) -> str:
    """The kernels of a CPU partition by operator (``sin x9,790, cos x9,789``), or the delegate
    index of a delegate partition. Plain text: escape it."""
    if part.is_delegate:
        return f"delegate {part.delegate}"
    counts = Counter(_short(method.instructions[i].name, 22) for i in part.instructions if method.instructions[i].kind == "kernel")
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{op} \u00d7{n:,}" for op, n in items[:limit])
    return shown + (f", +{len(items) - limit} more" if len(items) > limit else "")


def sequence_html(
    method: Method,
    parts: Sequence[Partition],
    steps: Sequence[Step],
    *,
    bytes_into: Mapping[int, int],
    host_in: int | None,
    host_out: int | None,
    time_of: Callable[[int], float | None] | None = None,
    time_unit: str = "ticks",
    member_cells: Callable[[int], Sequence[str]] = lambda k: (),
    member_headers: Sequence[str] = (),
) -> str:
    """The compressed sequence: host, then each step (a pattern and its count) and the bytes
    crossing into the next, then host; each step a ``<details>`` listing its members.

    ``bytes_into`` maps a partition index to the bytes entering it from another device;
    ``host_in``/``host_out`` are the bytes from the host into the first partition and back
    from the last (None when the end partition is on the CPU: nothing crosses).
    ``time_of`` gives a partition's measured time (None: not measured). ``member_cells``
    gives extra HTML cells per member row under ``member_headers`` (the source column).
    """
    items = ['<li class="host">host</li>']
    if host_in is not None:
        items.append(_arrow(host_in))
    budget = MEMBER_ROWS
    shown_steps = steps[:SEQUENCE_STEPS]
    for n, step in enumerate(shown_steps):
        if n:
            items.append(_arrow(bytes_into.get(step.start, 0)))
        pattern = [parts[step.start + k] for k in range(step.period)]
        chips = " \u2192 ".join(_step_chip(method, p, step.count) for p in pattern)
        first, last = parts[step.start].instructions[0], parts[step.stop - 1].instructions[-1]
        meta = [f"#{first}\u2013#{last}" if first != last else f"#{first}"]
        inside = sum(bytes_into.get(k, 0) for k in step.members if k != step.start)
        if inside:
            meta.append(f"{inside:,} B crossing inside")
        if time_of is not None:
            times = [time_of(k) for k in step.members]
            known = [t for t in times if t is not None]
            meta.append(f"{_amount(sum(known))} {time_unit}" if known else f"not run: 0 {time_unit}")
        count = f'<span class="count">\u00d7{step.count:,}</span>' if step.count > 1 else ""
        rows = []
        for n_row, k in enumerate(step.members):
            if budget <= 0 or n_row >= STEP_ROWS:
                columns = 5 + (time_of is not None) + len(member_headers)
                rows.append(f'<tr><td colspan="{columns}" class="muted">+{step.stop - k:,} more partitions not listed</td></tr>')
                break
            budget -= 1
            p = parts[k]
            a, b = p.instructions[0], p.instructions[-1]
            span = f"#{a}" if a == b else f"#{a}\u2013#{b}"
            t = time_of(k) if time_of is not None else None
            cells = "".join(member_cells(k))
            rows.append(
                f'<tr data-partition="{_name(p.namespace)}"><td><code>{_wrap(p.namespace)}</code></td><td>{_wrap(p.device)}</td>'
                f"<td>{span} ({len(p.instructions):,})</td><td>{_wrap(op_histogram(method, p))}</td>"
                f"<td class=num>{bytes_into.get(k, 0):,}</td>"
                + (f"<td class=num>{'-' if t is None else _amount(t)}</td>" if time_of is not None else "")
                + f"{cells}</tr>"
            )
        extra = "".join(f"<th>{_e(h)}</th>" for h in member_headers)
        table = (
            '<table class="members"><tr><th>partition</th><th>device</th><th>instructions</th><th>what runs</th>'
            f"<th>bytes in</th>{f'<th>{_e(time_unit)}</th>' if time_of is not None else ''}{extra}</tr>{''.join(rows)}</table>"
        )
        items.append(
            f'<li class="step" data-start="{step.start}" data-period="{step.period}" data-count="{step.count}">'
            f'<details><summary>{chips}{count} <span class="meta">{_e(", ".join(meta))}</span></summary>{table}</details></li>'
        )
    if len(steps) > len(shown_steps):
        rest = steps[len(shown_steps) :]
        first = parts[rest[0].start].instructions[0]
        items.append(
            f'<li class="step more">+{len(rest):,} more steps ({sum(s.stop - s.start for s in rest):,} partitions from '
            f"#{first}): drawn in the overview above</li>"
        )
    if host_out is not None:
        items.append(_arrow(host_out))
    items.append('<li class="host">host</li>')
    return f'<ol class="sequence">{"".join(items)}</ol>'


def _step_chip(method: Method, part: Partition, count: int) -> str:
    key = partition_key(method, part)
    label = partition_label(key)
    if part.is_delegate and count == 1:
        label += f" #{part.delegate}"
    color = device_color(part.device)
    return f'<span class="chip" style="background:{color}">{_wrap(label)}</span>'


def _arrow(nbytes: int) -> str:
    cls = "arrow cross" if nbytes else "arrow"
    return f'<li class="{cls}" data-bytes="{nbytes}">\u2192 {nbytes:,} B \u2192</li>'
