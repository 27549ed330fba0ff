"""``edgeinspect diff`` (issue 13 item 7, issue 9 item 5): targets, coverage and the operators
inside delegates; two profiles of one method compared; text and JSON."""

from __future__ import annotations

import json

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.analysis.profile import CATEGORIES
from edgeinspect.cli import main
from edgeinspect.diff import diff_profiles, diff_programs

ETDUMP = DATA / "etdump"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_target_coverage_and_operators_inside_change_u55_to_u85(capsys) -> None:
    # the same model exported for Ethos-U55 and U85; each joins its <stem>.tosa.d by default
    code, out, err = _run(capsys, str(DATA / "u55_upsample.pte"), str(DATA / "u85_upsample.pte"), "--format", "json")
    assert code == 0, err
    (m,) = json.loads(out)["methods"]
    assert m["targets"] == {"EthosUBackend": [["ethos-u55-128"], ["ethos-u85-256"]]}
    assert m["coverage"] == [0.8889, 1.0]
    inside = m["delegated_ops"]["EthosUBackend"]
    assert inside["RESIZE"] == [0, 1]  # the bilinear upsample moved into the NPU delegate
    code, text, _ = _run(capsys, str(DATA / "u55_upsample.pte"), str(DATA / "u85_upsample.pte"))
    assert "target EthosUBackend: ethos-u55-128 -> ethos-u85-256" in text
    assert "coverage: 88.9% -> 100.0% (+11.1 points)" in text
    assert "inside EthosUBackend: RESIZE 0 -> 1 (+1)" in text


def test_operators_inside_unknown_without_dumps(capsys, tmp_path) -> None:
    # a copy without its .tosa.d: the Ethos-U payload does not name its operators
    bare = tmp_path / "bare.pte"
    bare.write_bytes((DATA / "u55_upsample.pte").read_bytes())
    code, out, _ = _run(capsys, str(bare), str(DATA / "u85_upsample.pte"), "--format", "json")
    (m,) = json.loads(out)["methods"]
    assert m["coverage"][0] is None and m["delegated_ops"]["EthosUBackend"][0] is None
    code, text, _ = _run(capsys, str(bare), str(DATA / "u85_upsample.pte"))
    assert "coverage: unknown -> 100.0%" in text and "inside EthosUBackend: unknown -> " in text
    # --tosa-base joins the dumps given
    code, out, _ = _run(
        capsys, str(bare), str(DATA / "u85_upsample.pte"), "--tosa-base", str(DATA / "u55_upsample.tosa.d"), "--format", "json"
    )
    assert json.loads(out)["methods"][0]["coverage"] == [0.8889, 1.0]


def test_same_program_is_the_same(capsys) -> None:
    code, text, _ = _run(capsys, str(DATA / "u85_lrn.pte"), str(DATA / "u85_lrn.pte"))
    assert code == 0 and "no change in targets, delegates, islands, operators, coverage or bytes" in text


def test_two_profiles_compared(capsys) -> None:
    argv = [str(DATA / "xnn_cumsum.pte"), str(DATA / "xnn_cumsum_fixed.pte")]
    argv += ["--etdump-base", str(ETDUMP / "xnn_cumsum.etdp"), "--etdump-head", str(ETDUMP / "xnn_cumsum_fixed.etdp")]
    code, out, err = _run(capsys, *argv, "--format", "json")
    assert code == 0, err
    (m,) = json.loads(out)["methods"]
    p = m["profile"]
    base = edgeinspect.gather(DATA / "xnn_cumsum.pte", etdump=ETDUMP / "xnn_cumsum.etdp").profile("forward")
    head = edgeinspect.gather(DATA / "xnn_cumsum_fixed.pte", etdump=ETDUMP / "xnn_cumsum_fixed.etdp").profile("forward")
    assert p["unit"] == "ticks" and p["base"]["etdump"] == "xnn_cumsum.etdp" and p["head"]["runs"] == 5
    assert p["execute"]["median_ticks"] == [base.execute.median_ticks, head.execute.median_ticks]
    assert p["shares"] == {c: [base.shares[c], head.shares[c]] for c in CATEGORIES}
    # per part: means per run outside the warm-up, so one side's parts add up to its categories
    parts = {x["partition"]: x["ticks"] for x in p["partitions"]}
    assert set(parts) == {"XnnpackBackend_0", "CPU_island_0", "XnnpackBackend_1"}
    assert parts["CPU_island_0"][1] is None and parts["XnnpackBackend_1"][1] is None
    assert parts["CPU_island_0"][0] == p["ticks"]["cpu_islands"][0]
    assert parts["XnnpackBackend_0"][0] + parts["XnnpackBackend_1"][0] == pytest.approx(p["ticks"]["delegates"][0], abs=0.2)
    calls = {x["key"]: x for x in p["instructions"]}
    assert calls["aten::cumsum.out #1"]["index"] == [1, None] and calls["XnnpackBackend #1"]["index"] == [0, 0]
    steady = base.instruction(1).timing
    assert calls["aten::cumsum.out #1"]["ticks"][0] == round((steady.total_ticks - steady.warmup_ticks) / 4, 1)
    code, text, _ = _run(capsys, *argv)
    assert "measured time (ticks as the ETDumps hold them" in text
    assert f"execute: median {base.execute.median_ticks:,} -> " in text
    assert "partition CPU_island_0: " in text and "aten::cumsum.out #1 (instruction 1/-)" in text


def test_profiles_of_the_same_program_are_not_a_change() -> None:
    a = edgeinspect.gather(DATA / "xnn_cumsum.pte", etdump=ETDUMP / "xnn_cumsum.etdp")
    b = edgeinspect.gather(DATA / "xnn_cumsum.pte", etdump=ETDUMP / "xnn_cumsum_debug.etdp")
    d = diff_programs(a, b)
    assert not d.changed and d.methods[0]["status"] == "same" and "profile" in d.methods[0]
    p = diff_profiles(a.program.method(), a.profile("forward"), b.program.method(), b.profile("forward"))
    assert all(x["index"][0] == x["index"][1] for x in p["instructions"])


def test_profile_usage_errors(capsys) -> None:
    base, head = str(DATA / "xnn_cumsum.pte"), str(DATA / "xnn_cumsum_fixed.pte")
    code, _, err = _run(capsys, base, head, "--etdump-base", str(ETDUMP / "xnn_cumsum.etdp"))
    assert code == 2 and "--etdump-base and --etdump-head go together" in err
    # an ETDump of another program is refused, as inspect refuses it
    code, _, err = _run(
        capsys, base, head, "--etdump-base", str(ETDUMP / "xnn_many_delegates.etdp"), "--etdump-head", str(ETDUMP / "xnn_cumsum_fixed.etdp")
    )
    assert code == 2 and "does not belong" in err
    with pytest.raises(edgeinspect.UsageError, match="profiled in the base only"):
        diff_programs(
            edgeinspect.gather(DATA / "xnn_cumsum.pte", etdump=ETDUMP / "xnn_cumsum.etdp"), edgeinspect.load(DATA / "xnn_cumsum_fixed.pte")
        )
