"""Where an operator came from in the user's model: module, file and line (no torch).

A .pte names decomposed ATen operators (``aten::avg_pool3d``); the user wrote modules and
lines (``nn.LocalResponseNorm`` at ``features.2``, ``model.py:31``). A :class:`Source` ties
one operator back to them:

- ``module_path`` / ``module_type``: the innermost module it ran in (``features.2``,
  ``torch.nn.modules.normalization.LocalResponseNorm``); ``modules`` is the whole hierarchy,
  root first;
- ``file`` / ``line`` / ``code`` / ``function``: the innermost frame of the user's own code
  (frames in torch, site-packages or the standard library are skipped); ``stack`` keeps
  every frame, outermost first;
- ``caller``: when the operator was made inside library code (a torch module's
  ``forward``), the user's frame that called into it, the line to change.

Sources come from an ETRecord (:func:`edgeinspect.export.provenance.etrecord_sources`, which
needs torch) or from the frames of a program exported with ``emit_stacktrace=True``
(:func:`frame_sources`, no torch). :class:`ProgramSources` holds them per method: per
instruction index, and per delegate for the operators inside it.

This module imports nothing from edgeinspect but :mod:`edgeinspect.errors`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "Frame",
    "MethodSources",
    "Module",
    "OpSource",
    "ProgramSources",
    "Source",
    "frame_sources",
    "is_library_file",
    "merge_sources",
    "module_label",
    "parse_stack_trace",
    "printable",
    "source_from",
]

#: Directory names whose files are library code, not the user's.
_LIBRARY_DIRS = frozenset({"site-packages", "dist-packages", "python-stdlib", "torch"})
_STDLIB_DIR = re.compile(r"python\d+(\.\d+)?$")
#: Module types that torch.export wraps around the user's module (not the user's modules).
_WRAPPER_PREFIXES = ("torch.export.", "torch.fx.", "torch._")
_FRAME_HEADER = re.compile(r'^\s*File "(?P<file>[^"]*)", line (?P<line>\d+), in (?P<function>.*?)\s*$')


def printable(text: str, limit: int = 200) -> str:
    """``text`` fit for one line of a terminal or CI log: control and other non-printing
    characters escaped (``\\x1b``), at most ``limit`` characters.

    >>> printable("a\\x1b[31mb")
    'a\\\\x1b[31mb'
    """
    out = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def is_library_file(path: str) -> bool:
    """Whether a frame's file is library code rather than the user's.

    Library: a pseudo-file (``<string>``, ``<eval_with_key>.3``), anything under a
    ``site-packages`` or ``dist-packages`` folder or a ``torch`` package folder (a source
    checkout), or the standard library (``lib/python3.11/...``).

    >>> is_library_file("/venv/lib/python3.11/site-packages/torch/nn/modules/conv.py")
    True
    >>> is_library_file("site-packages/torch/nn/modules/container.py")
    True
    >>> is_library_file("/srv/me/project/model.py"), is_library_file("edgeinspect/export/models.py")
    (False, False)
    """
    if path.startswith("<"):
        return True
    parts = [p for p in re.split(r"[\\/]+", path) if p][:-1]
    if any(p in _LIBRARY_DIRS for p in parts):
        return True
    return any(a == "lib" and _STDLIB_DIR.match(b) for a, b in zip(parts, parts[1:], strict=False))


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of a stack trace: file, line, function and the line's code."""

    file: str
    line: int
    function: str = ""
    code: str = ""

    @property
    def is_library(self) -> bool:
        """Whether the frame lies in library code (see :func:`is_library_file`)."""
        return is_library_file(self.file)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"file": self.file, "line": self.line, "function": self.function, "code": self.code}


@dataclass(frozen=True, slots=True)
class Module:
    """One level of the module hierarchy: its path from the root (``""`` for the root
    itself, ``features.2``) and its qualified type."""

    path: str
    type: str

    @property
    def is_library(self) -> bool:
        """Whether the module's type comes from torch (``torch.nn.modules...``)."""
        return self.type.startswith("torch.")

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"path": self.path, "type": self.type}


def module_label(type_name: str) -> str:
    """A module type the way users write it: ``nn.LocalResponseNorm`` for torch.nn modules,
    the class name for others.

    >>> module_label("torch.nn.modules.normalization.LocalResponseNorm"), module_label("model.Net")
    ('nn.LocalResponseNorm', 'Net')
    """
    name = type_name.rpartition(".")[2]
    return f"nn.{name}" if type_name.startswith("torch.nn.") else name


