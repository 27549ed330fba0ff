"""The Vela options a delegate was compiled with, taken from its compile specs and checked.

An Ethos-U delegate stores the whole Vela command line it was compiled with as the
``compile_flags`` compile spec (``--accelerator-config=ethos-u55-128 --config=Arm/vela.ini
--output-format=raw --system-config=... --memory-mode=...``, plus any ``extra_flags`` the
exporter added). The .pte is untrusted, so the flags are not handed to Vela as they are:

* only options that shape the compiled graph are passed, each with its value checked
  (:data:`VALUE_OPTIONS`, :data:`SWITCHES`); options that only change what Vela prints or
  writes (``--verbose-*``, ``--enable-debug-db``, ...) are dropped;
* ``--config`` must name a file inside the installed Vela's ``config_files`` folder, as
  ``<folder>/<file>.ini`` (the form Vela itself looks up there); an absolute path is
  accepted only when it resolves into that folder, and is passed in the relative form;
* anything else (``--output-dir``, a second network, an option Vela does not have, a value
  with characters no option takes) refuses the delegate with a :class:`FlagError` naming it.

The result is in a canonical order, so equal command lines give equal cache keys.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from edgeinspect.errors import EdgeInspectError
from edgeinspect.estimate._util import shown as _shown

__all__ = ["SWITCHES", "VALUE_OPTIONS", "FlagError", "vela_flags"]

_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")

#: Options passed on with a value, and the values each accepts.
VALUE_OPTIONS: Mapping[str, re.Pattern[str]] = {
    "--accelerator-config": re.compile(r"ethos-u(55|65|85)-[0-9]{2,4}"),
    "--system-config": _NAME,
    "--memory-mode": _NAME,
    "--config": re.compile(r"[^\x00-\x1f\x7f]{1,1024}"),  # checked further by _config
    "--output-format": re.compile(r"raw|tflite"),
    "--optimise": re.compile(r"Performance|Size"),
    "--arena-cache-size": re.compile(r"[0-9]{1,15}"),
    "--cpu-tensor-alignment": re.compile(r"[0-9]{1,9}"),
    "--tensor-allocator": re.compile(r"LinearAlloc|Greedy|HillClimb"),
    "--cop-format": re.compile(r"COP1|COP2"),
    "--experimental-softmax-int16-neg-exp-range": re.compile(r"[0-9]{1,5}(\.[0-9]{1,9})?"),
}

#: Options passed on without a value.
SWITCHES = frozenset({"--force-symmetric-int-weights", "--separate-io-regions"})

# Options that only change what Vela prints or writes, never the compiled graph: dropped.
_OUTPUT_ONLY = frozenset(
    {
        "--enable-debug-db",
        "--show-cpu-operations",
        "--show-subgraph-io-summary",
        "--timing",
        "--verbose-all",
        "--verbose-allocation",
        "--verbose-config",
        "--verbose-cycle-estimate",
        "--verbose-graph",
        "--verbose-high-level-command-stream",
        "--verbose-operators",
        "--verbose-packing",
        "--verbose-performance",
        "--verbose-progress",
        "--verbose-quantization",
        "--verbose-register-command-stream",
        "--verbose-schedule",
        "--verbose-tensor-format",
        "--verbose-tensor-purpose",
        "--verbose-weights",
    }
)

_MAX_FLAGS_CHARS = 8192


class FlagError(EdgeInspectError):
    """A delegate's compile flags hold something that is not passed to Vela."""


def _config(value: str, config_dir: str) -> str:
    """The ``<folder>/<file>.ini`` form of a ``--config`` value inside ``config_dir``."""
    root = os.path.realpath(config_dir)
    if os.path.isabs(value):
        target = os.path.realpath(value)
        rel = os.path.relpath(target, root)
        parts = rel.split(os.sep)
        if rel.startswith(os.pardir) or len(parts) != 2:
            raise FlagError(
                f"--config={_shown(value)} is outside the installed Vela's config_files folder: only the config files Vela "
                "ships are used (e.g. --config=Arm/vela.ini)"
            )
    else:
        parts = value.replace("\\", "/").split("/")
        if len(parts) != 2 or any(p in ("", ".", "..") or p.startswith((".", "~")) for p in parts):
            raise FlagError(
                f"--config={_shown(value)} is not a <folder>/<file>.ini name inside the installed Vela's config_files folder "
                "(e.g. --config=Arm/vela.ini)"
            )
    folder, name = parts
    if not name.endswith(".ini") or not all(re.fullmatch(r"[A-Za-z0-9_.+-]{1,128}", p) for p in parts):
        raise FlagError(f"--config={_shown(value)}: not a .ini file name Vela ships (e.g. --config=Arm/vela.ini)")
    target = os.path.realpath(os.path.join(root, folder, name))
    if os.path.dirname(os.path.dirname(target)) != root or not os.path.isfile(target):
        raise FlagError(
            f"--config={_shown(value)}: no such config file in the installed Vela's config_files folder "
            f"(it has: {', '.join(_shipped(root)) or 'none'})"
        )
    return f"{folder}/{name}"


