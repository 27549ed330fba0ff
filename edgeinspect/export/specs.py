"""What a sweep SPEC names, and the model it builds.

A SPEC is one of:

- ``module:function``: the function is imported and called with no arguments; it returns
  ``(nn.Module, example_inputs)`` (a tuple of inputs, or one tensor);
- a ``torch.export``-ed program saved with ``torch.export.save`` (``.pt2``): its module and
  the example inputs it stores;
- a model name from a zoo: ``--zoo builtin`` (the default,
  :mod:`edgeinspect.export.architectures`) or ``--zoo torchvision`` (``torchvision.models``,
  random weights, a 224x224 input; torchvision must be installed).

``NAME=SPEC`` names the model (its directory under the sweep's output); otherwise the name
is the zoo name, the function's name or the file's stem.

Parsing (:func:`parse_spec`) and the spec's identity (a digest of what defines the model:
the module's source file, the .pt2 file, the zoo's code or version) are torch-free, so the
command checks every SPEC and decides which pairs a previous run already did before any
export starts. Building the model (:func:`build_model`) runs in the exporting process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from edgeinspect.errors import UsageError

__all__ = ["BUILTIN_MODELS", "ModelSpec", "ZOOS", "build_model", "parse_spec"]

ZOOS = ("builtin", "torchvision")
#: The names of :data:`edgeinspect.export.architectures.ARCHITECTURES` (kept here torch-free;
#: a test holds the two equal).
BUILTIN_MODELS = (
    "mobilenet_v2",
    "mobilenet_v3_small",
    "resnet18",
    "efficientnet_b0",
    "squeezenet1_1",
    "shufflenet_v2_x0_5",
    "vit_tiny",
)
TORCHVISION_INPUT = (1, 3, 224, 224)

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A parsed SPEC.

    Attributes
    ----------
    name : str
        The model's name (its directory in the sweep's output).
    text : str
        The SPEC as given.
    kind : str
        ``zoo``, ``function`` or ``pt2``.
    source : str
        ``builtin:<model>`` / ``torchvision:<model>``; ``module:function``; or the .pt2 file's
        absolute path.
    identity : str
        SHA-256 of what defines the model (see the module docstring): a rerun reuses an
        export only when it is unchanged.
    """

    name: str
    text: str
    kind: str
    source: str
    identity: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "spec": self.text, "kind": self.kind, "source": self.source, "identity": self.identity}


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_text(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _module_file(module: str) -> Path | None:
    """The source file of ``module``, found in the current directory (the exporting process
    puts it first on its path, as ``python -m`` does) or on ``sys.path`` without importing
    anything; else from ``importlib.util.find_spec`` (which imports the parent packages)."""
    parts = module.split(".")
    for entry in (os.getcwd(), *sys.path):
        base = Path(entry or os.getcwd()).joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if found is None or not found.origin or not os.path.isfile(found.origin):
        return None
    return Path(found.origin)


def _safe_name(name: str, spec: str) -> str:
    if not _NAME.fullmatch(name) or name in (".", ".."):
        raise UsageError(f"model name {name!r} (from {spec!r}) must be letters, digits and _ . + - (name it: NAME={spec})")
    return name


def parse_spec(text: str, *, zoo: str = "builtin") -> ModelSpec:
    """Parse one SPEC (see the module docstring) and compute its identity.

    Raises
    ------
    UsageError
        When the SPEC names no importable module, no file, or no model of the zoo.

    Examples
    --------
    >>> s = parse_spec("resnet18")
    >>> s.name, s.kind, s.source
    ('resnet18', 'zoo', 'builtin:resnet18')
    >>> parse_spec("u55=edgeinspect.export.models:upsample_cnn").name
    'u55'
    """
    name, sep, spec = text.partition("=")
    if not sep or not _NAME.fullmatch(name.strip()):
        name, spec = "", text
    spec, name = spec.strip(), name.strip()
    if not spec:
        raise UsageError(f"empty SPEC in {text!r}")
    if spec.endswith(".pt2"):
        path = Path(spec)
        if not path.is_file():
            raise UsageError(f"{spec}: no such file (a SPEC ending in .pt2 is a torch.export-ed program)")
        return ModelSpec(_safe_name(name or path.stem, spec), text, "pt2", str(path.resolve()), _sha256_file(path))
    if os.sep in spec or (os.altsep and os.altsep in spec) or os.path.exists(spec):
        raise UsageError(
            f"{spec}: not a .pt2 file (a SPEC is module:function, a torch.export-ed program saved as .pt2, or a zoo model name)"
        )
    module, colon, function = spec.partition(":")
    if colon:
        if not _MODULE.fullmatch(module) or not _IDENT.fullmatch(function):
            raise UsageError(f"{spec!r}: write module:function (e.g. mypackage.models:build), a .pt2 file or a zoo model name")
        source = _module_file(module)
        if source is None:
            raise UsageError(f"{spec!r}: cannot find module {module!r} on the Python path")
        identity = _sha256_text(spec, _sha256_file(source))
        return ModelSpec(_safe_name(name or function, spec), text, "function", spec, identity)
    if zoo == "builtin":
        if spec not in BUILTIN_MODELS:
            raise UsageError(f"{spec!r} is not a model of the built-in zoo ({', '.join(BUILTIN_MODELS)}), a module:function or a .pt2 file")
        code = Path(__file__).with_name("architectures.py")
        return ModelSpec(_safe_name(name or spec, spec), text, "zoo", f"builtin:{spec}", _sha256_text(spec, _sha256_file(code)))
    if zoo == "torchvision":
        if importlib.util.find_spec("torchvision") is None:
            raise UsageError(
                "--zoo torchvision needs torchvision, built for the installed torch: "
                "torchvision 0.28 of the same build as torch 2.13 (a CPU torch needs PyTorch's CPU wheel of torchvision; "
                "PyPI's default wheel fails to import beside it), or use the built-in zoo: --zoo builtin"
            )
        if not _IDENT.fullmatch(spec):
            raise UsageError(f"{spec!r} is not a torchvision model name (e.g. mobilenet_v2, resnet18)")
        version = metadata.version("torchvision")
        return ModelSpec(_safe_name(name or spec, spec), text, "zoo", f"torchvision:{spec}", _sha256_text(spec, "torchvision", version))
    raise UsageError(f"unknown zoo {zoo!r}: {', '.join(ZOOS)}")


def _inputs(value: Any, where: str) -> tuple[Any, ...]:
    import torch

    if isinstance(value, torch.Tensor):
        return (value,)
    if isinstance(value, (tuple, list)) and all(isinstance(v, torch.Tensor) for v in value):
        return tuple(value)
    raise TypeError(f"{where}: example inputs must be a tensor or a tuple of tensors, got {type(value).__name__}")


def build_model(spec: ModelSpec) -> tuple[Any, tuple[Any, ...]]:
    """``(module in eval mode, example inputs)`` for a SPEC (imports torch; seed it first)."""
    import torch

    if spec.kind == "zoo":
        zoo, _, name = spec.source.partition(":")
        if zoo == "builtin":
            from edgeinspect.export.architectures import build

            return build(name)
        import torchvision

        if name not in torchvision.models.list_models():
            raise ValueError(f"torchvision {torchvision.__version__} has no model named {name!r}")
        model = torchvision.models.get_model(name, weights=None)
        return model.eval(), (torch.randn(*TORCHVISION_INPUT),)
    if spec.kind == "pt2":
        program = torch.export.load(spec.source)
        args, kwargs = program.example_inputs or ((), {})
        if kwargs:
            raise ValueError(f"{spec.source}: example inputs with keyword arguments are not supported ({sorted(kwargs)})")
        return program.module(check_guards=False), _inputs(args, spec.source)
    import pkgutil

    result = pkgutil.resolve_name(spec.source)()  # the user's module:function (any module)
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], torch.nn.Module)):
        raise TypeError(f"{spec.source} must return (nn.Module, example_inputs), got {type(result).__name__}")
    return result[0].eval(), _inputs(result[1], spec.source)
