"""The layer hierarchy Model Explorer draws: partitions, repetition folded, long runs nested.

Model Explorer lays a graph out level by level. A layer ("group node") with more than 1,000
children is split by a recursive walk along its chain, which overflows the browser's stack
on a long program, and a flat chain of thousands of nodes is a hairline at any zoom. So the
hierarchy is built here, before Model Explorer sees it:

1. **Partitions** are the layers (``CPU_input``, ``XnnpackBackend_0``, ``CPU_island_0``, ...;
   :func:`edgeinspect.analysis.partitions.partitions`), in execution order; every node sits in
   its partition's layer (delegate internals in the delegate's).
2. **Repetition is folded**: past :data:`FOLD_MIN_PARTITIONS` partitions, a run of at least
   :data:`FOLD_MIN_REPEATS` repetitions of the same pattern of partitions (same device, same
   operators, in the same order) becomes one layer named by its pattern and count
   (``XNNPACK -> CPU(cumsum) x 210``) holding one layer per repetition, which holds that
   repetition's partitions.
3. **No layer holds more than** :data:`LAYER_LIMIT` **children**: a longer sequence (of
   partitions, repetitions or nodes) is split into nested blocks of consecutive members, named
   by what they hold (``#0-49 sin, cos``: the instruction range and its operators).

The same nesting applies when the layers are the modules of the user's model
(:func:`module_layers`, from an ETRecord's provenance). Every name is derived from the
program, so the hierarchy is deterministic; names from the file are abbreviated and cannot
contain the ``/`` that separates layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from edgeinspect.textsafe import abbreviate, escape_control

__all__ = [
    "FOLD_MIN_PARTITIONS",
    "FOLD_MIN_REPEATS",
    "LAYER_LIMIT",
    "Layer",
    "component",
    "device_label",
    "module_layers",
    "partition_layers",
]

#: Most children a layer gets (Model Explorer splits layers past 1,000 with a recursive walk).
LAYER_LIMIT = 50
#: Partitions a method needs before repetition is folded (a short timeline reads as it is).
FOLD_MIN_PARTITIONS = 16
#: Repetitions a pattern needs to be folded.
FOLD_MIN_REPEATS = 3
#: Longest pattern (in partitions) looked for.
FOLD_MAX_PERIOD = 4
#: Short device names for the labels of folded layers.
_DEVICE_LABELS = {"XnnpackBackend": "XNNPACK", "EthosUBackend": "Ethos-U", "TOSABackend": "TOSA", "VgfBackend": "VGF"}
#: Characters kept of a layer name built from names in the file.
_COMPONENT_LIMIT = 80


@dataclass(eq=False)
class Layer:
    """One layer of the hierarchy.

    Attributes
    ----------
    name : str
        Its name: the last component of its Model Explorer namespace (unique among siblings).
    kind : str
        ``"partition"``, ``"fold"`` (a folded repetition), ``"repeat"`` (one repetition inside
        a fold), ``"block"`` (consecutive members of a long sequence) or ``"module"``.
    nodes : list
        Graph node keys directly inside, in execution order.
    children : list of Layer
        Layers directly inside, in execution order.
    partition : object or None
        The :class:`~edgeinspect.analysis.partitions.Partition` of a partition layer.
    attrs : dict
        What the layer's side panel shows (filled by the graph builder and here).
    """

    name: str
    kind: str
    nodes: list[Any] = field(default_factory=list)
    children: list[Layer] = field(default_factory=list)
    partition: Any = None
    attrs: dict[str, str] = field(default_factory=dict)

    def walk(self, prefix: str = "") -> Iterable[tuple[str, Layer]]:
        """``(namespace, layer)`` for this layer and every layer inside, parents first."""
        path = f"{prefix}/{self.name}" if prefix else self.name
        yield path, self
        for child in self.children:
            yield from child.walk(path)

    def all_nodes(self) -> list[Any]:
        """Every node key inside, at any depth, in execution order."""
        out = list(self.nodes)
        for child in self.children:
            out.extend(child.all_nodes())
        return out


def component(text: object, limit: int = _COMPONENT_LIMIT) -> str:
    """A layer name from ``text``: abbreviated, control characters escaped, and ``/`` (which
    separates layers in a namespace) replaced.

    Examples
    --------
    >>> component("a/b"), component("x" * 200, 8)
    ('a∕b', 'xxxxxxxx… (200 chars)')
    """
    return escape_control(abbreviate(str(text), limit)).replace("/", "∕") or "_"


def device_label(device: str | None) -> str:
    """``XnnpackBackend`` -> ``XNNPACK``; other backend ids as they are (abbreviated)."""
    return _DEVICE_LABELS.get(str(device), component(device or "?", 40))


def short_op(name: str) -> str:
    """``aten::cumsum.out`` -> ``cumsum``; other names abbreviated."""
    if len(name) > 200:
        return component(name, 40)
    name = name.split("::", 1)[-1]
    if "." in name:
        name = name.rsplit(".", 1)[0]
    return component(name, 40)


def _ops_text(names: Sequence[str], most: int = 3) -> str:
    """``sin, cos`` -- the distinct operators of a run, in first-seen order, the first ``most``."""
    distinct = list(dict.fromkeys(short_op(n) for n in names if n))
    text = ", ".join(distinct[:most])
    if len(distinct) > most:
        text += f", +{len(distinct) - most}"
    return text


# -- splitting long sequences ------------------------------------------------------------------
def nest(
    items: Sequence[Any],
    *,
    name: Callable[[Sequence[Any]], str],
    make_leaf: Callable[[Sequence[Any]], tuple[list[Any], list[Layer]]],
    limit: int = LAYER_LIMIT,
) -> tuple[list[Any], list[Layer]]:
    """Split ``items`` into nested blocks of at most ``limit`` members.

    Returns what the enclosing layer holds directly: ``make_leaf(items)`` when they fit, else
    block layers (named ``name(members)``) of ``limit ** k`` consecutive items each, with the
    smallest ``k`` that leaves at most ``limit`` blocks, nested the same way.
    """
    if len(items) <= limit:
        return make_leaf(items)
    size = limit ** max(1, math.ceil(math.log(len(items), limit)) - 1)
    while math.ceil(len(items) / size) > limit:  # guard against float rounding in the logarithm
        size *= limit
    blocks = []
    for start in range(0, len(items), size):
        part = items[start : start + size]
        nodes, children = nest(part, name=name, make_leaf=make_leaf, limit=limit)
        blocks.append(Layer(name(part), "block", nodes=nodes, children=children))
    return [], _unique(blocks)


def _unique(layers: list[Layer]) -> list[Layer]:
    """Siblings with the same name get ``(2)``, ``(3)``... (a namespace must name one layer)."""
    seen: dict[str, int] = {}
    for layer in layers:
        n = seen.get(layer.name, 0) + 1
        seen[layer.name] = n
        if n > 1:
            layer.name = f"{layer.name} ({n})"
    return layers


def _node_block_name(keys: Sequence[Any], info: Callable[[Any], tuple[int | None, str]]) -> str:
    """``#0-49 sin, cos``: the instruction range of a block of nodes and its operators."""
    indices = [i for i in (info(k)[0] for k in keys) if i is not None]
    span = f"#{min(indices)}-{max(indices)}" if indices else f"{len(keys)} nodes"
    ops = _ops_text([info(k)[1] for k in keys])
    return component(f"{span} {ops}" if ops else span)


