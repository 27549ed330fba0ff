"""The lint's thresholds applied to a sweep's programs (``edgeinspect sweep --max-... ``).

Each pair that exported is checked by the lint's own rules
(:func:`edgeinspect.lint.rules.check_method`, with its dumps joined so coverage is known),
with only the threshold rules of the thresholds given: ``--max-delegates`` (EI101),
``--max-transitions`` (EI103), ``--max-boundary-bytes`` (EI104), ``--min-coverage`` (EI105,
and EI106 when coverage cannot be measured). The lint and the sweep can never disagree
about a figure or a limit.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from edgeinspect.analysis.sweep import SweepRow
from edgeinspect.lint.config import Config
from edgeinspect.lint.rules import Finding

__all__ = ["THRESHOLD_RULES", "sweep_findings"]

#: The rules each threshold option turns on.
THRESHOLD_RULES: dict[str, tuple[str, ...]] = {
    "max_delegates": ("EI101",),
    "max_transitions": ("EI103",),
    "max_boundary_bytes": ("EI104",),
    "min_coverage": ("EI105", "EI106"),
}


def sweep_findings(rows: Iterable[SweepRow], out_dir: str | os.PathLike[str], options: Mapping[str, Any]) -> list[Finding]:
    """Threshold findings for every pair of ``rows`` that exported, in row order.

    Parameters
    ----------
    rows : iterable of SweepRow
    out_dir : path
        The sweep's output directory (the rows' file names are relative to it).
    options : mapping
        Thresholds as :func:`edgeinspect.lint.config.parse_options` returns them; only the
        threshold keys count. Findings name the .pte by its path relative to ``out_dir``.
    """
    from edgeinspect.analysis.figures import method_figures
    from edgeinspect.formats import read
    from edgeinspect.join import attach_tosa
    from edgeinspect.lint.rules import check_method

    codes = {code for key, rule_codes in THRESHOLD_RULES.items() if key in options for code in rule_codes}
    if not codes:
        return []
    thresholds = {k: v for k, v in options.items() if k in THRESHOLD_RULES}
    settings = Config(cli={**thresholds, "select": sorted(codes)}).settings_for(None)
    out = Path(out_dir)
    found: list[Finding] = []
    for row in rows:
        if not row.ok or row.pte is None:
            continue
        program = read(out / row.pte)
        try:
            dumps = Path(row.pte).with_suffix(".tosa.d")
            if row.tosa_dumps:
                program = attach_tosa(program, [str(out / dumps)])
            for method in program.methods:
                found += [
                    f
                    for f in check_method(method, method_figures(method), settings, row.pte)
                    if f.code in codes and settings.enabled(f.code)
                ]
        finally:
            program.close()
    return found
