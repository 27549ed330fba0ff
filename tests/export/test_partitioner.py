"""The real partitioners, driven from the zoo's ETRecords: un-lowering reproduces the
delegates, every rejection reason is kept, and the .pte-only counterfactual agrees with
the real partitioner's what-if on every fixture that has an ETRecord."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, zoo_index

pytestmark = pytest.mark.needs_export
pytest.importorskip("torch")  # this module imports the export room (torch) to collect
pytest.importorskip("executorch")

import edgeinspect  # noqa: E402
from edgeinspect.export import partitioner as P  # noqa: E402
from edgeinspect.recommend import recommend  # noqa: E402

WITH_ETRECORD = [e for e in zoo_index() if e.get("etrecord")]
FLOW_TARGETS = {"ethos-u55": "ethos-u55", "ethos-u85": "ethos-u85", "tosa-int": "TOSA-1.0+INT", "xnnpack": "xnnpack"}


@pytest.fixture(scope="module")
def analyses() -> dict[str, tuple]:
    out = {}
    for entry in WITH_ETRECORD:
        program = edgeinspect.load(DATA / entry["pte"])
        recs = recommend(program)
        # A method with no delegate call is checked against the flow's target (explain --target).
        target = FLOW_TARGETS.get(entry["flow"])
        reasons, info = P.etrecord_analysis(program, DATA / entry["etrecord"], recs, target=target)
        out[entry["name"]] = (program, recs, reasons, info)
    return out


def test_zoo_has_etrecords() -> None:
    assert len(WITH_ETRECORD) >= 8


@pytest.mark.parametrize("entry", WITH_ETRECORD, ids=[e["name"] for e in WITH_ETRECORD])
def test_unlowered_program_repartitions_to_the_real_delegates(entry: dict, analyses: dict) -> None:
    _, _, _, info = analyses[entry["name"]]
    for method, calls in entry["delegate_calls"].items():
        assert info["methods"][method]["partitions_baseline"] == calls


@pytest.mark.parametrize("entry", WITH_ETRECORD, ids=[e["name"] for e in WITH_ETRECORD])
def test_pte_counterfactual_agrees_with_the_real_partitioner(entry: dict, analyses: dict) -> None:
    _, recs, _, info = analyses[entry["name"]]
    assert bool(recs) == entry["fragmented"]  # provenance fixtures have ETRecords and one delegate
    for r in recs:
        key = f"{r.method}:{'+'.join((r.operator, *r.requires))}"
        assert info["whatif"][key]["partitions"] == r.delegates_if_supported, key


def test_every_reason_is_kept(analyses: dict) -> None:
    # executorch's reporter keeps one reason per node; both checks that reject gt are here.
    _, _, reasons, info = analyses["u55_where"]
    gt = reasons["forward"]["aten::gt"]
    assert any("torch.bool" in r for r in gt) and "Op is not supported on U55." in gt
    where = next(r for r in info["methods"]["forward"]["rejected"] if r["operator"] == "aten::where.self")
    assert len(where["reasons"]) >= 2
    _, _, reasons, _ = analyses["tosa_topk"]
    assert "Not included in BaseTOSASupportList or a registered tosa_support_check" in reasons["forward"]["aten::topk"]
    _, _, reasons, _ = analyses["xnn_cumsum"]
    assert reasons["forward"]["aten::cumsum"] == ["no XNNPACK partitioner config for cumsum.default"]


def test_glue_left_on_cpu_is_explained(analyses: dict) -> None:
    _, _, _, info = analyses["u55_upsample"]
    glue = [r for r in info["methods"]["forward"]["rejected"] if "quantize" in r["operator"]]
    assert glue and all("boundary" in r["reasons"][0] for r in glue)


def test_recommendations_take_executorchs_reasons(analyses: dict) -> None:
    program, _, reasons, _ = analyses["u55_gather"]
    (rec,) = recommend(program, reasons)
    assert rec.reason_source == "executorch"
    assert rec.reasons == ("Op is not supported on U55.",)


def test_explain_with_etrecord(capsys: pytest.CaptureFixture[str]) -> None:
    from edgeinspect.cli import main

    assert main(["explain", str(DATA / "u55_upsample.pte"), "--etrecord", str(DATA / "u55_upsample.etrecord"), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (rec,) = doc["recommendations"]
    assert rec["reason_source"] == "executorch"
    assert rec["whatif"]["partitions"] == rec["delegates_if_supported"] == 1
    assert doc["partitioner"]["etrecord"] == "u55_upsample.etrecord"


def test_support_table_is_current() -> None:
    """The committed table is what scripts/gen_support_table.py makes from this executorch."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "gen_support_table.py"
    spec = importlib.util.spec_from_file_location("gen_support_table", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = json.loads((Path(edgeinspect.__file__).parent / "data" / "support_table.json").read_text())
    assert module.build() == committed


def test_unlowering_validates_nothing_process_wide() -> None:
    """The rebuilt program skips the edge verifier through its own class; ExportedProgram itself
    is never patched, so programs built meanwhile (another thread) still validate."""
    from torch.export import ExportedProgram

    before = ExportedProgram.__dict__["validate"]
    entry = WITH_ETRECORD[0]
    (ep,) = list(P.load_edge_programs(DATA / entry["etrecord"]).values())[:1]
    rebuilt = P.unlower(ep)
    assert ExportedProgram.__dict__["validate"] is before
    assert isinstance(rebuilt, ExportedProgram) and type(rebuilt).validate is not before
