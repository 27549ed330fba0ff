"""The targets a model can be exported for, named the way their toolchains name them.

Torch-free: the command checks ``--targets`` before any export starts.

- Ethos-U accelerator configurations, as Vela names them (``ethos-u55-128``,
  ``ethos-u65-256``, ``ethos-u85-256``, ...): read from the installed Vela, else the list
  of ethos-u-vela 5.1;
- TOSA specifications (``TOSA-1.0+INT``, ``TOSA-1.0+FP``, ``TOSA-1.1+INT``, with extensions
  such as ``+int16``): the TOSA backend, no NPU compiler;
- ``xnnpack`` (fp32) and ``xnnpack-int8`` (PT2E int8);
- ``portable``: no delegate at all, every operator on the CPU (the baseline).
"""

from __future__ import annotations

import re

from edgeinspect.errors import UsageError

__all__ = [
    "TARGET_KINDS",
    "check_target",
    "ethos_u_targets",
    "is_integer_tosa",
    "target_kind",
]

#: Accelerator configurations of ethos-u-vela 5.1.0, used when Vela is not installed.
_VELA_5_1_CONFIGS = (
    "ethos-u55-32",
    "ethos-u55-64",
    "ethos-u55-128",
    "ethos-u55-256",
    "ethos-u65-256",
    "ethos-u65-512",
    "ethos-u85-128",
    "ethos-u85-256",
    "ethos-u85-512",
    "ethos-u85-1024",
    "ethos-u85-2048",
)
TARGET_KINDS = ("ethos-u", "tosa", "xnnpack", "portable")
_TOSA = re.compile(r"TOSA-(\d+)\.(\d+)((?:\+[A-Za-z0-9_]+)+)")
_XNNPACK = ("xnnpack", "xnnpack-int8")


def ethos_u_targets() -> tuple[str, ...]:
    """The Ethos-U accelerator configurations the installed Vela knows (its
    ``--accelerator-config`` choices), else those of ethos-u-vela 5.1.

    Examples
    --------
    >>> "ethos-u55-128" in ethos_u_targets() and "ethos-u85-256" in ethos_u_targets()
    True
    """
    try:
        from ethosu.vela.architecture_features import Accelerator
    except Exception:  # Vela missing or broken: the names are still checkable
        return _VELA_5_1_CONFIGS
    return tuple(a.value for a in Accelerator)


def target_kind(target: str) -> str:
    """``ethos-u``, ``tosa``, ``xnnpack`` or ``portable`` (the name is not checked further).

    Examples
    --------
    >>> [target_kind(t) for t in ("ethos-u85-256", "TOSA-1.0+FP", "xnnpack-int8", "portable")]
    ['ethos-u', 'tosa', 'xnnpack', 'portable']
    """
    if target.startswith("ethos-u"):
        return "ethos-u"
    if target.startswith("TOSA-"):
        return "tosa"
    if target in _XNNPACK:
        return "xnnpack"
    if target == "portable":
        return "portable"
    raise UsageError(f"unknown target {target!r}")


def is_integer_tosa(target: str) -> bool:
    """Whether a TOSA specification has the integer profile (the model is quantized to int8 first).

    >>> is_integer_tosa("TOSA-1.0+INT"), is_integer_tosa("TOSA-1.0+FP")
    (True, False)
    """
    return "INT" in target.split("+")[1:]


def check_target(name: str) -> str:
    """The canonical spelling of a target name, or :class:`UsageError` naming the known ones.

    Examples
    --------
    >>> check_target("Ethos-U55-128"), check_target("tosa-1.0+int"), check_target("XNNPACK")
    ('ethos-u55-128', 'TOSA-1.0+INT', 'xnnpack')
    >>> check_target("ethos-u99-1")
    Traceback (most recent call last):
    ...
    edgeinspect.errors.UsageError: unknown target 'ethos-u99-1': Ethos-U configurations are ethos-u55-32, ...
    """
    text = name.strip()
    lower = text.lower()
    if lower.startswith("ethos-u"):
        known = ethos_u_targets()
        if lower in known:
            return lower
        raise UsageError(f"unknown target {name!r}: Ethos-U configurations are {', '.join(known)}")
    if lower.startswith("tosa-"):
        match = _TOSA.fullmatch("TOSA-" + text[5:])
        if match:
            extras = match.group(3).split("+")[1:]
            profiles = [e.upper() for e in extras if e.upper() in ("INT", "FP")]
            if profiles:
                rest = [e.lower() for e in extras if e.upper() not in ("INT", "FP")]
                return "+".join([f"TOSA-{match.group(1)}.{match.group(2)}", *profiles, *rest])
        raise UsageError(f"bad TOSA target {name!r}: write TOSA-<major>.<minor>+INT or +FP (e.g. TOSA-1.0+INT, TOSA-1.0+FP)")
    if lower in (*_XNNPACK, "portable"):
        return lower
    raise UsageError(
        f"unknown target {name!r}: use an Ethos-U configuration (ethos-u55-128, ethos-u85-256, ...), "
        "a TOSA specification (TOSA-1.0+INT, TOSA-1.0+FP), xnnpack, xnnpack-int8 or portable"
    )