@dataclass(frozen=True, slots=True)
class Source:
    """Where one operator (or the operators of one delegate) came from in the user's model.

    Attributes
    ----------
    module_path, module_type : str or None
        The innermost module (``features.2``, ``torch.nn.modules.normalization.LocalResponseNorm``);
        ``""`` is the root module's path. None when unknown.
    file, line, code, function : str, int, str, str or None
        The innermost frame of the user's code. None when the stack trace is unknown or has
        no user frame.
    end_line : int or None
        For a source that spans several lines of ``file`` (a delegate's operators): the last.
    stack : tuple of Frame
        Every frame, outermost first (library frames included).
    modules : tuple of Module
        The module hierarchy, root first (torch.export's own wrappers left out).
    caller : Frame or None
        When the operator was made inside library code (frames below the user's), the user
        frame that called into it.
    nodes : tuple of str
        The edge-graph nodes it was read from (ETRecord), empty otherwise.
    origin : str
        ``"etrecord"`` or ``"pte"`` (the program's own ``emit_stacktrace`` frames).
    """

    module_path: str | None = None
    module_type: str | None = None
    file: str | None = None
    line: int | None = None
    code: str | None = None
    function: str | None = None
    end_line: int | None = None
    stack: tuple[Frame, ...] = ()
    modules: tuple[Module, ...] = ()
    caller: Frame | None = None
    nodes: tuple[str, ...] = ()
    origin: str = "etrecord"

    @property
    def in_library(self) -> bool:
        """Whether the operator was made inside library code: a torch module, or frames in a
        library below the user's (``caller``)."""
        if self.caller is not None:
            return True
        return self.module_type is not None and self.module_type.startswith("torch.")

    @property
    def location(self) -> str | None:
        """``file:line`` (``file:line-end`` for a span), or None."""
        if self.file is None or self.line is None:
            return None
        span = f"-{self.end_line}" if self.end_line and self.end_line != self.line else ""
        return f"{self.file}:{self.line}{span}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the CLI contract's ``module_path, module_type, file, line, code`` first)."""
        return {
            "module_path": self.module_path,
            "module_type": self.module_type,
            "file": self.file,
            "line": self.line,
            "code": self.code,
            "function": self.function,
            "end_line": self.end_line,
            "caller": self.caller.to_dict() if self.caller else None,
            "modules": [m.to_dict() for m in self.modules],
            "stack": [f.to_dict() for f in self.stack],
            "nodes": list(self.nodes),
            "origin": self.origin,
        }


def parse_stack_trace(text: str) -> tuple[Frame, ...]:
    """The frames of a Python stack trace as torch.fx stores it in ``node.meta["stack_trace"]``
    (``File "f", line N, in fn`` then the code line), outermost first.

    >>> parse_stack_trace('  File "m.py", line 3, in forward\\n    return self.f(x)\\n')
    (Frame(file='m.py', line=3, function='forward', code='return self.f(x)'),)
    """
    frames: list[Frame] = []
    pending: dict[str, Any] | None = None
    for raw in text.splitlines():
        m = _FRAME_HEADER.match(raw)
        if m:
            if pending is not None:
                frames.append(Frame(**pending))
            pending = {"file": m["file"], "line": int(m["line"]), "function": m["function"], "code": ""}
            continue
        line = raw.strip()
        # Python 3.11+ underlines the failing expression with ^ and ~ on the next line.
        if pending is not None and not pending["code"] and line and set(line) - set("^~ "):
            pending["code"] = line
    if pending is not None:
        frames.append(Frame(**pending))
    return tuple(frames)


def _user_modules(modules: Iterable[Module]) -> tuple[Module, ...]:
    return tuple(m for m in modules if not m.type.startswith(_WRAPPER_PREFIXES))


def source_from(
    frames: Iterable[Frame] = (), modules: Iterable[Module] = (), *, nodes: Iterable[str] = (), origin: str = "etrecord"
) -> Source:
    """The :class:`Source` of an operator from its stack frames (outermost first) and its
    module hierarchy (root first; torch.export's wrapper modules are left out).

    >>> s = source_from(
    ...     [Frame("model.py", 31, "forward", "x = self.features(x)"),
    ...      Frame("site-packages/torch/nn/modules/normalization.py", 300, "forward", "return F.local_response_norm(...)")],
    ...     [Module("", "model.Net"), Module("features", "torch.nn.modules.container.Sequential"),
    ...      Module("features.2", "torch.nn.modules.normalization.LocalResponseNorm")])
    >>> s.module_path, module_label(s.module_type), s.location, s.caller.line
    ('features.2', 'nn.LocalResponseNorm', 'model.py:31', 31)
    """
    stack = tuple(frames)
    hierarchy = _user_modules(modules)
    user = [k for k, f in enumerate(stack) if not f.is_library]
    inner = stack[user[-1]] if user else None
    caller = inner if user and user[-1] < len(stack) - 1 else None
    innermost = hierarchy[-1] if hierarchy else None
    return Source(
        module_path=innermost.path if innermost else None,
        module_type=innermost.type if innermost else None,
        file=inner.file if inner else None,
        line=inner.line if inner else None,
        code=inner.code if inner else None,
        function=inner.function if inner else None,
        stack=stack,
        modules=hierarchy,
        caller=caller,
        nodes=tuple(nodes),
        origin=origin,
    )


