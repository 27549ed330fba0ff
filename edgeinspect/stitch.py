"""The stitched view: delegate internals inlined into a method's networkx graph.

:func:`stitch` replaces each delegate call node whose insides are known (the nodes of an
XNNPACK payload, the operators of a TOSABackend payload, or the operators of the .tosa
joined to an Ethos-U delegate by :func:`edgeinspect.join.attach_tosa`) with those nodes.
A delegate whose insides are unknown (Ethos-U without a joined .tosa, other backends, a
payload that does not decode) keeps its single delegate node.

Inlined nodes are keyed ``"d<instruction>:<inner key>"`` (inner keys as in
``TosaGraph.to_networkx`` / ``XnnGraph.to_networkx``) and carry ``kind`` = ``"operator"``,
``op``/``name`` (operator type), ``index`` (position inside the delegate), ``device`` (the
backend id), ``partition`` and ``delegate`` (the delegate index), ``instruction`` (the
delegate call's index) and ``const`` (True for TOSA ``CONST``/``CONST_SHAPE``, so views can
fold them). Edges inside the delegate are keyed by the inner tensor (TOSA name or XNNPACK
value id); edges across the boundary keep the method's value index and attributes, joining
the surrounding CPU nodes to the inner operators that read the delegate's inputs and write
its outputs. Inputs and outputs are paired with the call's tensor arguments in order, by
shape (a call can pass tensors the delegate graph does not use).

The code lives in :mod:`edgeinspect.graph`, where the node and edge schema is written (and
``method_graph(method, stitched=True)`` calls it); this module keeps the name.
"""

from __future__ import annotations

from edgeinspect.graph import stitch

__all__ = ["stitch"]
