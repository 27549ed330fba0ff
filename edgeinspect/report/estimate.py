"""Text lines for a delegate's memory figures and Vela estimate (``inspect --estimate``)."""

from __future__ import annotations

from typing import Any

from edgeinspect.estimate._util import shown

__all__ = ["estimate_lines", "format_seconds", "memory_line"]

_MEMORY_NAMES = {"sram": "SRAM", "dram": "DRAM", "on_chip_flash": "on-chip flash", "off_chip_flash": "off-chip flash"}


def format_seconds(seconds: float) -> str:
    """A duration with a unit that fits it.

    Examples
    --------
    >>> format_seconds(4.8376e-05), format_seconds(0.0123), format_seconds(2.5)
    ('48.4 us', '12.3 ms', '2.50 s')
    """
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def _bytes(n: int | None) -> str:
    return "external" if n is None else f"{n:,} B"


def memory_line(memory: dict[str, Any]) -> str:
    """``memory (payload): scratch 17,152 B, weights 768 B, ...`` from a delegate's ``"memory"``."""
    line = (
        f"memory (payload): scratch {_bytes(memory['scratch_bytes'])}, weights {_bytes(memory['weight_bytes'])}, "
        f"command stream {_bytes(memory['command_stream_bytes'])}, inputs {memory['input_bytes']:,} B, "
        f"outputs {memory['output_bytes']:,} B"
    )
    if memory["external_blocks"]:
        line += f" (in the named data store: {', '.join(shown(b) for b in memory['external_blocks'])})"
    return line


def estimate_lines(delegate: dict[str, Any], *, top: int = 3) -> list[str]:
    """The lines for a delegate's ``"estimate"`` (or why it has none), its heaviest layers last."""
    est = delegate.get("estimate")
    if est is None:
        if delegate.get("estimate_error"):
            return [f"estimate: none, Vela could not estimate it: {delegate['estimate_error']}"]
        return [f"estimate: none ({delegate.get('estimate_skipped') or 'not estimated'})"]
    clock = f"{est['core_clock_hz'] / 1e6:g} MHz"
    memories = ", ".join(
        f"{_MEMORY_NAMES[m]} {est[f'{m}_bytes']:,} B" for m in ("sram", "dram", "on_chip_flash", "off_chip_flash") if est[f"{m}_bytes"]
    )
    lines = [
        f"estimate ({shown(est['source'])}, {shown(est['accelerator'])}, {shown(est['system_config'])}, "
        f"{shown(est['memory_mode'])}, {clock}): {est['cycles_total']:,} cycles (NPU {est['cycles_npu']:,}) = "
        f"{format_seconds(est['inference_time_s'])} predicted; {est['nn_macs']:,} MACs; {memories or 'no memory use reported'}"
    ]
    layers = sorted(est["layers"], key=lambda x: -x["cycles"])[:top]
    if layers:
        shown_layers = ", ".join(
            f"{shown(x['name'], 40)} ({shown(x['operator'], 20)}) {x['cycles']:,}"
            + (f" ({x['cycles_percent']:.0f}%)" if x["cycles_percent"] is not None else "")
            for x in layers
        )
        lines.append(f"heaviest layers by cycles: {shown_layers}")
    return lines
