"""Issue 17: explain accounts for every operator left on the CPU, not only the splitters.

Checked against executorch's own per-operator delegation counts (``get_delegation_info``,
taken at export and kept in each fixture's expected JSON) on every fixture of the zoo, and on
the fixtures made for it: an operator at the edge (u55_upsample_lead before the one delegate,
u55_where_edge after it), a program whose only real operator stays on the CPU beside a delegate
that does no work (u55_gather_only), and one with nothing delegated (u55_sort_only,
cpu_lrn_stacktrace).
"""

from __future__ import annotations

import json

import pytest
from conftest import DATA, zoo_index
from ei_testutil import repartition_work

import edgeinspect
from edgeinspect.analysis import base_operator, cpu_islands, is_glue
from edgeinspect.cli import main
from edgeinspect.model import Instruction, Method, Tensor, Value
from edgeinspect.recommend import recommend
from edgeinspect.recommend.fallbacks import GLUE_KINDS, POSITIONS, account, fallbacks, glue_kind

ZOO = zoo_index()
#: executorch's op types that are no operator of the model: the outputs of a delegate call
#: (``getitem``) and control flow (``cond``: jumps and moves in the .pte, explain's control-flow note).
NOT_OPERATORS = ("getitem",)
CONTROL_FLOW = ("cond", "while_loop")


def _load(name: str) -> edgeinspect.Program:
    return edgeinspect.load(DATA / f"{name}.pte")


