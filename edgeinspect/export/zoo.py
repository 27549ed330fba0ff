"""The fixture zoo: small real .pte files made by the real ExecuTorch exporter.

``python -m edgeinspect.export.zoo [--out DIR] [--only NAME ...]`` exports every fixture
(or the named ones) into DIR (default ``tests/data``) and writes, per fixture:

- ``<name>.pte``;
- ``<name>.expected.json``: :func:`edgeinspect.export.oracle.summarize_pte` of the file,
  the executorch ``get_delegation_info`` of each method, and the dumped TOSA files;
- ``<name>.tosa.d/*.tosa`` for the Arm flows (TOSA handed to each delegate);
- ``<name>.etrecord`` for fragmented fixtures (and those marked ``provenance``), when it is
  small; node stack traces are kept with their file paths made relative (to the repository
  root, or from ``site-packages/`` on), so no path of the exporting machine is written;

and ``zoo.json``, the index of all fixtures (rewritten only for a full run, merged
otherwise).

Exports are byte-reproducible only with a fixed ``PYTHONHASHSEED`` (the Arm lowering
iterates over sets); ``main`` re-executes itself with ``PYTHONHASHSEED=0`` and
:func:`export_fixture` refuses to run without it.

The flows themselves (quantize, partition, lower) are :mod:`edgeinspect.export.flows`, which
``edgeinspect sweep`` uses too.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import multiprocessing
import os
import re
import shutil
import sys
import sysconfig
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from edgeinspect.export import flows, models
from edgeinspect.export.oracle import summarize_pte

HASH_SEED = "0"
TORCH_SEED = 0
ETRECORD_MAX_BYTES = 300 * 1024

FLOW_TARGETS = {
    "portable": None,
    "xnnpack": None,
    "ethos-u55": "ethos-u55-128",
    "ethos-u85": "ethos-u85-256",
    "tosa-int": "TOSA-1.0+INT",
    "tosa-1.1-int": "TOSA-1.1+INT",
    # XNNPACK with ExecuTorch's recipe for dynamically quantized linears: two partitioners
    "xnnpack-dq": None,
}
#: Flows whose delegates run on the host's CPU (no TOSA dumps).
HOST_FLOWS = ("portable", "xnnpack", "xnnpack-dq")

Methods = dict[str, tuple[torch.nn.Module, tuple[torch.Tensor, ...]]]


@dataclass(frozen=True)
class Fixture:
    """One zoo entry. ``build`` returns ``{method name: (model, example inputs)}``.

    ``fragmented`` is what we expect (some method has more than one delegate call);
    the export checks it, so an upstream change in what a backend accepts fails loudly.
    """

    name: str
    flow: str
    description: str
    build: Callable[[], Methods]
    fragmented: bool
    extract_delegate_segments: bool
    fixes: str | None = None
    replaced: str | None = None
    replaced_with: str | None = None
    #: executorch 1.5.1 cannot serialize a torch.cond node into an ETRecord (SerializeError).
    etrecord: bool = True
    #: Write the ETRecord even when the export is not fragmented (provenance fixtures).
    provenance: bool = False
    #: Export with ``ExecutorchBackendConfig(emit_stacktrace=True)``: each chain holds the
    #: stack frames of its instructions.
    emit_stacktrace: bool = False


def _forward(factory: Callable[[], torch.nn.Module], *shape: int) -> Callable[[], Methods]:
    """A single ``forward`` method taking one random input of ``shape``, built afresh."""

    def build() -> Methods:
        torch.manual_seed(TORCH_SEED)
        model = factory().eval()
        return {"forward": (model, (torch.randn(*shape),))}

    return build


def _two_methods() -> Methods:
    torch.manual_seed(TORCH_SEED)
    cnn = models.SmallCNN(3, 8).eval()
    mlp = models.MLP(16, 32, 8).eval()
    return {
        "forward": (cnn, (torch.randn(1, 3, 8, 8),)),
        "encode": (mlp, (torch.randn(2, 16),)),
    }


def _cache() -> Methods:
    torch.manual_seed(TORCH_SEED)
    return {"forward": (models.CacheUpdate().eval(), (torch.randn(1, 8), torch.tensor([2])))}


def _cond() -> Methods:
    torch.manual_seed(TORCH_SEED)
    return {"forward": (models.CondBranches().eval(), (torch.randn(2, 8), torch.ones(1)))}


IMG = (1, 3, 16, 16)
TOKENS = (1, 8, 16)

FIXTURES: tuple[Fixture, ...] = (
    # --- XNNPACK (fp32) ---------------------------------------------------------------
    Fixture(
        "xnn_mlp",
        "xnnpack",
        "Linear-ReLU-Linear MLP; one clean XNNPACK delegate",
        _forward(models.MLP, 2, 16),
        fragmented=False,
        extract_delegate_segments=True,
    ),
    Fixture(
        "xnn_cnn",
        "xnnpack",
        "Conv-ReLU-Conv-ReLU CNN; one clean XNNPACK delegate",
        _forward(models.SmallCNN, *IMG),
        fragmented=False,
        extract_delegate_segments=False,
    ),
    Fixture(
        "xnn_cumsum",
        "xnnpack",
        "CNN split by torch.cumsum (runs on CPU) in the middle",
        _forward(models.CumsumSplit, *IMG),
        fragmented=True,
        extract_delegate_segments=False,
    ),
    Fixture(
        "xnn_cumsum_fixed",
        "xnnpack",
        "xnn_cumsum with the cumsum done as F.linear with a lower-triangular ones matrix",
        _forward(lambda: models.CumsumSplit(fixed=True), *IMG),
        fragmented=False,
        extract_delegate_segments=False,
        fixes="xnn_cumsum",
        replaced="aten::cumsum",
        replaced_with="matmul (F.linear) with a lower-triangular ones matrix",
    ),
    Fixture(
        "xnn_transformer",
        "xnnpack",
        "Pre-norm transformer block: nn.LayerNorm, attention with batched matmuls, MLP",
        _forward(models.TransformerBlock, *TOKENS),
        fragmented=True,
        extract_delegate_segments=True,
    ),
    Fixture(
        "xnn_transformer_fixed",
        "xnnpack",
        "xnn_transformer with LayerNorm decomposed into mean/variance arithmetic (chunk and 4-D matmuls still split it)",
        _forward(lambda: models.TransformerBlock(decomposed_norm=True), *TOKENS),
        fragmented=True,
        extract_delegate_segments=True,
        fixes="xnn_transformer",
        replaced="aten::native_layer_norm",
        replaced_with="decomposed mean/var arithmetic (means as F.linear with a 1/d vector, sub, mul, rsqrt)",
    ),
    Fixture(
        "xnn_transformer_fixed_all",
        "xnnpack",
        "xnn_transformer with every CPU op replaced: decomposed LayerNorm, separate "
        "q/k/v projections instead of chunk, 3-D torch.bmm instead of 4-D matmul",
        _forward(lambda: models.TransformerBlock(decomposed_norm=True, separate_qkv=True, bmm_3d=True), *TOKENS),
        fragmented=False,
        extract_delegate_segments=False,
        fixes="xnn_transformer",
        replaced="aten::native_layer_norm, aten::split_with_sizes_copy, aten::expand_copy",
        replaced_with="decomposed LayerNorm; three q/k/v linears (no chunk); heads folded "
        "into the batch and torch.bmm on 3-D tensors (no expand)",
    ),
    Fixture(
        "xnn_transformer_fixed_bmm",
        "xnnpack",
        "xnn_transformer with only the batched matmuls changed: heads folded into the batch, "
        "3-D torch.bmm instead of the 4-D matmul (LayerNorm and chunk still split it)",
        _forward(lambda: models.TransformerBlock(bmm_3d=True), *TOKENS),
        fragmented=True,
        extract_delegate_segments=True,
        fixes="xnn_transformer",
        replaced="aten::expand_copy",
        replaced_with="heads folded into the batch and torch.bmm on 3-D tensors (no expand)",
    ),
    Fixture(
        "xnn_transformer_fixed_norm_bmm",
        "xnnpack",
        "xnn_transformer_fixed (decomposed LayerNorm) with the batched matmuls also done as 3-D torch.bmm (chunk still splits it)",
        _forward(lambda: models.TransformerBlock(decomposed_norm=True, bmm_3d=True), *TOKENS),
        fragmented=True,
        extract_delegate_segments=True,
        fixes="xnn_transformer_fixed",
        replaced="aten::expand_copy",
        replaced_with="heads folded into the batch and torch.bmm on 3-D tensors (no expand)",
    ),
    Fixture(
        "xnn_transformer_fixed_bmm_qkv",
        "xnnpack",
        "xnn_transformer_fixed_bmm with separate q/k/v projections instead of chunk (LayerNorm still splits it)",
        _forward(lambda: models.TransformerBlock(separate_qkv=True, bmm_3d=True), *TOKENS),
        fragmented=True,
        extract_delegate_segments=False,
        fixes="xnn_transformer_fixed_bmm",
        replaced="aten::split_with_sizes_copy",
        replaced_with="three q/k/v linears (no chunk)",
    ),
    Fixture(
        "xnn_transformer_fixed_bmm_qkv_norm",
        "xnnpack",
        "xnn_transformer_fixed_bmm_qkv with LayerNorm decomposed: the model of xnn_transformer_fixed_all, reached one fix at a time",
        _forward(lambda: models.TransformerBlock(decomposed_norm=True, separate_qkv=True, bmm_3d=True), *TOKENS),
        fragmented=False,
        extract_delegate_segments=True,
        fixes="xnn_transformer_fixed_bmm_qkv",
        replaced="aten::native_layer_norm",
        replaced_with="decomposed mean/var arithmetic (means as F.linear with a 1/d vector, sub, mul, rsqrt)",
    ),
    Fixture(
        "xnn_transformer_fixed_norm_bmm_qkv",
        "xnnpack",
        "xnn_transformer_fixed_norm_bmm with separate q/k/v projections instead of chunk: "
        "the model of xnn_transformer_fixed_all, reached one fix at a time",
        _forward(lambda: models.TransformerBlock(decomposed_norm=True, separate_qkv=True, bmm_3d=True), *TOKENS),
        fragmented=False,
        extract_delegate_segments=True,
        fixes="xnn_transformer_fixed_norm_bmm",
        replaced="aten::split_with_sizes_copy",
        replaced_with="three q/k/v linears (no chunk)",
    ),
    Fixture(
        "xnn_two_methods",
        "xnnpack",
        "Program with two methods: forward (CNN) and encode (MLP), one delegate each",
        _two_methods,
        fragmented=False,
        extract_delegate_segments=False,
    ),
    # --- Ethos-U55 (int8) -------------------------------------------------------------
    Fixture(
        "u55_cnn",
        "ethos-u55",
        "Conv-ReLU-Conv-ReLU CNN; one clean Ethos-U55 delegate",
        _forward(models.SmallCNN, *IMG),
        fragmented=False,
        extract_delegate_segments=False,
    ),
    Fixture(
        "u55_upsample",
        "ethos-u55",
        "CNN with a 2x bilinear upsample in the middle (U55 rejects bilinear)",
        _forward(models.UpsampleCNN, *IMG),
        fragmented=True,
        extract_delegate_segments=True,
    ),
    Fixture(
        "u55_upsample_fixed",
        "ethos-u55",
        "u55_upsample with a nearest-neighbour upsample",
        _forward(lambda: models.UpsampleCNN(mode="nearest"), *IMG),
        fragmented=False,
        extract_delegate_segments=True,
        fixes="u55_upsample",
        replaced="aten::upsample_bilinear2d",
        replaced_with="nearest-neighbour upsample (F.interpolate mode='nearest')",
    ),
    Fixture(
        "u55_where",
        "ethos-u55",
        "Two conv branches blended by torch.where(x > t, a, b) (U55 rejects where/gt)",
        _forward(models.WhereSplit, *IMG),
        fragmented=True,
        extract_delegate_segments=False,
    ),
    Fixture(
        "u55_where_fixed",
        "ethos-u55",
        "u55_where with arithmetic masking m*a + (1-m)*b, m = clamp((x-t)*16, 0, 1)",
        _forward(lambda: models.WhereSplit(fixed=True), *IMG),
        fragmented=False,
        extract_delegate_segments=False,
        fixes="u55_where",
        replaced="aten::where",
        replaced_with="arithmetic masking m*a + (1-m)*b with m = clamp((x-t)*16, 0, 1) (the aten::gt feeding the where goes too)",
    ),
    Fixture(
        "u55_gather",
        "ethos-u55",
        "CNN with a channel gather (index_select) in the middle",
        _forward(models.GatherSplit, *IMG),
        fragmented=True,
        extract_delegate_segments=True,
    ),
    Fixture(
        "u55_gather_fixed",
        "ethos-u55",
        "u55_gather with the channel selection done by a 1x1 conv with a 0/1 weight",
        _forward(lambda: models.GatherSplit(fixed=True), *IMG),
        fragmented=False,
        extract_delegate_segments=True,
        fixes="u55_gather",
        replaced="aten::index_select",
        replaced_with="1x1 convolution with a 0/1 selection weight",
    ),
    Fixture(
        "u55_multi",
        "ethos-u55",
        "CNN split twice: bilinear upsample, then a channel gather (index_select)",
        _forward(models.MultiSplit, *IMG),
        fragmented=True,
        extract_delegate_segments=False,
    ),
    Fixture(
        "u55_multi_fixed",
        "ethos-u55",
        "u55_multi with the bilinear upsample made nearest (the gather still splits it)",
        _forward(lambda: models.MultiSplit(mode="nearest"), *IMG),
        fragmented=True,
        extract_delegate_segments=False,
        fixes="u55_multi",
        replaced="aten::upsample_bilinear2d",
        replaced_with="nearest-neighbour upsample (F.interpolate mode='nearest')",
    ),
    Fixture(
        "u55_multi_fixed_gather",
        "ethos-u55",
        "u55_multi with the channel gather done by a 1x1 conv with a 0/1 weight (the bilinear upsample still splits it)",
        _forward(lambda: models.MultiSplit(gather_as_conv=True), *IMG),
        fragmented=True,
        extract_delegate_segments=False,
        fixes="u55_multi",
        replaced="aten::index_select",
        replaced_with="1x1 convolution with a 0/1 selection weight",
    ),
    Fixture(
        "u55_multi_fixed_gather_nearest",
        "ethos-u55",
        "u55_multi_fixed_gather with the bilinear upsample made nearest: one delegate",
        _forward(lambda: models.MultiSplit(mode="nearest", gather_as_conv=True), *IMG),
        fragmented=False,
        extract_delegate_segments=False,
        fixes="u55_multi_fixed_gather",
        replaced="aten::upsample_bilinear2d",
        replaced_with="nearest-neighbour upsample (F.interpolate mode='nearest')",
    ),
    Fixture(
        "u55_multi_fixed_nearest_gather",
        "ethos-u55",
        "u55_multi_fixed with the channel gather done by a 1x1 conv with a 0/1 weight: one delegate",
        _forward(lambda: models.MultiSplit(mode="nearest", gather_as_conv=True), *IMG),
        fragmented=False,
        extract_delegate_segments=True,
        fixes="u55_multi_fixed",
        replaced="aten::index_select",
        replaced_with="1x1 convolution with a 0/1 selection weight",
    ),
    Fixture(
        "u55_const_delegate",
        "ethos-u55",
        "torch.where(x > t, x, fill) with fill = torch.full(...) * 2, then conv: the first "
        "delegate takes no inputs (it only generates the fill and threshold constants)",
        _forward(models.ConstFillWhere, *IMG),
        fragmented=True,
        extract_delegate_segments=True,
    ),
    Fixture(
        "u55_const_delegate_fixed",
        "ethos-u55",
        "u55_const_delegate with arithmetic masking instead of where",
        _forward(lambda: models.ConstFillWhere(fixed=True), *IMG),
        fragmented=False,
        extract_delegate_segments=True,
        fixes="u55_const_delegate",
        replaced="aten::where",
        replaced_with="arithmetic masking m*x + (1-m)*fill with m = clamp((x-t)*16, 0, 1) (the aten::gt feeding the where goes too)",
    ),
    Fixture(
        "u55_unused_arg",
        "ethos-u55",
        "torch.where(x > t, x, fill) with fill = full_like(x) * 2, then conv: the first "
        "delegate is handed x although it only needs x's shape",
        _forward(lambda: models.ConstFillWhere(like_input=True), *IMG),
        fragmented=True,
        extract_delegate_segments=False,
    ),
    Fixture(
        "u55_unused_arg_fixed",
        "ethos-u55",
        "u55_unused_arg with arithmetic masking instead of where",
        _forward(lambda: models.ConstFillWhere(like_input=True, fixed=True), *IMG),
        fragmented=False,
        extract_delegate_segments=False,
        fixes="u55_unused_arg",
        replaced="aten::where",
        replaced_with="arithmetic masking m*x + (1-m)*fill with m = clamp((x-t)*16, 0, 1) (the aten::gt feeding the where goes too)",
    ),
    Fixture(
        "u55_sort",
        "ethos-u55",
        "Conv, torch.sort over the channels, conv: two delegates with identical input and output shapes ([1, 4, 16, 16] -> [1, 4, 16, 16])",
        _forward(models.SortSplit, 1, 4, 16, 16),
        fragmented=True,
        extract_delegate_segments=True,
    ),
    Fixture(
        "u55_sort_fixed",
        "ethos-u55",
        "u55_sort with the sort done by a min/max sorting network",
        _forward(lambda: models.SortSplit(fixed=True), 1, 4, 16, 16),
        fragmented=False,
        extract_delegate_segments=True,
        fixes="u55_sort",
        replaced="aten::sort",
        replaced_with="sorting network of torch.minimum / torch.maximum compare-exchanges",
    ),
    Fixture(
        "u55_channel_sum",
        "ethos-u55",
        "CNN split by a channel sum on a 260x260 image (the U55 partitioner keeps Vela 4.2's REDUCE_SUM limit; Vela 5.1 compiles it)",
        _forward(models.ChannelSumSplit, 1, 3, 260, 260),
        fragmented=True,
        extract_delegate_segments=True,
    ),
    Fixture(
        "u55_channel_sum_fixed",
        "ethos-u55",
        "u55_channel_sum with the channel sum done by a 1x1 conv with an all-ones weight",
        _forward(lambda: models.ChannelSumSplit(fixed=True), 1, 3, 260, 260),
        fragmented=False,
        extract_delegate_segments=True,
        fixes="u55_channel_sum",
        replaced="aten::sum",
        replaced_with="1x1 convolution with an all-ones weight",
    ),
    Fixture(
        "u55_two_methods",
        "ethos-u55",
        "Program with two methods, forward (CNN) and encode (MLP), one Ethos-U55 delegate each; "
        "both delegates are tag0, so encode's dump overwrites forward's: forward has no .tosa",
        _two_methods,
        fragmented=False,
        extract_delegate_segments=False,
    ),
    # --- Ethos-U85 (int8) -------------------------------------------------------------
    Fixture(
        "u85_upsample",
        "ethos-u85",
        "u55_upsample's CNN (bilinear upsample) for Ethos-U85, which accepts it",
        _forward(models.UpsampleCNN, *IMG),
        fragmented=False,
        extract_delegate_segments=False,
    ),
    Fixture(
        "u85_transformer",
        "ethos-u85",
        "Pre-norm transformer block (LayerNorm, attention, MLP) for Ethos-U85",
        _forward(models.TransformerBlock, *TOKENS),
        fragmented=False,
        extract_delegate_segments=True,
    ),
    Fixture(
        "u85_where",
        "ethos-u85",
        "u55_where's model (torch.where(x > t, a, b)) for Ethos-U85, which accepts it",
        _forward(models.WhereSplit, *IMG),
        fragmented=False,
        extract_delegate_segments=False,
    ),
    Fixture(
        "u85_gather",
        "ethos-u85",
        "u55_gather's model (channel index_select) for Ethos-U85, which accepts it",
        _forward(models.GatherSplit, *IMG),
        fragmented=False,
        extract_delegate_segments=True,
    ),
    # --- TOSA-1.0+INT (TOSABackend, no Vela) -------------------------------------------
    Fixture(
        "tosa_cnn",
        "tosa-int",
        "Conv-ReLU-Conv-ReLU CNN; one clean TOSA delegate",
        _forward(models.SmallCNN, *IMG),
        fragmented=False,
        extract_delegate_segments=True,
    ),
    Fixture(
        "tosa_cumsum",
        "tosa-int",
        "xnn_cumsum's model (cumsum in the middle) for TOSA-INT, which lowers cumsum",
        _forward(models.CumsumSplit, *IMG),
        fragmented=False,
        extract_delegate_segments=True,
    ),
    Fixture(
        "tosa_topk",
        "tosa-int",
        "CNN split by torch.topk(k=1) along the width",
        _forward(models.TopkSplit, *IMG),
        fragmented=True,
        extract_delegate_segments=False,
    ),
    Fixture(
        "tosa_topk_fixed",
        "tosa-int",
        "tosa_topk with topk(k=1) replaced by amax",
        _forward(lambda: models.TopkSplit(fixed=True), *IMG),
        fragmented=False,
        extract_delegate_segments=False,
        fixes="tosa_topk",
        replaced="aten::topk",
        replaced_with="amax (TOSA REDUCE_MAX)",
    ),
    # --- TOSA 1.1 and control flow ------------------------------------------------------
    Fixture(
        "tosa11_cnn",
        "tosa-1.1-int",
        "Conv-ReLU-Conv-ReLU CNN for TOSA-1.1+INT: a TOSA 1.1 payload and dump",
        _forward(models.SmallCNN, *IMG),
        fragmented=False,
        extract_delegate_segments=False,
    ),
    Fixture(
        "xnn_cond",
        "xnnpack",
        "Linear, torch.cond (jump_false and move instructions), Linear: control flow splits the XNNPACK graph",
        _cond,
        fragmented=True,
        extract_delegate_segments=True,
        etrecord=False,
    ),
    Fixture(
        "xnn_cache",
        "xnnpack",
        "Linear on XNNPACK, then a mutable buffer updated in place (index_put_, copy_) and read on CPU",
        _cache,
        fragmented=False,
        extract_delegate_segments=False,
    ),
)

# --- Provenance: known modules and lines (issue 11) ---------------------------------------
# A functional op is u55_upsample's F.interpolate; these add modules inside nn.Sequential, a
# library module (nn.MultiheadAttention) and a program that carries its own frames.
FIXTURES += (
    Fixture(
        "u85_lrn",
        "ethos-u85",
        "nn.Sequential(conv, ReLU, nn.LocalResponseNorm, conv): LocalResponseNorm (features.2) computes its "
        "channel window with avg_pool3d, which Ethos-U85 leaves on the CPU",
        _forward(models.LRNFeatures, *IMG),
        fragmented=True,
        extract_delegate_segments=False,
    ),
    Fixture(
        "u85_lrn_fixed",
        "ethos-u85",
        "u85_lrn with LocalResponseNorm's channel window summed by a 1x1 convolution with a banded 1/size weight",
        _forward(lambda: models.LRNFeatures(window_as_conv=True), *IMG),
        fragmented=False,
        extract_delegate_segments=False,
        fixes="u85_lrn",
        replaced="aten::avg_pool3d",
        replaced_with="ChannelWindowLRN: the window sum as a 1x1 convolution with a banded 1/size weight (same result)",
    ),
    Fixture(
        "u55_upsample_module",
        "ethos-u55",
        "nn.Sequential(conv, ReLU, nn.Upsample(scale_factor=2, mode='bilinear'), conv): the bilinear upsample "
        "is a module (features.2) and splits the Ethos-U55 graph",
        _forward(models.UpsampleFeatures, *IMG),
        fragmented=True,
        extract_delegate_segments=True,
    ),
    Fixture(
        "u55_upsample_module_fixed",
        "ethos-u55",
        "u55_upsample_module with nn.Upsample(mode='nearest')",
        _forward(lambda: models.UpsampleFeatures(mode="nearest"), *IMG),
        fragmented=False,
        extract_delegate_segments=True,
        fixes="u55_upsample_module",
        replaced="aten::upsample_bilinear2d",
        replaced_with="nn.Upsample(scale_factor=2, mode='nearest')",
    ),
    Fixture(
        "u85_attention",
        "ethos-u85",
        "Linear then library self-attention (nn.MultiheadAttention): one Ethos-U85 delegate, with an "
        "ETRecord that ties every operator inside it to torch's module and the line that called it",
        _forward(models.AttentionBlock, *TOKENS),
        fragmented=False,
        extract_delegate_segments=False,
        provenance=True,
    ),
    Fixture(
        "cpu_lrn_stacktrace",
        "portable",
        "u85_lrn's model on the portable CPU kernels (no delegate), exported with emit_stacktrace=True: "
        "every instruction carries its stack frames in the .pte",
        _forward(models.LRNFeatures, *IMG),
        fragmented=False,
        extract_delegate_segments=False,
        emit_stacktrace=True,
    ),
)

# --- measured time (issue 9): a program with many delegate calls, profiled on this host by
# ``python -m edgeinspect.export.profile`` (tests/data/etdump) -----------------------------
FIXTURES += (
    Fixture(
        "xnn_many_delegates",
        "xnnpack",
        "12 x (Linear on XNNPACK, then cumsum on CPU): 12 delegate calls alternating with 11 CPU islands",
        _forward(models.LinearCumsumChain, 1, 16),
        fragmented=True,
        extract_delegate_segments=True,
        etrecord=False,  # 195 KB of pickled graphs that no test of measured time needs
    ),
    Fixture(
        "xnn_many_delegates_fixed",
        "xnnpack",
        "xnn_many_delegates with each cumsum done as F.linear with a lower-triangular ones matrix",
        _forward(lambda: models.LinearCumsumChain(fixed=True), 1, 16),
        fragmented=False,
        extract_delegate_segments=True,
        fixes="xnn_many_delegates",
        replaced="aten::cumsum",
        replaced_with="matmul (F.linear) with a lower-triangular ones matrix",
    ),
)

# --- delegates that hand tensors straight to each other (issue 13): the partitioner recipe
# splits the delegated graph with nothing on the CPU, which transitions and islands do not see --
FIXTURES += (
    Fixture(
        "xnn_dynamic_quant",
        "xnnpack-dq",
        "Linear, ReLU x 2, Linear with dynamically quantized int8 linears, lowered as ExecuTorch's LLM export does "
        "(XnnpackDynamicallyQuantizedPartitioner, then XnnpackPartitioner): 3 XNNPACK delegate calls back to back, "
        "each handing its output straight to the next, nothing on the CPU",
        _forward(models.ScaledMLP, 2, 16),
        fragmented=True,
        extract_delegate_segments=True,
        etrecord=False,  # no CPU operator to trace back
    ),
)

# --- CPU fallbacks that do not split (issue 17): an operator left on the CPU before or after
# the delegated work, and a program in which nothing is delegated ---------------------------
FIXTURES += (
    Fixture(
        "u55_gather_only",
        "ethos-u55",
        "Only a channel gather (index_select): Ethos-U55 has no GATHER, so the gather runs on the CPU after the one delegate, "
        "which only casts the int64 index to int32: none of the model's own work runs on the NPU",
        _forward(models.ChannelGather, 1, 8, 16, 16),
        fragmented=False,
        extract_delegate_segments=False,
        provenance=True,  # executorch's own reasons (explain --etrecord) need the ETRecord
    ),
    Fixture(
        "u55_sort_only",
        "ethos-u55",
        "Only torch.sort over the channels: TOSA has no sort, so nothing is delegated and the whole program runs on the CPU",
        _forward(models.ChannelSort, 1, 4, 16, 16),
        fragmented=False,
        extract_delegate_segments=False,
        provenance=True,
    ),
    Fixture(
        "u55_upsample_lead",
        "ethos-u55",
        "A 2x bilinear upsample first, then Conv-ReLU-Conv: the upsample stays on the CPU before the one Ethos-U55 delegate",
        _forward(models.UpsampleThenCNN, *IMG),
        fragmented=False,
        extract_delegate_segments=False,
        provenance=True,
    ),
    Fixture(
        "u55_where_edge",
        "ethos-u55",
        "Conv-ReLU-Conv, then torch.where(y > t, y, y * 0.5) last: the comparison and the select stay on the CPU after the one "
        "Ethos-U55 delegate",
        _forward(models.CNNThenWhere, *IMG),
        fragmented=False,
        extract_delegate_segments=False,
        provenance=True,
    ),
)

FIXTURES_BY_NAME = {f.name: f for f in FIXTURES}


def _lower_xnnpack_dynamic_quant(methods: Methods):
    """Int8 dynamically quantized linears (per channel), lowered the way ExecuTorch's LLM export
    does: the dynamic-quant partitioner takes the linears, then the float partitioner the rest."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackDynamicallyQuantizedPartitioner, XnnpackPartitioner
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = XNNPACKQuantizer()
    quantizer.set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True))
    programs = {}
    for name, (model, example) in methods.items():
        prepared = prepare_pt2e(torch.export.export(model, example).module(check_guards=False), quantizer)
        prepared(*example)
        programs[name] = torch.export.export(convert_pt2e(prepared), example)
    return to_edge_transform_and_lower(programs, partitioner=[XnnpackDynamicallyQuantizedPartitioner(), XnnpackPartitioner()])


