"""EI120 cpu-fallback (issue 17): a rule for CPU fallbacks that do not split, off by default,
so a team can gate on "nothing falls back" as well as on fragmentation."""

from __future__ import annotations

import pytest
from conftest import zoo_index
from lint_helpers import DATA, run_cli

import edgeinspect
from edgeinspect.lint import lint_paths
from edgeinspect.lint.config import Config, load_config, parse_options
from edgeinspect.lint.rules import RULES
from edgeinspect.recommend.fallbacks import fallbacks, program_target

ZOO = zoo_index()


def _findings(name: str, **options) -> list:
    config = Config().with_cli(parse_options(**options)) if options else Config()
    return list(lint_paths([str(DATA / f"{name}.pte")], config).findings)


def test_off_by_default():
    assert RULES["EI120"].default is False and RULES["EI120"].name == "cpu-fallback"
    assert _findings("u55_where_edge") == []  # two operators fall back after the delegate: not reported unless asked


def test_selected_it_reports_each_operator_that_falls_back_without_splitting():
    found = _findings("u55_where_edge", select=["EI120"])
    assert sorted(f.message.split(": ", 2)[1].split(" ")[0] for f in found) == ["aten::gt", "aten::where"]
    program = edgeinspect.load(DATA / "u55_where_edge.pte")
    offsets = {i.index: i.offset for i in program.method().instructions}
    assert sorted(f.offset for f in found) == sorted((offsets[6], offsets[7]))
    assert all(f.severity == "warning" and "trailing" in f.message for f in found)
    (sort,) = _findings("u55_sort_only", select=["EI120"])
    assert "whole-program" in sort.message and "unknown:" in sort.message


def test_splitters_stay_ei102s():
    assert _findings("u55_upsample", select=["EI120"]) == []
    assert {f.code for f in _findings("u55_upsample", select=["EI1"])} == {"EI101", "EI102"}


@pytest.mark.parametrize("entry", ZOO, ids=[e["name"] for e in ZOO])
def test_one_finding_per_non_splitting_fallback_on_every_fixture(entry):
    program = edgeinspect.load(DATA / entry["pte"])
    expected = sorted((f.method, f.operator) for m in program.methods for f in fallbacks(m, target=program_target(program)) if not f.splits)
    found = lint_paths([str(DATA / entry["pte"])], Config().with_cli(parse_options(select=["EI120"]))).findings
    assert sorted((f.method, f.message.split(": ", 2)[1].split(" ")[0]) for f in found) == expected


def test_allowed_fallbacks_and_severity_are_configurable(tmp_path, capsys):
    config = tmp_path / "edgeinspect.toml"
    config.write_text('[lint]\nselect = ["EI120"]\nallowed-fallbacks = ["aten::gt"]\nseverity = { EI120 = "note" }\n')
    result = lint_paths([str(DATA / "u55_where_edge.pte")], load_config(config))
    assert [(f.code, f.severity) for f in result.findings] == [("EI120", "note")] and "aten::where" in result.findings[0].message
    assert result.exit_code() == 0  # a note never fails the run
    code, out, _ = run_cli(capsys, "lint", str(DATA / "u55_where_edge.pte"), "--select", "EI120")
    assert code == 1 and out.count("EI120 cpu-fallback") == 2
    config.write_text("[lint]\nallowed-fallbacks = 3\n")
    with pytest.raises(edgeinspect.UsageError, match="list of operator names"):
        load_config(config)