def _shipped(root: str) -> list[str]:
    try:
        return sorted(
            f"{d}/{f}" for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) for f in os.listdir(os.path.join(root, d))
        )[:10]
    except OSError:
        return []


def _tokens(compile_flags: str | Iterable[str]) -> list[str]:
    if isinstance(compile_flags, str):
        if len(compile_flags) > _MAX_FLAGS_CHARS:
            raise FlagError(f"compile_flags of {len(compile_flags)} characters: too long to be a Vela command line")
        # executorch joins the flags with spaces and Vela splits them the same way.
        return compile_flags.split()
    return [str(t) for t in compile_flags]


def vela_flags(compile_flags: str | Iterable[str], config_dir: str, *, target: str | None = None) -> tuple[str, ...]:
    """The checked, normalized Vela options of a delegate's ``compile_flags``.

    Parameters
    ----------
    compile_flags : str or iterable of str
        The ``compile_flags`` compile spec (a space-separated command line) or its tokens.
    config_dir : str
        The installed Vela's ``config_files`` folder (``--config`` must resolve inside it).
    target : str, optional
        The delegate's ``target`` compile spec: the accelerator when the flags name none.

    Returns
    -------
    tuple of str
        ``--option=value`` and switches, sorted by option (``--config`` values keep their
        order); the last of repeated single-valued options wins, as in Vela's parser.

    Raises
    ------
    FlagError
        When a flag is not passed to Vela (its message names the flag), or no accelerator
        is known.

    Examples
    --------
    >>> import tempfile, os
    >>> root = tempfile.mkdtemp(); os.mkdir(os.path.join(root, "Arm"))
    >>> open(os.path.join(root, "Arm", "vela.ini"), "w").close()
    >>> vela_flags("--accelerator-config=ethos-u55-128 --config=Arm/vela.ini --output-format=raw --verbose-all", root)
    ('--accelerator-config=ethos-u55-128', '--config=Arm/vela.ini', '--output-format=raw')
    >>> vela_flags("--output-dir=/etc", root)
    Traceback (most recent call last):
    ...
    edgeinspect.estimate.flags.FlagError: compile flag '--output-dir=/etc' is not passed to Vela: the output directory is edgeinspect's own
    """
    tokens = _tokens(compile_flags)
    values: dict[str, str] = {}
    configs: list[str] = []
    switches: set[str] = set()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        name, eq, value = token.partition("=")
        if name in _OUTPUT_ONLY and not eq:
            continue
        if name in SWITCHES and not eq:
            switches.add(name)
            continue
        if name == "--output-dir":
            raise FlagError(f"compile flag {_shown(token)!r} is not passed to Vela: the output directory is edgeinspect's own")
        if name not in VALUE_OPTIONS:
            what = "a second network file" if not token.startswith("-") else "an option edgeinspect does not pass to Vela"
            raise FlagError(
                f"compile flag {_shown(token)!r} is {what} (passed: {', '.join(sorted([*VALUE_OPTIONS, *SWITCHES]))}; "
                "dropped: --verbose-* and other output-only options)"
            )
        if not eq:  # "--option value", as argparse also accepts
            if i >= len(tokens):
                raise FlagError(f"compile flag {_shown(token)!r} has no value")
            value = tokens[i]
            i += 1
        if not VALUE_OPTIONS[name].fullmatch(value):
            raise FlagError(f"compile flag {_shown(name)}={_shown(value)!r}: not a value {name} takes")
        if name == "--config":
            configs.append(_config(value, config_dir))
        else:
            values[name] = value
    if "--accelerator-config" not in values:
        if target and VALUE_OPTIONS["--accelerator-config"].fullmatch(target):
            values["--accelerator-config"] = target
        else:
            raise FlagError("the compile flags name no --accelerator-config and the compile specs no Ethos-U target")
    out = [f"{k}={v}" for k, v in sorted(values.items())]
    out.extend(f"--config={c}" for c in configs)
    out.extend(sorted(switches))
    return tuple(sorted(out, key=lambda f: f.partition("=")[0]))
