"""Measured time: every figure the join produces, against ExecuTorch's own tools on the same files.

Two references, both computed when the fixture was made and committed in its expected JSON
(tests marked ``needs_executorch`` recompute them live):

- the devtools ``Inspector`` (time scale ns -> ns, so its figures are ticks): per instruction
  event and per delegate-internal event, the raw durations over the runs;
- ``deserialize_from_etdump_flatcc``: every event, from which this file computes the islands,
  glue chains, categories and shares independently of ``edgeinspect.analysis.profile``.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
from pathlib import Path

import pytest
from conftest import DATA
from etdump_util import etdump_fixtures, expected

import edgeinspect
from edgeinspect.analysis import cpu_islands, glue_chains, is_glue, profile_method
from edgeinspect.analysis.profile import CATEGORIES, Timing

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from crafted_etdump import etdump as crafted  # noqa: E402

FIXTURES = etdump_fixtures()
WITH_INSPECTOR = [p for p in FIXTURES if expected(p)["inspector"] is not None]
CALLS = ("OPERATOR_CALL", "DELEGATE_CALL", "JF_CALL", "MOVE_CALL", "FREE_CALL")

needs_executorch = pytest.mark.skipif(
    importlib.util.find_spec("executorch") is None or importlib.util.find_spec("torch") is None,
    reason="the devtools Inspector needs executorch and torch (pip install edgeinspect[export])",
)


def _profile(path, warmup_runs=1):
    ref = expected(path)
    with edgeinspect.load(DATA / ref["pte"]) as program, edgeinspect.load_etdump(path) as dump:
        method = program.method(ref["method"])
        return method, profile_method(method, dump, warmup_runs=warmup_runs)


def _median(values):
    m = statistics.median(values)
    return int(m) if float(m).is_integer() else m


def _assert_timing(t: Timing, raw: list[float], warm: int) -> None:
    """A Timing against raw durations in run order (the first ``warm`` are warm-up)."""
    steady = raw[warm:] or raw
    assert t.runs == len(raw)
    assert t.total_ticks == sum(raw)
    assert (t.min_ticks, t.median_ticks, t.max_ticks) == (min(steady), _median(steady), max(steady))
    assert t.warmup_ticks == (sum(raw[:warm]) if warm else None)


# --- against the Inspector ---------------------------------------------------------------------


def _inspector_figures(path):
    return expected(path)["inspector"]


@pytest.mark.parametrize("path", WITH_INSPECTOR, ids=[p.stem for p in WITH_INSPECTOR])
def test_every_figure_matches_the_inspector(path):
    _check_against_inspector(path, _inspector_figures(path))


@needs_executorch
@pytest.mark.parametrize("path", WITH_INSPECTOR, ids=[p.stem for p in WITH_INSPECTOR])
def test_every_figure_matches_the_inspector_live(path):
    from edgeinspect.export.profile import inspector_figures

    _check_against_inspector(path, inspector_figures(path))


def _check_against_inspector(path, blocks):
    method, profile = _profile(path)
    execute_blocks = [b for b in blocks if b["name"] == "Execute"]
    # Every run of a fixture has the same events, so the Inspector groups them in one block.
    assert len(execute_blocks) == 1
    events = execute_blocks[0]["events"]
    warm = profile.warmup_runs
    (execute,) = [e for e in events if e["name"] == "Method::execute"]
    assert profile.runs == len(execute["raw"]) == expected(path)["runs"]
    assert warm == 1
    _assert_timing(profile.execute, execute["raw"], warm)
    default = {e["name"]: e["raw"] for b in blocks if b["name"] == "Default" for e in b["events"]}
    assert profile.init_ticks == default["Method::init"][0]
    assert profile.load_ticks == default["Program::load_method"][0]

    calls = {e["instruction_id"]: e for e in events if e["name"] in CALLS}
    assert sorted(calls) == [p.index for p in profile.instructions]
    for index, e in calls.items():
        p = profile.instruction(index)
        assert p.kind == method.instructions[index].kind
        _assert_timing(p.timing, e["raw"], warm)
    internal: dict[int, dict[str, list[float]]] = {}
    for e in events:
        if e["is_delegated_op"]:
            internal.setdefault(e["instruction_id"], {})[str(e["delegate_debug_identifier"])] = e["raw"]
    delegate_calls = [p for p in profile.instructions if p.kind == "delegate"]
    assert delegate_calls == list(profile.delegate_calls)
    assert {p.index for p in delegate_calls if p.events} == set(internal)
    for p in delegate_calls:
        assert [e.name for e in p.events] == list(internal.get(p.index, {}))
        for e in p.events:
            _assert_timing(e.timing, internal[p.index][e.name], warm)


# --- against the deserializer's events ---------------------------------------------------------


def _reference(path, method, warm):
    """Per run, per instruction, the ticks of its call events; then every group figure."""
    runs = []
    for block in expected(path)["etdump"]["run_data"]:
        if block["name"] != "Execute":
            continue
        per = {}
        execute = None
        for e in block["events"]:
            p = e.get("profile")
            if p is None:
                continue
            ticks = p["end_time"] - p["start_time"]
            if p["name"] == "Method::execute":
                execute = ticks
            elif p["name"] in CALLS:
                per[p["instruction_id"]] = per.get(p["instruction_id"], 0) + ticks
        runs.append((per, execute))
    steady = runs[warm:] or runs

    def group(indices):
        return [sum(per.get(i, 0) for i in indices) for per, _ in runs if any(i in per for i in indices)]

    kinds = {i.index: i for i in method.instructions}
    members = {i for isl in cpu_islands(method) for i in isl.instructions}
    buckets = {
        "delegates": [i for i, ins in kinds.items() if ins.kind == "delegate"],
        "cpu_islands": [i for i, ins in kinds.items() if ins.kind == "kernel" and i in members and not is_glue(ins.name)],
        "glue": [i for i, ins in kinds.items() if ins.kind == "kernel" and is_glue(ins.name)],
        "cpu_other": [i for i, ins in kinds.items() if ins.kind == "kernel" and i not in members and not is_glue(ins.name)],
        "control": [i for i, ins in kinds.items() if ins.kind in ("jump_false", "move", "free")],
    }
    category = {k: sum(per.get(i, 0) for per, _ in steady for i in v) for k, v in buckets.items()}
    total = sum(ex for _, ex in steady)
    category["runtime"] = total - sum(category.values())
    return runs, group, category, total


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_islands_glue_and_shares_match_the_events(path):
    method, profile = _profile(path)
    warm = profile.warmup_runs
    runs, group, category, total = _reference(path, method, warm)
    assert profile.runs == len(runs)
    _assert_timing(profile.execute, [ex for _, ex in runs], warm)
    assert list(profile.category_ticks) == list(CATEGORIES)
    assert profile.category_ticks == category
    assert profile.shares == {k: round(v / total, 4) for k, v in category.items()}
    assert abs(sum(profile.shares.values()) - 1) < 1e-3
    islands = cpu_islands(method)
    assert [p.island for p in profile.islands] == islands
    for p in profile.islands:
        _assert_timing(p.timing, group(p.island.instructions), warm)
        if p.island.glue:
            _assert_timing(p.glue, group(p.island.glue), warm)
        steady_ticks = sum(group(p.island.instructions)[warm:])
        assert p.share == round(steady_ticks / total, 4)
    assert [g.chain for g in profile.glue_chains] == glue_chains(method)
    for g in profile.glue_chains:
        _assert_timing(g.timing, group(g.chain.instructions), warm)


def test_xnn_many_delegates_has_twelve_timed_calls_and_eleven_islands():
    method, profile = _profile(DATA / "etdump" / "xnn_many_delegates.etdp")
    assert len(profile.delegate_calls) == 12 and len(profile.islands) == 11
    assert all(p.events for p in profile.delegate_calls)  # XNNPACK's own events, per call
    assert profile.islands[0].island.causes == ("aten::cumsum.out",)
    assert profile.shares["delegates"] > 0 and profile.shares["cpu_islands"] > 0 and profile.shares["cpu_other"] > 0


def test_glue_chains_of_a_quantized_program():
    """u55_multi: q before the first delegate, dq after the last, and a dq/q pair in each island."""
    method, profile = _profile(DATA / "etdump" / "u55_multi_synthetic.etdp")
    assert [(g.chain.instructions, g.chain.island) for g in profile.glue_chains] == [
        ((0,), None),
        ((2,), 0),
        ((4,), 0),
        ((6,), 1),
        ((8,), 1),
        ((10,), None),
    ]
    assert profile.category_ticks["glue"] > 0 and profile.category_ticks["cpu_other"] == 0
    for isl in profile.islands:
        assert isl.glue.total_ticks == sum(profile.instruction(i).timing.total_ticks for i in isl.island.glue)
    # Integer delegate debug ids name the internal events.
    assert [[e.name for e in p.events] for p in profile.delegate_calls] == [["0"], ["1"], ["2"]]


def test_the_untaken_branch_of_a_cond_has_no_profile():
    method, profile = _profile(DATA / "etdump" / "xnn_cond.etdp")
    ran = profile.by_instruction()
    jumps = [i.index for i in method.instructions if i.kind == "jump_false"]
    assert jumps == [3, 7] and 3 in ran and ran[3].kind == "jump_false"
    never = [i.index for i in method.instructions if i.index not in ran]
    # The true branch is 4..7 (mul, relu, move, jump over the false branch), the false one 8..9.
    assert never in ([4, 5, 6, 7], [8, 9])
    assert all(ran[i].timing.runs == profile.runs for i in ran)


def test_warmup_runs():
    path = DATA / "etdump" / "xnn_cumsum.etdp"
    method, profile = _profile(path, warmup_runs=0)
    assert profile.warmup_runs == 0 and profile.execute.warmup_ticks is None
    runs, *_ = _reference(path, method, 0)
    _assert_timing(profile.execute, [ex for _, ex in runs], 0)
    _, profile = _profile(path, warmup_runs=4)
    assert profile.warmup_runs == 4
    _, profile = _profile(path, warmup_runs=5)  # it would leave no run: none is warm-up
    assert profile.warmup_runs == 0
    with pytest.raises(edgeinspect.UsageError, match="0 or more"):
        _profile(path, warmup_runs=-1)


@pytest.mark.parametrize(
    "etdp, pte, message",
    [
        (
            "xnn_many_delegates.etdp",
            "xnn_cumsum.pte",
            "xnn_many_delegates.etdp does not belong to method 'forward': instruction id 3 >= 3 instructions",
        ),
        ("u55_multi_synthetic.etdp", "u55_upsample.pte", "instruction id 7 >= 7 instructions"),
        ("xnn_cond.etdp", "xnn_cumsum.pte", "times instruction 2 with OPERATOR_CALL, but it is a delegate instruction"),
    ],
)
def test_an_etdump_of_another_program_is_a_usage_error(etdp, pte, message):
    with (
        edgeinspect.load(DATA / pte) as program,
        edgeinspect.load_etdump(DATA / "etdump" / etdp) as dump,
        pytest.raises(edgeinspect.UsageError) as err,
    ):
        profile_method(program.method("forward"), dump)
    assert message in str(err.value)


def test_runs_without_execute_blocks_and_events_left_over():
    """A runner that opens no block leaves every execution in Default: each Method::execute
    closes one run. Internal events no call event follows are counted apart, never dropped."""
    data = crafted(
        [
            (
                "Default",
                [
                    ("Method::init", -1, 0, 0, 5),
                    ("OPERATOR_CALL", 0, 1, 10, 20),
                    ("Method::execute", -1, 0, 9, 30),
                    ("OPERATOR_CALL", 0, 1, 40, 44),
                    ("something_inside", 0, 0, 41, 42),
                    ("Method::execute", -1, 0, 39, 50),
                ],
            )
        ]
    )
    with edgeinspect.load(DATA / "xnn_cumsum.pte") as program:
        profile = profile_method(program.method(), edgeinspect.load_etdump(data))
    assert profile.runs == 2 and profile.init_ticks == 5
    assert profile.instruction(1).timing == Timing(2, 14, 4, 4, 4, 10)
    assert profile.unattached_events == 1


def test_multi_chain_events_are_refused():
    data = crafted([("Execute", [("OPERATOR_CALL", 1, 0, 10, 20)])])
    with edgeinspect.load(DATA / "xnn_cumsum.pte") as program, pytest.raises(edgeinspect.UsageError, match="chain index 1"):
        profile_method(program.method(), edgeinspect.load_etdump(data))


def test_to_dict_is_json_and_complete():
    method, profile = _profile(DATA / "etdump" / "xnn_cumsum.etdp")
    doc = json.loads(json.dumps(profile.to_dict()))
    assert doc["runs"] == 5 and doc["warmup_runs"] == 1 and doc["unit"] == "ticks" and doc["etdump"] == "xnn_cumsum.etdp"
    assert list(doc["share"]) == list(CATEGORIES) == list(doc["ticks"])
    assert [c["instruction"] for c in doc["delegate_calls"]] == [0, 2]
    assert doc["delegate_calls"][0]["backend"] == "XnnpackBackend" and doc["delegate_calls"][1]["delegate"] == 1
    assert doc["delegate_calls"][0]["events"][1]["name"] == "Convolution (NHWC, F32) IGEMM #1"
    assert doc["cpu_islands"][0]["between"] == [0, 2] and doc["cpu_islands"][0]["causes"] == ["aten::cumsum.out"]
    assert set(profile.instruction(1).to_dict()) == {"runs", "total_ticks", "min_ticks", "median_ticks", "max_ticks", "warmup_ticks"}
