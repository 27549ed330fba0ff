"""The lint on the whole fixture zoo (real exports): it fails exactly the fragmented ones, and against a
baseline of the fixed export, the broken one is a regression while the reverse is not."""

from __future__ import annotations

import pytest
from conftest import zoo_index
from lint_helpers import DATA, copy_fixture

import edgeinspect
from edgeinspect.analysis import cpu_islands
from edgeinspect.lint import lint_paths

ZOO = zoo_index()
PAIRS = [(e["name"], e["name"] + "_fixed") for e in ZOO if any(f["name"] == e["name"] + "_fixed" for f in ZOO)]


@pytest.mark.parametrize("entry", ZOO, ids=[e["name"] for e in ZOO])
def test_lint_fails_exactly_the_fragmented_fixtures(entry):
    result = lint_paths([str(DATA / entry["pte"])])
    codes = {f.code for f in result.findings}
    assert result.errors == ()
    if entry["fragmented"]:
        # EI102 needs a CPU island: delegates split by the partitioners alone have none
        islands = any(cpu_islands(m) for m in edgeinspect.load(DATA / entry["pte"]).methods)
        assert codes == ({"EI101", "EI102"} if islands else {"EI101"}) and result.exit_code() == 1
        for method, calls in entry["delegate_calls"].items():
            if calls > 1:
                assert any(f.method == method and f" as {calls} delegated subgraphs" in f.message for f in result.findings)
    elif not any(entry["delegate_calls"].values()):
        # Nothing delegated: no partitioner on purpose (the program that carries its own stack
        # frames), or a partitioner that took nothing (u55_sort_only).
        assert codes == {"EI107"}
    else:
        assert codes == set() and result.exit_code() == 0


@pytest.mark.parametrize("broken, fixed", PAIRS, ids=[b for b, _ in PAIRS])
def test_baseline_of_fixed_export_catches_the_broken_one(tmp_path, broken, fixed):
    model = tmp_path / "model.pte"
    copy_fixture(fixed, model)
    lint_paths([str(model)], write_baseline=str(tmp_path / "baseline.json"))
    copy_fixture(broken, model)
    result = lint_paths([str(model)], baseline=str(tmp_path / "baseline.json"))
    assert {f.code for f in result.findings} == {"EI201"} and result.exit_code() == 1
    # And the other way round: fixing is never a regression.
    lint_paths([str(model)], write_baseline=str(tmp_path / "baseline.json"))
    copy_fixture(fixed, model)
    assert lint_paths([str(model)], baseline=str(tmp_path / "baseline.json")).exit_code() == 0
