"""The .pte-only counterfactual: re-partition a method's dataflow graph as if some CPU
operators were supported by a backend, and measure what would change.

The model of partitioning follows ExecuTorch's capability-based partitioners:

1. Candidates for backend ``B`` are its delegate calls (known to be supported), the kernel
   calls of the operators treated as supported, and quantize/dequantize glue.
2. Walking the calls in reverse topological order, each candidate joins the partition of a
   candidate it feeds when the merged partition stays convex (no path leaves it and comes
   back, which would make the partitioned graph cyclic).
3. Glue on a partition's boundary (a quantize fed from outside, a dequantize read outside)
   stays on the CPU, as the Arm partitioner's boundary de-tagging does; glue between two
   supported nodes disappears into the partition. Partitions are then split into their
   connected pieces, and pieces with no real work (glue only) dissolve.

The new instruction order is a topological order of the graph with each partition
contracted to one call, ties broken by original instruction order; transitions and
boundary bytes are then measured with the definitions of docs/concepts.md. An untouched
delegate keeps its exact original argument bytes.

How it is computed: a recommender asks one counterfactual per splitting operator, so a file
with thousands of distinct operators asks thousands. The dataflow graph is built once per
method (:class:`_Flow`, integer positions in instruction order, which is a topological
order), and so is the partitioning with nothing added (the baseline). A candidate's partition
depends only on the candidates connected to it by candidate-to-candidate edges, so a
counterfactual re-partitions only the groups its operator's kernels join; the bytes and
delegate counts of the rest are the baseline's, and when instruction order stays a
topological order of the contracted graph the call sequence changes only at those groups'
positions. Convexity searches never look past the largest member (every edge goes forward).
The cost of one counterfactual is at most linear in the method (linear in the groups it
touches in practice); ``tests/recommend/test_counterfactual_equivalence.py`` holds every
answer equal to the plain re-partition it replaced.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from edgeinspect.analysis.fragmentation import (
    base_operator,
    boundary_bytes,
    count_transitions,
    delegated_subgraphs,
    is_glue,
    tensor_bytes,
    transitions,
)
from edgeinspect.graph import producers_and_consumers
from edgeinspect.model import Method

__all__ = ["Counterfactual", "Partitioning", "counterfactual", "region_size", "repartition"]


@dataclass(frozen=True, slots=True)
class Partitioning:
    """The outcome of :func:`repartition`.

    Attributes
    ----------
    partitions : tuple of tuple of int
        Instruction indices of each partition of the backend, ordered by first instruction.
    order : tuple of tuple of int
        The new call sequence: each entry the instruction indices that became one call
        (one for a kernel or an untouched delegate, several for a merged partition).
    devices : tuple of str
        The device of each entry of ``order``.
    boundary_bytes : int
        Boundary bytes of the new sequence (as docs/concepts.md defines them).
    """

    partitions: tuple[tuple[int, ...], ...]
    order: tuple[tuple[int, ...], ...]
    devices: tuple[str, ...]
    boundary_bytes: int

    @property
    def transitions(self) -> int:
        """Transitions of the new sequence, the host at both ends."""
        return count_transitions(["CPU", *self.devices, "CPU"])


@dataclass(frozen=True, slots=True)
class Counterfactual:
    """What delegating ``operators`` to ``backend`` would do to one method.

    Attributes
    ----------
    method, backend : str
    operators : tuple of str
        Base operator names treated as supported (``aten::cumsum``).
    subgraphs_before, subgraphs_after : dict
        Delegate calls per backend before and after.
    transitions_before, transitions_after : int
    bytes_before, bytes_after : int
        Boundary bytes before and after.

    The new partitions and call sequence are :attr:`partitioning`, built when first asked: the
    figures above do not need it, and a recommender asks thousands of counterfactuals.
    """

    method: str
    backend: str
    operators: tuple[str, ...]
    subgraphs_before: dict[str, int]
    subgraphs_after: dict[str, int]
    transitions_before: int
    transitions_after: int
    bytes_before: int
    bytes_after: int
    _partitioning: Any = field(default=None, repr=False, compare=False)
    _solution: Any = field(default=None, repr=False, compare=False)

    @property
    def partitioning(self) -> Partitioning:
        """The new partitions and call sequence (see :class:`Partitioning`)."""
        p = self._partitioning
        if not isinstance(p, Partitioning):
            p = p.partitioning()
            object.__setattr__(self, "_partitioning", p)
        return p

    @property
    def changed_partitions(self) -> tuple[tuple[int, ...], ...]:
        """Instruction indices of the partitions of ``backend`` that the operators changed or
        made, ordered by first instruction: a merged partition holds the delegate calls it
        merges, the kernels it takes from the CPU and the glue it absorbs. Read from the region
        the operators touch (no call sequence is built); empty when nothing changed."""
        solution = self._solution
        if solution is None or getattr(solution, "_base", None) is None:  # the baseline changed nothing
            return ()
        first = solution.flow.first
        return tuple(sorted(tuple(n - first for n in p) for p in solution._new))

    @property
    def delegates_after(self) -> int:
        """Delegate calls of the method after (all backends)."""
        return sum(self.subgraphs_after.values())

    @property
    def delegates_saved(self) -> int:
        """Delegate calls that disappear (can be negative when new partitions appear)."""
        return sum(self.subgraphs_before.values()) - self.delegates_after

    @property
    def transitions_saved(self) -> int:
        """Transitions that disappear."""
        return self.transitions_before - self.transitions_after

    @property
    def bytes_saved(self) -> int:
        """Boundary bytes that disappear (negative when more bytes would cross)."""
        return self.bytes_before - self.bytes_after


class _Flow:
    """A method's dataflow graph in integer positions, built once and shared by every
    counterfactual of the method (the recommender asks one per operator and backend).

    Position ``p`` is the node's place in instruction order: the method inputs first, then the
    instructions, then the outputs. Every edge goes from a smaller position to a larger one
    (a value is read after it is written), so position order is a topological order.
    """

    __slots__ = (
        "method",
        "first",
        "size",
        "succ",
        "pred",
        "call",
        "delegate",
        "glue",
        "name",
        "device",
        "producer",
        "consumers",
        "by_operator",
        "baselines",
        "before",
        "bytes_of",
        "group_sizes",
        "grouping",
    )

    def __init__(self, method: Method) -> None:
        self.method = method
        instructions = method.instructions
        n_in = len(method.inputs)
        self.first = n_in
        self.size = n_in + len(instructions) + len(method.outputs)
        outputs_at = n_in + len(instructions)

        def pos(key: Any) -> int:
            if isinstance(key, int):
                return n_in + key
            kind, _, k = key.partition(":")
            return int(k) if kind == "input" else outputs_at + int(k)

        producer, consumers = producers_and_consumers(method)
        self.producer = {v: pos(k) for v, k in producer.items()}
        self.consumers = {v: [pos(k) for k in users] for v, users in consumers.items()}
        succ: list[set[int]] = [set() for _ in range(self.size)]
        for value, users in self.consumers.items():
            src = self.producer.get(value)
            if src is not None:
                succ[src].update(users)
        self.succ = [sorted(s) for s in succ]
        pred: list[list[int]] = [[] for _ in range(self.size)]
        for a, users in enumerate(self.succ):
            for b in users:
                pred[b].append(a)
        self.pred = pred
        self.call = [False] * self.size
        self.delegate = [False] * self.size
        self.glue = [False] * self.size
        self.name = [""] * self.size
        self.device = ["CPU"] * self.size
        self.by_operator: dict[str, list[int]] = {}
        for ins in instructions:
            p = n_in + ins.index
            self.name[p] = ins.name
            self.call[p] = ins.is_call
            self.device[p] = ins.device or "CPU"
            if ins.kind == "delegate":
                self.delegate[p] = True
            elif ins.kind == "kernel":
                self.glue[p] = is_glue(ins.name)
                self.by_operator.setdefault(ins.name, []).append(p)
                base = base_operator(ins.name)
                if base != ins.name:
                    self.by_operator.setdefault(base, []).append(p)
        self.baselines: dict[str, _Solution] = {}
        self.group_sizes: dict[str, list[int]] = {}
        self.grouping: dict[str, tuple[list[bool], list[int], list[list[int]]]] = {}
        self.bytes_of: dict[tuple[int, ...], int] = {}
        self.before = (delegated_subgraphs(method), transitions(method), boundary_bytes(method))

    def instruction(self, p: int) -> Any:
        return self.method.instructions[p - self.first]

    # -- partitioning ---------------------------------------------------------------
    def convex(
        self, members: set[int], other: frozenset[int] | set[int] = frozenset(), exits: tuple[set[int], ...] = (), hi: int = -1
    ) -> bool:
        """Whether no path leaves ``members`` (with ``other``: their union) and comes back.

        A path out and back in only passes positions below the set's largest (``hi``), so the
        search never looks past it. ``exits`` hold the successors of the set's nodes (some may
        be members); without them they are gathered from the members.
        """
        if not other and len(members) == 1:
            return True  # one node: a graph whose edges all go forward has no path back to it
        succ = self.succ
        if hi < 0:
            hi = max(max(members), max(other, default=-1))
        if not exits:
            exits = tuple({s for m in group for s in succ[m]} for group in (members, other))
        seen: set[int] = set()
        stack = []
        for group in exits:
            for s in group:
                if s < hi and s not in seen and s not in members and s not in other:
                    seen.add(s)
                    stack.append(s)
        while stack:
            for s in succ[stack.pop()]:
                if s > hi:
                    break  # successors are sorted: the rest lie past the set too
                if s in members or s in other:
                    return False
                if s not in seen:
                    seen.add(s)
                    stack.append(s)
        return True

    def sweep(self, candidates: list[int]) -> list[set[int]]:
        """Step 2 of the module docstring over ``candidates`` (every candidate adjacent to one
        of them must be among them): each joins the partition of a candidate it feeds when
        the union stays convex."""
        part_of: dict[int, int] = {}
        members: dict[int, set[int]] = {}
        exits: dict[int, set[int]] = {}  # successors of the members (stale members filtered as met)
        top: dict[int, int] = {}  # the largest member
        for n in sorted(candidates, reverse=True):
            part_of[n] = n
            members[n] = {n}
            exits[n] = set(self.succ[n])
            top[n] = n
            for user in self.succ[n]:
                other = part_of.get(user)
                mine = part_of[n]
                if other is None or other == mine:
                    continue
                a, b = members[mine], members[other]
                if not self.convex(a, b, (exits[mine], exits[other]), max(top[mine], top[other])):
                    continue
                # Which id survives does not matter (only the member sets do): merge small into large.
                keep, drop = (mine, other) if len(a) >= len(b) else (other, mine)
                for m in members[drop]:
                    part_of[m] = keep
                members[keep] |= members.pop(drop)
                top[keep] = max(top[keep], top.pop(drop))
                kept = exits[keep]
                kept |= exits.pop(drop)
                if len(kept) <= len(members[keep]):
                    kept.difference_update([x for x in kept if x in members[keep]])
                else:
                    kept -= members[keep]
        return list(members.values())

    def detag(self, parts: Iterable[set[int]]) -> list[tuple[int, ...]]:
        """Step 3: boundary glue leaves each partition; the rest splits into connected pieces,
        glue-only pieces dissolve, and a piece de-tagging made non-convex keeps only its delegates."""
        succ, pred, glue, name = self.succ, self.pred, self.glue, self.name
        out: list[tuple[int, ...]] = []
        for part in parts:
            if len(part) == 1:  # alone, glue is on a boundary or glue-only: only work stays
                (n,) = part
                if not glue[n]:
                    out.append((n,))
                continue
            members = set(part)

            def boundary(n: int, members: set[int] = members) -> bool:
                if not succ[n]:
                    return True
                if "dequantize" in name[n]:  # converts back to float: on the boundary if read outside
                    return any(s not in members for s in succ[n])
                return any(p not in members for p in pred[n])  # converts to the integer type: if fed from outside

            # Removing glue only shrinks the set, so boundary() only turns true: the order of
            # removal does not change what stays (the same fixpoint as repeated full passes).
            work = sorted(n for n in members if glue[n])
            queued = set(work)
            while work:
                n = work.pop()
                queued.discard(n)
                if n in members and boundary(n):
                    members.discard(n)
                    for m in (*pred[n], *succ[n]):
                        if m in members and glue[m] and m not in queued:
                            queued.add(m)
                            work.append(m)
            seen: set[int] = set()
            for start in sorted(members):
                if start in seen:
                    continue
                piece = {start}
                stack = [start]
                while stack:
                    x = stack.pop()
                    for y in (*succ[x], *pred[x]):
                        if y in members and y not in piece:
                            piece.add(y)
                            stack.append(y)
                seen |= piece
                if not any(self.delegate[n] or not glue[n] for n in piece):
                    continue
                if self.convex(piece):
                    out.append(tuple(sorted(piece)))
                else:
                    out.extend((n,) for n in sorted(piece) if self.delegate[n])
        return out

    def part_bytes(self, part: tuple[int, ...]) -> int:
        """Argument bytes of the delegate call a partition would become (remembered: the same
        partitions come back in many counterfactuals)."""
        found = self.bytes_of.get(part)
        if found is None:
            found = self.bytes_of[part] = self._part_bytes(part)
        return found

    def _part_bytes(self, part: tuple[int, ...]) -> int:
        method = self.method
        if len(part) == 1 and self.delegate[part[0]]:
            return tensor_bytes(method, method.tensor_args(self.instruction(part[0])))
        inside = set(part)
        args: dict[int, None] = {}
        for n in part:
            for v in method.tensor_args(self.instruction(n)):
                src = self.producer.get(v)
                if src is None:  # a constant: it would be baked into the delegate
                    continue
                if src in inside and all(u in inside for u in self.consumers.get(v, ())):
                    continue  # produced inside and read only inside (or never read): never crosses
                args[v] = None
        return tensor_bytes(method, args)

    def sequence(self, parts: Iterable[tuple[int, ...]]) -> list[int]:
        """The call sequence with each partition contracted to one call: a topological order,
        ties (and everything else) by position; entries are positions (a partition's is its first).

        Walks the positions in order and holds back a node whose predecessors are not all out
        yet; once they are, it goes out before any later position, as the smallest available.
        """
        lead: dict[int, int] = {}
        group: dict[int, tuple[int, ...]] = {}
        for p in parts:
            group[p[0]] = p
            for n in p:
                lead[n] = p[0]
        succ = self.succ
        waiting = [0] * self.size
        for a in range(self.size):
            la = lead.get(a, a)
            for s in succ[a]:
                ls = lead.get(s, s)
                if ls != la:
                    waiting[ls] += 1
        held: set[int] = set()
        ready: list[int] = []
        out: list[int] = []

        def release(x: int) -> None:
            out.append(x)
            for m in group.get(x, (x,)):
                for s in succ[m]:
                    ls = lead.get(s, s)
                    if ls != x:
                        waiting[ls] -= 1
                        if not waiting[ls] and ls in held:
                            held.discard(ls)
                            heapq.heappush(ready, ls)

        for p in range(self.size):
            if lead.get(p, p) != p:
                continue
            if waiting[p]:
                held.add(p)
                continue
            release(p)
            while ready:
                release(heapq.heappop(ready))
        return out

    def plain(self, parts: Iterable[tuple[int, ...]], lead: dict[int, int]) -> bool:
        """Whether position order is already a topological order of the contracted graph (no
        edge enters a partition from a node placed after its first member)."""
        for p in parts:
            first = p[0]
            for n in p:
                for a in self.pred[n]:
                    if lead.get(a, a) > first:
                        return False
        return True

    def solve(self, backend: str, extra: list[int]) -> _Solution:
        """The partitioning with the kernels at ``extra`` treated as supported by ``backend``.

        The partitions of a candidate depend only on the candidates connected to it through
        candidate-to-candidate edges, so only the connected groups that ``extra`` touches are
        partitioned again; the rest, their bytes and the call sequence around them are those
        of the baseline (nothing added), computed once per backend.
        """
        base = self.baselines.get(backend)
        if base is None:
            base = self.baselines[backend] = self._baseline(backend)
        extra_set = set(extra)
        if not extra_set:
            return base
        is_candidate = base.candidate
        region: set[int] = set()
        stack = list(extra_set)
        region.update(stack)
        while stack:
            x = stack.pop()
            for y in (*self.succ[x], *self.pred[x]):
                if y not in region and (is_candidate[y] or y in extra_set):
                    region.add(y)
                    stack.append(y)
        touched = {base.group[x] for x in region if base.group[x] >= 0}
        before = [p for g in sorted(touched) for p in base.parts_of_group.get(g, ())]
        after = self.detag(self.sweep(sorted(region)))
        same = set(before).intersection(after)  # partitions the new operators left as they were
        return _Solution(self, backend, base, [p for p in after if p not in same], [p for p in before if p not in same], after)

    def groups(self, backend: str) -> tuple[list[bool], list[int], list[list[int]]]:
        """The candidates for ``backend`` (its delegate calls and glue), the group of each
        (connected through candidate-to-candidate edges; -1 for the others) and the groups'
        members: what a counterfactual's region is made of, without partitioning anything."""
        found = self.grouping.get(backend)
        if found is not None:
            return found
        candidate = [False] * self.size
        for p in range(self.first, self.size - len(self.method.outputs)):
            candidate[p] = (self.delegate[p] and self.name[p] == backend) or self.glue[p]
        group = [-1] * self.size
        groups: list[list[int]] = []
        for start in range(self.size):
            if not candidate[start] or group[start] >= 0:
                continue
            k = len(groups)
            group[start] = k
            members = [start]
            stack = [start]
            while stack:
                x = stack.pop()
                for y in (*self.succ[x], *self.pred[x]):
                    if candidate[y] and group[y] < 0:
                        group[y] = k
                        members.append(y)
                        stack.append(y)
            groups.append(members)
        found = self.grouping[backend] = (candidate, group, groups)
        return found

    def _baseline(self, backend: str) -> _Solution:
        candidate, group, groups = self.groups(backend)
        parts = self.detag(self.sweep([x for members in groups for x in members]))
        return _Solution(self, backend, None, parts, [], parts, candidate=candidate, group=group)


class _Solution:
    """One partitioning of a method for a backend, with its figures; the full call sequence
    is built only when asked (:meth:`partitioning`)."""

    __slots__ = (
        "flow",
        "backend",
        "_parts",
        "_base",
        "_removed",
        "_new",
        "boundary_bytes",
        "subgraphs",
        "transitions",
        "candidate",
        "group",
        "parts_of_group",
        "keys",
        "devices",
        "first_at",
    )

    def __init__(
        self,
        flow: _Flow,
        backend: str,
        base: _Solution | None,
        new: list[tuple[int, ...]],
        removed: list[tuple[int, ...]],
        after: list[tuple[int, ...]],
        *,
        candidate: list[bool] | None = None,
        group: list[int] | None = None,
    ) -> None:
        self.flow = flow
        self.backend = backend
        self._parts: list[tuple[int, ...]] | None = None
        self.keys: list[int] | None = None  # the call sequence, when position order is a topological order
        self.devices: list[str] | None = None
        self.first_at: dict[str, int] = {}  # position of each device's first call in that sequence
        if base is None:  # the baseline: everything from scratch
            self.candidate = candidate
            self.group = group
            self.parts_of_group: dict[int, list[tuple[int, ...]]] = {}
            for p in new:
                self.parts_of_group.setdefault(group[p[0]], []).append(p)  # type: ignore[index]
            self._parts = sorted(new)
            self.boundary_bytes = sum(flow.part_bytes(p) for p in new) + self._other_delegate_bytes()
            lead = {n: p[0] for p in new for n in p}
            if flow.plain(new, lead):
                self.keys, self.devices = self._plain_sequence(lead)
                devices = self.devices
                for p, d in zip(self.keys, devices):
                    self.first_at.setdefault(d, p)
            else:
                devices = self._devices(flow.sequence(new), lead)
            self.subgraphs = _count_devices(devices)
            self.transitions = count_transitions(["CPU", *devices, "CPU"])
            return
        self.candidate, self.group, self.parts_of_group = base.candidate, base.group, base.parts_of_group
        self._base, self._removed, self._new = base, set(removed), new
        self.boundary_bytes = base.boundary_bytes - sum(flow.part_bytes(p) for p in removed) + sum(flow.part_bytes(p) for p in new)
        if base.keys is not None and flow.plain(after, {n: p[0] for p in after for n in p}):
            # Position order stays a topological order: the sequence changes only at the
            # region's positions, and each device first appears where its first call sits.
            self.transitions = base.transitions + self._delta(base, removed, new)
            counts = dict(base.subgraphs)
            first = dict(base.first_at)
            counts[backend] = len(base.parts) - len(removed) + len(new)
            kept = next((p[0] for p in base.parts if p not in self._removed), None)  # parts are sorted
            firsts = [p[0] for p in new] + ([kept] if kept is not None else [])
            if firsts:
                first[backend] = min(firsts)
            self.subgraphs = {d: counts[d] for d in sorted(first, key=first.__getitem__) if counts.get(d)}
        else:
            lead = {n: p[0] for p in self.parts for n in p}
            devices = self._devices(flow.sequence(self.parts), lead)
            self.subgraphs = _count_devices(devices)
            self.transitions = count_transitions(["CPU", *devices, "CPU"])

    @property
    def parts(self) -> list[tuple[int, ...]]:
        """The partitions of the backend (positions), sorted."""
        if self._parts is None:
            self._parts = sorted([p for p in self._base.parts if p not in self._removed] + self._new)
        return self._parts

    def _other_delegate_bytes(self) -> int:
        flow = self.flow
        method = flow.method
        return sum(
            tensor_bytes(method, method.tensor_args(flow.instruction(p)))
            for p in range(flow.first, flow.size)
            if flow.delegate[p] and flow.name[p] != self.backend
        )

    def _entry(self, p: int, lead: dict[int, int]) -> str | None:
        """The device of the call placed at position ``p`` (None when no call is placed there)."""
        first = lead.get(p)
        if first is not None:
            return self.backend if first == p else None
        flow = self.flow
        return flow.device[p] if flow.call[p] else None

    def _plain_sequence(self, lead: dict[int, int]) -> tuple[list[int], list[str]]:
        keys, devices = [], []
        for p in range(self.flow.size):
            device = self._entry(p, lead)
            if device is not None:
                keys.append(p)
                devices.append(device)
        return keys, devices

    def _devices(self, order: list[int], lead: dict[int, int]) -> list[str]:
        return [d for d in (self._entry(p, lead) for p in order) if d is not None]

    def _delta(self, base: _Solution, removed: list[tuple[int, ...]], new: list[tuple[int, ...]]) -> int:
        """Transitions gained or lost where the sequence changed: both sequences are position
        order, so only the entries at the positions of partitions that changed differ; each run
        of them is compared between its unchanged neighbours."""
        keys, devices = base.keys, base.devices
        assert keys is not None and devices is not None
        old_lead = {n: p[0] for p in removed for n in p}
        new_lead = {n: p[0] for p in new for n in p}
        edits = []  # (position, old device or None, new device or None)
        for p in sorted({*old_lead, *new_lead}):
            old, now = base._entry(p, old_lead), self._entry(p, new_lead)
            if old != now:
                edits.append((p, old, now))
        delta = 0
        i = 0
        while i < len(edits):
            j = i
            while j + 1 < len(edits) and bisect.bisect_left(keys, edits[j + 1][0]) == bisect.bisect_right(keys, edits[j][0]):
                j += 1  # no unchanged call between the two edits: one run
            left = bisect.bisect_left(keys, edits[i][0]) - 1
            right = bisect.bisect_right(keys, edits[j][0])
            ends = (devices[left] if left >= 0 else "CPU", devices[right] if right < len(keys) else "CPU")
            run = edits[i : j + 1]
            delta += count_transitions([ends[0], *(e[2] for e in run if e[2] is not None), ends[1]])
            delta -= count_transitions([ends[0], *(e[1] for e in run if e[1] is not None), ends[1]])
            i = j + 1
        return delta

    def partitioning(self) -> Partitioning:
        """The full :class:`Partitioning` (the call sequence is built here)."""
        flow = self.flow
        lead = {n: p[0] for p in self.parts for n in p}
        groups = {p[0]: p for p in self.parts}
        order: list[tuple[int, ...]] = []
        devices: list[str] = []
        for p in flow.sequence(self.parts):
            device = self._entry(p, lead)
            if device is None:
                continue
            order.append(tuple(n - flow.first for n in groups.get(p, (p,))))
            devices.append(device)
        parts = tuple(tuple(n - flow.first for n in p) for p in self.parts)
        return Partitioning(parts, tuple(order), tuple(devices), self.boundary_bytes)


def _count_devices(devices: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in devices:
        if d != "CPU":
            out[d] = out.get(d, 0) + 1
    return out


_last_flow: tuple[Method, _Flow] | None = None


def _flow(method: Method) -> _Flow:
    """The :class:`_Flow` of the last method asked (a recommender asks one method many times)."""
    global _last_flow
    if _last_flow is None or _last_flow[0] is not method:
        _last_flow = (method, _Flow(method))
    return _last_flow[1]


def _extra(flow: _Flow, wanted: Iterable[str]) -> list[int]:
    """Positions of the kernels named (full or base name) in ``wanted``."""
    out: dict[int, None] = {}
    for name in wanted:
        for p in flow.by_operator.get(name, ()):
            out[p] = None
    return list(out)


def region_size(method: Method, backend: str, operators: Iterable[str]) -> int:
    """The work :func:`counterfactual` would do for ``operators``: the nodes it re-partitions
    (their kernels and every group of candidates -- delegate calls of ``backend``, glue --
    connected to them), each counted with its edges, since the sweep and its convexity checks
    follow them. Costs the degree of those kernels, so a caller can budget its counterfactuals
    (many operators next to one big group, or one call with many users, would each sweep it again).

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction, Value, Tensor
    >>> t = Value("tensor", Tensor(6, (1, 4)))
    >>> calls = (Instruction(0, "delegate", 0, (0, 1), "XnnpackBackend", "XnnpackBackend"),
    ...          Instruction(1, "kernel", 0, (1, 2), "aten::cumsum.out", "CPU"),
    ...          Instruction(2, "delegate", 1, (2, 3), "XnnpackBackend", "XnnpackBackend"))
    >>> region_size(Method("forward", (t, t, t, t), (0,), (3,), calls, (), ()), "XnnpackBackend", ["aten::cumsum"])
    9
    """
    flow = _flow(method)
    _, group, members = flow.groups(backend)  # the grouping alone: no partitioning is done here
    sizes = flow.group_sizes.get(backend)
    if sizes is None:
        sizes = flow.group_sizes[backend] = [sum(1 + len(flow.succ[x]) + len(flow.pred[x]) for x in m) for m in members]
    extra = _extra(flow, operators)
    touched = {group[y] for x in extra for y in (*flow.succ[x], *flow.pred[x]) if group[y] >= 0}
    return sum(1 + len(flow.succ[x]) + len(flow.pred[x]) for x in extra) + sum(sizes[g] for g in touched)


def repartition(method: Method, backend: str, supported: Iterable[str]) -> Partitioning:
    """Re-partition ``method`` for ``backend`` with the ``supported`` operators delegated.

    Parameters
    ----------
    method : Method
    backend : str
        Backend id (``EthosUBackend``, ``XnnpackBackend``...).
    supported : iterable of str
        Base operator names (``aten::cumsum``) or full names (``aten::cumsum.out``) of CPU
        kernels to treat as supported by ``backend``.

    Returns
    -------
    Partitioning

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction, Value, Tensor
    >>> t = Value("tensor", Tensor(6, (1, 4)))      # 16 bytes each
    >>> calls = (Instruction(0, "delegate", 0, (0, 1), "XnnpackBackend", "XnnpackBackend"),
    ...          Instruction(1, "kernel", 0, (1, 2), "aten::cumsum.out", "CPU"),
    ...          Instruction(2, "delegate", 1, (2, 3), "XnnpackBackend", "XnnpackBackend"))
    >>> m = Method("forward", (t, t, t, t), (0,), (3,), calls, (), ())
    >>> p = repartition(m, "XnnpackBackend", ["aten::cumsum"])
    >>> p.partitions, p.transitions, p.boundary_bytes
    (((0, 1, 2),), 2, 32)
    """
    flow = _flow(method)
    return flow.solve(backend, _extra(flow, supported)).partitioning()


def counterfactual(method: Method, backend: str, operators: Iterable[str]) -> Counterfactual:
    """Delegate calls, transitions and boundary bytes of ``method`` before and after
    treating ``operators`` as supported by ``backend`` (see :func:`repartition`).

    Examples
    --------
    >>> from edgeinspect.model import Method, Instruction, Value, Tensor
    >>> t = Value("tensor", Tensor(6, (1, 4)))
    >>> calls = (Instruction(0, "delegate", 0, (0, 1), "XnnpackBackend", "XnnpackBackend"),
    ...          Instruction(1, "kernel", 0, (1, 2), "aten::cumsum.out", "CPU"),
    ...          Instruction(2, "delegate", 1, (2, 3), "XnnpackBackend", "XnnpackBackend"))
    >>> cf = counterfactual(Method("forward", (t, t, t, t), (0,), (3,), calls, (), ()), "XnnpackBackend", ["aten::cumsum"])
    >>> cf.delegates_after, cf.transitions_saved, cf.bytes_saved
    (1, 2, 32)
    """
    ops = tuple(dict.fromkeys(operators))
    flow = _flow(method)
    solution = flow.solve(backend, _extra(flow, ops))
    before = flow.before
    return Counterfactual(
        method=method.name,
        backend=backend,
        operators=ops,
        subgraphs_before=dict(before[0]),
        subgraphs_after=dict(solution.subgraphs),
        transitions_before=before[1],
        transitions_after=solution.transitions,
        bytes_before=before[2],
        bytes_after=solution.boundary_bytes,
        _partitioning=solution,
        _solution=solution,
    )
