"""Measured time in text: the time column of the instruction table and the per-method summary
that ``inspect --etdump`` and ``profile`` print (:class:`~edgeinspect.analysis.profile.MethodProfile`)."""

from __future__ import annotations

from edgeinspect.analysis.profile import MethodProfile, Timing
from edgeinspect.model import Method

__all__ = ["TIME_HEADER", "printable", "profile_lines", "ticks_text", "time_cell"]

#: Header of the time column (the unit is in it: ticks as the ETDump holds them).
TIME_HEADER = "median ticks"

_CATEGORY_NAMES = {
    "delegates": "delegates",
    "cpu_islands": "CPU islands",
    "glue": "glue (q/dq)",
    "cpu_other": "other CPU",
    "control": "control flow",
    "runtime": "runtime",
}


def printable(text: str) -> str:
    """``text`` with control characters escaped, so nothing a file holds can steer a terminal.

    Examples
    --------
    >>> printable("Add (ND) #1"), printable("evil\\x1b[2J")
    ('Add (ND) #1', 'evil\\\\x1b[2J')
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in text)


def ticks_text(ticks: int | float | None) -> str:
    """A tick count with thousands separators (a median of two can end in .5); ``-`` for none.

    Examples
    --------
    >>> ticks_text(1234567), ticks_text(2.5), ticks_text(None)
    ('1,234,567', '2.5', '-')
    """
    if ticks is None:
        return "-"
    if isinstance(ticks, float) and not ticks.is_integer():
        return f"{ticks:,.1f}"
    return f"{int(ticks):,}"


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def time_cell(profile: MethodProfile, index: int) -> str:
    """The time column of instruction ``index``: its median ticks, or ``-`` when it never ran."""
    p = profile.instruction(index)
    return "-" if p is None else ticks_text(p.timing.median_ticks)


def _stats(t: Timing) -> str:
    return f"median {ticks_text(t.median_ticks)} (min {ticks_text(t.min_ticks)}, max {ticks_text(t.max_ticks)})"


def profile_lines(profile: MethodProfile, method: Method) -> list[str]:
    """The per-method summary: runs and warm-up, execute time, where it goes, each delegate call
    with its internal events, each CPU island and glue chain, and the calls that never ran."""
    source = printable(profile.source) if profile.source else "the ETDump"
    if profile.warmup_runs:
        first = "run 1 is" if profile.warmup_runs == 1 else f"runs 1-{profile.warmup_runs} are"
        warm = f"{first} warm-up: shown apart, left out of medians and shares; totals cover every run"
    elif profile.runs == 1:
        warm = "one run only: its figures include the warm-up"
    else:
        warm = "no run left out as warm-up"
    lines = [
        f"  measured time from {source}: {profile.runs} run(s); times in ticks as recorded "
        f"(nanoseconds on a host run, cycles or timer ticks on a device); {warm}",
    ]
    ex = profile.execute
    execute = f"    execute: {_stats(ex)} ticks"
    if ex.warmup_ticks is not None:
        execute += f"; warm-up {ticks_text(ex.warmup_ticks)} ticks"
    if profile.load_ticks is not None:
        execute += f"; loading the method {ticks_text(profile.load_ticks)} ticks"
    lines.append(execute)
    shares = ", ".join(
        f"{_CATEGORY_NAMES[k]} {_share(profile.shares[k])} ({ticks_text(profile.category_ticks[k])})" for k in profile.category_ticks
    )
    counted = f"runs {profile.warmup_runs + 1}-{profile.runs}" if profile.runs > profile.warmup_runs + 1 else f"run {profile.runs}"
    lines.append(f"    where execute time goes ({counted}, ticks summed): {shares}")
    for call in profile.delegate_calls:
        t = call.timing
        lines.append(
            f"    delegate call at instruction {call.index} ({printable(call.name)}, delegate {call.delegate}): {_stats(t)} ticks"
            f"{'' if call.events else '; no internal events recorded'}"
        )
        for e in call.events:
            lines.append(
                f"        {printable(e.name)}: median {ticks_text(e.timing.median_ticks)} ticks "
                f"({e.timing.runs} event(s), {ticks_text(e.timing.total_ticks)} ticks in all)"
            )
    for isl in profile.islands:
        causes = ", ".join(printable(c) for c in isl.island.causes) or "glue only"
        lines.append(
            f"    CPU island between instructions {isl.island.between[0]} and {isl.island.between[1]} ({causes}): "
            f"{_stats(isl.timing)} ticks, {_share(isl.share)} of execute time"
            + (f"; glue in it {ticks_text(isl.glue.median_ticks)} ticks (median)" if isl.island.glue else "")
        )
    for chain in profile.glue_chains:
        where = "outside the CPU islands" if chain.chain.island is None else f"in island {chain.chain.island}"
        span = ", ".join(map(str, chain.chain.instructions))
        lines.append(
            f"    glue chain at instruction(s) {span} ({where}): {_stats(chain.timing)} ticks, {_share(chain.share)} of execute time"
        )
    ran = profile.by_instruction()
    never = [ins for ins in method.instructions if ins.kind in ("kernel", "delegate") and ins.index not in ran]
    if never:
        shown = ", ".join(f"{i.index} ({printable(i.name)})" for i in never[:12]) + (
            f", +{len(never) - 12} more" if len(never) > 12 else ""
        )
        lines.append(f"    calls that never ran (an untaken branch, or a run cut short): {shown}")
    if profile.unattached_events:
        lines.append(f"    {profile.unattached_events} event(s) of instructions with no call event in the same run (not counted)")
    return lines
