"""The fix catalog: concrete changes that take a splitting operator off the CPU.

Each fix names the operator(s) and targets it applies to, what kind of change it is
(``replace-operator``: another operator or form the target supports; ``replace-module``:
another module or form for a library module that decomposes into the operator, e.g.
``nn.LocalResponseNorm``, which the fix names in ``modules``; ``change-target``: another
target that supports the operator) and the zoo fixtures that prove it: the original
export and the export with the fix applied (``tests/recommend`` checks that every fix here
is exercised, and that the fixed export has the delegate count the recommender predicted).

Without provenance a module fix is offered for its operator after the operator fixes (its
text says which module it is about); when the sources of the operator's instances are
known (an ETRecord), module fixes are kept only for the modules the operator really came
from, and those come first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edgeinspect.analysis.fragmentation import base_operator

__all__ = ["CATALOG", "Fix", "fixes_for"]


@dataclass(frozen=True, slots=True)
class Fix:
    """One catalogued fix.

    Attributes
    ----------
    id : str
        Stable kebab-case name.
    kind : str
        ``replace-operator``, ``replace-module`` or ``change-target``.
    operators : tuple of str
        Base operator names it applies to (``aten::where``).
    targets : tuple of str
        Support-table target keys it applies to.
    text : str
        What to do, in one sentence.
    proof : tuple of (str, str)
        Zoo fixtures ``(original, fixed)`` that exercise it.
    modules : tuple of str
        For ``replace-module``: the qualified module types it replaces
        (``torch.nn.modules.normalization.LocalResponseNorm``).
    """

    id: str
    kind: str
    operators: tuple[str, ...]
    targets: tuple[str, ...]
    text: str
    proof: tuple[tuple[str, str], ...]
    modules: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (without the proof fixtures)."""
        return {"id": self.id, "kind": self.kind, "text": self.text}


_U55 = ("ethos-u55",)
_TOSA = ("TOSA-1.0+INT", "TOSA-1.0+FP", "ethos-u55", "ethos-u85")
_LRN = "torch.nn.modules.normalization.LocalResponseNorm"
_UPSAMPLE = ("torch.nn.modules.upsampling.Upsample", "torch.nn.modules.upsampling.UpsamplingBilinear2d")
_COMPARISONS = tuple(f"aten::{c}" for c in ("gt", "ge", "lt", "le", "eq", "ne"))