def merge_sources(sources: Iterable[Source]) -> Source | None:
    """One source for several operators (a delegate's): the deepest module they all ran in,
    and their file with the first and last line when they share one file. Equal sources
    (apart from their nodes) merge into themselves. None when there are none."""
    items = list(sources)
    if not items:
        return None
    nodes = tuple(dict.fromkeys(n for s in items for n in s.nodes))
    first = replace(items[0], nodes=())
    if all(replace(s, nodes=()) == first for s in items[1:]):
        return replace(first, nodes=nodes)
    common: list[Module] = []
    for level in zip(*(s.modules for s in items), strict=False):
        if any(m != level[0] for m in level[1:]):
            break
        common.append(level[0])
    placed = [s for s in items if s.file is not None and s.line is not None]
    files = {s.file for s in placed}
    file = line = end = code = None
    if len(files) == 1:
        file = placed[0].file
        lines = sorted({s.line for s in placed if s.line is not None})
        line, end = lines[0], lines[-1]
        if line == end:
            codes = {s.code for s in placed}
            code = codes.pop() if len(codes) == 1 else None
    inner = common[-1] if common else None
    return Source(
        module_path=inner.path if inner else None,
        module_type=inner.type if inner else None,
        file=file,
        line=line,
        code=code,
        end_line=end if end != line else None,
        modules=tuple(common),
        nodes=nodes,
        origin=items[0].origin,
    )


@dataclass(frozen=True, slots=True)
class OpSource:
    """One operator inside a delegate, as the ETRecord's lowered subgraph holds it.

    ``index`` is its position among the subgraph's operators (graph order), ``operator``
    its name (``aten::convolution.default``), ``node`` the edge-graph node and
    ``debug_handle`` the handle that ties it to the export.
    """

    index: int
    operator: str
    node: str
    debug_handle: int | None
    source: Source

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``index``, ``operator``, ``node`` and ``debug_handle``, then the source's fields."""
        return {
            "index": self.index,
            "operator": self.operator,
            "node": self.node,
            "debug_handle": self.debug_handle,
            **self.source.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class MethodSources:
    """The sources of one method.

    Attributes
    ----------
    name : str
    instructions : dict
        Instruction index -> :class:`Source` (kernel calls; for a delegate call, the merged
        source of the operators inside it). Instructions without a known source are absent.
    delegates : dict
        Delegate index -> the operators of its lowered subgraph (:class:`OpSource`, graph
        order), from an ETRecord.
    payload : dict
        Delegate index -> payload node index -> :class:`Source`, for payloads whose nodes
        carry debug handles (XNNPACK): the nodes the stitched graph shows.
    """

    name: str
    instructions: Mapping[int, Source] = field(default_factory=dict, hash=False)
    delegates: Mapping[int, tuple[OpSource, ...]] = field(default_factory=dict, hash=False)
    payload: Mapping[int, Mapping[int, Source]] = field(default_factory=dict, hash=False)

    def instruction(self, index: int) -> Source | None:
        """The source of instruction ``index``, or None."""
        return self.instructions.get(index)


@dataclass(frozen=True, slots=True)
class ProgramSources:
    """The sources of a program's methods, with where they were read from.

    ``origin`` is ``"etrecord"`` (then ``etrecord`` is the ETRecord's base name) or
    ``"pte"`` (the frames the program carries).
    """

    origin: str
    methods: Mapping[str, MethodSources] = field(default_factory=dict, hash=False)
    etrecord: str | None = None

    def method(self, name: str) -> MethodSources | None:
        """The sources of method ``name``, or None."""
        return self.methods.get(name)


def frame_sources(program: Any) -> ProgramSources | None:
    """Sources from the stack frames a program carries (exported with
    ``ExecutorchBackendConfig(emit_stacktrace=True)``): per instruction, the user frame, no
    module (the .pte keeps no module hierarchy). None when no method carries frames.

    ``program`` is an :class:`edgeinspect.model.Program` (its methods' ``frames``).
    """
    methods: dict[str, MethodSources] = {}
    for m in program.methods:
        frames = getattr(m, "frames", ())
        found = {i: source_from(f, origin="pte") for i, f in enumerate(frames) if f}
        if found:
            methods[m.name] = MethodSources(m.name, found)
    return ProgramSources("pte", methods) if methods else None