def nest_nodes(layer: Layer, info: Callable[[Any], tuple[int | None, str]], limit: int = LAYER_LIMIT) -> None:
    """Split the nodes of ``layer`` into nested blocks when there are more than ``limit``."""
    if len(layer.nodes) + len(layer.children) <= limit or layer.children:
        return
    nodes, blocks = nest(layer.nodes, name=lambda part: _node_block_name(part, info), make_leaf=lambda part: (list(part), []), limit=limit)
    layer.nodes, layer.children = nodes, blocks


# -- partitions -----------------------------------------------------------------------------
def _partition_label(layer: Layer, info: Callable[[Any], tuple[int | None, str]]) -> str:
    """``XNNPACK`` for a delegate partition, ``CPU(cumsum)`` for kernels."""
    p = layer.partition
    if p.delegate is not None:
        return device_label(p.device)
    ops = _ops_text([info(k)[1] for k in layer.all_nodes()])
    return f"CPU({ops})" if ops else "CPU"


def _signature(layer: Layer, info: Callable[[Any], tuple[int | None, str]]) -> Hashable:
    """Partitions with equal signatures run the same operators on the same device, in order."""
    return (layer.partition.device, layer.partition.delegate is None, tuple(info(k)[1] for k in layer.all_nodes()))


def fold_repeats(
    layers: list[Layer],
    info: Callable[[Any], tuple[int | None, str]],
    *,
    min_repeats: int = FOLD_MIN_REPEATS,
    max_period: int = FOLD_MAX_PERIOD,
) -> list[Layer]:
    """Fold runs of a repeated pattern of partition layers into one layer each.

    Scans once from the start; at each position takes the pattern (of 1 to ``max_period``
    partitions) whose repetitions cover the most partitions, if it repeats at least
    ``min_repeats`` times; the fold holds one ``repeat`` layer per repetition (or the partitions
    themselves for a pattern of one). Work is ``O(partitions x max_period)`` amortised: a folded
    run is skipped whole.
    """
    sigs = [_signature(layer, info) for layer in layers]
    out: list[Layer] = []
    i = 0
    while i < len(layers):
        best_period, best_count = 0, 0
        for period in range(1, max_period + 1):
            if i + period * min_repeats > len(layers):
                break
            pattern = sigs[i : i + period]
            count = 1
            while sigs[i + count * period : i + (count + 1) * period] == pattern:
                count += 1
            if count >= min_repeats and period * count > best_period * best_count:
                best_period, best_count = period, count
        if not best_count:
            out.append(layers[i])
            i += 1
            continue
        members = layers[i : i + best_period * best_count]
        labels = [_partition_label(layer, info) for layer in members[:best_period]]
        fold = Layer(component(f"{' -> '.join(labels)} x {best_count}", 160), "fold")
        fold.attrs.update(
            {
                "pattern": " -> ".join(labels),
                "repetitions": str(best_count),
                "partitions": f"{members[0].name} .. {members[-1].name}",
            }
        )
        if best_period == 1:
            repeats = members
        else:
            repeats = [
                Layer(
                    component(f"{members[r * best_period].name} .. {members[(r + 1) * best_period - 1].name}", 160),
                    "repeat",
                    children=members[r * best_period : (r + 1) * best_period],
                )
                for r in range(best_count)
            ]
        nodes, fold.children = nest(
            repeats,
            name=lambda part: component(f"{part[0].name.split(' .. ')[0]} .. {part[-1].name.split(' .. ')[-1]}", 160),
            make_leaf=lambda part: ([], list(part)),
        )
        out.append(fold)
        i += best_period * best_count
    return _unique(out)