def _lower_arm(methods: Methods, flow: str, dump_dir: str):
    """The Arm flow of a zoo ``flow`` (``ethos-u55``, ``tosa-int``, ...): :func:`edgeinspect.export.flows.lower_arm`."""
    return flows.lower_arm(methods, FLOW_TARGETS[flow], dump_dir)


REPO_ROOT = Path(__file__).resolve().parents[2]
_FRAME_FILE = re.compile(r'File "([^"\n]*)"')


def _portable_path(path: str) -> str:
    """A frame's file named without this machine: from ``site-packages/`` on for installed
    packages (torch), else relative to the repository root (``edgeinspect/export/models.py``)."""
    p = Path(path)
    if not p.is_absolute():
        return path
    parts = p.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            at = len(parts) - 1 - parts[::-1].index(marker)
            return "/".join(parts[at:])
    for root, prefix in ((REPO_ROOT, ""), (Path(sysconfig.get_paths()["stdlib"]).resolve(), "python-stdlib/")):
        try:
            return prefix + p.resolve().relative_to(root).as_posix()
        except ValueError:
            continue
    raise RuntimeError(f"a stack frame lies outside the repository and the Python installation: {path}")


def _portable_node_meta(edge) -> None:
    """Make each node's metadata fit for a committed fixture.

    The file paths in ``stack_trace`` are rewritten with :func:`_portable_path`: ETRecords
    keep the stack traces (the provenance of every node), and a program exported with
    ``emit_stacktrace`` stores them in the .pte; neither may hold an absolute path of the
    exporting machine. ``from_node`` (the exporter's pass history, nested once per pass, with
    graph ids that are memory addresses) is dropped: it is most of an ETRecord's bytes, and
    edgeinspect does not read it. Delegates keep the graph they lowered as ``original_module``.
    """
    todo = [edge.exported_program(method).graph_module for method in edge.methods]
    while todo:
        for module in todo.pop().modules():
            if isinstance(module, torch.fx.GraphModule):
                for node in module.graph.nodes:
                    node.meta.pop("from_node", None)
                    trace = node.meta.get("stack_trace")
                    if trace:
                        node.meta["stack_trace"] = _FRAME_FILE.sub(lambda m: f'File "{_portable_path(m.group(1))}"', trace)
            original = getattr(module, "original_module", None)
            if original is not None:
                todo.append(original.graph_module)


