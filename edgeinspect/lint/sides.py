"""Which side files the lint reads with each model: .tosa dumps, an ETDump, an ETRecord, Vela.

The lint reads a program's side files the way every other command does
(:func:`edgeinspect.gather`); what it adds is the pairing, since it lints many files at once:

- **dumps**: ``--tosa F [F ...]`` goes with one FILE only. Dumps are joined to delegates by
  their input/output signature, and a dump of one model can have the signature of another
  model's delegate: joining one set of dumps to many models would guess. Without ``--tosa``,
  each .pte's ``<stem>.tosa.d`` is joined when it is there and joins (as everywhere).
- **ETDump**: ``--etdump F`` goes with one FILE only (a profile is of one program). In a walk,
  a .pte is paired with the file the configuration's ``etdumps`` table maps it to, else with
  ``<stem>.etdp`` beside it, and only when ``max-cpu-share`` is set for it (nothing else
  needs time). An ETDump is read by edgeinspect's own bounds-checked reader: untrusted input,
  safe to pair implicitly.
- **ETRecord**: ``--etrecord F`` goes with one FILE only. An ETRecord is a torch serialization
  whose loading trusts the file (docs/provenance.md), so the lint never loads one it was not
  told to: pairing (the configuration's ``etrecords`` table, else ``<stem>.etrecord`` beside
  the .pte) happens only with ``--etrecords`` on the command line. A configuration comes from
  the repository under review and cannot turn it on.
- **Vela**: ``--estimate`` estimates every Ethos-U delegate joined to its dump.

A side file named by the configuration or the command line that is missing, or that does
not belong to its program, is a tool error for that model (exit code 2): the lint cannot
judge what it was asked to judge. A ``<stem>.*`` file that is simply absent is no error.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any

from edgeinspect.errors import UsageError

__all__ = ["SideFiles", "SideOptions", "side_files"]


@dataclass(frozen=True, slots=True)
class SideOptions:
    """What the command line asked about side files (the same for every model of a run).

    Attributes
    ----------
    tosa : tuple of str
        ``--tosa``: dumps (files or directories) for the one FILE.
    etdump, etrecord : str or None
        ``--etdump`` / ``--etrecord`` for the one FILE.
    etrecords : bool
        ``--etrecords``: load each .pte's paired ETRecord.
    estimate, cache : bool
        ``--estimate`` (Vela), and whether its cache is used (``--no-cache``).
    method : str
        The method an ETDump profiled (``--method``, default forward).
    warmup_runs : int
        First runs of an ETDump treated as warm-up.
    """

    tosa: tuple[str, ...] = ()
    etdump: str | None = None
    etrecord: str | None = None
    etrecords: bool = False
    estimate: bool = False
    cache: bool = True
    method: str = "forward"
    warmup_runs: int = 1

    @property
    def single(self) -> list[str]:
        """The options that go with one FILE only, as flags."""
        return [flag for flag, given in (("--tosa", self.tosa), ("--etdump", self.etdump), ("--etrecord", self.etrecord)) if given]

    def check(self, paths: list[str]) -> None:
        """Refuse what cannot be paired without guessing.

        Raises
        ------
        UsageError
            ``--tosa``, ``--etdump`` or ``--etrecord`` with several FILEs or a directory;
            ``--etrecord`` with ``--etrecords``; ``--no-cache`` without ``--estimate``.
        """
        single = self.single
        if single and (len(paths) != 1 or os.path.isdir(paths[0])):
            raise UsageError(
                f"{' and '.join(single)} {'goes' if len(single) == 1 else 'go'} with one FILE: joined to several models "
                "they could match the wrong one. For a directory, keep each model's side files beside it "
                "(<stem>.tosa.d, <stem>.etdp, <stem>.etrecord with --etrecords) or map them in the configuration "
                "(etdumps, etrecords); see docs/lint.md"
            )
        if self.etrecord and self.etrecords:
            raise UsageError("--etrecord (one FILE) and --etrecords (paired ETRecords) exclude each other")
        if not self.cache and not self.estimate:
            raise UsageError("--no-cache goes with --estimate")
        if self.warmup_runs < 0:
            raise UsageError(f"--warmup-runs must be 0 or more, not {self.warmup_runs}")


@dataclass(frozen=True, slots=True)
class SideFiles:
    """The side files one model is read with.

    ``tosa`` is the explicit dumps, or None for ``<stem>.tosa.d`` when it is there and joins.
    """

    tosa: tuple[str, ...] | None = None
    etdump: str | None = None
    etrecord: str | None = None

    def to_dict(self, program: Any = None) -> dict[str, Any]:
        """JSON-ready form: base names of the dumps joined to the program's delegates, the ETDump
        and the ETRecord."""
        joined = (d.tosa_file for m in program.methods for d in m.delegates if d.tosa_file) if program is not None else ()
        tosa = list(dict.fromkeys(joined))
        return {
            "tosa": tosa,
            "etdump": os.path.basename(self.etdump) if self.etdump else None,
            "etrecord": os.path.basename(self.etrecord) if self.etrecord else None,
        }


def _regular(path: str, what: str) -> str:
    """``path`` when it is a regular file (a FIFO or device would block the reader)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot read {what} {path}: {getattr(err, 'strerror', None) or err}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{what} {path} is not a regular file")
    return path


def _beside(path: str, suffix: str, what: str) -> str | None:
    """``<stem><suffix>`` beside ``path`` when it exists (a regular file), else None."""
    stem, _ = os.path.splitext(path)
    candidate = stem + suffix
    if not os.path.lexists(candidate):
        return None
    return _regular(candidate, what)


def side_files(path: str, options: SideOptions, config: Any, settings: Any) -> SideFiles:
    """The side files of the .pte at ``path``.

    Parameters
    ----------
    path : str
        The model.
    options : SideOptions
        The command line's.
    config : Config
        For the ``etdumps`` / ``etrecords`` mappings.
    settings : Settings
        The model's effective settings (an ETDump is paired only when ``max-cpu-share`` is
        set and its rule runs).

    Raises
    ------
    UsageError
        A side file given or mapped that is missing or not a regular file.
    """
    tosa = tuple(options.tosa) or None
    if options.etdump:
        etdump: str | None = _regular(options.etdump, "ETDump")
    elif settings.max_cpu_share is not None and (settings.enabled("EI401") or settings.enabled("EI402")):
        mapped = config.mapped("etdumps", path)
        where = f"ETDump (mapped to {os.path.basename(path)} by {config.source})"
        etdump = _regular(mapped, where) if mapped else _beside(path, ".etdp", "ETDump")
    else:
        etdump = None
    if options.etrecord:
        etrecord: str | None = _regular(options.etrecord, "ETRecord")
    elif options.etrecords:
        mapped = config.mapped("etrecords", path)
        where = f"ETRecord (mapped to {os.path.basename(path)} by {config.source})"
        etrecord = _regular(mapped, where) if mapped else _beside(path, ".etrecord", "ETRecord")
    else:
        etrecord = None
    return SideFiles(tosa, etdump, etrecord)
