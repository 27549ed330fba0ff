"""The fallbacks with executorch's own checks and partitioner (issue 17), and what a merge saves
predicted by Vela in explain (issue 10 item 5), on the zoo's ETRecords."""

from __future__ import annotations

import json

import pytest
from conftest import DATA

pytestmark = pytest.mark.needs_export
pytest.importorskip("torch")
pytest.importorskip("executorch")

import edgeinspect  # noqa: E402
from edgeinspect.cli import main  # noqa: E402
from edgeinspect.export import partitioner as P  # noqa: E402
from edgeinspect.export.merge_estimate import estimate_merge  # noqa: E402
from edgeinspect.recommend.fallbacks import fallbacks  # noqa: E402


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def _explain(capsys, *args: str) -> dict:
    assert main(["explain", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_fallbacks_take_executorchs_reasons(capsys):
    doc = _explain(capsys, str(DATA / "u55_where_edge.pte"), "--etrecord", str(DATA / "u55_where_edge.etrecord"))
    by_op = {f["operator"]: f for f in doc["fallbacks"]}
    for op in ("aten::gt", "aten::where"):
        assert by_op[op]["reason_source"] == "executorch" and "Op is not supported on U55." in by_op[op]["reasons"]
        assert any("torch.bool" in r for r in by_op[op]["reasons"])


def test_nothing_delegated_checked_against_the_target_given(capsys):
    """A program with no delegate does not say what it was lowered for: with --target,
    executorch's own checks for that target run on its ETRecord."""
    doc = _explain(capsys, str(DATA / "u55_sort_only.pte"), "--etrecord", str(DATA / "u55_sort_only.etrecord"))
    (f,) = doc["fallbacks"]
    assert f["reason_source"] == "unknown"  # no --target: nothing to check against
    doc = _explain(capsys, str(DATA / "u55_sort_only.pte"), "--etrecord", str(DATA / "u55_sort_only.etrecord"), "--target", "ethos-u55")
    (f,) = doc["fallbacks"]
    assert f["reason_source"] == "executorch"
    assert f["reasons"][:2] == [
        "Not included in BaseTOSASupportList or a registered tosa_support_check",
        "Non-constant node with int64 output.",
    ]
    assert doc["partitioner"]["methods"]["forward"]["partitions_baseline"] == 0  # the real partitioner takes nothing either


@pytest.mark.parametrize(
    "name, operators",
    [
        ("u55_where_edge", ("aten::gt", "aten::where")),
        ("u55_upsample_lead", ("aten::upsample_bilinear2d",)),
        ("u55_gather_only", ("aten::index_select",)),
    ],
)
def test_edge_counterfactual_agrees_with_the_real_partitioner(name, operators):
    """The .pte-only counterfactual of an edge fallback has the partition count executorch's
    partitioner makes with the same operators treated as supported."""
    program = edgeinspect.load(DATA / f"{name}.pte")
    by_op = {f.operator: f for f in fallbacks(program)}
    cf = by_op[operators[0]].cf
    assert cf.operators == operators
    ep = P.load_edge_programs(DATA / f"{name}.etrecord")["forward"]
    (delegate,) = {d.backend_id: d for d in program.method().delegates}.values()
    specs = {cs.key: cs.value for cs in delegate.compile_specs}
    assert P.whatif_partitions(ep, delegate.backend_id, specs, operators) == cf.delegates_after


def test_explain_estimate_says_what_a_merge_saves_in_cycles(capsys):
    doc = _explain(capsys, str(DATA / "u55_channel_sum.pte"), "--estimate", "--etrecord", str(DATA / "u55_channel_sum.etrecord"))
    (rec,) = doc["recommendations"]
    merge = estimate_merge(DATA / "u55_channel_sum.etrecord", ["aten::sum"], program=edgeinspect.load(DATA / "u55_channel_sum.pte"))
    m = rec["merge_estimate"]
    assert (m["cycles_saved"], m["seconds_saved"], m["merged"], m["core_clock_hz"]) == (
        merge.cycles_saved,
        merge.seconds_saved,
        [[0, 1]],
        merge.core_clock_hz,
    )
    assert m["summary"] == merge.summary() and m["summary"].startswith("merging delegates 0 and 1 saves ")
    assert main(["explain", str(DATA / "u55_channel_sum.pte"), "--estimate", "--etrecord", str(DATA / "u55_channel_sum.etrecord")]) == 0
    out = capsys.readouterr().out
    assert f"predicted (Vela): {merge.summary()}" in out and "338,000 boundary bytes saved" in out


def test_explain_estimate_says_what_is_missing(capsys):
    doc = _explain(capsys, str(DATA / "u55_channel_sum.pte"), "--estimate")
    (rec,) = doc["recommendations"]
    assert rec["merge_estimate"]["missing"].startswith("an ETRecord of the export")
    doc = _explain(capsys, str(DATA / "xnn_cumsum.pte"), "--estimate")
    assert "Ethos-U delegates only" in doc["recommendations"][0]["merge_estimate"]["reason"]
    doc = _explain(capsys, str(DATA / "u55_upsample.pte"), "--estimate", "--etrecord", str(DATA / "u55_upsample.etrecord"))
    (rec,) = doc["recommendations"]
    assert rec["merge_estimate"]["cycles_saved"] is None and "cannot" in rec["merge_estimate"]["reason"]  # U55 has no bilinear RESIZE