def partition_layers(
    parts: Sequence[Any],
    members: dict[str, list[Any]],
    info: Callable[[Any], tuple[int | None, str]],
    *,
    limit: int = LAYER_LIMIT,
    fold_min_partitions: int = FOLD_MIN_PARTITIONS,
) -> list[Layer]:
    """The top-level layers of a method: its partitions, folded and nested.

    Parameters
    ----------
    parts : sequence of Partition
        The method's partitions, in execution order.
    members : dict
        Partition namespace -> node keys in that partition, in execution order.
    info : callable
        Node key -> ``(instruction index or None, operator name)``, for names and signatures.
    """
    layers = [Layer(component(p.namespace, 160), "partition", nodes=list(members.get(p.namespace, ())), partition=p) for p in parts]
    for layer in layers:
        nest_nodes(layer, info, limit)
    if len(layers) > fold_min_partitions:
        layers = fold_repeats(layers, info)
    if len(layers) > limit:

        def name(part: Sequence[Layer]) -> str:
            first, last = part[0].name, part[-1].name
            return component(f"{first} .. {last}", 160) if len(part) > 1 else first

        _, layers = nest(layers, name=name, make_leaf=lambda part: ([], list(part)), limit=limit)
    return layers


# -- modules -------------------------------------------------------------------------------
def module_layers(
    keys: Sequence[Any],
    modules_of: Callable[[Any], Sequence[tuple[str, str, str]]],
    info: Callable[[Any], tuple[int | None, str]],
    *,
    limit: int = LAYER_LIMIT,
) -> tuple[list[Any], list[Layer]]:
    """Layers = the modules of the user's model, from provenance.

    ``modules_of(key)`` gives the node's module hierarchy, outermost first, as ``(name, label,
    module path)`` (``("Net", "", "")``, ``("features", "nn.Sequential", "features")``,
    ``("2", "nn.LocalResponseNorm", "features.2")``); a node with none stays at the top.
    Returns ``(top-level nodes, top-level layers)``; each
    module layer is named ``<name> (<label>)``, and long runs are nested as for partitions.
    """
    root = Layer("", "module")
    index: dict[tuple[str, ...], Layer] = {(): root}
    for key in keys:
        path: tuple[str, ...] = ()
        parent = root
        for name, label, module_path in modules_of(key):
            path = (*path, name)
            layer = index.get(path)
            if layer is None:
                layer = Layer(component(f"{name} ({label})" if label else name, 120), "module")
                layer.attrs["module"] = module_path or "(the model)"
                if label:
                    layer.attrs["module_type"] = label
                index[path] = layer
                parent.children.append(layer)
            parent = layer
        parent.nodes.append(key)

    def settle(layer: Layer) -> None:
        for child in layer.children:
            settle(child)
        if layer.children and len(layer.nodes) + len(layer.children) > limit:
            # Mixed members: keep the sub-modules, move the loose nodes into blocks beside them.
            loose = Layer("", "block", nodes=layer.nodes)
            nest_nodes(loose, info, limit)
            blocks = [loose] if not loose.children else loose.children
            if not loose.children:
                loose.name = _node_block_name(loose.nodes, info) if loose.nodes else "nodes"
            layer.nodes = []
            layer.children = [*layer.children, *(b for b in blocks if b.nodes or b.children)]
            if len(layer.children) > limit:
                _, layer.children = nest(
                    layer.children,
                    name=lambda part: component(f"{part[0].name} .. {part[-1].name}", 160),
                    make_leaf=lambda part: ([], list(part)),
                    limit=limit,
                )
        else:
            nest_nodes(layer, info, limit)
        _unique(layer.children)

    settle(root)
    return root.nodes, root.children
