"""The built-in zoo holds real architectures: each paper's blocks, in its order and depth,
exported by torch.export with the operators that make the architecture what it is."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.needs_export

#: Architecture -> (block class name, blocks in the paper's network, operators its graph must hold).
EXPECTED = {
    "mobilenet_v2": ("InvertedResidual", 17, ("hardtanh", "conv2d", "add")),  # ReLU6 is hardtanh(0, 6)
    "mobilenet_v3_small": ("Bneck", 11, ("hardswish", "hardsigmoid", "relu", "mul", "adaptive_avg_pool2d")),
    "resnet18": ("BasicBlock", 8, ("max_pool2d", "relu", "add", "linear")),
    "efficientnet_b0": ("MBConv", 16, ("silu", "sigmoid", "mul", "adaptive_avg_pool2d")),
    "squeezenet1_1": ("Fire", 8, ("cat", "max_pool2d", "relu")),
    "shufflenet_v2_x0_5": ("ShuffleUnit", 16, ("chunk", "transpose", "cat", "view")),
    "vit_tiny": ("EncoderBlock", 2, ("layer_norm", "softmax", "gelu", "matmul", "cat")),
}


def test_the_registry_matches_the_torch_free_names():
    from edgeinspect.export.architectures import ARCHITECTURES
    from edgeinspect.export.specs import BUILTIN_MODELS

    assert tuple(ARCHITECTURES) == BUILTIN_MODELS == tuple(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_architecture_is_real(name):
    import torch

    from edgeinspect.export.architectures import build

    block, count, ops = EXPECTED[name]
    torch.manual_seed(0)
    model, example = build(name)
    assert sum(type(m).__name__ == block for m in model.modules()) == count
    assert tuple(model(*example).shape) == (1, 10)
    graph = torch.export.export(model, example).graph
    names = " ".join(str(n.target) for n in graph.nodes if n.op == "call_function")
    for op in ops:
        assert f"aten.{op}" in names, (name, op)
    if name in ("mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x0_5"):
        depthwise = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.groups == m.in_channels > 1]
        assert depthwise, "depthwise convolutions"
    if name == "squeezenet1_1":
        assert all(m.ceil_mode for m in model.modules() if isinstance(m, torch.nn.MaxPool2d))


def test_same_seed_same_model():
    import torch

    from edgeinspect.export.architectures import build

    torch.manual_seed(0)
    a, (x,) = build("resnet18")
    torch.manual_seed(0)
    b, (y,) = build("resnet18")
    assert torch.equal(x, y) and all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
