"""What every report module draws with: device colours, escaping, chips, numbers and names.

One place for the helpers the notebook HTML (:mod:`edgeinspect.report.notebook`), the HTML
report (:mod:`edgeinspect.report.html`) and the Model Explorer overlays
(:mod:`edgeinspect.report.overlays`) share.
"""

from __future__ import annotations

import html
import zlib
from collections.abc import Mapping
from typing import Any

from edgeinspect.textsafe import NAME_LIMIT, TEXT_LIMIT, abbreviate, safe

__all__ = ["DEVICE_COLORS", "device_color"]

#: Background colour per device; other backends get a colour from :data:`_PALETTE` by name.
DEVICE_COLORS: dict[str, str] = {
    "CPU": "#f28e2b",
    "EthosUBackend": "#2ca02c",
    "XnnpackBackend": "#1f77b4",
    "TOSABackend": "#9467bd",
    "VgfBackend": "#17becf",
}
_PALETTE = ("#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f", "#393b79")


def device_color(device: str | None) -> str:
    """The colour edgeinspect draws a device in (stable across runs for unknown backends).

    Examples
    --------
    >>> device_color("EthosUBackend")
    '#2ca02c'
    >>> device_color("SomeNewBackend") == device_color("SomeNewBackend")
    True
    """
    if device is None:
        return "#c7c7c7"
    if device in DEVICE_COLORS:
        return DEVICE_COLORS[device]
    return _PALETTE[zlib.crc32(device.encode()) % len(_PALETTE)]


def _e(text: object) -> str:
    """Text for HTML: control characters shown as escapes (a safety-net bound on length)."""
    return html.escape(safe(str(text), TEXT_LIMIT), quote=True)


def _name(name: object) -> str:
    """A name from the file (operator, backend, tensor, method) for HTML: abbreviated, so a long
    name repeated on every node cannot blow the report up."""
    return html.escape(safe(str(name)), quote=True)


def _wrap(name: object, every: int = 40, limit: int = NAME_LIMIT) -> str:
    """A name from the file for an HTML table cell: as :func:`_name`, with a line-break
    opportunity (``<wbr>``) every ``every`` characters of a long word, so a long name wraps
    inside its cell instead of widening the table past the page (and short names stay whole).
    ``limit`` bounds the text (a list of names already abbreviated one by one takes ``TEXT_LIMIT``).

    Examples
    --------
    >>> _wrap("aten::cumsum"), _wrap("a" * 30, 24)
    ('aten::cumsum', 'aaaaaaaaaaaaaaaaaaaaaaaa<wbr>aaaaaa')
    >>> _wrap("<b>")
    '&lt;b&gt;'
    """
    text = safe(str(name), limit)
    out = []
    for word in text.split(" "):
        chunks = [word[k : k + every] for k in range(0, len(word), every)] or [""]
        out.append("<wbr>".join(html.escape(c, quote=True) for c in chunks))
    return " ".join(out)


def _names(names: tuple[str, ...], shown: int = 10) -> str:
    """The first ``shown`` names, abbreviated, and how many more there are."""
    text = ", ".join(abbreviate(n, NAME_LIMIT) for n in names[:shown])
    return text + (f", +{len(names) - shown} more" if len(names) > shown else "")


def _shape(shape: object, limit: int = 16) -> str:
    dims = list(shape or ())  # type: ignore[call-overload]
    return str(dims) if len(dims) <= limit else f"[{', '.join(map(str, dims[:limit]))}, ... ({len(dims)} dims)]"


def _n(value: int | None) -> str:
    """A byte count or other integer with thousands separators (``-`` for None)."""
    return "-" if value is None else f"{value:,}"


def _chip(device: str | None) -> str:
    return f'<span class="chip" style="background:{device_color(device)}">{_name(device or "-")}</span>'


def _b(n: int | None) -> str:
    return "unknown" if n is None else f"{n:,} B"


def _short(name: str, limit: int = 24) -> str:
    """Operator label without ``aten::`` / ``quantized_decomposed::`` and the ``.out`` overload."""
    name = name[: 4 * limit + 64]  # only the start can show: a long name is never copied whole
    if "::" in name:
        name = name.split("::", 1)[1]
        if "." in name:
            name = name.rsplit(".", 1)[0]
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def _num(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value if value is not None else "")


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """A recommendation field from a ``Recommendation`` object or its JSON dict."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    if hasattr(obj, "to_dict"):
        return obj.to_dict().get(name, default)
    return getattr(obj, name, default)
