"""per_delegate() (issue 13 item 6) and latency_budget() (issue 10 item 4): every figure from
the record it summarizes (crossings, coverage, the ETDump join, Vela's estimate), labelled
predicted, measured, exact or unknown, in inspect's text and JSON when asked for."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.analysis import BudgetLine, boundary_bytes, coverage, latency_budget, per_delegate
from edgeinspect.analysis.budget import BASES, PARTS
from edgeinspect.cli import main

ETDUMP = DATA / "etdump"
needs_vela = pytest.mark.skipif(importlib.util.find_spec("ethosu") is None, reason="Vela (ethos-u-vela, the export extra) is not installed")


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_per_delegate_without_evidence() -> None:
    m = edgeinspect.load(DATA / "u55_multi.pte", tosa="auto").method()
    calls = per_delegate(m)
    assert [(c.instruction, c.delegate, c.backend, c.target) for c in calls] == [
        (1, 0, "EthosUBackend", "ethos-u55-128"),
        (5, 1, "EthosUBackend", "ethos-u55-128"),
        (9, 2, "EthosUBackend", "ethos-u55-128"),
    ]
    assert sum(c.bytes_in + c.bytes_out for c in calls) == boundary_bytes(m)
    assert all(c.time is None and c.cycles is None and c.estimate_note is None for c in calls)
    cov = coverage(m)
    assert sum(c.operators for c in calls) == cov.delegated_ops
    assert sum(c.coverage_share for c in calls) == pytest.approx(cov.ratio, abs=1e-3)
    doc = calls[0].to_dict()
    assert doc["measured"] is None and doc["predicted"] is None and json.loads(json.dumps(doc)) == doc


def test_per_delegate_coverage_unknown_without_the_dumps() -> None:
    calls = per_delegate(edgeinspect.load(DATA / "u55_multi.pte").method())
    assert all(c.ops is None and c.operators is None and c.coverage_share is None for c in calls)


def test_per_delegate_with_an_etdump() -> None:
    ev = edgeinspect.gather(DATA / "xnn_many_delegates.pte", etdump=ETDUMP / "xnn_many_delegates.etdp")
    m, profile = ev.program.method(), ev.profile("forward")
    calls = per_delegate(m, ev)
    assert len(calls) == 12
    for c in calls:
        assert c.time == profile.instruction(c.instruction).timing
        assert c.to_dict()["measured"]["unit"] == "ticks"
    # each call's part of execute time; together the delegates' share of the profile
    assert sum(c.time_share for c in calls) == pytest.approx(profile.shares["delegates"], abs=2e-3)


@needs_vela
def test_per_delegate_with_vela_estimates() -> None:
    ev = edgeinspect.gather(DATA / "u55_upsample.pte", estimate=True)
    calls = per_delegate(ev.program.method(), ev)
    for c in calls:
        est = ev.method_estimates("forward")[c.delegate].estimate
        assert (c.cycles, c.predicted_s, c.clock_hz) == (est.cycles_total, est.inference_time_s, est.core_clock_hz)
        assert c.to_dict()["predicted"] == {
            "cycles": est.cycles_total,
            "seconds": est.inference_time_s,
            "clock_hz": est.core_clock_hz,
            "unit": "s",
        }
    xnn = per_delegate(
        edgeinspect.gather(DATA / "xnn_cumsum.pte", estimate=True).program.method(),
        edgeinspect.gather(DATA / "xnn_cumsum.pte", estimate=True),
    )
    assert all(c.cycles is None and c.estimate_note for c in xnn)  # not an Ethos-U delegate: says why


def _check_labels(lines: tuple[BudgetLine, ...]) -> None:
    for line in lines:
        assert line.part in PARTS and line.figures
        for f in (*line.figures, *([line.glue] if line.glue else [])):
            assert f.basis in BASES and f.source
            assert (f.value is None) == (f.basis == "unknown") == (f.unit is None)


def test_budget_without_evidence_is_unknown_but_the_bytes() -> None:
    m = edgeinspect.load(DATA / "u55_upsample.pte").method()
    budget = latency_budget(m)
    _check_labels(budget.lines)
    assert [line.part for line in budget.lines] == ["glue", "delegate", "cpu_island", "delegate", "glue"]
    assert all(f.basis == "unknown" for line in budget.lines for f in line.figures)
    assert [(f.basis, f.value, f.unit) for f in budget.traffic] == [
        ("exact", 19200, "bytes"),
        ("exact", 19200, "bytes"),
        ("exact", 0, "bytes"),
    ]
    assert budget.totals == () and budget.predicted is None and budget.measured is None


def test_budget_measured_from_an_etdump() -> None:
    ev = edgeinspect.gather(DATA / "xnn_cumsum.pte", etdump=ETDUMP / "xnn_cumsum.etdp")
    m, profile = ev.program.method(), ev.profile("forward")
    budget = latency_budget(m, ev)
    _check_labels(budget.lines)
    by_part = {line.part: line for line in budget.lines}
    (island,) = profile.islands
    assert by_part["cpu_island"].figure("measured", "ticks").value == island.timing.median_ticks
    for line in budget.lines:
        if line.part == "delegate":
            (index,) = line.instructions
            assert line.figure("measured", "ticks").value == profile.instruction(index).timing.median_ticks
            assert line.figure("unknown").source == "not predicted: Vela predicts Ethos-U delegates only, not XnnpackBackend"
    assert by_part["runtime"].figure("measured").value == round(profile.category_ticks["runtime"] / 4, 1)  # 5 runs, 1 warm-up
    assert budget.totals[-1].value == profile.execute.median_ticks and budget.totals[-1].unit == "ticks"
    assert "median of runs 2-5" in budget.measured
    assert json.loads(json.dumps(budget.to_dict())) == budget.to_dict()


@needs_vela
def test_budget_predicted_and_measured_side_by_side() -> None:
    # Ethos-U cannot run here: the ETDump is the synthetic device-shaped one; Vela predicts each delegate
    ev = edgeinspect.gather(DATA / "u55_multi.pte", etdump=ETDUMP / "u55_multi_synthetic.etdp", estimate=True)
    budget = latency_budget(ev.program.method(), ev)
    _check_labels(budget.lines)
    estimates = ev.method_estimates("forward")
    delegates = [line for line in budget.lines if line.part == "delegate"]
    assert len(delegates) == 3
    for line, d in zip(delegates, (0, 1, 2), strict=True):
        est = estimates[d].estimate
        assert line.figure("predicted", "s").value == est.inference_time_s and line.figure("predicted", "cycles").value == est.cycles_total
        assert "500 MHz" in line.figure("predicted", "s").source and line.figure("measured", "ticks") is not None
    islands = [line for line in budget.lines if line.part == "cpu_island"]
    assert len(islands) == 2 and all(line.glue is not None and line.glue.basis == "measured" for line in islands)
    predicted_total = next(f for f in budget.totals if f.basis == "predicted" and f.unit == "s")
    assert predicted_total.value == pytest.approx(sum(estimates[d].estimate.inference_time_s for d in (0, 1, 2)))
    # CPU time is never predicted, and units are never added across bases
    assert all(f.basis != "predicted" for line in budget.lines if line.part != "delegate" for f in line.figures)
    assert {f.unit for f in budget.totals} == {"s", "cycles", "ticks"}


def test_inspect_shows_the_budget_only_when_asked(capsys) -> None:
    pte = str(DATA / "xnn_cumsum.pte")
    assert main(["inspect", pte, "--format", "json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "budget" not in plain["methods"][0]
    assert main(["inspect", pte, "--etdump", str(ETDUMP / "xnn_cumsum.etdp"), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    budget = doc["methods"][0]["budget"]
    assert budget["traffic"]["boundary"] == {
        "basis": "exact",
        "value": 27648,
        "unit": "bytes",
        "source": budget["traffic"]["boundary"]["source"],
    }
    assert [line["part"] for line in budget["lines"]] == ["delegate", "cpu_island", "delegate", "runtime"]
    assert main(["inspect", pte, "--etdump", str(ETDUMP / "xnn_cumsum.etdp")]) == 0
    text = capsys.readouterr().out
    assert "latency budget" in text and "CPU island between instructions 0 and 2 (aten::cumsum.out): measured 4,967 ticks" in text
    assert "boundary traffic: 27,648 B exact" in text


@needs_vela
def test_inspect_estimate_budget_text(capsys) -> None:
    assert main(["inspect", str(DATA / "u55_upsample.pte"), "--estimate"]) == 0
    text = capsys.readouterr().out
    assert "predicted: vela " in text and "CPU island between instructions 1 and 5 (aten::upsample_bilinear2d.vec_out): unknown" in text
    assert "total predicted" in text and "total measured" not in text
