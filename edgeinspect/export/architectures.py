"""The built-in model zoo (``edgeinspect sweep --zoo builtin``): compact versions of the
architectures teams deploy on edge targets, written from their papers' block structures.

torchvision cannot be assumed (it must match the installed torch exactly), and the question
the sweep answers (which target runs a model in one piece, and what splits it elsewhere)
depends on the operators and how they are wired, not on the trained weights or the width. So
each model here keeps its architecture's every kind of block, in the paper's order and
depth: inverted residuals with linear bottlenecks and ReLU6 (MobileNetV2), squeeze-and-
excitation with hard-sigmoid and hard-swish (MobileNetV3-Small), residual basic blocks with
projection shortcuts (ResNet-18), MBConv with SiLU and squeeze-and-excitation (EfficientNet-
B0), fire modules with concatenated expand branches (SqueezeNet 1.1), channel split and channel
shuffle (ShuffleNetV2) and pre-norm multi-head self-attention with GELU MLPs (ViT); widths are
scaled down and inputs are small (64x64 images, a 32x32 image for the ViT) so that each export
takes seconds. Weights are random (seeded by the caller).

:func:`build` returns ``(module, example_inputs)``, the form a ``module:function`` SPEC returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ARCHITECTURES", "Architecture", "build"]


def _divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor``, never below 90% of ``value`` (the MobileNet rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _conv_bn(
    c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, act: Callable[[], nn.Module] | None = nn.ReLU
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


# --- MobileNetV2 (Sandler et al., 2018) ---------------------------------------------------


class InvertedResidual(nn.Module):
    """Expand (1x1, ReLU6), depthwise 3x3 (ReLU6), project (1x1, linear); a residual when the
    shape is kept."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn(c_in, hidden, 1, act=nn.ReLU6))
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6), _conv_bn(hidden, c_out, 1, act=None)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV2(nn.Module):
    """MobileNetV2: the paper's seven bottleneck stages (t, c, n, s) at a width multiplier."""

    STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, width: float = 0.35, classes: int = 10, last: int = 1280) -> None:
        super().__init__()
        c = _divisible(32 * width)
        layers: list[nn.Module] = [_conv_bn(3, c, 3, 2, act=nn.ReLU6)]
        for t, ch, n, s in self.STAGES:
            out = _divisible(ch * width)
            for i in range(n):
                layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        layers.append(_conv_bn(c, last, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.classifier(x)


# --- MobileNetV3-Small (Howard et al., 2019) ------------------------------------------------


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global average pool, 1x1 reduce + ``act``, 1x1 expand, ``gate``, scale."""

    def __init__(
        self, channels: int, squeezed: int, act: Callable[[], nn.Module] = nn.ReLU, gate: Callable[[], nn.Module] = nn.Hardsigmoid
    ) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)
        self.act = act()
        self.gate = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.expand(self.act(self.reduce(s))))


class Bneck(nn.Module):
    """MobileNetV3's bottleneck: expand, depthwise k x k, optional SE, project; residual when shapes match."""

    def __init__(self, c_in: int, k: int, expanded: int, c_out: int, se: bool, act: Callable[[], nn.Module], stride: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if expanded != c_in:
            layers.append(_conv_bn(c_in, expanded, 1, act=act))
        layers.append(_conv_bn(expanded, expanded, k, stride, groups=expanded, act=act))
        if se:
            layers.append(SqueezeExcite(expanded, _divisible(expanded / 4)))
        layers.append(_conv_bn(expanded, c_out, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV3Small(nn.Module):
    """MobileNetV3-Small: the paper's table 2 (kernel, expansion, out, SE, activation, stride)."""

    RE, HS = nn.ReLU, nn.Hardswish
    CONFIG = (
        (3, 16, 16, True, RE, 2),
        (3, 72, 24, False, RE, 2),
        (3, 88, 24, False, RE, 1),
        (5, 96, 40, True, HS, 2),
        (5, 240, 40, True, HS, 1),
        (5, 240, 40, True, HS, 1),
        (5, 120, 48, True, HS, 1),
        (5, 144, 48, True, HS, 1),
        (5, 288, 96, True, HS, 2),
        (5, 576, 96, True, HS, 1),
        (5, 576, 96, True, HS, 1),
    )

    def __init__(self, width: float = 0.5, classes: int = 10, hidden: int = 256) -> None:
        super().__init__()
        c = _divisible(16 * width)
        layers: list[nn.Module] = [_conv_bn(3, c, 3, 2, act=nn.Hardswish)]
        for k, exp, out, se, act, s in self.CONFIG:
            expanded, out = _divisible(exp * width), _divisible(out * width)
            layers.append(Bneck(c, k, expanded, out, se, act, s))
            c = out
        last = _divisible(576 * width)
        layers.append(_conv_bn(c, last, 1, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(last, hidden), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(hidden, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


# --- ResNet-18 (He et al., 2016) -----------------------------------------------------------


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm; identity shortcut, or 1x1 projection when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = _conv_bn(c_in, c_out, 3, stride)
        self.conv2 = _conv_bn(c_out, c_out, 3, act=None)
        self.shortcut = _conv_bn(c_in, c_out, 1, stride, act=None) if stride != 1 or c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18: 7x7 stem and max pool, four stages of two basic blocks (base width ``base``, 64 in the paper)."""

    def __init__(self, base: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv_bn(3, base, 7, 2), nn.MaxPool2d(3, 2, 1))
        blocks: list[nn.Module] = []
        c = base
        for i, out in enumerate((base, base * 2, base * 4, base * 8)):
            blocks += [BasicBlock(c, out, 1 if i == 0 else 2), BasicBlock(out, out, 1)]
            c = out
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1))


# --- EfficientNet-B0 (Tan and Le, 2019) -----------------------------------------------------


class MBConv(nn.Module):
    """Mobile inverted bottleneck with SiLU and squeeze-and-excitation (reduced to a quarter of
    the block's input channels, sigmoid gate); residual when the shape is kept."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn(c_in, hidden, 1, act=nn.SiLU))
        layers += [
            _conv_bn(hidden, hidden, k, stride, groups=hidden, act=nn.SiLU),
            SqueezeExcite(hidden, max(1, c_in // 4), act=nn.SiLU, gate=nn.Sigmoid),
            _conv_bn(hidden, c_out, 1, act=None),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class EfficientNetB0(nn.Module):
    """EfficientNet-B0: the paper's table 1 (expansion, kernel, stride, channels, layers) at a width multiplier."""

    STAGES = (
        (1, 3, 1, 16, 1),
        (6, 3, 2, 24, 2),
        (6, 5, 2, 40, 2),
        (6, 3, 2, 80, 3),
        (6, 5, 1, 112, 3),
        (6, 5, 2, 192, 4),
        (6, 3, 1, 320, 1),
    )

    def __init__(self, width: float = 0.25, classes: int = 10) -> None:
        super().__init__()
        c = _divisible(32 * width)
        layers: list[nn.Module] = [_conv_bn(3, c, 3, 2, act=nn.SiLU)]
        for e, k, s, ch, n in self.STAGES:
            out = _divisible(ch * width)
            for i in range(n):
                layers.append(MBConv(c, out, k, s if i == 0 else 1, e))
                c = out
        head = _divisible(1280 * width)
        layers.append(_conv_bn(c, head, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(head, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


# --- SqueezeNet 1.1 (Iandola et al., 2016; v1.1 from the authors' repository) -------------


class Fire(nn.Module):
    """Squeeze (1x1) then two expand branches (1x1 and 3x3), concatenated on channels."""

    def __init__(self, c_in: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(c_in, squeeze, 1)
        self.expand1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1(s)), F.relu(self.expand3(s))], dim=1)


class SqueezeNet11(nn.Module):
    """SqueezeNet 1.1: 3x3 stem, eight fire modules between three ceil-mode max pools, a 1x1
    convolutional classifier and global average pooling (channels scaled by ``width``)."""

    FIRES = ((16, 64), (16, 64), "pool", (32, 128), (32, 128), "pool", (48, 192), (48, 192), (64, 256), (64, 256))

    def __init__(self, width: float = 0.25, classes: int = 10) -> None:
        super().__init__()
        c = _divisible(64 * width)
        layers: list[nn.Module] = [nn.Conv2d(3, c, 3, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True)]
        for fire in self.FIRES:
            if fire == "pool":
                layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
                continue
            squeeze, expand = (_divisible(v * width) for v in fire)
            layers.append(Fire(c, squeeze, expand))
            c = 2 * expand
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(c, classes, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.classifier(self.features(x)), 1).flatten(1)


# --- ShuffleNetV2 (Ma et al., 2018) --------------------------------------------------------


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` groups: reshape, transpose, flatten back."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2's unit: with stride 1, split the channels in two and transform one half;
    with stride 2, transform both (the left one depthwise); concatenate, shuffle."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = c_out // 2
        if stride == 2:
            self.left = nn.Sequential(_conv_bn(c_in, c_in, 3, 2, groups=c_in, act=None), _conv_bn(c_in, half, 1))
        right_in = c_in if stride == 2 else half
        self.right = nn.Sequential(
            _conv_bn(right_in, half, 1),
            _conv_bn(half, half, 3, stride, groups=half, act=None),
            _conv_bn(half, half, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            out = torch.cat([a, self.right(b)], dim=1)
        else:
            out = torch.cat([self.left(x), self.right(x)], dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """ShuffleNetV2 0.5x: 3x3 stem and max pool, stages of 4, 8 and 4 units (48, 96, 192
    channels), a 1x1 convolution to 1024, global pooling."""

    def __init__(
        self, channels: tuple[int, ...] = (24, 48, 96, 192, 1024), repeats: tuple[int, ...] = (4, 8, 4), classes: int = 10
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv_bn(3, channels[0], 3, 2), nn.MaxPool2d(3, 2, 1))
        units: list[nn.Module] = []
        c = channels[0]
        for out, n in zip(channels[1:4], repeats):
            units += [ShuffleUnit(c, out, 2), *(ShuffleUnit(out, out, 1) for _ in range(n - 1))]
            c = out
        self.stages = nn.Sequential(*units)
        self.head = _conv_bn(c, channels[4], 1)
        self.fc = nn.Linear(channels[4], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(self.head(self.stages(self.stem(x))), 1).flatten(1))


# --- Vision Transformer (Dosovitskiy et al., 2021) -----------------------------------------


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention, written out: qkv projection, heads,
    softmax(q k^T / sqrt(d)) v, output projection."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, t, d))


class EncoderBlock(nn.Module):
    """Pre-norm transformer encoder block: x + MSA(LN(x)), then x + MLP(LN(x)) with GELU."""

    def __init__(self, dim: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """Vision Transformer: patch embedding (a convolution with stride = patch), a class token,
    learned position embeddings, ``depth`` encoder blocks, final LayerNorm, a linear head on
    the class token."""

    def __init__(
        self, image: int = 32, patch: int = 8, dim: int = 64, depth: int = 2, heads: int = 2, mlp: int = 128, classes: int = 10
    ) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*(EncoderBlock(dim, heads, mlp) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(tokens.shape[0], -1, -1), tokens], dim=1) + self.pos
        return self.head(self.norm(self.blocks(tokens))[:, 0])


# --- the registry ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Architecture:
    """One model of the built-in zoo: how to build it, its input shape and where it comes from."""

    name: str
    factory: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    description: str


IMAGE = (1, 3, 64, 64)

ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("mobilenet_v2", MobileNetV2, IMAGE, "MobileNetV2 0.35x (Sandler et al. 2018): inverted residuals, ReLU6"),
        Architecture(
            "mobilenet_v3_small",
            MobileNetV3Small,
            IMAGE,
            "MobileNetV3-Small 0.5x (Howard et al. 2019): bottlenecks with squeeze-excite, hard-swish, hard-sigmoid",
        ),
        Architecture("resnet18", ResNet18, IMAGE, "ResNet-18 at base width 16 (He et al. 2016): basic residual blocks"),
        Architecture(
            "efficientnet_b0", EfficientNetB0, IMAGE, "EfficientNet-B0 0.25x (Tan and Le 2019): MBConv with SiLU and squeeze-excite"
        ),
        Architecture("squeezenet1_1", SqueezeNet11, IMAGE, "SqueezeNet 1.1 0.25x (Iandola et al. 2016): fire modules, ceil-mode pools"),
        Architecture("shufflenet_v2_x0_5", ShuffleNetV2, IMAGE, "ShuffleNetV2 0.5x (Ma et al. 2018): channel split, channel shuffle"),
        Architecture(
            "vit_tiny", ViT, (1, 3, 32, 32), "ViT, 2 blocks of width 64 on 8x8 patches of a 32x32 image (Dosovitskiy et al. 2021)"
        ),
    )
}


def build(name: str) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The built-in model ``name`` in eval mode with one random example input.

    Seed torch first (``torch.manual_seed``) for the same weights and input every time.

    Examples
    --------
    >>> model, (x,) = build("resnet18")
    >>> tuple(model(x).shape)
    (1, 10)
    """
    arch = ARCHITECTURES[name]
    return arch.factory().eval(), (torch.randn(*arch.input_shape),)