def _check_hash_seed() -> None:
    if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        raise RuntimeError(
            "fixture export is reproducible only with a fixed hash seed: run with "
            f"PYTHONHASHSEED={HASH_SEED} (python -m edgeinspect.export.zoo sets it itself)"
        )


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n")


def export_fixture(name: str, outdir: str | os.PathLike) -> dict[str, Any]:
    """Export fixture ``name`` into ``outdir``; return its ``zoo.json`` entry.

    Arm flows chdir into ``outdir`` while lowering so the TOSA dump directory is the
    relative ``<name>.tosa.d`` (no machine path lands in the .pte).
    """
    from executorch.exir import ExecutorchBackendConfig

    _check_hash_seed()
    fixture = FIXTURES_BY_NAME[name]
    out = Path(outdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    dump_name = f"{name}.tosa.d"
    start = time.perf_counter()
    # Vela prints its report on stdout; keep stdout for our own output.
    with contextlib.redirect_stdout(sys.stderr):
        methods = fixture.build()
        if fixture.flow == "portable":
            edge = flows.lower_portable(methods)
        elif fixture.flow == "xnnpack":
            edge = flows.lower_xnnpack(methods)
        elif fixture.flow == "xnnpack-dq":
            edge = _lower_xnnpack_dynamic_quant(methods)
        else:
            shutil.rmtree(out / dump_name, ignore_errors=True)
            cwd = os.getcwd()
            os.chdir(out)
            try:
                edge = _lower_arm(methods, fixture.flow, dump_name)
            finally:
                os.chdir(cwd)
        delegation_info = flows.delegation_info(edge)  # before to_executorch(), which mutates
        _portable_node_meta(edge)
        wants_etrecord = (fixture.fragmented or fixture.provenance) and fixture.etrecord
        edge_copy = copy.deepcopy(edge) if wants_etrecord else None
        config = ExecutorchBackendConfig(
            extract_delegate_segments=fixture.extract_delegate_segments, emit_stacktrace=fixture.emit_stacktrace
        )
        et = edge.to_executorch(config)
        pte = bytes(et.buffer)
    seconds = time.perf_counter() - start

    (out / f"{name}.pte").write_bytes(pte)
    tosa_dumps = []
    if fixture.flow not in HOST_FLOWS:
        dump_dir = out / dump_name
        # Keep the per-delegate dumps only: Vela's working copy ("out.tosa", the last
        # delegate's graph again) and its report directory are build litter. A program with
        # nothing delegated dumps nothing.
        for entry in sorted(dump_dir.iterdir()) if dump_dir.is_dir() else ():
            if entry.is_file() and entry.name.startswith("output") and entry.suffix == ".tosa":
                tosa_dumps.append(f"{dump_name}/{entry.name}")
            elif entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    etrecord_name = None
    if edge_copy is not None:
        from executorch.devtools import generate_etrecord

        path = out / f"{name}.etrecord"
        with contextlib.redirect_stdout(sys.stderr):
            generate_etrecord(str(path), edge_copy, et)
        if path.stat().st_size <= ETRECORD_MAX_BYTES:
            etrecord_name = path.name
        else:
            path.unlink()

    summary = summarize_pte(pte)
    expected = {
        "name": name,
        "flow": fixture.flow,
        "description": fixture.description,
        "file_bytes": summary["file_bytes"],
        "program": summary["program"],
        "delegation_info": delegation_info,
        "tosa_dumps": tosa_dumps,
    }
    _write_json(out / f"{name}.expected.json", expected)

    delegate_calls = {m["name"]: sum(1 for i in m["instructions"] if i["kind"] == "delegate") for m in summary["program"]["methods"]}
    if fixture.fragmented != (max(delegate_calls.values()) > 1):
        raise RuntimeError(
            f"{name}: expected fragmented={fixture.fragmented}, got delegate calls "
            f"{delegate_calls}; the toolchain changed what it delegates: update the zoo"
        )
    layouts = sorted({d["location"] for m in summary["program"]["methods"] for d in m["delegates"]})
    entry: dict[str, Any] = {
        "name": name,
        "flow": fixture.flow,
        "target": FLOW_TARGETS[fixture.flow],
        "description": fixture.description,
        "pte": f"{name}.pte",
        "expected": f"{name}.expected.json",
        "file_bytes": len(pte),
        "layout": "/".join(layouts) if layouts else None,
        "extract_delegate_segments": fixture.extract_delegate_segments,
        "fragmented": fixture.fragmented,
        "delegate_calls": delegate_calls,
        "tosa_dumps": tosa_dumps,
        "etrecord": etrecord_name,
        "export_seconds": round(seconds, 2),
    }
    if fixture.fixes:
        entry["fix"] = {"fixes": fixture.fixes, "replaced": fixture.replaced, "with": fixture.replaced_with}
    return entry


def _cpu_ops(expected_json: Path) -> set[str]:
    """Names of the non-glue operators run as CPU kernels, e.g. ``aten::cumsum``."""
    expected = json.loads(expected_json.read_text())
    ops = set()
    for method in expected["program"]["methods"]:
        names = [op["name"] for op in method["operators"]]
        for instruction in method["instructions"]:
            if instruction["kind"] == "kernel":
                ops.add(names[instruction["op_index"]])
    return {op for op in ops if not op.startswith("quantized_decomposed::")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgeinspect.export.zoo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="tests/data", help="output directory (default: tests/data)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=sorted(FIXTURES_BY_NAME),
        help="export only these fixtures (zoo.json entries are merged)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="export in this many processes (default: 1)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)

    if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        env = dict(os.environ, PYTHONHASHSEED=HASH_SEED)
        os.execve(sys.executable, [sys.executable, "-m", "edgeinspect.export.zoo", *argv], env)

    out = Path(args.out)
    names = args.only or [f.name for f in FIXTURES]
    index_path = out / "zoo.json"
    entries: dict[str, Any] = {}
    if args.only and index_path.exists():
        entries = {e["name"]: e for e in json.loads(index_path.read_text())["fixtures"]}
    total = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if args.jobs > 1:
            # Separate processes: each has its own cwd (Arm exports chdir) and inherits the
            # fixed PYTHONHASHSEED through the environment.
            pool = stack.enter_context(ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")))
            results = pool.map(export_fixture, names, [out] * len(names))
        else:
            results = (export_fixture(name, out) for name in names)
        for entry in results:
            entries[entry["name"]] = entry
            print(
                f"{entry['name']}: {entry['flow']} {entry['file_bytes']} B delegates={entry['delegate_calls']} {entry['export_seconds']} s",
                flush=True,
            )
    for entry in entries.values():
        if "fix" in entry and entry["fix"]["fixes"] in entries:
            entry["fix"]["removed_cpu_ops"] = sorted(
                _cpu_ops(out / f"{entry['fix']['fixes']}.expected.json") - _cpu_ops(out / entry["expected"])
            )
    order = [f.name for f in FIXTURES]
    index = {
        "generated_by": "python -m edgeinspect.export.zoo",
        "python_hash_seed": int(HASH_SEED),
        "torch_seed": TORCH_SEED,
        "fixtures": [entries[n] for n in order if n in entries],
    }
    _write_json(index_path, index)
    print(f"total {time.perf_counter() - total:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
