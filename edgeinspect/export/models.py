"""Small torch models for the fixture zoo, built in code (no downloads).

Each model is tiny on purpose: the .pte files stay well under 100 KB. Models named
``...Fixed`` (or built with a ``fixed=True`` switch) replace the operator that splits the
delegated graph with a form the target backend supports; ``zoo.py`` records which.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """Linear -> ReLU -> Linear: one clean delegate on any backend."""

    def __init__(self, d_in: int = 16, d_hidden: int = 32, d_out: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.fc2 = nn.Linear(d_hidden, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


class SmallCNN(nn.Module):
    """Conv -> ReLU -> Conv -> ReLU."""

    def __init__(self, in_ch: int = 3, ch: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))


class CumsumSplit(nn.Module):
    """Conv, a running sum along the width, conv.

    ``fixed=True`` computes the running sum as a matmul with a lower-triangular ones
    matrix (``F.linear(x, tril(ones))``), which XNNPACK lowers as a fully connected layer.
    """

    def __init__(self, ch: int = 8, width: int = 16, fixed: bool = False) -> None:
        super().__init__()
        self.fixed = fixed
        self.conv1 = nn.Conv2d(3, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.register_buffer("tril", torch.tril(torch.ones(width, width)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv1(x))
        y = F.linear(y, self.tril) if self.fixed else torch.cumsum(y, dim=-1)
        return self.conv2(y)


class DecomposedLayerNorm(nn.Module):
    """LayerNorm over the last dim written as mean / variance arithmetic.

    The means are matmuls with a constant ``1/d`` column (``F.linear``): XNNPACK takes a
    fully connected layer on a 3-D tensor but leaves ``mean.dim`` over the last dim on CPU.
    """

    def __init__(self, d: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.register_buffer("average", torch.full((1, d), 1.0 / d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centered = x - F.linear(x, self.average)
        var = F.linear(centered * centered, self.average)
        return centered * torch.rsqrt(var + self.eps) * self.weight + self.bias


class TransformerBlock(nn.Module):
    """Pre-norm self-attention (batched matmuls, softmax) and an MLP, with residuals.

    Switches that replace what XNNPACK leaves on CPU:
    ``decomposed_norm`` swaps ``nn.LayerNorm`` for :class:`DecomposedLayerNorm`;
    ``separate_qkv`` uses three projections instead of ``chunk`` (``split_with_sizes``);
    ``bmm_3d`` folds the heads into the batch and calls ``torch.bmm`` on 3-D tensors,
    so no ``expand`` is inserted in front of the batched matmuls.
    """

    def __init__(
        self,
        d: int = 16,
        heads: int = 2,
        decomposed_norm: bool = False,
        separate_qkv: bool = False,
        bmm_3d: bool = False,
    ) -> None:
        super().__init__()
        norm = DecomposedLayerNorm if decomposed_norm else nn.LayerNorm
        self.heads = heads
        self.separate_qkv = separate_qkv
        self.bmm_3d = bmm_3d
        self.norm1 = norm(d)
        if separate_qkv:
            self.q = nn.Linear(d, d)
            self.k = nn.Linear(d, d)
            self.v = nn.Linear(d, d)
        else:
            self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = norm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads
        hd = d // h
        n = self.norm1(x)
        if self.separate_qkv:
            q, k, v = self.q(n), self.k(n), self.v(n)
        else:
            q, k, v = self.qkv(n).chunk(3, dim=-1)
        q, k, v = (z.reshape(b, t, h, hd).transpose(1, 2) for z in (q, k, v))
        if self.bmm_3d:
            q, k, v = (z.reshape(b * h, t, hd) for z in (q, k, v))
            att = torch.softmax(torch.bmm(q, k.transpose(1, 2)) * hd**-0.5, dim=-1)
            y = torch.bmm(att, v).reshape(b, h, t, hd)
        else:
            att = torch.softmax(q @ k.transpose(-2, -1) * hd**-0.5, dim=-1)
            y = att @ v
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(torch.relu(self.fc1(self.norm2(x))))


class UpsampleCNN(nn.Module):
    """Conv, 2x upsample (``mode``), conv: the decoder shape of segmentation nets."""

    def __init__(self, ch: int = 8, mode: str = "bilinear") -> None:
        super().__init__()
        self.mode = mode
        self.conv1 = nn.Conv2d(3, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv1(x))
        if self.mode == "bilinear":
            y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
        else:
            y = F.interpolate(y, scale_factor=2.0, mode="nearest")
        return torch.relu(self.conv2(y))


class WhereSplit(nn.Module):
    """Two conv branches blended by a data-dependent condition.

    ``fixed=True`` replaces ``where(x > t, a, b)`` by arithmetic masking
    ``m * a + (1 - m) * b`` with a soft step ``m = clamp((x - t) * 16, 0, 1)``.
    """

    def __init__(self, ch: int = 8, threshold: float = 0.25, fixed: bool = False) -> None:
        super().__init__()
        self.fixed = fixed
        self.threshold = threshold
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        self.conv_a = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv_b = nn.Conv2d(ch, ch, 1)
        self.conv_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv_in(x))
        a = self.conv_a(y)
        b = self.conv_b(y)
        if self.fixed:
            mask = torch.clamp((y - self.threshold) * 16.0, 0.0, 1.0)
            z = mask * a + (1.0 - mask) * b
        else:
            z = torch.where(y > self.threshold, a, b)
        return self.conv_out(z)


class GatherSplit(nn.Module):
    """Conv, a fixed channel gather (``index_select``), conv.

    ``fixed=True`` performs the same channel selection as a 1x1 convolution whose
    weight is the 0/1 selection matrix.
    """

    def __init__(self, ch: int = 8, fixed: bool = False) -> None:
        super().__init__()
        self.fixed = fixed
        self.conv1 = nn.Conv2d(3, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        index = torch.tensor([ch - 1 - i for i in range(ch)], dtype=torch.long)
        self.register_buffer("index", index)
        self.select = nn.Conv2d(ch, ch, 1, bias=False)
        with torch.no_grad():
            self.select.weight.zero_()
            for out_ch, in_ch in enumerate(index.tolist()):
                self.select.weight[out_ch, in_ch, 0, 0] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv1(x))
        y = self.select(y) if self.fixed else torch.index_select(y, 1, self.index)
        return torch.relu(self.conv2(y))


class TopkSplit(nn.Module):
    """Conv, the maximum along the width taken with ``topk(k=1)``, conv.

    ``fixed=True`` takes the same maximum with ``amax`` (a TOSA REDUCE_MAX).
    """

    def __init__(self, ch: int = 8, fixed: bool = False) -> None:
        super().__init__()
        self.fixed = fixed
        self.conv1 = nn.Conv2d(3, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv1(x))
        y = torch.amax(y, dim=-1, keepdim=True) if self.fixed else torch.topk(y, k=1, dim=-1).values
        return torch.relu(self.conv2(y))


class MultiSplit(nn.Module):
    """Conv, 2x upsample (``mode``), conv, channel gather (``index_select``), conv.

    Two different splitting operators for Ethos-U55 in one graph: three delegates.
    ``gather_as_conv=True`` does the gather as a 1x1 convolution with a 0/1 weight (as
    :class:`GatherSplit` with ``fixed=True``); its module is created last, so the other
    weights are the same as without it.
    """

    def __init__(self, ch: int = 8, mode: str = "bilinear", gather_as_conv: bool = False) -> None:
        super().__init__()
        self.up = UpsampleCNN(ch, mode)
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)
        self.register_buffer("index", torch.arange(ch - 1, -1, -1))
        self.select = None
        if gather_as_conv:
            self.select = nn.Conv2d(ch, ch, 1, bias=False)
            with torch.no_grad():
                self.select.weight.zero_()
                for out_ch, in_ch in enumerate(self.index.tolist()):
                    self.select.weight[out_ch, in_ch, 0, 0] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(x)
        y = self.select(y) if self.select is not None else torch.index_select(y, 1, self.index)
        return torch.relu(self.conv(y))


class ConstFillWhere(nn.Module):
    """``where(x > t, x, fill)`` with a generated constant ``fill``, then conv.

    On Ethos-U55 the ``where`` runs on CPU, so the ops that make ``fill`` (and the
    threshold tensor) form a delegate of their own before it: with ``torch.full`` that
    delegate takes no inputs at all; with ``full_like(x)`` (``like_input=True``) it is
    handed ``x`` although only x's shape matters. ``fixed=True`` uses the arithmetic
    masking of :class:`WhereSplit`.
    """

    def __init__(self, shape: tuple[int, ...] = (1, 3, 16, 16), like_input: bool = False, fixed: bool = False) -> None:
        super().__init__()
        self.shape = shape
        self.like_input = like_input
        self.fixed = fixed
        self.threshold = 0.25
        self.conv = nn.Conv2d(shape[1], 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fill = torch.full_like(x, 0.5) if self.like_input else torch.full(self.shape, 0.5)
        fill = fill * 2.0
        if self.fixed:
            mask = torch.clamp((x - self.threshold) * 16.0, 0.0, 1.0)
            z = mask * x + (1.0 - mask) * fill
        else:
            z = torch.where(x > self.threshold, x, fill)
        return torch.relu(self.conv(z))


class SortSplit(nn.Module):
    """Conv, sort along the channels, conv; both convs ``ch -> ch`` on the same size.

    Split by ``sort`` on the Arm flows, into two delegates with identical input and
    output shapes. ``fixed=True`` sorts the 4 channels with a sorting network of
    ``torch.minimum`` / ``torch.maximum`` compare-exchanges.
    """

    NETWORK_4 = ((0, 1), (2, 3), (0, 2), (1, 3), (1, 2))

    def __init__(self, ch: int = 4, fixed: bool = False) -> None:
        super().__init__()
        if fixed and ch != 4:
            raise ValueError("the sorting network is written for 4 channels")
        self.fixed = fixed
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv1(x))
        if self.fixed:
            chans = list(torch.split(y, 1, dim=1))
            for i, j in self.NETWORK_4:
                chans[i], chans[j] = torch.minimum(chans[i], chans[j]), torch.maximum(chans[i], chans[j])
            y = torch.cat(chans, dim=1)
        else:
            y = torch.sort(y, dim=1).values
        return self.conv2(y)


class CondBranches(nn.Module):
    """Linear, a ``torch.cond`` on the sign of a second input, Linear.

    The branches (``relu(2y)`` or ``y - 1``) are emitted as jumps and moves between the two
    XNNPACK delegates: control flow, not an unsupported operator, splits the graph.
    """

    def __init__(self, dim: int = 8, out: int = 4) -> None:
        super().__init__()
        self.linear1 = nn.Linear(dim, dim)
        self.linear2 = nn.Linear(dim, out)

    def forward(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        y = self.linear1(x)
        z = torch.cond(p.sum() > 0, lambda t: (t * 2.0).relu(), lambda t: t - 1.0, (y,))
        return self.linear2(z)


class CacheUpdate(nn.Module):
    """Linear, then a KV-cache style update of a mutable buffer (``index_put_``) and a read.

    The buffer is state: the program reads it before ``copy_`` writes it back, so no
    instruction produces it.
    """

    def __init__(self, dim: int = 8, slots: int = 4) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.register_buffer("cache", torch.zeros(slots, dim))

    def forward(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        y = self.linear(x)
        self.cache.index_put_((idx,), y.detach())  # state, not part of autograd
        return self.cache.sum(0)


# --- Provenance fixtures: known modules and lines (issue 11) ------------------------------
# The tests compare the sources edgeinspect finds with what the ETRecord's graph says and
# with the lines below; keep new models above this block or after it, not inside it.


class ChannelWindowLRN(nn.Module):
    """``nn.LocalResponseNorm`` with the channel window summed by a 1x1 convolution.

    ``LocalResponseNorm`` averages the squares over a window of ``size`` channels with
    ``avg_pool3d`` on a padded 5-D view; here a 1x1 convolution whose ``1/size`` weight is
    banded over that window does the same sum on the 4-D tensor, so the result is the
    same. The weight is a buffer, so building this module draws no random numbers.
    """

    def __init__(self, channels: int, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.alpha, self.beta, self.k = alpha, beta, k
        window = torch.zeros(channels, channels, 1, 1)
        for out_ch in range(channels):
            lo, hi = max(0, out_ch - size // 2), min(channels, out_ch + (size - 1) // 2 + 1)
            window[out_ch, lo:hi] = 1.0 / size
        self.register_buffer("window", window)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / (self.k + self.alpha * F.conv2d(x * x, self.window)) ** self.beta


class LRNFeatures(nn.Module):
    """AlexNet-style features: ``nn.Sequential(conv, ReLU, nn.LocalResponseNorm, conv)``.

    ``LocalResponseNorm`` (``features.2``) computes its window with ``avg_pool3d``, which
    the Arm backends leave on the CPU. ``window_as_conv=True`` puts
    :class:`ChannelWindowLRN` there instead.
    """

    def __init__(self, ch: int = 8, size: int = 3, window_as_conv: bool = False) -> None:
        super().__init__()
        norm = ChannelWindowLRN(ch, size) if window_as_conv else nn.LocalResponseNorm(size)
        self.features = nn.Sequential(nn.Conv2d(3, ch, 3, padding=1), nn.ReLU(), norm, nn.Conv2d(ch, ch, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.features(x))


class UpsampleFeatures(nn.Module):
    """``nn.Sequential(conv, ReLU, nn.Upsample(scale_factor=2, mode), conv)``: the upsample
    is a module (``features.2``), where :class:`UpsampleCNN` calls ``F.interpolate``."""

    def __init__(self, ch: int = 8, mode: str = "bilinear") -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, ch, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2.0, mode=mode), nn.Conv2d(ch, ch, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class AttentionBlock(nn.Module):
    """A Linear, then library self-attention (``nn.MultiheadAttention``, batch first): every
    operator of the attention comes from torch's code, called from one line here."""

    def __init__(self, d: int = 16, heads: int = 2) -> None:
        super().__init__()
        self.proj = nn.Linear(d, d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(x)
        return self.attn(y, y, y, need_weights=False)[0]


class ChannelSumSplit(nn.Module):
    """Conv, a sum over the channels, conv, on an image of more than 65,536 pixels.

    The Arm partitioner's Ethos-U55 check for ``sum`` keeps Vela 4.2's REDUCE_SUM limit
    (the product of the axes after the reduced one at most 65,536), so on a 260x260 image
    the channel sum stays on the CPU and splits the graph. Vela 5.1 lifts that limit for a
    reduction over the channels, so the merged partition still compiles: a split whose
    what-if merge can be lowered and estimated. ``fixed=True`` sums the channels with a 1x1
    convolution whose weight is all ones (created last, so the other weights are the same).
    """

    def __init__(self, ch: int = 4, fixed: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(1, ch, 3, padding=1)
        self.sum_conv = None
        if fixed:
            self.sum_conv = nn.Conv2d(ch, 1, 1, bias=False)
            with torch.no_grad():
                self.sum_conv.weight.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv1(x))
        y = self.sum_conv(y) if self.sum_conv is not None else torch.sum(y, dim=1, keepdim=True)
        return torch.relu(self.conv2(y))


# New models go below this line, never above: the provenance fixtures (ETRecords, and
# cpu_lrn_stacktrace.pte's own frames) record the line numbers of the models above, and tests
# compare them with this file.
# --- measured-time fixtures (issue 9) -----------------------------------------------------


class LinearCumsumChain(nn.Module):
    """``blocks`` x (Linear, then a running sum): XNNPACK takes each Linear and leaves each
    cumsum on the CPU, so the method alternates ``blocks`` delegate calls with CPU islands.

    ``fixed=True`` computes each running sum as ``F.linear(x, tril(ones))`` (as
    :class:`CumsumSplit` does), which XNNPACK lowers as a fully connected layer.
    """

    def __init__(self, blocks: int = 12, dim: int = 16, fixed: bool = False) -> None:
        super().__init__()
        self.fixed = fixed
        self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(blocks))
        if fixed:  # only then: an unused buffer would still be stored in the program
            self.register_buffer("tril", torch.tril(torch.ones(dim, dim)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            y = layer(x)
            x = F.linear(y, self.tril) if self.fixed else torch.cumsum(y, dim=1)
        return x


# --- delegates that hand tensors straight to each other (issue 13) -------------------------


class ScaledMLP(nn.Module):
    """Linear, ReLU times a constant, Linear: exported with ExecuTorch's recipe for dynamically
    quantized linears (``XnnpackDynamicallyQuantizedPartitioner`` for the int8 linears, then
    ``XnnpackPartitioner`` for the float rest, as its LLM export does), each partitioner makes its
    own delegates: three XNNPACK delegate calls back to back, each handing its output straight
    to the next, and nothing on the CPU.
    """

    def __init__(self, dim: int = 16, hidden: int = 32, out: int = 8, scale: float = 2.0) -> None:
        super().__init__()
        self.up = nn.Linear(dim, hidden)
        self.down = nn.Linear(hidden, out)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(torch.relu(self.up(x)) * self.scale)


# --- CPU fallbacks that do not split (issue 17) -------------------------------------------


class ChannelGather(nn.Module):
    """Only a fixed channel gather (``index_select``): on Ethos-U55, which has no GATHER, the
    gather stays on the CPU; the Arm flow delegates only the cast of its int64 index to int32
    (a delegate call with no inputs), so nothing of the model's own work runs on the NPU."""

    def __init__(self, ch: int = 8) -> None:
        super().__init__()
        self.register_buffer("index", torch.tensor([ch - 1 - i for i in range(ch)], dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.index_select(x, 1, self.index)


class UpsampleThenCNN(nn.Module):
    """A 2x bilinear upsample first, then Conv-ReLU-Conv: on Ethos-U55, which runs no bilinear
    RESIZE, the upsample stays on the CPU before the one delegate (a leading fallback)."""

    def __init__(self, ch: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return self.conv2(torch.relu(self.conv1(x)))


class ChannelSort(nn.Module):
    """Only ``torch.sort`` over the channels: TOSA has no sort, so on Ethos-U55 nothing is
    delegated at all (only quantize/dequantize glue around the sort)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sort(x, dim=1).values


class CNNThenWhere(nn.Module):
    """Conv-ReLU-Conv, then ``torch.where(y > t, y, y * 0.5)`` as the last step: on
    Ethos-U55 the comparison and the select stay on the CPU after the one delegate (trailing
    fallbacks)."""

    def __init__(self, ch: int = 8, threshold: float = 0.25) -> None:
        super().__init__()
        self.threshold = threshold
        self.conv1 = nn.Conv2d(3, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(torch.relu(self.conv1(x)))
        return torch.where(y > self.threshold, y, y * 0.5)


class Float64Head(nn.Module):
    """Conv features, then a score computed in float64 (``x.double()``), as some
    post-processing code does for precision.

    The Arm int8 flow cannot export it: the Arm quantizer annotates the float64 multiply
    like any other, and executorch 1.5.1 then fails ("Expecting input to have dtype
    torch.float32, but got dtype: torch.float64"): there is no CPU fallback for an operator
    the quantizer has already taken. XNNPACK (fp32) keeps the float64 part on the CPU and
    exports it.
    """

    def __init__(self, ch: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv(x))
        return (y.double() * 2.0).sum(dim=(2, 3))


# --- sweep SPECs (``edgeinspect sweep edgeinspect.export.models:upsample_cnn``) -------------
# Each returns (model in eval mode, example inputs). The sweep seeds torch with 0 first, as
# the zoo does, so these build the fixtures' models and inputs.


def small_cnn() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The model of the ``u55_cnn`` / ``xnn_cnn`` fixtures: one clean delegate everywhere."""
    return SmallCNN().eval(), (torch.randn(1, 3, 16, 16),)


def upsample_cnn() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The model of ``u55_upsample`` / ``u85_upsample``: bilinear upsample splits U55, not U85."""
    return UpsampleCNN().eval(), (torch.randn(1, 3, 16, 16),)


def where_split() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The model of ``u55_where`` / ``u85_where``: ``where`` and ``gt`` split U55, not U85."""
    return WhereSplit().eval(), (torch.randn(1, 3, 16, 16),)


def gather_split() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The model of ``u55_gather`` / ``u85_gather``: ``index_select`` splits U55, not U85."""
    return GatherSplit().eval(), (torch.randn(1, 3, 16, 16),)


def float64_head() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """:class:`Float64Head`: exports for XNNPACK, fails in the Arm int8 flow."""
    return Float64Head().eval(), (torch.randn(1, 3, 16, 16),)
