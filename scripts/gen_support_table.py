"""Generate edgeinspect/data/support_table.json from the installed executorch.

    python scripts/gen_support_table.py [-o edgeinspect/data/support_table.json]

For each target edgeinspect recommends for (TOSA INT/FP, Ethos-U55, Ethos-U85, XNNPACK) the
table says, per edge operator, whether the backend's partitioner accepts it:
``"yes"`` (in the profile's support list: only the generic rank/dtype/quantization checks
apply), ``"conditional"`` (a dedicated support check decides per node: the check's name and
its description are kept), or ``"no"`` (with the reason the partitioner gives). Operators
absent from a target's table get the target's ``default`` verdict: that is how the
partitioners themselves treat operators they do not list.

The table is read from executorch's own support lists and check classes (no graph is
built); the per-node checks behind a "conditional" verdict need executorch and an ETRecord
(``edgeinspect explain --etrecord``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
from pathlib import Path
from typing import Any

#: Operators seen splitting delegated graphs in real exports (toolchain.md, the zoo) that
#: no support list names; listed so the table says "no" for them explicitly.
EXTRA_OPERATORS = (
    "aten::cumsum.default",
    "aten::topk.default",
    "aten::native_layer_norm.default",
    "aten::split_with_sizes_copy.default",
    "aten::expand_copy.default",
    "aten::sort.default",
    "aten::nonzero.default",
    "aten::argsort.default",
)

ARM_TARGETS = {
    "TOSA-1.0+INT": ("tosa", "TOSA-1.0+INT"),
    "TOSA-1.0+FP": ("tosa", "TOSA-1.0+FP"),
    "ethos-u55": ("ethos-u", "ethos-u55-128"),
    "ethos-u85": ("ethos-u", "ethos-u85-256"),
}


def op_name(op: Any) -> str:
    """``aten::add.Tensor`` for an edge or torch operator overload."""
    inner = getattr(op, "_op", op)
    name = getattr(inner, "name", None)
    text = name() if callable(name) else str(op).replace(".", "::", 1)
    # torch names the default overload without a suffix; the table always spells it out.
    return text if "." in text.rpartition("::")[2] else f"{text}.default"


def _first_line(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def _u55_comments() -> dict[str, str]:
    """The TOSA operator each U55-unsupported op maps to, from the comments in the list."""
    from executorch.backends.arm.operator_support.ethos_u55_support import EthosU55NotSupported

    comments = {}
    for m in re.finditer(r"exir_ops\.edge\.(\w+)\.(\w+)(?:\.(\w+))?,\s*#\s*([^\n]+)", inspect.getsource(EthosU55NotSupported)):
        ns, name, overload, comment = m.groups()
        comments[f"{ns}::{name}.{overload or 'default'}"] = comment.strip()
    return comments


def arm_table(kind: str, target: str, universe: set[str]) -> dict[str, Any]:
    from executorch.backends.arm import EthosUCompileSpec
    from executorch.backends.arm.operator_support import ethos_u55_support as u55
    from executorch.backends.arm.operator_support.tosa_profile_supported_op_lists import (
        TOSA_PRO_FP_SupportList,
        TOSA_PRO_INT_SupportList,
    )
    from executorch.backends.arm.operator_support.tosa_supported_operators import get_registered_tosa_support_checks
    from executorch.backends.arm.tosa.compile_spec import TosaCompileSpec

    spec = (TosaCompileSpec(target) if kind == "tosa" else EthosUCompileSpec(target)).tosa_spec
    listed: set[str] = set()
    if spec.support_integer():
        listed |= {op_name(o) for o in TOSA_PRO_INT_SupportList}
    if spec.support_float():
        listed |= {op_name(o) for o in TOSA_PRO_FP_SupportList}
    registered: dict[str, list[tuple[str, str]]] = {}
    for check in get_registered_tosa_support_checks(spec):
        for o in check.targets:
            registered.setdefault(op_name(o), []).append((check.__name__, _first_line(check.__doc__)))
    u55_rejected: dict[str, str] = {}
    u55_conditional: dict[str, list[tuple[str, str]]] = {}
    if spec.is_U55_subset:
        comments = _u55_comments()
        for o in u55.EthosU55NotSupported.unsupported_ops:
            n = op_name(o)
            tosa_op = comments.get(n)
            u55_rejected[n] = "Op is not supported on U55." + (
                f" (needs TOSA {tosa_op}, which Ethos-U55 does not implement)" if tosa_op else ""
            )
        for cls in (u55.EthosU55ResizeCheck, u55.EthosU55ReverseCheck, u55.EthosU55UnfoldCopyCheck, u55.EthosU55CastCheck):
            for o in getattr(cls, "targets", ()) or ():
                u55_conditional.setdefault(op_name(o), []).append((cls.__name__, _first_line(cls.__doc__)))
        resize = u55.EthosU55ResizeCheck
        for o in ("aten::upsample_nearest2d.vec",):
            u55_conditional.setdefault(o, []).append((resize.__name__, _first_line(resize.__doc__)))
    default_reason = "Not included in BaseTOSASupportList or a registered tosa_support_check"
    ops: dict[str, Any] = {}
    for n in sorted(universe | listed | set(registered) | set(u55_rejected)):
        if n in u55_rejected:
            ops[n] = {"supported": "no", "reason": u55_rejected[n]}
        elif n in registered or n in u55_conditional:
            checks = registered.get(n, []) + u55_conditional.get(n, [])
            ops[n] = {
                "supported": "conditional",
                "checks": [c for c, _ in checks],
                "reason": "; ".join(f"{c}: {d}" for c, d in checks if d) or "decided per node by " + ", ".join(c for c, _ in checks),
            }
        elif n in listed:
            ops[n] = {"supported": "yes"}
        else:
            ops[n] = {"supported": "no", "reason": default_reason}
    return {
        "backend": "TOSABackend" if kind == "tosa" else "EthosUBackend",
        "tosa_spec": str(spec),
        "default": {"supported": "no", "reason": default_reason},
        "operators": ops,
    }


def xnnpack_table(universe: set[str]) -> dict[str, Any]:
    from executorch.backends.xnnpack.partition.config import ALL_PARTITIONER_CONFIGS

    configs: dict[str, list[tuple[str, str, list[str]]]] = {}
    for cls in ALL_PARTITIONER_CONFIGS:
        cfg = cls()
        target = cfg.target_name
        name = target if "::" in target else f"aten::{target}"
        precisions = sorted(p.name.lower() for p in cfg.supported_precision_types())
        configs.setdefault(name, []).append((cls.__name__, _first_line(cls.__doc__), precisions))
    default_reason = "no XNNPACK partitioner config for this operator"
    ops: dict[str, Any] = {}
    for n in sorted(universe | set(configs)):
        if n in configs:
            entries = configs[n]
            ops[n] = {
                "supported": "conditional",
                "checks": [c for c, _, _ in entries],
                "precisions": sorted({p for _, _, ps in entries for p in ps}),
                "reason": "; ".join(f"{c}: {d}" if d else f"{c}: decided per node by its check_constraints" for c, d, _ in entries),
            }
        else:
            ops[n] = {"supported": "no", "reason": default_reason}
    return {"backend": "XnnpackBackend", "default": {"supported": "no", "reason": default_reason}, "operators": ops}


def build() -> dict[str, Any]:
    import executorch
    from executorch.backends.arm.operator_support import ethos_u55_support as u55
    from executorch.backends.arm.operator_support.tosa_profile_supported_op_lists import (
        TOSA_PRO_FP_SupportList,
        TOSA_PRO_INT_SupportList,
    )

    universe = set(EXTRA_OPERATORS)
    universe |= {op_name(o) for o in TOSA_PRO_INT_SupportList | TOSA_PRO_FP_SupportList}
    universe |= {op_name(o) for o in u55.EthosU55NotSupported.unsupported_ops}
    targets = {name: arm_table(kind, target, universe) for name, (kind, target) in ARM_TARGETS.items()}
    targets["xnnpack"] = xnnpack_table(universe)
    version = getattr(executorch, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("executorch")
    return {
        "schema_version": 1,
        "generated_by": "scripts/gen_support_table.py",
        "executorch": version,
        "note": "supported: yes | conditional (a per-node check decides) | no; operators not listed take the target's default",
        "targets": targets,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default=str(Path(__file__).resolve().parents[1] / "edgeinspect" / "data" / "support_table.json"))
    args = parser.parse_args(argv)
    table = build()
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(table, indent=1, sort_keys=False) + "\n")
    n = {k: len(v["operators"]) for k, v in table["targets"].items()}
    print(f"wrote {args.output}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
