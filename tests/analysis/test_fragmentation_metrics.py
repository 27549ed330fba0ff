"""Fragmentation metrics on the real zoo: executorch's own counts, and hand-worked figures."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, zoo_index
from ei_testutil import executorch_calls, expected_ratio, flatc_xnnpack, tosa_tools_compute_ops

import edgeinspect
from edgeinspect.analysis import (
    boundary_bytes,
    coverage,
    cpu_islands,
    delegated_subgraphs,
    fragmentation_score,
    method_metrics,
    round_trips,
    transitions,
)
from edgeinspect.model import Instruction, Method, Tensor, Value

ZOO = zoo_index()


def _load(name: str) -> edgeinspect.Program:
    return edgeinspect.load(DATA / f"{name}.pte")


@pytest.mark.parametrize("entry", ZOO, ids=[e["name"] for e in ZOO])
def test_subgraphs_equal_executorch_delegation_info(entry: dict) -> None:
    expected = json.loads((DATA / entry["expected"]).read_text())["delegation_info"]
    program = edgeinspect.load(DATA / entry["pte"])
    assert set(program.method_names) == set(expected)
    for method in program.methods:
        assert sum(delegated_subgraphs(method).values()) == expected[method.name]["num_delegated_subgraphs"]


def test_zoo_is_present() -> None:
    assert len(ZOO) >= 20


# Hand-worked fixtures. Devices come from the instruction list; bytes from the delegate
# call arguments (shape x element size) listed in the comments.


def test_u55_upsample_by_hand() -> None:
    # [0 q, 1 EthosU, 2 dq, 3 upsample_bilinear2d, 4 q, 5 EthosU, 6 dq]
    # devices CPU | CPU CPU EthosU CPU CPU CPU EthosU CPU | CPU -> 4 changes.
    # delegate 0: in int8 [1,3,16,16] = 768, out int8 [1,8,16,16] = 2048
    # delegate 1: in int8 [1,8,32,32] = 8192, out int8 [1,8,32,32] = 8192  -> 19200
    m = _load("u55_upsample").method()
    assert [i.name.split("::")[-1] for i in m.calls][3] == "upsample_bilinear2d.vec_out"
    assert transitions(m) == 4
    assert boundary_bytes(m) == 768 + 2048 + 8192 + 8192
    (island,) = cpu_islands(m)
    assert island.instructions == (2, 3, 4)
    assert island.between == (1, 5)
    assert island.causes == ("aten::upsample_bilinear2d.vec_out",)
    assert island.glue == (2, 4)
    assert (island.bytes_in, island.bytes_out) == (2048, 8192)  # int8 in from delegate 0, int8 out to delegate 1
    assert fragmentation_score(m) == 0.5


def test_u55_where_by_hand() -> None:
    # [0 q, 1 EthosU, 2-5 dq x4, 6 gt, 7 where, 8 q, 9 EthosU, 10 dq] -> 4 transitions.
    # delegate 0: in int8 [1,3,16,16] = 768; out int8 3 x [1,8,16,16] = 6144 and int8 [1] = 1
    # delegate 1: in int8 [1,8,16,16] = 2048, out int8 [1,8,16,16] = 2048  -> 11009
    m = _load("u55_where").method()
    assert transitions(m) == 4
    assert boundary_bytes(m) == 768 + 6144 + 1 + 2048 + 2048
    (island,) = cpu_islands(m)
    assert island.instructions == (2, 3, 4, 5, 6, 7, 8)
    assert island.causes == ("aten::gt.Tensor_out", "aten::where.self_out")
    assert island.glue == (2, 3, 4, 5, 8)
    assert island.to_dict()["backends"] == ["EthosUBackend", "EthosUBackend"]


def test_xnn_cumsum_by_hand() -> None:
    # [0 XNNPACK, 1 cumsum, 2 XNNPACK] -> CPU X CPU X CPU: 4 transitions.
    # delegate 0: in f32 [1,3,16,16] = 3072, out f32 [1,8,16,16] = 8192
    # delegate 1: in f32 [1,8,16,16] = 8192, out f32 [1,8,16,16] = 8192  -> 27648
    m = _load("xnn_cumsum").method()
    assert transitions(m) == 4
    assert boundary_bytes(m) == 3072 + 8192 + 8192 + 8192
    (island,) = cpu_islands(m)
    assert island.glue == ()
    assert (island.bytes_in, island.bytes_out) == (8192, 8192)


def test_xnn_transformer_by_hand() -> None:
    # [0 ln, 1 X, 2 split, 3 X, 4 expand, 5 expand, 6 X, 7 expand, 8 expand, 9 X, 10 ln, 11 X]
    # CPU | CPU X CPU X CPU CPU X CPU CPU X CPU X | CPU: 10 changes; four islands.
    m = _load("xnn_transformer").method()
    assert delegated_subgraphs(m) == {"XnnpackBackend": 5}
    assert transitions(m) == 10
    islands = cpu_islands(m)
    assert [i.instructions for i in islands] == [(2,), (4, 5), (7, 8), (10,)]
    assert fragmentation_score(m) == 0.8


def test_clean_delegates_score_zero() -> None:
    for name in ("xnn_mlp", "u55_cnn", "tosa_cnn", "u85_upsample"):
        m = _load(name).method()
        assert transitions(m) == 2
        assert cpu_islands(m) == []
        assert fragmentation_score(m) == 0.0
        assert round_trips(m) == []


def test_two_methods_measured_separately() -> None:
    program = _load("xnn_two_methods")
    assert {m.name: transitions(m) for m in program.methods} == {"forward": 2, "encode": 2}


def _method(names: list[str], args: list[tuple[int, ...]], n_values: int) -> Method:
    t = Value("tensor", Tensor(1, (1, 64)))  # int8, 64 bytes
    calls = tuple(
        Instruction(i, "delegate" if n == "EthosUBackend" else "kernel", i, a, n, n if n == "EthosUBackend" else "CPU")
        for i, (n, a) in enumerate(zip(names, args, strict=False))
    )
    return Method("forward", (t,) * n_values, (0,), (n_values - 1,), calls, (), ())


def test_round_trip_through_glue_and_view() -> None:
    # delegate -> dq -> view -> q -> delegate: the tensor left the NPU for nothing.
    m = _method(
        [
            "EthosUBackend",
            "quantized_decomposed::dequantize_per_tensor.out",
            "aten::view_copy.out",
            "quantized_decomposed::quantize_per_tensor.out",
            "EthosUBackend",
        ],
        [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)],
        6,
    )
    (rt,) = round_trips(m)
    assert (rt.source, rt.sink, rt.path, rt.value) == (0, 4, (1, 2, 3), 1)
    assert rt.bytes == 128


def test_no_round_trip_through_real_work() -> None:
    m = _method(
        [
            "EthosUBackend",
            "quantized_decomposed::dequantize_per_tensor.out",
            "aten::cumsum.out",
            "quantized_decomposed::quantize_per_tensor.out",
            "EthosUBackend",
        ],
        [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)],
        6,
    )
    assert round_trips(m) == []
    assert round_trips(_load("xnn_cumsum").method()) == []


def test_coverage_is_unknown_without_delegate_operators() -> None:
    m = _load("u55_where").method()
    cov = coverage(m, lambda d: None)
    assert cov.ratio == "unknown"
    assert cov.cpu_ops == 2 and cov.glue_ops == 7  # gt, where; 2 q + 5 dq
    known = coverage(m, lambda d: {"CONV2D": 3, "CONST": 10} if d.index == 0 else {"CONV2D": 1})
    assert known.delegated_ops == 4
    assert known.ratio == round(4 / 6, 4)


def test_metrics_object_of_inspect_json() -> None:
    metrics = method_metrics(_load("u55_multi").method())
    assert list(metrics) == [
        "delegated_subgraphs",
        "transitions",
        "boundary_bytes",
        "boundary_bytes_by_kind",
        "crossings",
        "cpu_islands",
        "coverage",
        "round_trips",
        "round_trip_counts",
        "fragmentation_score",
    ]
    assert metrics["delegated_subgraphs"] == {"EthosUBackend": 3}
    assert metrics["transitions"] == 6
    assert [i["causes"] for i in metrics["cpu_islands"]] == [["aten::upsample_bilinear2d.vec_out"], ["aten::index_select.out"]]
    assert json.loads(json.dumps(metrics)) == metrics


def test_coverage_of_tosa_payloads_as_tosa_tools_and_executorch_count_it() -> None:
    # Expected figures from the reference readers: operators inside each TOSABackend payload
    # counted by tosa-tools, CPU kernels and delegate calls by executorch's deserializer.
    for name in ("tosa_topk", "tosa_cumsum", "tosa_cnn"):
        pte = DATA / f"{name}.pte"
        cpu, calls = executorch_calls(pte)
        m = _load(name).method()
        inside = {d.index: tosa_tools_compute_ops(d.payload()) for d in m.delegates}
        delegated = sum(inside[k] for k in calls)  # a delegate called twice runs its operators twice
        cov = coverage(m)
        assert (cov.delegated_ops, cov.cpu_ops) == (delegated, cpu), name
        assert cov.ratio == expected_ratio(delegated, cpu), name


@pytest.mark.needs_export  # flatc and the XNNPACK schema ship in the executorch wheel
def test_coverage_of_xnnpack_payloads_as_flatc_and_executorch_count_it(tmp_path) -> None:
    for name in ("xnn_cumsum", "xnn_transformer", "xnn_mlp"):
        pte = DATA / f"{name}.pte"
        cpu, calls = executorch_calls(pte)
        m = _load(name).method()
        inside = {d.index: len(flatc_xnnpack(d.payload(), tmp_path)["xnodes"]) for d in m.delegates}
        delegated = sum(inside[k] for k in calls)
        cov = coverage(m)
        assert (cov.delegated_ops, cov.cpu_ops) == (delegated, cpu), name
        assert cov.ratio == expected_ratio(delegated, cpu), name


def test_coverage_of_ethos_u_is_unknown_until_the_dumps_are_joined() -> None:
    # Ethos-U payloads are Vela command streams: unknown, never guessed...
    assert coverage(_load("u55_where").method()).ratio == "unknown"
    # ... until the dumped TOSA is joined: then its operators, as tosa-tools counts them.
    pte = DATA / "u55_where.pte"
    cpu, calls = executorch_calls(pte)
    joined = edgeinspect.load(pte, tosa=DATA / "u55_where.tosa.d").method()
    inside = {d.index: tosa_tools_compute_ops((DATA / "u55_where.tosa.d" / d.tosa_file).read_bytes()) for d in joined.delegates}
    delegated = sum(inside[k] for k in calls)
    cov = coverage(joined)
    assert cov.unknown_delegates == () and (cov.delegated_ops, cov.cpu_ops) == (delegated, cpu)
    assert cov.ratio == expected_ratio(delegated, cpu)
