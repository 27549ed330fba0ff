"""Recommendations said the user's way: the module and line each splitting operator came from.

:func:`with_sources` gives each :class:`~edgeinspect.recommend.recommender.Recommendation`
the :class:`~edgeinspect.model.source.Source` of each of its instances (from an ETRecord or
the program's own frames) and re-ranks its fixes by the modules they came from;
:func:`source_sentence` writes one instance as a sentence, e.g.
``nn.LocalResponseNorm at features.2 (model.py:31) decomposes into aten::avg_pool3d, which
Ethos-U85 does not run``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import replace

from edgeinspect.analysis.fragmentation import base_operator
from edgeinspect.model import Program
from edgeinspect.model.source import ProgramSources, Source, module_label, printable
from edgeinspect.recommend.fixes import fixes_for
from edgeinspect.recommend.recommender import Recommendation, _derived_fixes

__all__ = ["NO_PROVENANCE", "source_lines", "source_sentence", "target_label", "with_sources"]

#: What to do to see modules and lines, when neither an ETRecord nor frames are there.
NO_PROVENANCE = (
    "no provenance: to see the module and line of each operator, export with an ETRecord "
    "(executorch.devtools.generate_etrecord) and pass --etrecord, or export with "
    "ExecutorchBackendConfig(emit_stacktrace=True)"
)

_TARGET_LABELS = {"ethos-u55": "Ethos-U55", "ethos-u65": "Ethos-U65", "ethos-u85": "Ethos-U85", "xnnpack": "XNNPACK"}


def target_label(target: str | None, backend: str) -> str:
    """How a support-table target key is written for people (``ethos-u85`` -> ``Ethos-U85``);
    the backend id when the target is unknown."""
    if target is None:
        return backend
    return _TARGET_LABELS.get(target, target)


def with_sources(program: Program, recommendations: Iterable[Recommendation], sources: ProgramSources) -> list[Recommendation]:
    """The recommendations with the source of each instance (``sources``: one per kernel call
    of the operator whose source is known, in instruction order), and their fixes re-ranked
    for the modules the instances came from."""
    out = []
    for rec in recommendations:
        method = sources.method(rec.method)
        found: list[tuple[int, Source]] = []
        if method is not None:
            for ins in program.method(rec.method).calls:
                if ins.kind == "kernel" and base_operator(ins.name) == rec.operator:
                    src = method.instruction(ins.index)
                    if src is not None:
                        found.append((ins.index, src))
        fixes = rec.fixes
        if any(src.modules for _, src in found):
            modules = {m.type for _, src in found for m in src.modules}
            ranked = tuple(f.to_dict() for f in fixes_for(rec.operator, rec.target, modules))
            # Only module fixes for other modules were catalogued: what the support table says.
            fixes = ranked or _derived_fixes(rec.operator, rec.kernels, rec.target)
        out.append(replace(rec, sources=tuple(found), fixes=fixes))
    return out


def _where(source: Source) -> str:
    return f"{posixpath.basename(source.file.replace(chr(92), '/'))}:{source.line}" if source.file and source.line else ""


def source_sentence(rec: Recommendation, source: Source) -> str | None:
    """One instance of a recommendation said the user's way, or None when its source
    names neither a module nor a line.

    In a library module (torch's): ``nn.LocalResponseNorm at features.2 (model.py:31)
    decomposes into aten::avg_pool3d, which Ethos-U85 does not run``. In the user's own
    code: ``model.py:147 `y = F.interpolate(...)` in UpsampleCNN calls
    aten::upsample_bilinear2d, which Ethos-U55 does not run``.
    """
    where = _where(source)
    if not where and source.module_type is None:
        return None
    who = target_label(rec.target, rec.backend)
    tail = f"which {who} does not run" if rec.support == "no" else f"which {who} left on the CPU here"
    module = ""
    if source.module_type is not None:
        module = module_label(source.module_type) + (f" at {source.module_path}" if source.module_path else "")
    code = f" `{printable(source.code, 80)}`" if source.code else ""
    if module and source.in_library:
        loc = f" ({where})" if where else ""
        text = f"{module}{loc} decomposes into {rec.operator}, {tail}"
    elif source.caller is not None:
        text = f"{where}{code} calls library code that runs {rec.operator}, {tail}"
    elif where:
        inside = f" in {module}" if module else ""
        text = f"{where}{code}{inside} calls {rec.operator}, {tail}"
    else:
        text = f"{module} calls {rec.operator}, {tail}"
    return printable(text, 400)


def source_lines(rec: Recommendation) -> list[str]:
    """The distinct sentences of a recommendation's instances, in instruction order, each
    with ``(xN)`` when N instances say the same."""
    counts: dict[str, int] = {}
    for _, src in rec.sources or ():
        sentence = source_sentence(rec, src)
        if sentence:
            counts[sentence] = counts.get(sentence, 0) + 1
    return [s if n == 1 else f"{s} (x{n})" for s, n in counts.items()]