CATALOG: tuple[Fix, ...] = (
    Fix(
        "nearest-upsample",
        "replace-operator",
        ("aten::upsample_bilinear2d",),
        _U55,
        "Upsample with nearest neighbour (F.interpolate(..., mode='nearest'), a power-of-two scale from 2x to 8x): "
        "Ethos-U55 runs nearest RESIZE but not bilinear.",
        (("u55_upsample", "u55_upsample_fixed"), ("u55_multi", "u55_multi_fixed")),
    ),
    Fix(
        "target-ethos-u85",
        "change-target",
        ("aten::upsample_bilinear2d", "aten::where", *_COMPARISONS, "aten::index_select"),
        _U55,
        "Compile for Ethos-U85 (EthosUCompileSpec('ethos-u85-256')): it runs RESIZE (bilinear), SELECT, comparisons "
        "and GATHER on the NPU, which Ethos-U55 leaves to the CPU.",
        (("u55_upsample", "u85_upsample"), ("u55_where", "u85_where"), ("u55_gather", "u85_gather")),
    ),
    Fix(
        "arithmetic-mask",
        "replace-operator",
        ("aten::where", *_COMPARISONS),
        _U55,
        "Blend with arithmetic instead of a boolean select: m * a + (1 - m) * b with m = clamp((x - t) * k, 0, 1); "
        "the comparison feeding the where goes with it (Ethos-U55 has no SELECT and no bool tensors).",
        (("u55_where", "u55_where_fixed"), ("u55_const_delegate", "u55_const_delegate_fixed"), ("u55_unused_arg", "u55_unused_arg_fixed")),
    ),
    Fix(
        "gather-as-conv",
        "replace-operator",
        ("aten::index_select",),
        _U55,
        "Do a fixed channel gather as a 1x1 convolution whose weight is the 0/1 selection matrix (Ethos-U55 has no GATHER).",
        (("u55_gather", "u55_gather_fixed"),),
    ),
    Fix(
        "sorting-network",
        "replace-operator",
        ("aten::sort",),
        _TOSA,
        "Sort a short, fixed-length dimension with a sorting network of torch.minimum / torch.maximum "
        "compare-exchanges (elementwise MINIMUM/MAXIMUM): TOSA has no sort.",
        (("u55_sort", "u55_sort_fixed"),),
    ),
    Fix(
        "topk1-as-amax",
        "replace-operator",
        ("aten::topk",),
        _TOSA,
        "When only the values of topk(k=1) are used, take torch.amax(x, dim, keepdim=True) (TOSA REDUCE_MAX) instead.",
        (("tosa_topk", "tosa_topk_fixed"),),
    ),
    Fix(
        "cumsum-as-matmul",
        "replace-operator",
        ("aten::cumsum",),
        ("xnnpack",),
        "Compute the running sum as a matmul with a lower-triangular ones matrix "
        "(F.linear(x, torch.tril(torch.ones(n, n)))), which XNNPACK runs as a fully connected layer.",
        (("xnn_cumsum", "xnn_cumsum_fixed"),),
    ),
    Fix(
        "decompose-layer-norm",
        "replace-operator",
        ("aten::native_layer_norm",),
        ("xnnpack",),
        "Write LayerNorm as mean/variance arithmetic with the means as F.linear against a constant 1/d vector "
        "(x - mean, * rsqrt(var + eps), * weight + bias): XNNPACK has no layer-norm config.",
        (("xnn_transformer", "xnn_transformer_fixed"),),
    ),
    Fix(
        "separate-projections",
        "replace-operator",
        ("aten::split_with_sizes_copy",),
        ("xnnpack",),
        "Replace the fused projection + chunk/split by one Linear per output (q, k, v): XNNPACK leaves the split on CPU.",
        (("xnn_transformer", "xnn_transformer_fixed_all"),),
    ),
    Fix(
        "bmm-3d",
        "replace-operator",
        ("aten::expand_copy",),
        ("xnnpack",),
        "Fold the heads into the batch and call torch.bmm on 3-D tensors: a 4-D matmul inserts expand_copy, which XNNPACK leaves on CPU.",
        (("xnn_transformer", "xnn_transformer_fixed_all"), ("xnn_transformer", "xnn_transformer_fixed_bmm")),
    ),
    # --- module fixes: a library module that decomposes into the operator ---------------
    Fix(
        "lrn-window-as-conv",
        "replace-module",
        ("aten::avg_pool3d",),
        # Re-exported with executorch 1.5.1: one delegate on each (fixture for Ethos-U85).
        ("TOSA-1.0+INT", "ethos-u55", "ethos-u85"),
        "nn.LocalResponseNorm sums its channel window with avg_pool3d on a padded 5-D view: compute the same sum on "
        "the 4-D tensor with a 1x1 convolution whose weight is 1/size on the window's band "
        "(s = F.conv2d(x * x, window); x / (k + alpha * s) ** beta), which the Arm backends run.",
        (("u85_lrn", "u85_lrn_fixed"),),
        (_LRN,),
    ),
    Fix(
        "upsample-module-nearest",
        "replace-module",
        ("aten::upsample_bilinear2d",),
        _U55,
        "Build the nn.Upsample with mode='nearest' (nn.Upsample(scale_factor=2, mode='nearest'), a power-of-two "
        "scale from 2x to 8x) or use nn.UpsamplingNearest2d: Ethos-U55 runs nearest RESIZE but not bilinear.",
        (("u55_upsample_module", "u55_upsample_module_fixed"),),
        _UPSAMPLE,
    ),
)

_KIND_ORDER = {"replace-operator": 0, "replace-module": 1, "change-target": 2}


def fixes_for(operator: str, target: str | None, modules: Iterable[str] | None = None) -> list[Fix]:
    """Catalogued fixes for an operator (kernel or base name) on a target, best first.

    ``modules``: the qualified types of the modules the operator's instances ran in (from
    their sources), or None when unknown. When given, module fixes are kept only for those
    modules, and come first.

    Examples
    --------
    >>> [f.id for f in fixes_for("aten::upsample_bilinear2d.vec_out", "ethos-u55")]
    ['nearest-upsample', 'upsample-module-nearest', 'target-ethos-u85']
    >>> [f.id for f in fixes_for("aten::upsample_bilinear2d", "ethos-u55", ["torch.nn.modules.upsampling.Upsample"])]
    ['upsample-module-nearest', 'nearest-upsample', 'target-ethos-u85']
    >>> fixes_for("aten::upsample_bilinear2d.vec_out", "ethos-u85")
    []
    """
    base = base_operator(operator)
    found = [f for f in CATALOG if base in f.operators and target in f.targets]
    known = None if modules is None else set(modules)
    if known is not None:
        found = [f for f in found if f.kind != "replace-module" or known.intersection(f.modules)]
    # Keep the target when a rewrite will do; changing hardware comes after. A fix for the
    # very module the operator came from is the most precise of all.
    return sorted(found, key=lambda f: -1 if known and f.kind == "replace-module" else _KIND_ORDER.get(f.kind, 3))