def _explain_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["explain", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _executorch_name(op_type: str, bases: list[str]) -> str | None:
    """The base operator (``aten::upsample_bilinear2d``) an executorch op type
    (``aten_upsample_bilinear2d_vec``) names: the longest base whose underscored form starts it."""
    found = [b for b in bases if op_type.startswith(b.replace("::", "_") + "_")]
    return max(found, key=len) if found else None


@pytest.mark.parametrize("entry", ZOO, ids=[e["name"] for e in ZOO])
def test_every_operator_executorch_leaves_on_the_cpu_is_in_explain_with_a_reason(entry, capsys):
    """Done when of issue 17: every operator executorch counts as not delegated (glue aside)
    appears in explain with a reason, on every fixture; as many calls as executorch counts."""
    doc = _explain_json(capsys, str(DATA / entry["pte"]))
    info = json.loads((DATA / entry["expected"]).read_text())["delegation_info"]
    for method, counts in info.items():
        fallen = {f["operator"]: f for f in doc["fallbacks"] if f["method"] == method}
        glue = {g["operator"]: g for g in doc["glue"] if g["method"] == method}
        for op_type, n in counts["non_delegated_ops"].items():
            if op_type in NOT_OPERATORS or op_type.startswith("quantized_decomposed_"):
                continue  # a delegate's outputs; quantize/dequantize glue
            if op_type in CONTROL_FLOW:
                assert any(isl["method"] == method for isl in doc["control_flow_islands"]), (entry["name"], op_type)
                continue
            base = _executorch_name(op_type, list(fallen))
            if base is None:
                # Glue: counted apart, or a view the memory planner removed from the .pte.
                layout = _executorch_name(op_type, list(glue))
                assert layout is not None or op_type.startswith(("aten_view_copy", "aten_alias_copy")), (entry["name"], op_type)
                continue
            f = fallen[base]
            assert f["count"] == n, (entry["name"], op_type, f["count"], n)
            assert f["reason"] and f["reason_source"] in ("executorch", "support-table", "control-flow", "unknown")
            assert f["position"] in (*POSITIONS, "mixed")
        # And nothing made up: every fallback is an operator executorch left on the CPU, or one
        # inside a torch.cond branch (its subgraph is not in the top-level count).
        named = {_executorch_name(t, list(fallen)) for t in counts["non_delegated_ops"]}
        assert {op for op, f in fallen.items() if not f["control_flow"]} <= named, entry["name"]


@pytest.mark.parametrize("entry", ZOO, ids=[e["name"] for e in ZOO])
def test_splitters_are_the_fallbacks_that_split(entry):
    """The ranked recommendations stay as they were; each of their operators (and the ones
    they require) is a fallback with splits > 0, and no other fallback splits."""
    program = edgeinspect.load(DATA / entry["pte"])
    recs = recommend(program)
    cpu = account(program)
    splitting = {(f.method, f.operator): f for f in cpu.fallbacks if f.splits}
    named = {(r.method, op): r for r in recs for op in (r.operator, *r.requires)}
    assert set(splitting) == set(named), entry["name"]
    for key, f in splitting.items():
        assert f.splitter == named[key].operator
        if f.operator == named[key].operator:
            cf, rcf = f.cf, named[key].cf
            assert f.splits == named[key].splits
            assert (cf.delegates_after, cf.transitions_saved, cf.bytes_saved) == (
                rcf.delegates_after,
                rcf.transitions_saved,
                rcf.bytes_saved,
            )
    glue_calls = sum(1 for m in program.methods for i in m.calls if i.kind == "kernel" and glue_kind(i.name))
    assert sum(g.count for g in cpu.glue) + sum(f.count for f in cpu.fallbacks) == sum(
        1 for m in program.methods for i in m.calls if i.kind == "kernel"
    )
    assert sum(g.count for g in cpu.glue) == glue_calls - sum(f.count for f in cpu.fallbacks if glue_kind(f.kernels[0]))
    assert all(g.kind in GLUE_KINDS for g in cpu.glue)


def test_an_operator_before_the_first_delegate_is_a_leading_fallback():
    (f,) = fallbacks(_load("u55_upsample_lead"))
    assert (f.operator, f.position, f.splits, f.instructions) == ("aten::upsample_bilinear2d", "leading", 0, (2,))
    assert f.target == "ethos-u55" and "RESIZE" in f.reason and f.fixes[0]["id"] == "nearest-upsample"
    # Delegating it merges nothing (the host hands the input in anyway) but moves the boundary:
    # the delegate would take the 768-byte input instead of the upsampled 3,072 bytes.
    assert (f.cf.delegates_saved, f.cf.transitions_saved, f.cf.bytes_saved) == (0, 0, 2304)
    assert f.cf.delegates_after == 1


def test_operators_after_the_last_delegate_are_trailing_and_counted_together():
    gt, where = fallbacks(_load("u55_where_edge"))
    assert [(f.operator, f.position, f.splits) for f in (gt, where)] == [("aten::gt", "trailing", 0), ("aten::where", "trailing", 0)]
    assert "SELECT" in where.reason and where.fixes[0]["id"] == "arithmetic-mask"
    # Alone, each saves nothing (where alone would even be a delegate of its own); together
    # they go into the one delegate: the joint figure, naming both.
    for f in (gt, where):
        assert f.cf.operators == ("aten::gt", "aten::where") and f.cf.delegates_after == 1
        assert f.to_dict()["cost"]["boundary_bytes"] == 2049


def test_the_only_real_operator_beside_a_delegate_that_does_no_work():
    """The issue's case: on Ethos-U55 a program whose only real operator is a gather used to
    read 'no CPU operator splits the delegated graph' while nothing of it ran on the NPU."""
    program = _load("u55_gather_only")
    (f,) = fallbacks(program)
    assert (f.operator, f.position, f.splits) == ("aten::index_select", "trailing", 0)
    assert "GATHER" in f.reason and [x["id"] for x in f.fixes] == ["gather-as-conv", "target-ethos-u85"]
    from edgeinspect.analysis import coverage

    assert coverage(edgeinspect.load(DATA / "u55_gather_only.pte", tosa="auto").method()).ratio == 0.0


def test_nothing_delegated_says_what_would_tell_and_which_targets_run_it(capsys):
    (f,) = fallbacks(_load("u55_sort_only"))
    assert (f.operator, f.position, f.target, f.reason_source) == ("aten::sort", "whole-program", None, "unknown")
    assert f.reason.startswith("unknown: nothing in method 'forward' is delegated") and "--target" in f.reason
    assert f.runs_on == () and f.fixes[0]["id"] == "sorting-network"
    (g,) = fallbacks(_load("u55_sort_only"), target="ethos-u55")
    assert (g.reason_source, g.target, g.support) == ("support-table", "ethos-u55", "no")
    # A CPU-only program of many operators: which targets accept each, and how to get there.
    by_op = {f.operator: f for f in fallbacks(_load("cpu_lrn_stacktrace"))}
    assert {f.position for f in by_op.values()} == {"whole-program"}
    assert "ethos-u85" in by_op["aten::convolution"].runs_on and by_op["aten::convolution"].fixes[0]["kind"] == "change-target"
    assert by_op["aten::avg_pool3d"].runs_on == () and by_op["aten::avg_pool3d"].fixes[0]["id"] == "lrn-window-as-conv"
    doc = _explain_json(capsys, str(DATA / "u55_sort_only.pte"), "--target", "ethos-u55")
    assert doc["undelegated"] == ["forward"] and doc["fallbacks"][0]["reason_source"] == "support-table"


def test_calls_inside_a_torch_cond_branch_say_so():
    by_op = {f.operator: f for f in fallbacks(_load("xnn_cond"))}
    for op in ("aten::mul", "aten::relu", "aten::sub"):
        f = by_op[op]
        assert f.control_flow and f.reason_source == "control-flow" and f.cf is None
        assert f.reason.startswith("inside a branch of a torch.cond")
    # The predicate is computed outside the branches: an ordinary fallback between delegates.
    assert not by_op["aten::gt"].control_flow and by_op["aten::gt"].position == "between"


def test_glue_is_counted_apart_with_its_kind_and_bytes():
    cpu = account(_load("xnn_cache"))
    assert [(g.operator, g.kind, g.count) for g in cpu.glue] == [("aten::alias_copy", "layout", 1), ("aten::copy_", "write-back", 1)]
    assert {f.operator for f in cpu.fallbacks} == {"aten::index_put", "aten::sum"}
    cpu = account(_load("u55_upsample"))
    q = {g.operator: g for g in cpu.glue}
    assert q["quantized_decomposed::dequantize_per_tensor"].count == 2 and q["quantized_decomposed::quantize_per_tensor"].count == 2
    # A dequantize writes float32: 4 bytes per element of the int8 tensor it reads.
    m = _load("u55_upsample").method()
    written = sum(
        m.tensor(v).nbytes
        for i in q["quantized_decomposed::dequantize_per_tensor"].instructions
        for v in set(m.tensor_args(m.instructions[i]))  # an out-variant lists its output twice
        if m.tensor(v).scalar_type == 6
    )
    assert q["quantized_decomposed::dequantize_per_tensor"].bytes_written == written


def test_a_layout_operator_that_splits_is_a_splitter_not_glue():
    t = Value("tensor", Tensor(6, (1, 4)))
    calls = (
        Instruction(0, "delegate", 0, (0, 1), "XnnpackBackend", "XnnpackBackend"),
        Instruction(1, "kernel", 0, (1, 2, 2), "aten::permute_copy.out", "CPU"),
        Instruction(2, "delegate", 1, (2, 3), "XnnpackBackend", "XnnpackBackend"),
        Instruction(3, "kernel", 1, (3, 4, 4), "aten::view_copy.out", "CPU"),
    )
    m = Method("forward", (t,) * 5, (0,), (4,), calls, (), ())
    cpu = account(m)
    assert [(f.operator, f.splits) for f in cpu.fallbacks] == [("aten::permute_copy", 1)]
    assert [(g.operator, g.kind, g.positions) for g in cpu.glue] == [("aten::view_copy", "layout", (("trailing", 1),))]


def test_loop_bodies_and_branches_are_found_by_their_jumps():
    t = Value("tensor", Tensor(6, (1, 4)))
    b = Value("bool", None)
    calls = (
        Instruction(0, "kernel", 0, (0, 1, 1), "aten::relu.out", "CPU"),
        Instruction(1, "kernel", 1, (1, 2, 2), "aten::mul.out", "CPU"),  # loop body: 1..2
        Instruction(2, "kernel", 2, (2, 1, 1), "aten::add.out", "CPU"),
        Instruction(3, "jump_false", 1, (5,), "jump_false", None),  # back to 1
        Instruction(4, "kernel", 3, (1, 3, 3), "aten::sub.out", "CPU"),
    )
    m = Method("forward", (t, t, t, t, t, b), (0,), (3,), calls, (), ())
    by_op = {f.operator: f for f in fallbacks(m)}
    assert [op for op, f in by_op.items() if f.control_flow] == ["aten::mul", "aten::add"]
    assert "instruction 3" in by_op["aten::mul"].reason and by_op["aten::sub"].position == "whole-program"


def test_explain_exits_0_after_an_analysis_and_gates_only_when_asked(capsys):
    """Issue 13 item 7: exit code 1 is for findings the user asked to fail on."""
    for name in ("xnn_mlp", "xnn_cumsum", "u55_where_edge", "u55_sort_only"):
        assert main(["explain", str(DATA / f"{name}.pte")]) == 0, name
    capsys.readouterr()
    assert main(["explain", str(DATA / "xnn_cumsum.pte"), "--fail-on-splits"]) == 1
    assert main(["explain", str(DATA / "u55_where_edge.pte"), "--fail-on-splits"]) == 0  # nothing splits...
    assert main(["explain", str(DATA / "u55_where_edge.pte"), "--fail-on-fallbacks"]) == 1  # ...but two fall back
    assert main(["explain", str(DATA / "u55_cnn.pte"), "--fail-on-fallbacks", "--fail-on-splits"]) == 0  # glue only
    assert main(["explain", str(DATA / "xnn_cumsum.pte"), "--tick-ns", "1"]) == 2  # goes with --etdump
    assert "--tick-ns goes with --etdump" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # argparse: not a target of the support table
        main(["explain", str(DATA / "xnn_cumsum.pte"), "--target", "nowhere"])
    assert usage.value.code == 2


def test_explain_text_lists_fallbacks_and_glue(capsys):
    assert main(["explain", str(DATA / "u55_where_edge.pte")]) == 0
    out = capsys.readouterr().out
    assert "no CPU operator splits the delegated graph" in out
    assert "CPU fallbacks: 2 operator(s) run on the CPU" in out
    assert "aten::where: 1 call(s) at instruction(s) 7, trailing; does not split" in out
    assert "if delegated (with aten::gt) to EthosUBackend: 0 delegate call(s), 0 transition(s) and 2,049 boundary bytes saved" in out
    assert "glue [forward]: 7 call(s) on the CPU (quantize 7" in out
    assert main(["explain", str(DATA / "u55_multi.pte")]) == 0
    out = capsys.readouterr().out
    assert "aten::index_select: 1 call(s) at instruction(s) 7, between; splits 1 island(s): recommendation #1 above" in out


def test_fallback_json_contract(capsys):
    doc = _explain_json(capsys, str(DATA / "u55_upsample_lead.pte"))
    assert doc["recommendations"] == [] and doc["ranked_by"] == "delegate calls saved"
    (f,) = doc["fallbacks"]
    for key in ("operator", "count", "instructions", "reason", "splits", "position", "fix", "cost", "runs_on", "reason_source"):
        assert key in f
    assert f["cost"] == {
        "backend": "EthosUBackend",
        "operators": ["aten::upsample_bilinear2d"],
        "operators_total": 1,
        "delegates": 0,
        "transitions": 0,
        "boundary_bytes": 2304,
        "delegates_if_supported": 1,
    }
    assert {g["kind"] for g in doc["glue"]} == {"quantize"} and doc["undelegated"] == []


# -- measured time (issue 9 item 5) ------------------------------------------------------------
def _steady_ticks(etdump: str, instructions: set[int]) -> tuple[int, int, int]:
    """(ticks of the instructions' own call events, execute ticks, runs) over the Execute blocks
    after the first (the warm-up), read from the fixture's expected JSON: ExecuTorch's own
    deserializer's view of the file, not our reader's."""
    doc = json.loads((DATA / "etdump" / f"{etdump}.expected.json").read_text())
    runs = [b for b in doc["etdump"]["run_data"] if b["name"] == "Execute"][1:]
    ticks = execute = 0
    for block in runs:
        for e in block["events"]:
            p = e.get("profile")
            if not p:
                continue
            span = p["end_time"] - p["start_time"]
            if p["name"] == "Method::execute":
                execute += span
            elif p["name"] in ("OPERATOR_CALL", "DELEGATE_CALL") and p["chain_index"] == 0 and p["instruction_id"] in instructions:
                ticks += span
    return ticks, execute, len(runs)


def test_splitters_ranked_by_measured_island_time_with_what_delegating_saves(capsys):
    """u55_multi (synthetic ticks): the static ranking puts index_select first; measured, the
    upsample's island takes longer and comes first. Each island's glue (dequantize, quantize)
    is what the merged partition absorbs: saved; the operator's own kernel moves: not saved."""
    doc = _explain_json(
        capsys, str(DATA / "u55_multi.pte"), "--etdump", str(DATA / "etdump" / "u55_multi_synthetic.etdp"), "--tick-ns", "2"
    )
    assert doc["ranked_by"] == "measured island time"
    assert [r["operator"] for r in doc["recommendations"]] == ["aten::upsample_bilinear2d", "aten::index_select"]
    program = _load("u55_multi")
    islands = {isl.causes[0]: isl for isl in cpu_islands(program.method())}
    for rec in doc["recommendations"]:
        isl = next(i for c, i in islands.items() if base_operator(c) == rec["operator"])
        island, execute, runs = _steady_ticks("u55_multi_synthetic", set(isl.instructions))
        glue, _, _ = _steady_ticks("u55_multi_synthetic", set(isl.glue))
        kernel, _, _ = _steady_ticks("u55_multi_synthetic", set(isl.instructions) - set(isl.glue))
        t = rec["time"]
        assert t["runs"] == runs == 2
        assert t["island_ticks"] == island / runs and t["execute_ticks"] == execute / runs
        assert t["saved_ticks"] == glue / runs and t["glue_ticks"] == glue / runs and t["kernel_ticks"] == kernel / runs
        assert t["saved_share"] == round(glue / execute, 4) and t["island_share"] == round(island / execute, 4)
        assert t["saved_ms"] == round(glue / runs * 2 / 1e6, 6)  # 2 ns per tick
    assert main(["explain", str(DATA / "u55_multi.pte"), "--etdump", str(DATA / "etdump" / "u55_multi_synthetic.etdp")]) == 0
    out = capsys.readouterr().out
    assert "split the delegated graph, by the measured time of the islands they cause" in out
    assert "delegating it saves 4,925.5 ticks, 2.1% of execute time" in out


def test_eleven_islands_of_cumsum_measured(capsys):
    """xnn_many_delegates (a real XNNPACK run on this host): 11 islands of cumsum and one more
    cumsum after the last delegate. No glue: delegating cumsum saves no measured CPU time (its
    kernels move to XNNPACK); the islands' time is what ranks it, the fallback all 12 calls."""
    etdp = str(DATA / "etdump" / "xnn_many_delegates.etdp")
    doc = _explain_json(capsys, str(DATA / "xnn_many_delegates.pte"), "--etdump", etdp, "--tick-ns", "1")
    (rec,) = doc["recommendations"]
    m = _load("xnn_many_delegates").method()
    in_islands = {i for isl in cpu_islands(m) for i in isl.instructions}
    assert len(cpu_islands(m)) == rec["splits"] == 11
    island, execute, runs = _steady_ticks("xnn_many_delegates", in_islands)
    assert rec["time"]["island_ticks"] == island / runs and rec["time"]["saved_ticks"] == 0
    assert rec["time"]["island_ms"] == round(island / runs / 1e6, 6)
    (f,) = doc["fallbacks"]
    every, _, _ = _steady_ticks("xnn_many_delegates", set(f["instructions"]))
    assert f["positions"] == {"between": 11, "trailing": 1} and f["time"]["kernel_ticks"] == every / runs
    assert doc["profile"] == {
        "method": "forward",
        "etdump": "xnn_many_delegates.etdp",
        "unit": "ticks",
        "ns_per_tick": 1.0,
        "runs": 3,
        "warmup_runs": 1,
        "steady_runs": 2,
        "execute_ticks": execute / runs,
    }


def test_measured_glue_is_reported_with_the_glue(capsys):
    doc = _explain_json(capsys, str(DATA / "u55_multi.pte"), "--etdump", str(DATA / "etdump" / "u55_multi_synthetic.etdp"))
    m = _load("u55_multi").method()
    glue = {i.index for i in m.calls if i.kind == "kernel" and is_glue(i.name)}
    ticks, execute, runs = _steady_ticks("u55_multi_synthetic", glue)
    assert sum(g["time"]["ticks"] * runs for g in doc["glue"]) == ticks
    assert "ms" not in doc["glue"][0]["time"]  # no --tick-ns: ticks only


# -- linear (issue 12's contract, kept for the fallbacks) -------------------------------------
def _work(monkeypatch, data: bytes) -> tuple[int, int]:
    """(fallbacks, work) of ``account()`` (:func:`ei_testutil.repartition_work`, the measure of
    tests/recommend/test_counterfactual_equivalence.py)."""
    cpu, work = repartition_work(monkeypatch, lambda: account(edgeinspect.load(data, name="hostile.pte")))
    return len(cpu.fallbacks), work


def _fan_out_pte(n: int) -> bytes:
    """One delegate call whose output n dequantize kernels read, each feeding its own operator
    after the delegate: n trailing fallbacks next to one group of n + 1 candidates (each
    operator's counterfactual alone would re-partition the whole group: quadratic)."""
    from crafted import build_pte, tensor

    values = [tensor(1, 16), tensor(1, 16, scalar_type=1)]
    operators = [("quantized_decomposed::dequantize_per_tensor", "out")] + [(f"custom::op_{k}", "out") for k in range(n)]
    instructions = [("delegate", 0, (0, 1))]
    outputs = []
    for k in range(n):
        dq, out = len(values), len(values) + 1
        values += [tensor(1, 16), tensor(1, 16)]
        instructions.append(("kernel", 0, (1, dq, dq)))
        instructions.append(("kernel", k + 1, (dq, out, out)))
        outputs.append(out)
    return build_pte(
        values=values,
        instructions=instructions,
        operators=operators,
        delegates=[("XnnpackBackend", b"", [])],
        inputs=(0,),
        outputs=tuple(outputs),
    )


@pytest.mark.parametrize("shape", ["alternating", "fan-out"])
def test_fallback_account_work_grows_linearly(monkeypatch, shape):
    from crafted import alternating_pte

    make = (lambda k: alternating_pte(k)) if shape == "alternating" else _fan_out_pte
    (n1, w1), (n2, w2) = (_work(monkeypatch, make(k)) for k in (400, 800))
    assert (n1, n2) == (400, 800)
    assert w2 <= 2.2 * w1, (w1, w2)


def test_fallbacks_that_do_not_split_carry_their_measured_time(capsys):
    """xnn_cond (a real XNNPACK run): the predicate's operators and the branch that ran have
    their own kernel time; the branch that never ran has none."""
    doc = _explain_json(capsys, str(DATA / "xnn_cond.pte"), "--etdump", str(DATA / "etdump" / "xnn_cond.etdp"))
    assert doc["recommendations"] == []
    for f in doc["fallbacks"]:
        ticks, execute, runs = _steady_ticks("xnn_cond", set(f["instructions"]))
        assert f["time"]["kernel_ticks"] == round(ticks / runs, 1), f["operator"]  # per run, one decimal
        assert f["time"]["kernel_share"] == round(ticks / execute, 4) and f["time"]["island_ticks"] is None
    ran = {f["operator"]: f["time"]["kernel_ticks"] > 0 for f in doc["fallbacks"]}
    assert ran["aten::sum"] and ran["aten::gt"] and ran["aten::mul"] != ran["aten::sub"]  # one branch ran
