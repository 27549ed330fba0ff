"""What is known about one program beyond its own bytes, gathered once for every surface.

A .pte says where each instruction runs. Side files say more, and every command (inspect,
explain, report, lint, view, diff) and the Python API take them the same way:

- dumped ``.tosa`` files: joined into the program itself (:func:`edgeinspect.join.attach_tosa`;
  without ``--tosa``, FILE's ``<stem>.tosa.d`` when present), so the operators inside Arm
  delegates are known;
- an ETDump (``--etdump``): measured time of one method (:func:`edgeinspect.analysis.profile_method`);
- ``--estimate``: Vela's predicted cycles and memory for each Ethos-U delegate
  (:func:`edgeinspect.estimate.estimate_program`);
- an ETRecord (``--etrecord``, trusted input: a torch serialization): the operators inside
  delegates whose payload does not say, and the module and line each instruction came from
  (or, without one, the frames a program exported with ``emit_stacktrace=True`` carries).

:class:`Evidence` holds what was given and answers per method; it is built by
:func:`edgeinspect.gather` (and the commands' ``--etdump/--estimate/--etrecord`` options,
which call it), never by reading files here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from edgeinspect.model import Delegate, Program

if TYPE_CHECKING:
    from edgeinspect.analysis.profile import MethodProfile
    from edgeinspect.estimate.records import DelegateEstimate
    from edgeinspect.model.source import MethodSources, ProgramSources

__all__ = ["Evidence"]


@dataclass(frozen=True)
class Evidence:
    """A program and what its side files say about it.

    Attributes
    ----------
    program : Program
        The program, with its ``.tosa`` dumps joined.
    profiles : mapping
        Method name -> :class:`~edgeinspect.analysis.profile.MethodProfile` (``--etdump``: one
        method, the one that ran).
    estimates : mapping or None
        Method name -> delegate index -> :class:`~edgeinspect.estimate.DelegateEstimate`
        (``--estimate``); None when no estimate was asked for.
    sources : ProgramSources or None
        Where each instruction came from (``--etrecord``, or the program's own frames).
    etrecord_ops : mapping
        Method name -> delegate index -> operator histogram from the ETRecord's lowered
        subgraphs, for delegates whose payload does not name its operators.
    etrecord, etdump : str or None
        The side files given (the ETRecord is read again by explain's real-partitioner analysis).
    """

    program: Program
    profiles: Mapping[str, MethodProfile] = field(default_factory=dict)
    estimates: Mapping[str, Mapping[int, DelegateEstimate]] | None = None
    sources: ProgramSources | None = None
    etrecord_ops: Mapping[str, Mapping[int, Mapping[str, int]]] = field(default_factory=dict)
    etrecord: str | None = None
    etdump: str | None = None

    def profile(self, method: str) -> MethodProfile | None:
        """The measured time of ``method``, or None when it was not profiled."""
        return self.profiles.get(method)

    def method_estimates(self, method: str) -> Mapping[int, DelegateEstimate] | None:
        """Delegate index -> estimate for ``method`` (None without ``--estimate``)."""
        return None if self.estimates is None else self.estimates.get(method, {})

    def method_sources(self, method: str) -> MethodSources | None:
        """Where the instructions of ``method`` came from, or None when nothing says."""
        return None if self.sources is None else self.sources.method(method)

    def delegate_ops(
        self, method: str, decoded: Callable[[Delegate], Mapping[str, int] | None]
    ) -> Callable[[Delegate], Mapping[str, int] | None]:
        """A lookup of the operators inside each delegate of ``method``: what ``decoded`` (the
        payload decoder) says, else what the ETRecord says, else None (unknown)."""
        extra = self.etrecord_ops.get(method, {})

        def lookup(d: Delegate) -> Mapping[str, int] | None:
            ops = decoded(d)  # {} is known (a delegate whose work was all folded into constants)
            return ops if ops is not None else extra.get(d.index)

        return lookup
