"""The incremental counterfactual gives exactly the answers of the plain re-partition it replaced
(tests/recommend/reference_counterfactual.py): on every zoo fixture for every operator the
recommender asks about, and on generated programs (random dataflow, glue, two backends, moves
and frees), down to the partitions, the call order and the order of the backends."""

from __future__ import annotations

import pytest
import reference_counterfactual as reference
from conftest import DATA, zoo_index
from ei_testutil import repartition_work
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edgeinspect
from edgeinspect.analysis import base_operator
from edgeinspect.model import Instruction, Method, Tensor, Value
from edgeinspect.recommend import counterfactual, recommend_method, repartition
from edgeinspect.recommend import recommender as recommender_module

GLUE = ("quantized_decomposed::quantize_per_tensor.out", "quantized_decomposed::dequantize_per_tensor.out")
OPS = ("aten::cumsum.out", "aten::where.self_out", "aten::gt.Scalar_out", "aten::view_copy.out", "aten::cumsum.dim_out")
BACKENDS = ("EthosUBackend", "XnnpackBackend")


def _same(method: Method, backend: str, ops: list[str]) -> None:
    new, old = counterfactual(method, backend, ops), reference.counterfactual(method, backend, ops)
    assert list(new.subgraphs_after.items()) == list(old.subgraphs_after.items()), (backend, ops)
    assert list(new.subgraphs_before.items()) == list(old.subgraphs_before.items())
    assert (new.transitions_before, new.transitions_after, new.bytes_before, new.bytes_after) == (
        old.transitions_before,
        old.transitions_after,
        old.bytes_before,
        old.bytes_after,
    ), (backend, ops)
    assert new.partitioning == old.partitioning, (backend, ops)
    assert repartition(method, backend, ops) == reference.repartition(method, backend, ops)


def _questions(method: Method) -> list[tuple[str, list[str]]]:
    """Every (backend, operators) a recommender could ask, plus all operators at once."""
    kernels = sorted({i.name for i in method.instructions if i.kind == "kernel"})
    bases = sorted({base_operator(k) for k in kernels})
    backends = sorted({i.name for i in method.instructions if i.kind == "delegate"}) or ["XnnpackBackend"]
    out = []
    for backend in backends:
        out.append((backend, []))
        out.extend((backend, [op]) for op in bases)
        out.append((backend, bases))
        out.append((backend, kernels[:1]))  # a full name works too
    return out


ZOO = zoo_index()


@pytest.mark.parametrize("entry", ZOO, ids=[e["name"] for e in ZOO])
def test_zoo_fixtures_give_the_reference_answers(entry, monkeypatch):
    with edgeinspect.load(DATA / entry["pte"]) as program:
        for m in program.methods:
            for backend, ops in _questions(m):
                _same(m, backend, ops)
            new = [r.to_dict() for r in recommend_method(m)]
            monkeypatch.setattr(recommender_module, "counterfactual", reference.counterfactual)
            old = [r.to_dict() for r in recommend_method(m)]
            monkeypatch.undo()
            assert new == old


@st.composite
def methods(draw) -> Method:
    """A method with random dataflow: every call reads values already made and writes new ones."""
    values: list[Value] = []

    def new_value(constant: bool = False) -> int:
        sizes = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
        values.append(Value("tensor", Tensor(draw(st.sampled_from((1, 6))), sizes, data_buffer_idx=1 if constant else 0)))
        return len(values) - 1

    inputs = tuple(new_value() for _ in range(draw(st.integers(1, 2))))
    weights = [new_value(constant=True) for _ in range(draw(st.integers(0, 2)))]
    live = list(inputs)
    instructions: list[Instruction] = []
    delegates = 0
    for _ in range(draw(st.integers(1, 24))):
        kind = draw(st.sampled_from(("delegate", "delegate", "kernel", "kernel", "glue", "glue", "move", "free")))
        index = len(instructions)
        reads = draw(st.lists(st.sampled_from(live + weights), min_size=1, max_size=3, unique=True))
        if kind == "move":
            target = new_value()
            instructions.append(Instruction(index, "move", None, (reads[0], target), "move", None))
            live.append(target)
        elif kind == "free":
            instructions.append(Instruction(index, "free", None, (reads[0],), "free", None))
        elif kind == "delegate":
            backend = draw(st.sampled_from(BACKENDS))
            writes = [new_value() for _ in range(draw(st.integers(1, 2)))]
            instructions.append(Instruction(index, "delegate", delegates, (*reads, *writes), backend, backend))
            delegates += 1
            live.extend(writes)
        else:
            name = draw(st.sampled_from(GLUE if kind == "glue" else OPS))
            out = new_value()
            instructions.append(Instruction(index, "kernel", 0, (*reads, out, out), name, "CPU"))
            live.append(out)
    outputs = tuple(draw(st.lists(st.sampled_from(live), min_size=1, max_size=3, unique=True)))
    return Method("forward", tuple(values), inputs, outputs, tuple(instructions), (), ())


@settings(max_examples=400, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=methods())
def test_generated_programs_give_the_reference_answers(method):
    for backend, ops in _questions(method):
        _same(method, backend, ops)


def _work(monkeypatch, data: bytes) -> tuple[int, int]:
    """(recommendations, work) of ``recommend()`` (:func:`ei_testutil.repartition_work`)."""
    from edgeinspect.recommend import recommend

    recs, work = repartition_work(monkeypatch, lambda: recommend(edgeinspect.load(data, name="hostile.pte")))
    return len(recs), work


@pytest.mark.parametrize("distinct", [None, 16], ids=["every-island-its-own-operator", "16-operators"])
def test_recommender_work_grows_linearly_with_delegate_calls(monkeypatch, distinct):
    """Issue 12: 400 distinct CPU operators between 401 delegate calls (a 48 KB file) took ~28 s,
    cubic in the islands. Now each counterfactual re-partitions only the delegates its operator
    touches: doubling the program doubles the work."""
    from crafted import alternating_pte

    (n1, w1), (n2, w2) = (_work(monkeypatch, alternating_pte(k, distinct=distinct)) for k in (400, 800))
    assert (n1, n2) == ((400, 800) if distinct is None else (16, 16))
    assert w2 <= 2.2 * w1, (w1, w2)
